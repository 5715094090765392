package providers

import (
	"cmp"
	"slices"
	"strings"
)

// TypeInfo describes a provider type for a form that creates one (the
// admin console): its label and the keys its section reads.
type TypeInfo struct {
	Type  string   `json:"type"`
	Label string   `json:"label,omitempty"`
	OIDC  bool     `json:"oidc"`
	Keys  []string `json:"keys"` // client_id first; client_secret and private_key are secrets
	// Defaults are the endpoint keys' values when left out.
	Defaults map[string]string `json:"defaults,omitempty"`
}

// Describe returns every type's TypeInfo, in Types' order.
func Describe() []TypeInfo {
	var out []TypeInfo
	for _, t := range Types() {
		k, _ := kindOf(t)
		keys := append([]string{"client_id"}, k.keys...)
		keys = append(keys, "trust_email", "display_name")
		d := map[string]string{}
		for key, v := range map[string]string{"issuer": k.defaults.Issuer, "base_url": k.defaults.BaseURL, "api_url": k.defaults.APIURL, "authority": k.defaults.Authority} {
			if v != "" && slices.Contains(keys, key) {
				d[key] = v
			}
		}
		if len(k.defaults.Scopes) > 0 {
			d["scopes"] = strings.Join(k.defaults.Scopes, " ")
		}
		out = append(out, TypeInfo{Type: t, Label: k.label, OIDC: k.oidc, Keys: keys, Defaults: d})
	}
	return out
}

// DiscoveryURL is where s's OpenID Provider metadata is (OIDC Discovery
// 1.0 §4), "" for the types that publish none (OAuth 2.0 only: GitHub,
// oauth2 and its presets).
func DiscoveryURL(s Spec) string {
	k, ok := kindOf(s.Type)
	if !ok || !k.oidc {
		return ""
	}
	s = s.WithDefaults()
	const wellKnown = "/.well-known/openid-configuration"
	switch s.Type {
	case "gitlab":
		return trimSlash(s.BaseURL) + wellKnown
	case "microsoft":
		// The directory's own metadata; "common" and "organizations" are
		// templates whose issuer names {tenantid}.
		return trimSlash(s.Authority) + "/" + cmp.Or(s.Tenant, "common") + "/v2.0" + wellKnown
	}
	if s.Issuer == "" {
		return ""
	}
	return trimSlash(s.Issuer) + wellKnown
}
