package config

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"time"
)

// DefaultConsoleRole is the role that opens the admin console.
const DefaultConsoleRole = "broker-admin"

// ConsoleTenantID is the built-in tenant the admin console signs its
// operators in through; config.toml cannot define a tenant of that id.
const ConsoleTenantID = "broker-console"

// consoleRole is the alphabet of admin.console_role: a role as tokens
// carry it.
var consoleRole = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// SecretsKeySize is the length of secrets_key, decoded: an
// XChaCha20-Poly1305 key.
const SecretsKeySize = 32

// Admin is the [admin] section: the admin API and console.
type Admin struct {
	// AllowPrivateNetworks lets connection URLs reach loopback, private
	// and link-local addresses (tests, a broker inside one network with
	// its upstreams). Off, a connection cannot be aimed at the broker's
	// own network (SSRF).
	AllowPrivateNetworks bool `toml:"allow_private_networks"`
	// DNSResolver is the DNS server (host:port) asked for domain
	// verification records; "" asks the system's.
	DNSResolver   string   `toml:"dns_resolver"`
	ConsoleRole   string   `toml:"console_role"`
	ConsoleAdmins []string `toml:"console_admins"`
	// AuditRetention: audit events older than this are deleted; 0 keeps
	// them for ever.
	AuditRetention Duration `toml:"audit_retention"`
}

// DefaultAuditRetention keeps the audit log for 90 days, a common
// compliance window (and Auth0's longest log retention).
const DefaultAuditRetention = 90 * 24 * time.Hour

// SecretsKeyBytes returns secrets_key decoded, nil when unset. Parse has
// checked it.
func (c *Config) SecretsKeyBytes() []byte {
	k, err := base64.StdEncoding.DecodeString(c.SecretsKey)
	if err != nil || len(k) != SecretsKeySize {
		return nil
	}
	return k
}

// validateAdmin checks admin_listen, secrets_key and [admin]. It never
// quotes the key.
func validateAdmin(c *Config, ps *problems) {
	if c.AdminListen != "" {
		checkListen("admin_listen", c.AdminListen, ps)
		if c.AdminListen == c.Listen && !strings.HasSuffix(c.Listen, ":0") {
			ps.add("admin_listen", "is the same address as listen: leave it out to serve /admin/v1 there, or give it its own port")
		}
	}
	if c.SecretsKey != "" && c.SecretsKeyBytes() == nil {
		ps.add("secrets_key", "want %d random bytes in standard base64, like the output of `openssl rand -base64 32`", SecretsKeySize)
	}
	if c.Admin.DNSResolver != "" {
		checkListen("admin.dns_resolver", c.Admin.DNSResolver, ps)
	}
	if c.Admin.ConsoleRole == "" {
		c.Admin.ConsoleRole = DefaultConsoleRole
	}
	if !consoleRole.MatchString(c.Admin.ConsoleRole) {
		ps.add("admin.console_role", "%q: a role name of 1 to 64 characters A-Z, a-z, 0-9, '.', '_', ':' or '-'", c.Admin.ConsoleRole)
	}
	checkNonEmpty("admin.console_admins", c.Admin.ConsoleAdmins, ps)
	for i, e := range c.Admin.ConsoleAdmins {
		local, domain, ok := strings.Cut(e, "@")
		if e != "" && (!ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(e, " \t<>,") || strings.Count(e, "@") != 1) {
			ps.add(index("admin.console_admins", i), "%q is not an email address", e)
		}
	}
	for i, t := range c.Tenants {
		if t.ID == ConsoleTenantID {
			ps.add(index("tenants", i)+".id", "%q is the admin console's built-in tenant: choose another id", t.ID)
		}
	}
	if c.Admin.AuditRetention.Duration < 0 {
		ps.add("admin.audit_retention", "must not be negative (0 keeps the audit log for ever)")
	}
}

// DecodeJSON stores a JSON object (decoded with json.Decoder.UseNumber)
// into dst, a pointer to a struct of this package (a Tenant, a Provider),
// by the same keys and rules as config.toml: an unknown key or a value of
// the wrong type is a problem naming its path. The admin API reads
// tenants and connections this way, so that one shape and one set of
// messages serve the file and the API.
func DecodeJSON(obj map[string]any, dst any) []Problem {
	var ps problems
	decode("", fromJSON(obj), reflect.ValueOf(dst).Elem(), &ps)
	return ps.list
}

// fromJSON turns JSON numbers into the values the TOML decoder yields
// (int64 for integers, float64 otherwise), which decode expects.
func fromJSON(v any) any {
	switch v := v.(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = fromJSON(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = fromJSON(x)
		}
		return out
	}
	return v
}

// EncodeJSON is DecodeJSON's inverse: the keys v (a struct of this
// package, or a pointer to one) sets, by their config.toml names, ready
// for encoding/json. Unset values (empty strings and lists, false, nil)
// are left out.
func EncodeJSON(v any) map[string]any {
	m, _ := encodeValue(reflect.ValueOf(v)).(map[string]any)
	return m
}

func encodeValue(rv reflect.Value) any {
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if rv.CanInterface() {
		if m, ok := rv.Interface().(encoding.TextMarshaler); ok {
			b, err := m.MarshalText()
			if err != nil {
				return nil
			}
			return string(b)
		}
	}
	switch rv.Kind() {
	case reflect.Struct:
		out := map[string]any{}
		for key, i := range tomlFields(rv.Type()) {
			f := rv.FieldByIndex(i)
			if f.IsZero() {
				continue
			}
			if v := encodeValue(f); v != nil {
				out[key] = v
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case reflect.Slice:
		if rv.Len() == 0 {
			return nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = encodeValue(rv.Index(i))
		}
		return out
	case reflect.Map:
		if rv.Len() == 0 {
			return nil
		}
		out := make(map[string]any, rv.Len())
		for _, k := range rv.MapKeys() {
			out[k.String()] = encodeValue(rv.MapIndex(k))
		}
		return out
	}
	return rv.Interface()
}
