package claims

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Destination is where a claim goes: a set of the bits below.
type Destination uint8

// Destinations, by their config.toml names.
const (
	AccessToken Destination = 1 << iota // "access_token"
	IDToken                             // "id_token"
	Userinfo                            // "userinfo"

	// Everywhere is the default when a claim names no destination.
	Everywhere = AccessToken | IDToken | Userinfo
)

// destinationNames are the config.toml names of the destinations.
var destinationNames = map[string]Destination{
	"access_token": AccessToken,
	"id_token":     IDToken,
	"userinfo":     Userinfo,
}

// ParseDestination reads one config.toml destination name.
func ParseDestination(s string) (Destination, bool) {
	d, ok := destinationNames[s]
	return d, ok
}

// Limits on what a tenant may define and what one evaluation may produce.
const (
	// MaxClaims bounds a tenant's claims.
	MaxClaims = 32
	// MaxExprLength bounds an expression's source, in bytes.
	MaxExprLength = 2048
	// MaxNameLength bounds a claim's name.
	MaxNameLength = 128
	// MaxValueBytes bounds one claim's value, as JSON.
	MaxValueBytes = 1024
	// MaxTotalBytes bounds the custom claims of one destination, as
	// JSON: an access token must stay well under tokens.MaxTokenBytes
	// (8 KiB, base64 adds a third) and an ID token under what a browser
	// cookie holds (4 KiB) when a backend keeps it in one.
	MaxTotalBytes = 2048
	// CostLimit bounds one expression's evaluation in CEL cost units
	// (about one per simple operation; Kubernetes reckons 1,000,000 at
	// about 0.1 s): a few milliseconds of CPU at the very most.
	CostLimit = 20000
)

// Reserved are the claim names a custom claim may not take: the
// registered and reserved names of the contract (those of RFC 7519,
// OIDC Core and RFC 9068 the broker sets or that mean something to
// verifiers), and the profile claims the broker itself fills in its ID
// token and /userinfo, which a second value would make ambiguous.
var Reserved = []string{
	"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "tid", "client_id", "scope",
	"auth_time", "nonce", "azp", "at_hash", "cnf", "roles", "email", "email_verified",
	// also set by the broker, or meaningful to relying parties
	"name", "picture", "preferred_username", "acr", "amr", "c_hash", "events", "typ",
}

// claimName is the alphabet of a claim's name: what needs no escaping in
// JSON and reads unambiguously in a log, including collision-resistant
// names like "https://acme.com/plan" (RFC 7519 §4.2).
var claimName = regexp.MustCompile(`^[A-Za-z0-9_.:/-]+$`)

// CheckName returns what is wrong with a claim's name, or "".
func CheckName(name string) string {
	switch {
	case name == "":
		return "required: the claim's name in tokens"
	case len(name) > MaxNameLength:
		return fmt.Sprintf("longer than %d characters", MaxNameLength)
	case !claimName.MatchString(name):
		return fmt.Sprintf("%q: use only A-Z, a-z, 0-9 and _ . : / -", name)
	case slices.Contains(Reserved, name):
		return fmt.Sprintf("%q is a registered or reserved claim the broker sets itself; reserved names: %s", name, strings.Join(Reserved, " "))
	}
	return ""
}

// Rule is one [[tenants.claims]] entry, checked (config.ValidateTenant).
type Rule struct {
	Name string
	Expr string
	In   Destination // zero means Everywhere
}
