package callback

import (
	"net/url"
	"slices"
	"strings"

	"github.com/socialbroker/broker/internal/email"
	"github.com/socialbroker/broker/internal/web"
	"github.com/socialbroker/broker/providers"
)

// Home-realm discovery: an email address names the upstream that holds its
// domain (a connection whose domain was verified through the admin API),
// so that someone@acme.com goes straight to Acme's own identity provider,
// from the app's login_hint or from the email box on the hosted page.

// emailBoxParam marks a request sent by the hosted page's email box, so
// that an address leading nowhere is answered with a message; an app's own
// login_hint leading nowhere (alice@gmail.com) just shows the chooser.
const emailBoxParam = "email_box"

// homeRealm names the upstream of t holding the domain of the address
// hint, or "" when hint is no address or its domain is held by no
// upstream t offers.
func (h *Handler) homeRealm(t *App, hint string) string {
	domain, ok := emailDomain(hint)
	if !ok {
		return ""
	}
	name, ok := h.dir.HomeRealm(domain)
	if !ok || !slices.Contains(t.Providers, name) {
		return ""
	}
	return name
}

// emailDomain is the canonical domain (lower case, IDNA ASCII) of the
// address addr.
func emailDomain(addr string) (string, bool) {
	c, ok := email.Canonical(addr)
	if !ok {
		return "", false
	}
	return c[strings.LastIndexByte(c, '@')+1:], true
}

// inRealm reports whether id may end a sign-in through up: an upstream
// holding verified domains vouches only for addresses in them, so its
// identity's email must be verified and in one of them. Without this,
// Acme's administrator could sign in as anyone@globex.com through Acme's
// own identity provider wherever emails link accounts.
func inRealm(up *Upstream, id *providers.Identity) bool {
	if len(up.Domains) == 0 {
		return true
	}
	domain, ok := emailDomain(id.Email)
	if !ok || !id.EmailVerified {
		return false
	}
	return slices.ContainsFunc(up.Domains, func(d string) bool {
		held, ok := email.Domain(d)
		return ok && held == domain
	})
}

// vouchOnlyInRealm narrows what a tenant's own upstream vouches for to
// the domains it proved by DNS. Users are the broker's, shared by every
// tenant, and a vouched address links an identity to the user who holds
// it: an upstream run by one tenant's administrator (trust_email set on
// the IdP they run) could otherwise claim ceo@globex.com and sign in as
// Globex's user, with that user's sub and profile (the nOAuth pattern
// across tenants; OIDC Core §5.7: email is not a stable, unique
// identifier unless its issuer is the authority for it). Upstreams any
// tenant may offer are the operator's to trust.
func vouchOnlyInRealm(up *Upstream, id *providers.Identity) {
	if up.Owner == "" || !id.EmailTrusted {
		return
	}
	inDomains := func(addr string) bool {
		domain, ok := emailDomain(addr)
		return ok && slices.ContainsFunc(up.Domains, func(d string) bool {
			held, ok := email.Domain(d)
			return ok && held == domain
		})
	}
	if !inDomains(id.Email) {
		id.EmailTrusted = false
		return
	}
	id.VerifiedEmails = slices.DeleteFunc(slices.Clone(id.VerifiedEmails), func(e string) bool { return !inDomains(e) })
}

// emailBox is the hosted page's "Sign in with your work email" form, or
// nil when none of t's upstreams holds a domain (no address could lead
// anywhere). It submits to /authorize with the app's parameters q and
// the address as login_hint.
func (h *Handler) emailBox(r *authRequest, q url.Values) *web.EmailBox {
	if !slices.ContainsFunc(r.tenant.Providers, func(name string) bool {
		up, ok := h.dir.Upstream(name)
		return ok && len(up.Domains) > 0
	}) {
		return nil
	}
	box := &web.EmailBox{Action: "/authorize", Marker: emailBoxParam}
	for _, p := range appParams {
		if v := q.Get(p); v != "" && p != "provider" && p != "login_hint" {
			box.Hidden = append(box.Hidden, web.Field{Name: p, Value: v})
		}
	}
	if q.Get(emailBoxParam) == "" {
		return box
	}
	box.Value = r.loginHint
	if domain, ok := emailDomain(r.loginHint); ok {
		box.Message = "No sign-in is set up for " + domain + ". Choose another way to sign in."
	} else {
		box.Message = "Enter an email address, like name@company.com."
	}
	return box
}
