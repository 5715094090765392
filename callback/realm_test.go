package callback

import (
	"bytes"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/socialbroker/broker/providers"
)

// withRealms is a test flow whose upstream "other" holds the verified
// domains acme.test and xn--bcher-kva.test (bücher.test), and whose
// directory also routes globex.test to an upstream the app does not offer.
func withRealms(t *testing.T) *testFlow {
	f := newTestFlow(t, "https://auth.example.com")
	f.dir.upstreams["other"].Domains = []string{"acme.test", "xn--bcher-kva.test"}
	f.dir.upstreams["third"] = &Upstream{Provider: &fakeProvider{name: "third"}, Name: "third", Type: "oidc", Label: "Third", Domains: []string{"globex.test"}}
	for domain, up := range map[string]string{"acme.test": "other", "xn--bcher-kva.test": "other", "globex.test": "third"} {
		f.dir.realms[domain] = up
	}
	return f
}

// upstreamOf is the upstream a redirect to upstreamAuthorize goes to, by
// the callback address it names; "" when w is no such redirect.
func upstreamOf(w *http.Response) string {
	loc, err := url.Parse(w.Header.Get("Location"))
	if w.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), upstreamAuthorize) {
		return ""
	}
	cb := loc.Query().Get("redirect_uri")
	return strings.TrimSuffix(strings.TrimPrefix(cb, "https://auth.example.com/auth/"), "/callback")
}

func TestLoginHintRoutesToHomeRealm(t *testing.T) {
	f := withRealms(t)
	for _, tc := range []struct {
		hint, provider string
		want           string // the upstream gone to; "" for the chooser
	}{
		{hint: "alice@acme.test", want: "other"},
		{hint: "Alice@ACME.Test", want: "other"},
		{hint: "bob@bücher.test", want: "other"},
		{hint: "bob@BÜCHER.test"}, // no Unicode case folding: another domain
		{hint: "carol@gmail.test"},
		{hint: "dave@globex.test"}, // held by an upstream this app does not offer
		{hint: "acme.test"},
		{hint: "alice@acme.test@evil.test"},
		{hint: "alice@sub.acme.test"},
		{hint: "alice@acme.test", provider: "fake", want: "fake"}, // the app's choice wins
	} {
		q := appQuery()
		q.Set("login_hint", tc.hint)
		if tc.provider != "" {
			q.Set("provider", tc.provider)
		}
		w := f.serve("/authorize", q.Encode()).Result()
		got := upstreamOf(w)
		if got != tc.want {
			t.Errorf("login_hint=%q provider=%q: went to %q (status %d), want %q", tc.hint, tc.provider, got, w.StatusCode, tc.want)
		}
		if tc.want == "" && w.StatusCode != http.StatusOK {
			t.Errorf("login_hint=%q: status %d, want the chooser", tc.hint, w.StatusCode)
		}
	}
}

// emailForm is the email box of a chooser page: its action and every
// field it sends besides the address.
func emailForm(t *testing.T, page string) (action string, fields url.Values) {
	t.Helper()
	m := regexp.MustCompile(`<form class="email-box" method="get" action="([^"]*)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no email box on the page:\n%s", page)
	}
	if !strings.Contains(page, `<label for="login_hint">Sign in with your work email</label>`) ||
		!strings.Contains(page, `<input id="login_hint" name="login_hint" type="email"`) {
		t.Fatalf("the email box's address field has no label:\n%s", page)
	}
	fields = url.Values{}
	for _, h := range regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`).FindAllStringSubmatch(page, -1) {
		fields.Add(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	return html.UnescapeString(m[1]), fields
}

func TestEmailBox(t *testing.T) {
	f := withRealms(t)
	q := appQuery()
	q.Set("scope", "openid email")
	q.Set("nonce", "n-<1>&")
	w := f.serve("/authorize", q.Encode())
	if w.Code != http.StatusOK {
		t.Fatalf("chooser: status %d", w.Code)
	}
	// Chrome and Safari hold a form's submission to form-action through
	// every redirect it leads to: to the upstream, and back to the app.
	if csp := w.Header().Get("Content-Security-Policy"); strings.Contains(csp, "form-action") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("the chooser with an email box has Content-Security-Policy %q, want the page policy without form-action", csp)
	}
	action, fields := emailForm(t, w.Body.String())
	if action != "/authorize" {
		t.Errorf("the email box is sent to %q, want /authorize", action)
	}
	for _, p := range []string{"response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method", "scope", "nonce"} {
		if got := fields.Get(p); got != q.Get(p) {
			t.Errorf("the email box carries %s=%q, want %q", p, got, q.Get(p))
		}
	}
	submit := func(addr string) *http.Response {
		sent := url.Values{}
		for k, v := range fields {
			sent[k] = v
		}
		sent.Set("login_hint", addr)
		return f.serve(action, sent.Encode()).Result()
	}

	if got := upstreamOf(submit("alice@acme.test")); got != "other" {
		t.Errorf("alice@acme.test in the email box went to %q, want other", got)
	}
	for addr, message := range map[string]string{
		"carol@gmail.test": "No sign-in is set up for gmail.test.",
		"not an address":   "Enter an email address",
	} {
		w := submit(addr)
		body := new(bytes.Buffer)
		if _, err := body.ReadFrom(w.Body); err != nil {
			t.Fatal(err)
		}
		if w.StatusCode != http.StatusOK || !strings.Contains(body.String(), message) {
			t.Errorf("%q in the email box: status %d, want the chooser saying %q:\n%s", addr, w.StatusCode, message, body)
		}
		if !strings.Contains(body.String(), `value="`+html.EscapeString(addr)+`"`) {
			t.Errorf("%q in the email box: the address is not kept in the box", addr)
		}
		if !strings.Contains(body.String(), "/auth/fake/login?") {
			t.Errorf("%q in the email box: the provider buttons are gone", addr)
		}
	}

	// An app's own login_hint leading nowhere shows the chooser without
	// a complaint: it is no answer to a question the page asked.
	q.Set("login_hint", "carol@gmail.test")
	if body := f.serve("/authorize", q.Encode()).Body.String(); strings.Contains(body, "No sign-in is set up") {
		t.Errorf("the app's login_hint drew the email box's message:\n%s", body)
	}
}

// TestEmailBoxOnlyWithDomains: no upstream of the app holds a domain, so
// no address could lead anywhere and the page asks for none.
func TestEmailBoxOnlyWithDomains(t *testing.T) {
	f := newTestFlow(t, "https://auth.example.com")
	if body := f.serve("/authorize", appQuery().Encode()).Body.String(); strings.Contains(body, "email-box") {
		t.Errorf("a chooser without domain-holding upstreams shows an email box:\n%s", body)
	}
}

// TestSignInEndsInRealm: a sign-in through an upstream holding domains
// ends with an email verified by it in one of them, else access_denied.
func TestSignInEndsInRealm(t *testing.T) {
	for _, tc := range []struct {
		name    string
		domains []string
		id      *providers.Identity
		want    bool
	}{
		{"in a domain", []string{"acme.test"}, &providers.Identity{Subject: "1", Email: "alice@acme.test", EmailVerified: true}, true},
		{"another case", []string{"acme.test"}, &providers.Identity{Subject: "1", Email: "Alice@Acme.TEST", EmailVerified: true}, true},
		{"the second domain", []string{"acme.test", "xn--bcher-kva.test"}, &providers.Identity{Subject: "1", Email: "bob@bücher.test", EmailVerified: true}, true},
		{"no domains held", nil, &providers.Identity{Subject: "1", Email: "eve@globex.test", EmailVerified: true}, true},
		{"another domain", []string{"acme.test"}, &providers.Identity{Subject: "1", Email: "eve@globex.test", EmailVerified: true}, false},
		{"a subdomain", []string{"acme.test"}, &providers.Identity{Subject: "1", Email: "eve@evil.acme.test", EmailVerified: true}, false},
		{"a lookalike", []string{"acme.test"}, &providers.Identity{Subject: "1", Email: "eve@acme.test.evil.test", EmailVerified: true}, false},
		{"unverified", []string{"acme.test"}, &providers.Identity{Subject: "1", Email: "alice@acme.test"}, false},
		{"no email", []string{"acme.test"}, &providers.Identity{Subject: "1"}, false},
		{"only a secondary address", []string{"acme.test"}, &providers.Identity{Subject: "1", Email: "eve@globex.test", EmailVerified: true, VerifiedEmails: []string{"eve@globex.test", "eve@acme.test"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFlow(t, "https://auth.example.com")
			f.dir.upstreams["fake"].Domains = tc.domains
			f.upstream.identity = tc.id
			state, cookie := f.start(t)
			status, location := f.callbackWith(state, cookie)
			loc, err := url.Parse(location)
			if status != http.StatusFound || err != nil || !strings.HasPrefix(location, registered[0]) {
				t.Fatalf("callback: status %d Location %q, want a redirect to the app", status, location)
			}
			if got := loc.Query().Has("code"); got != tc.want {
				t.Errorf("signed in = %v (Location %q), want %v", got, location, tc.want)
			}
			if !tc.want && loc.Query().Get("error") != "access_denied" {
				t.Errorf("error = %q, want access_denied", loc.Query().Get("error"))
			}
		})
	}
}
