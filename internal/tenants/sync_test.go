package tenants

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"testing"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/storage"
)

// feed is an in-memory change feed (storage.Records, the part Sync reads).
type feed struct {
	storage.Records
	recs []storage.Record
}

func (f *feed) put(r storage.Record) {
	r.Seq = int64(len(f.recs) + 1)
	f.recs = append(f.recs, r)
}

func (f *feed) RecordChanges(_ context.Context, since int64) ([]storage.Record, error) {
	var out []storage.Record
	for _, r := range f.recs {
		if r.Seq > since {
			out = append(out, r)
		}
	}
	return out, nil
}

// The test documents are the config types as JSON.
var testDecoder = Decoder{
	Tenant: func(r storage.Record) (*config.Tenant, error) {
		var t config.Tenant
		if err := json.Unmarshal(r.Doc, &t); err != nil {
			return nil, err
		}
		t.ID = r.ID
		return &t, nil
	},
	Connection: func(r storage.Record) (*config.Provider, error) {
		var p config.Provider
		err := json.Unmarshal(r.Doc, &p)
		p.Name = r.ID
		return &p, err
	},
	Domain: func(r storage.Record) (bool, error) {
		var d struct{ Verified bool }
		err := json.Unmarshal(r.Doc, &d)
		return d.Verified, err
	},
}

const oauth2Conn = `{"type":"oauth2","client_id":"c","client_secret":"s","authorize_url":"https://idp.example/auth",
"token_url":"https://idp.example/token","userinfo_url":"https://idp.example/me","claims":{"subject":"id"}}`

func newSyncer(t *testing.T) (*Syncer, *feed) {
	f := &feed{}
	return &Syncer{Registry: &Registry{}, Store: f, Decode: testDecoder, Deps: providers.Deps{HTTPClient: http.DefaultClient},
		Log: slog.New(slog.DiscardHandler)}, f
}

func mustSync(t *testing.T, s *Syncer) {
	t.Helper()
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSyncTenants(t *testing.T) {
	s, f := newSyncer(t)
	f.put(storage.Record{Kind: storage.KindTenant, ID: "acme", Doc: []byte(`{"Name":"Acme","AllowedOrigins":["https://acme.example"]}`)})
	mustSync(t, s)
	got, ok := s.Registry.Tenant("acme")
	if !ok || got.Name != "Acme" || !s.Registry.OriginAllowed("https://acme.example") {
		t.Fatalf("after create: %v %v", got, ok)
	}
	f.put(storage.Record{Kind: storage.KindTenant, ID: "acme", Doc: []byte(`{"Name":"Acme Inc"}`)})
	mustSync(t, s)
	if got, _ := s.Registry.Tenant("acme"); got.Name != "Acme Inc" || s.Registry.OriginAllowed("https://acme.example") {
		t.Fatalf("after update: %+v", got.Tenant)
	}
	// Created and deleted between two polls: gone, whatever the order
	// the batch is applied in.
	f.put(storage.Record{Kind: storage.KindTenant, ID: "brief", Doc: []byte(`{}`)})
	f.put(storage.Record{Kind: storage.KindTenant, ID: "brief", Deleted: true})
	f.put(storage.Record{Kind: storage.KindTenant, ID: "acme", Deleted: true})
	mustSync(t, s)
	if s.Registry.Len() != 0 {
		t.Fatalf("%d tenants left, want none", s.Registry.Len())
	}
}

func TestSyncConnectionsAndDomains(t *testing.T) {
	s, f := newSyncer(t)
	f.put(storage.Record{Kind: storage.KindConnection, ID: "okta", Doc: []byte(oauth2Conn)})
	f.put(storage.Record{Kind: storage.KindDomain, ID: "acme.com", Owner: "okta", Doc: []byte(`{"Verified":false}`)})
	mustSync(t, s)
	if _, ok := s.Registry.Upstream("okta"); !ok {
		t.Fatal("connection not published")
	}
	if _, ok := s.Registry.HomeRealm("acme.com"); ok {
		t.Fatal("an unverified domain routes sign-ins")
	}
	f.put(storage.Record{Kind: storage.KindDomain, ID: "acme.com", Owner: "okta", Doc: []byte(`{"Verified":true}`)})
	mustSync(t, s)
	if name, ok := s.Registry.HomeRealm("acme.com"); !ok || name != "okta" {
		t.Fatalf("HomeRealm = %q %v, want okta", name, ok)
	}
	if up, _ := s.Registry.Upstream("okta"); len(up.Domains) != 1 || up.Domains[0] != "acme.com" {
		t.Fatalf("upstream domains = %v", up.Domains)
	}
	// The connection changes: its domains stay with it.
	f.put(storage.Record{Kind: storage.KindConnection, ID: "okta", Doc: []byte(oauth2Conn)})
	mustSync(t, s)
	if up, _ := s.Registry.Upstream("okta"); len(up.Domains) != 1 {
		t.Fatalf("domains lost on a connection change: %v", up.Domains)
	}
	f.put(storage.Record{Kind: storage.KindDomain, ID: "acme.com", Owner: "okta", Deleted: true})
	mustSync(t, s)
	if _, ok := s.Registry.HomeRealm("acme.com"); ok {
		t.Fatal("a deleted domain still routes")
	}
	f.put(storage.Record{Kind: storage.KindConnection, ID: "okta", Deleted: true})
	mustSync(t, s)
	if _, ok := s.Registry.Upstream("okta"); ok {
		t.Fatal("deleted connection still published")
	}
}

func TestSyncSkipsBadRecords(t *testing.T) {
	s, f := newSyncer(t)
	f.put(storage.Record{Kind: storage.KindTenant, ID: "bad", Doc: []byte(`{`)})
	f.put(storage.Record{Kind: storage.KindConnection, ID: "broken", Doc: []byte(`{"type":"nonesuch"}`)})
	f.put(storage.Record{Kind: "gadget", ID: "x"})
	f.put(storage.Record{Kind: storage.KindTenant, ID: "good", Doc: []byte(`{}`)})
	mustSync(t, s)
	if _, ok := s.Registry.Tenant("good"); !ok {
		t.Fatal("a bad record kept a good one out")
	}
	if _, ok := s.Registry.Tenant("bad"); ok {
		t.Fatal("a record that does not decode was applied")
	}
	if _, ok := s.Registry.Upstream("broken"); ok {
		t.Fatal("a connection that does not build was published")
	}
	// The feed is not read again from the start.
	f.put(storage.Record{Kind: storage.KindTenant, ID: "good", Deleted: true})
	mustSync(t, s)
	if s.Registry.Len() != 0 {
		t.Fatal("later change not applied")
	}
}

// errFeed fails: Sync says so and applies nothing.
type errFeed struct{ storage.Records }

func (errFeed) RecordChanges(context.Context, int64) ([]storage.Record, error) {
	return nil, storage.ErrUnavailable
}

func TestSyncStoreDown(t *testing.T) {
	s, _ := newSyncer(t)
	s.Store = errFeed{}
	if err := s.Sync(context.Background()); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Sync = %v", err)
	}
}
