package storagetest

import (
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

func testAudit(t *testing.T, s storage.Store) {
	events := []storage.AuditEvent{
		{Time: t0, Type: "tenant.created", Actor: "k1", Tenant: "acme", IP: "192.0.2.1", Detail: []byte(`{"name":"Acme"}`)},
		{Time: t0.Add(time.Second), Type: "login.succeeded", Tenant: "acme", User: "u1", IP: "2001:db8::1"},
		{Time: t0.Add(2 * time.Second), Type: "tenant.created", Actor: "k1", Tenant: "globex"},
		{Time: t0.Add(3 * time.Second), Type: "login.failed", Tenant: "acme", IP: "192.0.2.2", Detail: []byte(`{}`)},
		{Time: t0.Add(4 * time.Second), Type: "key.created", Actor: "k1"},
	}
	for i := range events {
		id, err := s.AppendAudit(t.Context(), events[i])
		wantErr(t, "AppendAudit", err, nil)
		if i > 0 && id <= events[i-1].ID {
			t.Fatalf("AppendAudit: id %d after %d, want it to grow", id, events[i-1].ID)
		}
		events[i].ID = id
	}
	newest := func(idx ...int) []storage.AuditEvent {
		var out []storage.AuditEvent
		for _, i := range idx {
			out = append(out, events[i])
		}
		return out
	}
	for _, tt := range []struct {
		name string
		q    storage.AuditQuery
		want []storage.AuditEvent
	}{
		{"all", storage.AuditQuery{}, newest(4, 3, 2, 1, 0)},
		{"by type", storage.AuditQuery{Type: "tenant.created"}, newest(2, 0)},
		{"by tenant", storage.AuditQuery{Tenant: "acme"}, newest(3, 1, 0)},
		{"since (inclusive)", storage.AuditQuery{Since: events[2].Time}, newest(4, 3, 2)},
		{"before", storage.AuditQuery{Before: events[3].ID}, newest(2, 1, 0)},
		{"limit", storage.AuditQuery{Limit: 2}, newest(4, 3)},
		{"everything at once", storage.AuditQuery{Type: "login.failed", Tenant: "acme", Since: t0, Before: events[4].ID, Limit: 1}, newest(3)},
		{"nothing", storage.AuditQuery{Tenant: "initech"}, nil},
	} {
		got, err := s.ListAudit(t.Context(), tt.q)
		wantErr(t, "ListAudit("+tt.name+")", err, nil)
		mustEqual(t, "ListAudit("+tt.name+")", got, tt.want)
	}

	// Paging by the last id of each page walks the whole log once.
	var paged []storage.AuditEvent
	q := storage.AuditQuery{Tenant: "acme", Limit: 2}
	for range len(events) {
		page, err := s.ListAudit(t.Context(), q)
		wantErr(t, "ListAudit(page)", err, nil)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		q.Before = page[len(page)-1].ID
	}
	mustEqual(t, "ListAudit paged", paged, newest(3, 1, 0))

	// A batch is stored in its order, after what was there.
	batch := []storage.AuditEvent{
		{Time: t0.Add(5 * time.Second), Type: "login.succeeded", Tenant: "batch", User: "u2"},
		{Time: t0.Add(6 * time.Second), Type: "logout", Tenant: "batch", User: "u2"},
		{Time: t0.Add(7 * time.Second), Type: "refresh.reuse_detected", Tenant: "batch", User: "u2", Detail: []byte(`{"sid":"s1"}`)},
	}
	wantErr(t, "AppendAudits", s.AppendAudits(t.Context(), batch), nil)
	got, err := s.ListAudit(t.Context(), storage.AuditQuery{Tenant: "batch"})
	wantErr(t, "ListAudit(batch)", err, nil)
	if len(got) != 3 || got[0].Type != "refresh.reuse_detected" || got[2].Type != "login.succeeded" || got[2].ID <= events[4].ID {
		t.Fatalf("ListAudit after AppendAudits = %+v", got)
	}
	wantErr(t, "AppendAudits(none)", s.AppendAudits(t.Context(), nil), nil)

	// Retention: events strictly older than the cut go, the rest stay.
	n, err := s.DeleteAuditBefore(t.Context(), events[2].Time)
	wantErr(t, "DeleteAuditBefore", err, nil)
	if n != 2 {
		t.Fatalf("DeleteAuditBefore = %d, want 2", n)
	}
	got, err = s.ListAudit(t.Context(), storage.AuditQuery{})
	wantErr(t, "ListAudit(after retention)", err, nil)
	if len(got) != 6 || got[len(got)-1].ID != events[2].ID {
		t.Fatalf("ListAudit after DeleteAuditBefore = %+v, want the 6 events from the third on", got)
	}
}
