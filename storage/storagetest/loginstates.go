package storagetest

import (
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

func testLoginState(t *testing.T, s storage.Store) {
	ls := storage.LoginState{ID: "state-hash", Data: []byte(`{"tenant":"t"}`), ExpiresAt: t0.Add(10 * time.Minute)}
	wantErr(t, "CreateLoginState", s.CreateLoginState(t.Context(), ls), nil)
	wantErr(t, "CreateLoginState(again)", s.CreateLoginState(t.Context(), ls), storage.ErrAlreadyExists)

	got, err := s.TakeLoginState(t.Context(), ls.ID, t0)
	wantErr(t, "TakeLoginState", err, nil)
	mustEqual(t, "TakeLoginState", got, ls)

	_, err = s.TakeLoginState(t.Context(), ls.ID, t0)
	wantErr(t, "TakeLoginState(again)", err, storage.ErrNotFound)
	_, err = s.TakeLoginState(t.Context(), "unknown", t0)
	wantErr(t, "TakeLoginState(unknown)", err, storage.ErrNotFound)
}

func testLoginStateExpiry(t *testing.T, s storage.Store) {
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"before expiry", t0.Add(-time.Millisecond), nil},
		{"at expiry", t0, storage.ErrNotFound},
		{"after expiry", t0.Add(time.Hour), storage.ErrNotFound},
	}
	for _, tt := range tests {
		ls := storage.LoginState{ID: tt.name, Data: []byte("d"), ExpiresAt: t0}
		wantErr(t, "CreateLoginState", s.CreateLoginState(t.Context(), ls), nil)
		_, err := s.TakeLoginState(t.Context(), ls.ID, tt.now)
		wantErr(t, "TakeLoginState "+tt.name, err, tt.want)
		// Refused or not, a state is gone after one take.
		_, err = s.TakeLoginState(t.Context(), ls.ID, t0.Add(-time.Hour))
		wantErr(t, "TakeLoginState "+tt.name+" then again", err, storage.ErrNotFound)
	}
}
