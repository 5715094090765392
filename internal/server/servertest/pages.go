package servertest

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// HostileURIs are near misses of base: none may ever be redirected to
// (RFC 9700 §4.1.3: exact string matching).
func HostileURIs(base string) map[string]string {
	u, _ := url.Parse(base)
	host, path := u.Host, u.Path
	uris := map[string]string{
		"trailing slash":          base + "/",
		"no trailing slash":       strings.TrimSuffix(base, "/"),
		"case of path":            "http://" + host + strings.ToUpper(path),
		"case of scheme":          "HTTP://" + host + path,
		"case of host":            "http://LOCALHOST:5173" + path,
		"extra query":             base + "?next=https://evil.test/",
		"empty query":             base + "?",
		"fragment":                base + "#https://evil.test/",
		"empty fragment":          base + "#",
		"userinfo before host":    "http://evil.test@" + host + path,
		"host as userinfo":        "http://" + host + "@evil.test" + path,
		"other scheme":            "https://" + host + path,
		"other port":              "http://127.0.0.1:5174" + path,
		"default port":            "http://127.0.0.1" + path,
		"other host":              "https://evil.test" + path,
		"localhost for 127.0.0.1": "http://localhost:5173" + path,
		"backslash host":          "http://" + host + "\\@evil.test" + path,
		"backslashes":             "http:\\\\evil.test\\" + strings.TrimPrefix(path, "/"),
		"scheme-relative":         "//evil.test" + path,
		"encoded dots":            "http://" + host + path + "/%2e%2e/%2e%2e/evil",
		"dot segments":            "http://" + host + path + "/../evil",
		"encoded character":       "http://" + host + strings.Replace(path, "/", "/%2F", 1),
		"encoded host":            "http://127.0.0.1%3A5173" + path,
		"unicode look-alike path": "http://" + host + strings.Replace(path, "a", "а", 1) + "x", // Cyrillic а
		"fullwidth digits host":   "http://１２７.0.0.1:5173" + path,
		"zero-width space":        base + "\u200b",
		"trailing space":          base + " ",
		"leading space":           " " + base,
		"null byte":               base + "\x00",
		"newline":                 base + "\r\nLocation: https://evil.test/",
		"javascript":              "javascript:alert(document.domain)//" + base,
		"data":                    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
		"empty":                   "",
	}
	for name, u := range uris {
		if u == base {
			delete(uris, name) // not a near miss of this base
		}
	}
	return uris
}

// LinkAttr finds the link targets a page carries.
var LinkAttr = regexp.MustCompile(`(?i)(?:href|src|action|formaction)\s*=\s*["']?([^"'\s>]*)`)

// NoForeignLinks asserts a broker page links nowhere but to itself and the
// app's registered home, and does not echo an attacker-chosen address.
func NoForeignLinks(t *testing.T, body string) {
	t.Helper()
	for _, m := range LinkAttr.FindAllStringSubmatch(body, -1) {
		if target := m[1]; target != AppHome && !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") || strings.HasPrefix(target, "/\\") {
			t.Errorf("page links to %q, outside the broker", target)
		}
	}
	lower := strings.ToLower(body)
	for _, bad := range []string{"evil.test", "http-equiv", "javascript:", "<script>alert"} {
		if strings.Contains(lower, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
}

// RefusedPage asserts an HTML 400 page, no redirect, no foreign link.
func RefusedPage(t *testing.T, resp *http.Response) {
	t.Helper()
	body := ReadAll(t, resp)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || resp.Header.Get("Refresh") != "" {
		t.Fatalf("status %d Location %q Refresh %q; want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Refresh"))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("content type %q, want an HTML page", ct)
	}
	NoForeignLinks(t, body)
}

// PageRefusal asserts a browser-facing refusal: an HTML error page with the
// given status and no redirect anywhere.
func PageRefusal(t *testing.T, resp *http.Response, status int) {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != status || resp.Header.Get("Location") != "" {
		t.Fatalf("status %d, Location %q; want %d and no redirect", resp.StatusCode, resp.Header.Get("Location"), status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("content type %q, want an HTML page", ct)
	}
}

// pageRef is the reference id an error page shows.
var pageRef = regexp.MustCompile(`Reference <code>([A-Z0-9]{8})</code>`)

// Refusal reads an error page: its status, text (unescaped) and
// reference id, and the log line that carries the same id.
func (h *Harness) Refusal(t *testing.T, resp *http.Response) (body string, log map[string]any) {
	t.Helper()
	raw := ReadAll(t, resp)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("status %d Location %q, want a 400 page", resp.StatusCode, resp.Header.Get("Location"))
	}
	m := pageRef.FindStringSubmatch(raw)
	if m == nil {
		t.Fatalf("the page shows no reference id:\n%s", raw)
	}
	for _, line := range strings.Split(h.Logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["ref"] == m[1] {
			return raw, rec
		}
	}
	t.Fatalf("no log line carries the page's reference %s:\n%s", m[1], h.Logs.String())
	return "", nil
}

// WantAppLink asserts the page links back to the harness app's registered
// home, naming it.
func WantAppLink(t *testing.T, body, name string) {
	t.Helper()
	if !strings.Contains(body, `href="`+AppHome+`"`) || !strings.Contains(html.UnescapeString(body), "Return to "+name) {
		t.Errorf("the page does not link back to %s at %s:\n%s", name, AppHome, body)
	}
}
