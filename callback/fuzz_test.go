package callback

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// FuzzCallbackQuery sends arbitrary raw query strings to the upstream's
// return. The placeholder STATE is replaced by the state of a flow just
// started in this browser, so the fuzzer reaches past the state check.
// Whatever comes in: no panic, no 5xx, and a redirect only ever goes to
// the app's registered redirect URI, with a code only for the genuine state.
func FuzzCallbackQuery(f *testing.F) {
	for _, seed := range []string{
		"", "state=STATE&code=good", "state=STATE&code=bad", "state=STATE&code=down",
		"state=STATE&code=good&iss=https%3A%2F%2Fidp.test", "state=STATE&code=good&iss=https%3A%2F%2Fevil.test",
		"state=STATE&state=STATE&code=good", "state=STATE&code=good&code=other", "state=STATE&iss=a&iss=b&code=good",
		"state=STATE&error=access_denied&error_description=%3Ca+href%3Dhttps%3A%2F%2Fevil.test%3Ex%3C%2Fa%3E",
		"state=STATE", "state=forged&code=good", "code=good", "state=STATE&code=good;x=1", "state=%zz&code=good",
		"state=" + strings.Repeat("A", 600) + "&code=good", "%00=%00&state=STATE&code=%00",
	} {
		f.Add(seed, true)
	}
	f.Add("state=STATE&code=good", false)
	flow := newTestFlow(f, "https://auth.example.com")
	f.Fuzz(func(t *testing.T, rawQuery string, withCookie bool) {
		var cookies []*http.Cookie
		state := ""
		if strings.Contains(rawQuery, "STATE") || withCookie {
			var c *http.Cookie
			state, c = flow.start(t)
			if withCookie {
				cookies = append(cookies, c)
			}
			rawQuery = strings.ReplaceAll(rawQuery, "STATE", state)
		}
		w := flow.serve("/auth/fake/callback", rawQuery, cookies...)
		if w.Code >= 500 {
			t.Fatalf("query %q: status %d: %s", rawQuery, w.Code, w.Body)
		}
		loc := w.Header().Get("Location")
		if w.Code >= 300 && w.Code < 400 {
			if !strings.HasPrefix(loc, registered[0]+"?") {
				t.Fatalf("query %q: redirected to %q, want only the app's registered redirect URI", rawQuery, loc)
			}
			u, _ := url.Parse(loc)
			q := u.Query()
			if q.Get("code") != "" {
				// A code is minted only for the one genuine state, presented once, from the browser it belongs to.
				sent, _ := url.ParseQuery(rawQuery)
				if !withCookie || state == "" || len(sent["state"]) != 1 || sent.Get("state") != state {
					t.Fatalf("query %q: a code was issued without the genuine state and cookie", rawQuery)
				}
			}
		} else if loc != "" {
			t.Fatalf("query %q: status %d with Location %q", rawQuery, w.Code, loc)
		}
	})
}

// hrefs finds the link targets of a page.
var hrefs = regexp.MustCompile(`(?i)(?:href|src|action)\s*=\s*"([^"]*)"`)

// FuzzRedirectURIMatch sends authorization requests with arbitrary
// redirect_uri values (and arbitrary extra parameters). The broker may
// redirect only when the request carries exactly one redirect_uri that is
// byte for byte a registered one (RFC 9700 §4.1.3), and then only to it
// or to the upstream; pages link only to the broker itself and to the
// app's registered home (config.Tenant.Home), whatever the request says.
func FuzzRedirectURIMatch(f *testing.F) {
	for _, seed := range []string{
		"https://app.example.com/cb", "https://app.example.com/cb/", "https://APP.example.com/cb",
		"https://app.example.com/CB", "https://app.example.com/cb?x=1", "https://app.example.com/cb#x",
		"https://app.example.com/cb?", "https://app.example.com/cb#", "https://app.example.com:443/cb",
		"https://app.example.com@evil.test/cb", "https://evil.test@app.example.com/cb", "http://app.example.com/cb",
		"https://app.example.com\\@evil.test/cb", "https:\\\\evil.test\\cb", "https://app.example.com/cb/%2e%2e/x",
		"https://app.example.com/%63b", "https://аpp.example.com/cb", "https://app.example.com/cb\x00",
		" https://app.example.com/cb", "https://app.example.com/cb ", "//evil.test/cb", "javascript:alert(1)",
		"data:text/html,<script>alert(1)</script>", "http://127.0.0.1:5173/callback", "http://127.0.0.1:5174/callback",
		"http://localhost:5173/callback", "com.example.app:/oauth2redirect", "com.example.app://oauth2redirect", "",
	} {
		f.Add(seed, "", false)
		f.Add(seed, "", true)
	}
	f.Add("https://app.example.com/cb", "redirect_uri=https://evil.test/", false)
	f.Add("https://app.example.com/cb", "response_type=token", true)
	f.Add("https://app.example.com/cb", "client_id=other", false)
	f.Add("https://app.example.com/cb", "state=x&state=y", false)
	f.Add("https://app.example.com/cb", "provider=other", false)
	f.Add("https://app.example.com/cb", "provider=https://evil.test", false)
	flow := newTestFlow(f, "https://auth.example.com")
	f.Fuzz(func(t *testing.T, redirectURI, extra string, viaLogin bool) {
		q := appQuery()
		q.Set("redirect_uri", redirectURI)
		q.Del("provider")
		raw := q.Encode()
		if extra != "" {
			raw += "&" + extra
		}
		path := "/authorize"
		if viaLogin {
			path = "/auth/fake/login"
		}
		w := flow.serve(path, raw)
		if w.Code >= 500 {
			t.Fatalf("%s?%s: status %d", path, raw, w.Code)
		}
		loc := w.Header().Get("Location")
		sent, _ := url.ParseQuery(raw)
		if (w.Code >= 300 && w.Code < 400) || loc != "" {
			if len(sent["redirect_uri"]) != 1 || !slices.Contains(registered, sent.Get("redirect_uri")) {
				t.Fatalf("%s?%s: redirected (%d to %q) for an unregistered redirect_uri %q", path, raw, w.Code, loc, sent["redirect_uri"])
			}
			if !strings.HasPrefix(loc, sent.Get("redirect_uri")+"?") && !strings.HasPrefix(loc, upstreamAuthorize+"?") {
				t.Fatalf("%s?%s: redirected to %q, neither the app nor the upstream", path, raw, loc)
			}
			if u, err := url.Parse(loc); err != nil || u.Fragment != "" || u.Query().Has("access_token") || u.Query().Has("id_token") {
				t.Fatalf("%s?%s: redirect %q carries a fragment or a token", path, raw, loc)
			}
			return
		}
		for _, m := range hrefs.FindAllStringSubmatch(w.Body.String(), -1) {
			if target := m[1]; target != appHome && (!strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") || strings.HasPrefix(target, "/\\")) {
				t.Fatalf("%s?%s: page links to %q, outside the broker and the app's registered home", path, raw, target)
			}
		}
		if strings.Contains(strings.ToLower(w.Body.String()), "http-equiv") {
			t.Fatalf("%s?%s: page has a meta refresh", path, raw)
		}
	})
}
