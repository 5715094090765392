// Package email holds the one canonical form in which the broker compares
// email addresses and domains: ASCII letters lower-cased, domains in their
// IDNA ASCII form, and never any Unicode case folding. Who the broker
// vouches for is internal/accounts' business; how two addresses compare is
// this package's.
package email

import (
	"strings"

	"golang.org/x/net/idna"
)

// Canonical is the form in which addresses are compared: the local
// part with ASCII letters lower-cased and nothing else changed, the domain
// in its IDNA ASCII form, lower-cased. No Unicode case folding ever: it
// would make "alİce" (U+0130) equal "alice", or "acme.teſt" (U+017F)
// equal "acme.test". ok is false for what is not an address (one "@"
// between a local part and a domain: a quoted "@" in a local part is legal
// but no provider issues one, and two readers could split it in two
// places), or whose domain is not a valid IDNA name: such an address
// matches nothing.
func Canonical(s string) (string, bool) {
	i := strings.IndexByte(s, '@')
	if i <= 0 || i == len(s)-1 || strings.IndexByte(s[i+1:], '@') >= 0 {
		return "", false
	}
	domain, ok := Domain(s[i+1:])
	if !ok {
		return "", false
	}
	return ASCIILower(s[:i]) + "@" + domain, true
}

// Domain returns a domain's IDNA ASCII form, lower-cased. The
// registration profile refuses what the lookup profile would map (upper
// case and compatibility characters such as U+017F), so no two spellings
// of different domains meet in one form.
func Domain(d string) (string, bool) {
	d = ASCIILower(d)
	if isASCII(d) {
		return d, d != "" && !strings.ContainsAny(d, "@ ")
	}
	a, err := idna.Registration.ToASCII(d)
	if err != nil {
		return "", false
	}
	return ASCIILower(a), true
}

// ASCIILower lower-cases ASCII letters only (strings.ToLower maps U+0130
// to "i̇" and U+212A to "k").
func ASCIILower(s string) string {
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
