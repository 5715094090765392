package tenants

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/secretbox"
	"github.com/socialbroker/broker/storage"
)

// The documents of tenant and connection records (storage.Record.Doc):
// a JSON object of the same keys as a [[tenants]] entry or a
// [providers.NAME] section of config.toml (config.EncodeJSON), so that a
// record reads like the file and decodes by the file's rules, plus what
// the file has no key for:
//
//	tenant:     "client_secret_sha256": the hash of its secret (base64);
//	            the secret itself is shown once and kept nowhere
//	connection: "sealed": {"client_secret": "v1...."}, its secrets sealed
//	            with secrets_key (internal/secretbox), each bound to its
//	            connection and key (SecretLabel)
//
// The record's ID is the tenant's id or the connection's name; a
// connection's owning tenant is the record's Owner.
const (
	secretHashKey = "client_secret_sha256"
	sealedKey     = "sealed"
)

// SecretFields are the connection keys that hold secrets: write-only
// through the admin API and sealed at rest.
var SecretFields = []string{"client_secret", "private_key"}

// SecretLabel is what a connection's secret is sealed for: a value sealed
// for one connection or key does not open as another's.
func SecretLabel(connection, field string) string {
	return "connection/" + connection + "/" + field
}

// TenantDoc encodes t, a validated tenant, as a record document.
func TenantDoc(t *config.Tenant) ([]byte, error) {
	m := config.EncodeJSON(t)
	if m == nil {
		m = map[string]any{}
	}
	delete(m, "client_secret") // never stored in the clear
	if len(t.ClientSecretHash) > 0 {
		m[secretHashKey] = base64.StdEncoding.EncodeToString(t.ClientSecretHash)
	}
	return json.Marshal(m)
}

// TenantFromRecord decodes a tenant record.
func TenantFromRecord(r storage.Record) (*config.Tenant, error) {
	m, err := docObject(r)
	if err != nil {
		return nil, err
	}
	t := &config.Tenant{}
	if h, ok := m[secretHashKey].(string); ok {
		if t.ClientSecretHash, err = base64.StdEncoding.DecodeString(h); err != nil || len(t.ClientSecretHash) != 32 {
			return nil, fmt.Errorf("tenant %s: %s is not a SHA-256 hash", r.ID, secretHashKey)
		}
		delete(m, secretHashKey)
	}
	if err := problemsErr("tenant "+r.ID, config.DecodeJSON(m, t)); err != nil {
		return nil, err
	}
	t.ID = r.ID
	return t, nil
}

// ConnectionDoc encodes p, a validated connection whose secrets are
// empty, and sealed, its sealed secrets by key, as a record document.
func ConnectionDoc(p *config.Provider, sealed map[string]string) ([]byte, error) {
	if p.ClientSecret != "" || p.PrivateKey != "" {
		return nil, errors.New("tenants: a connection document takes its secrets sealed")
	}
	m := config.EncodeJSON(p)
	if m == nil {
		m = map[string]any{}
	}
	if len(sealed) > 0 {
		m[sealedKey] = sealed
	}
	return json.Marshal(m)
}

// ConnectionSettings decodes a connection record as written, without its
// secrets, which it returns sealed, by key.
func ConnectionSettings(r storage.Record) (*config.Provider, map[string]string, error) {
	m, err := docObject(r)
	if err != nil {
		return nil, nil, err
	}
	sealed := map[string]string{}
	if raw, ok := m[sealedKey].(map[string]any); ok {
		for k, v := range raw {
			s, ok := v.(string)
			if !ok || !slices.Contains(SecretFields, k) {
				return nil, nil, fmt.Errorf("connection %s: sealed.%s is not a sealed secret", r.ID, k)
			}
			sealed[k] = s
		}
		delete(m, sealedKey)
	}
	p := &config.Provider{}
	if err := problemsErr("connection "+r.ID, config.DecodeJSON(m, p)); err != nil {
		return nil, nil, err
	}
	p.Name = r.ID
	return p, sealed, nil
}

// ConnectionFromRecord decodes a connection record into the provider it
// describes, its secrets opened with open (secretbox.Box.Open) and its
// type's defaults filled in. A secret that does not open, or was sealed
// for another connection or key, is an error: a connection never runs
// with a secret it cannot vouch for.
func ConnectionFromRecord(r storage.Record, open func(sealed string) (string, error)) (*config.Provider, error) {
	p, sealed, err := ConnectionSettings(r)
	if err != nil {
		return nil, err
	}
	for field, s := range sealed {
		if open == nil {
			return nil, fmt.Errorf("connection %s: its %s is sealed and secrets_key is not set", r.ID, field)
		}
		if secretbox.Label(s) != SecretLabel(r.ID, field) {
			return nil, fmt.Errorf("connection %s: its %s was sealed for something else", r.ID, field)
		}
		plain, err := open(s)
		if err != nil {
			return nil, fmt.Errorf("connection %s: open %s: %w", r.ID, field, err)
		}
		switch field {
		case "client_secret":
			p.ClientSecret = plain
		case "private_key":
			p.PrivateKey = plain
		}
	}
	full := p.WithDefaults()
	return &full, nil
}

func docObject(r storage.Record) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(r.Doc))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s %s: document: %w", r.Kind, r.ID, err)
	}
	return m, nil
}

func problemsErr(what string, ps []config.Problem) error {
	if len(ps) == 0 {
		return nil
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return fmt.Errorf("%s: %s", what, strings.Join(lines, "; "))
}

// Domain is the document of a domain record: an email domain a connection
// claims (the record's ID, lower-case IDNA ASCII; its Owner is the
// connection), with the token its DNS must publish to prove it.
type Domain struct {
	Token      string    `json:"txt_value"`
	Verified   bool      `json:"verified"`
	VerifiedAt time.Time `json:"verified_at,omitzero"`
}

// DomainFromRecord decodes a domain record.
func DomainFromRecord(r storage.Record) (Domain, error) {
	var d Domain
	if err := json.Unmarshal(r.Doc, &d); err != nil {
		return Domain{}, fmt.Errorf("domain %s: document: %w", r.ID, err)
	}
	return d, nil
}
