package storagetest

import (
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

func testAdminKeys(t *testing.T, s storage.Store) {
	// Created out of age order: ListAdminKeys is oldest first.
	newer := storage.AdminKey{ID: "k2", Name: "ci", Hash: []byte{1, 2, 3}, Scopes: []string{"tenants:read", "users:write"},
		Tenant: "acme", CreatedAt: t0.Add(time.Minute)}
	older := storage.AdminKey{ID: "k1", Name: "bootstrap", Hash: []byte{4, 5, 6}, Scopes: []string{"admin"}, CreatedAt: t0}
	noScopes := storage.AdminKey{ID: "k3", Name: "none", Hash: []byte{7}, CreatedAt: t0.Add(2 * time.Minute)}
	for _, k := range []storage.AdminKey{newer, older, noScopes} {
		wantErr(t, "CreateAdminKey("+k.ID+")", s.CreateAdminKey(t.Context(), k), nil)
	}
	wantErr(t, "CreateAdminKey(same id)", s.CreateAdminKey(t.Context(), storage.AdminKey{ID: "k1", Hash: []byte{9}}), storage.ErrAlreadyExists)

	got, err := s.GetAdminKey(t.Context(), "k2")
	wantErr(t, "GetAdminKey", err, nil)
	mustEqual(t, "GetAdminKey", got, newer)
	_, err = s.GetAdminKey(t.Context(), "unknown")
	wantErr(t, "GetAdminKey(unknown)", err, storage.ErrNotFound)

	// A revocation keeps its first time, and the key stays listed.
	older.RevokedAt = t0.Add(time.Hour)
	wantErr(t, "RevokeAdminKey", s.RevokeAdminKey(t.Context(), "k1", older.RevokedAt), nil)
	wantErr(t, "RevokeAdminKey(again)", s.RevokeAdminKey(t.Context(), "k1", t0.Add(2*time.Hour)), nil)
	wantErr(t, "RevokeAdminKey(unknown)", s.RevokeAdminKey(t.Context(), "unknown", t0), storage.ErrNotFound)
	got, err = s.GetAdminKey(t.Context(), "k1")
	wantErr(t, "GetAdminKey(revoked)", err, nil)
	mustEqual(t, "GetAdminKey(revoked)", got, older)

	list, err := s.ListAdminKeys(t.Context())
	wantErr(t, "ListAdminKeys", err, nil)
	mustEqual(t, "ListAdminKeys", list, []storage.AdminKey{older, newer, noScopes})
}
