package accounts

import (
	"slices"
	"strings"

	"golang.org/x/net/idna"

	"github.com/socialbroker/broker/providers"
)

// The one email-trust rule (contract, "Changes to what is above"): the
// broker vouches for an address only when the upstream marks it verified
// AND the provider is trusted to vouch for it (Identity.EmailTrusted:
// trust_email, narrowed by the provider to what it is the authority for).
// Only a vouched address links accounts, satisfies emails and
// email_domains rules, or leaves the broker as email_verified: true. An
// IdP that anyone can run would otherwise make its users admin@yourco
// (the nOAuth pattern). Every use asks VouchedEmails or vouchedPrimary.

// VouchedEmails returns the addresses of id the broker vouches for, in
// canonical form (CanonicalEmail), the primary first.
func VouchedEmails(id *providers.Identity) []string {
	if !id.EmailTrusted {
		return nil
	}
	var out []string
	add := func(e string) {
		if c, ok := CanonicalEmail(e); ok && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if id.EmailVerified {
		add(id.Email)
	}
	for _, e := range id.VerifiedEmails {
		add(e)
	}
	return out
}

// vouchedPrimary returns id's primary address as it is stored (canonical
// when it can be), and whether the broker vouches for it.
func vouchedPrimary(id *providers.Identity) (string, bool) {
	c, ok := CanonicalEmail(id.Email)
	if !ok {
		return asciiLower(id.Email), false
	}
	return c, id.EmailTrusted && id.EmailVerified
}

// CanonicalEmail is the form in which addresses are compared: the local
// part with ASCII letters lower-cased and nothing else changed, the domain
// in its IDNA ASCII form, lower-cased. No Unicode case folding ever: it
// would make "alİce" (U+0130) equal "alice", or "acme.teſt" (U+017F)
// equal "acme.test". ok is false for what is not an address (one "@"
// between a local part and a domain: a quoted "@" in a local part is legal
// but no provider issues one, and two readers could split it in two
// places), or whose domain is not a valid IDNA name: such an address
// matches nothing.
func CanonicalEmail(s string) (string, bool) {
	i := strings.IndexByte(s, '@')
	if i <= 0 || i == len(s)-1 || strings.IndexByte(s[i+1:], '@') >= 0 {
		return "", false
	}
	domain, ok := CanonicalDomain(s[i+1:])
	if !ok {
		return "", false
	}
	return asciiLower(s[:i]) + "@" + domain, true
}

// CanonicalDomain returns a domain's IDNA ASCII form, lower-cased. The
// registration profile refuses what the lookup profile would map (upper
// case and compatibility characters such as U+017F), so no two spellings
// of different domains meet in one form.
func CanonicalDomain(d string) (string, bool) {
	d = asciiLower(d)
	if isASCII(d) {
		return d, d != "" && !strings.ContainsAny(d, "@ ")
	}
	a, err := idna.Registration.ToASCII(d)
	if err != nil {
		return "", false
	}
	return asciiLower(a), true
}

// asciiLower lower-cases ASCII letters only (strings.ToLower maps U+0130
// to "i̇" and U+212A to "k").
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
