package demo

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Every provider of the demo signs alice in through its fake, as a
// browser clicking her on the fake's chooser would.
func TestDemoSignsInWithEveryProvider(t *testing.T) {
	// On all interfaces too (a container, a VM): every fake is then
	// reached through the demo's one port, as a forwarded port would.
	for _, listen := range []string{"127.0.0.1:0", "0.0.0.0:0"} {
		t.Run(listen, func(t *testing.T) { signInWithEveryProvider(t, listen) })
	}
}

func signInWithEveryProvider(t *testing.T, listen string) {
	d, err := Start(t.Context(), listen, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done; d.Close() })
	issuer := strings.TrimSuffix(d.URL, "/demo/")
	for _, provider := range []string{"google", "github", "microsoft", "apple", "gitlab", "discord", "facebook", "linkedin", "slack"} {
		t.Run(provider, func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			b := &http.Client{Jar: jar, Timeout: 10 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			sum := sha256.Sum256([]byte(strings.Repeat("v", 43)))
			q := url.Values{"response_type": {"code"}, "client_id": {TenantID}, "redirect_uri": {issuer + "/demo/callback"},
				"state": {"s"}, "scope": {"openid email profile"}, "code_challenge_method": {"S256"},
				"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}}
			next := issuer + "/auth/" + provider + "/login?" + q.Encode()
			for range 8 {
				resp, err := b.Get(next)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther:
					loc, _ := resp.Request.URL.Parse(resp.Header.Get("Location"))
					if strings.HasPrefix(loc.String(), issuer+"/demo/callback") {
						if loc.Query().Get("code") == "" {
							t.Fatalf("back at the app without a code: %v", loc.Query())
						}
						return
					}
					next = loc.String()
				case strings.Contains(string(body), `<form method="post"`): // Apple's form_post
					action := regexp.MustCompile(`action="([^"]+)"`).FindSubmatch(body)
					form := url.Values{}
					for _, m := range regexp.MustCompile(`name="([^"]+)" value="([^"]*)"`).FindAllSubmatch(body, -1) {
						form.Set(string(m[1]), html.UnescapeString(string(m[2])))
					}
					resp, err := (&http.Client{Timeout: 10 * time.Second, CheckRedirect: b.CheckRedirect}).PostForm(html.UnescapeString(string(action[1])), form)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					next = resp.Header.Get("Location")
				case strings.Contains(string(body), "FAKE"): // the fake's chooser: click alice
					u, _ := url.Parse(next)
					qq := u.Query()
					qq.Set("login_as", Users[0].Subject)
					u.RawQuery = qq.Encode()
					next = u.String()
				default:
					t.Fatalf("GET %s: status %d: %.300s", next, resp.StatusCode, body)
				}
			}
			t.Fatal("too many steps")
		})
	}
}
