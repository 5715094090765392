package accounts

import (
	"slices"

	"github.com/socialbroker/broker/internal/email"
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
// canonical form (email.Canonical), the primary first.
func VouchedEmails(id *providers.Identity) []string {
	if !id.EmailTrusted {
		return nil
	}
	var out []string
	add := func(e string) {
		if c, ok := email.Canonical(e); ok && !slices.Contains(out, c) {
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
	c, ok := email.Canonical(id.Email)
	if !ok {
		return email.ASCIILower(id.Email), false
	}
	return c, id.EmailTrusted && id.EmailVerified
}
