package tenants

import (
	"bytes"
	"crypto/sha256"
	"reflect"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/secretbox"
	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/storage"
)

func TestTenantDocRoundTrip(t *testing.T) {
	hash := sha256.Sum256([]byte("the secret"))
	in := &config.Tenant{
		ID: "acme", Name: "Acme", RedirectURIs: []string{"https://app.acme.test/cb"}, Providers: []string{"corp"},
		ClientSecret: "never stored", ClientSecretHash: hash[:], RefreshTokenDelivery: "body",
		Access: config.Access{EmailDomains: []string{"acme.test"}},
		Roles:  []config.Role{{Role: "admin", Emails: []string{"a@acme.test"}}, {Role: "viewer", Everyone: true}},
	}
	doc, err := TenantDoc(in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(doc, []byte("never stored")) || bytes.Contains(doc, []byte(`"client_secret"`)) {
		t.Errorf("document holds the clear secret: %s", doc)
	}
	got, err := TenantFromRecord(storage.Record{Kind: storage.KindTenant, ID: "acme", Doc: doc})
	if err != nil {
		t.Fatal(err)
	}
	want := *in
	want.ClientSecret = ""
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", *got, want)
	}
	if !got.Confidential() {
		t.Error("a tenant holding a secret hash is not confidential")
	}
	// A document written by a later broker with a key this one does not
	// know is an error, not a silently different tenant.
	if _, err := TenantFromRecord(storage.Record{ID: "x", Doc: []byte(`{"redirect_uris":["https://a.test/cb"],"colour":"red"}`)}); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("unknown key: %v, want an error naming it", err)
	}
}

func TestConnectionDocSealsSecrets(t *testing.T) {
	box, err := secretbox.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	p := &config.Provider{Spec: providers.Spec{Name: "okta", Type: "oidc", ClientID: "cid", Issuer: "https://idp.test"}}
	sealed := map[string]string{"client_secret": box.Seal("s3cret", SecretLabel("okta", "client_secret"))}
	doc, err := ConnectionDoc(p, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(doc, []byte("s3cret")) {
		t.Fatalf("document holds the clear secret: %s", doc)
	}
	rec := storage.Record{Kind: storage.KindConnection, ID: "okta", Doc: doc}
	got, err := ConnectionFromRecord(rec, box.Open)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "okta" || got.ClientSecret != "s3cret" || got.ClientID != "cid" || got.DisplayName != "okta" || len(got.Scopes) == 0 {
		t.Errorf("connection = %+v, want its secret opened and defaults filled", got)
	}
	// The same sealed secret copied into another connection's record.
	moved := rec
	moved.ID = "other"
	if _, err := ConnectionFromRecord(moved, box.Open); err == nil {
		t.Error("a secret sealed for okta opened as other's")
	}
	if _, err := ConnectionFromRecord(rec, nil); err == nil || !strings.Contains(err.Error(), "secrets_key") {
		t.Errorf("no key: %v, want an error naming secrets_key", err)
	}
	// A secret in the clear is refused when writing.
	p.ClientSecret = "clear"
	if _, err := ConnectionDoc(p, nil); err == nil {
		t.Error("ConnectionDoc accepted a clear secret")
	}
}
