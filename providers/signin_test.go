package providers_test

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/providers/providertest"
)

// Microsoft directories of the provider tests: one allowed, one not.
const (
	allowedDir = "11111111-1111-4111-8111-111111111111"
	otherDir   = "22222222-2222-4222-8222-222222222222"
)

var (
	// msAlice's directory vouches for her address's domain (xms_edov).
	msAlice = providertest.User{Subject: "pairwise-alice", TenantID: allowedDir, ObjectID: "aaaaaaaa-0000-4000-8000-000000000001",
		Name: "Alice MS", Email: "alice@acme.test", DomainVerified: true}
	// msNoEdov claims alice's address in the same directory, unvouched:
	// the nOAuth attack.
	msNoEdov = providertest.User{Subject: "pairwise-mallory", TenantID: allowedDir, ObjectID: "aaaaaaaa-0000-4000-8000-000000000002",
		Name: "Mallory", Email: "alice@acme.test"}
	// msOutsider is from a directory the broker does not allow.
	msOutsider = providertest.User{Subject: "pairwise-out", TenantID: otherDir, ObjectID: "bbbbbbbb-0000-4000-8000-000000000001",
		Name: "Outsider", Email: "alice@acme.test", DomainVerified: true}
	// msPersonal is a personal Microsoft account.
	msPersonal = providertest.User{Subject: "pairwise-pers", TenantID: providertest.MicrosoftConsumersTenant, ObjectID: "00000000-0000-0000-0001-000000000001",
		Name: "Pat Personal", Email: "pat@outlook.test"}
	appleAlice = providertest.User{Subject: "001234.apple.alice", Name: "Alice Apple", Email: "x7f3@privaterelay.appleid.com",
		EmailVerified: true, PrivateEmail: true}
	appleBob = providertest.User{Subject: "001234.apple.bob", Name: "Bob Apple", Email: "bob@other.test", EmailVerified: true}
	// discordAlice's and fbAlice's addresses are alice's.
	discordAlice = providertest.User{Subject: "80351110224678912", Login: "alice_d", Name: "Alice D", Email: "alice@acme.test", EmailVerified: true}
	discordEve   = providertest.User{Subject: "80351110224678913", Login: "eve_d", Name: "Eve D", Email: "alice@acme.test", EmailVerified: false}
	fbAlice      = providertest.User{Subject: "10158000000000001", Name: "Alice FB", Email: "alice@acme.test", EmailVerified: true, Picture: "https://fb.test/alice.jpg"}
	glAlice      = providertest.User{Subject: "42", Login: "alice", Name: "Alice GL", Email: "alice@acme.test", EmailVerified: true, Groups: []string{"acme", "acme/platform"}}
	liAlice      = providertest.User{Subject: "li-abc", Name: "Alice LI", Email: "alice@acme.test", EmailVerified: true}
)

// provHarness is a broker whose only providers are the second round's
// types, each against its fake.
type provHarness struct {
	*servertest.Harness
	ms                      *providertest.OIDC
	apple                   *providertest.Apple
	appleBool               *providertest.Apple
	gitlab, linkedin, slack *providertest.OIDC
	discord, facebook       *providertest.OAuth2
}

func newProvHarness(t *testing.T) *provHarness {
	t.Helper()
	h := &provHarness{}
	h.Harness = servertest.StartConfig(t, func(issuer string) string {
		cb := func(name string) []string { return []string{issuer + "/auth/" + name + "/callback"} }
		msUsers := []providertest.User{msAlice, msNoEdov, msOutsider, msPersonal}
		h.ms = providertest.NewMicrosoft(providertest.OIDCOptions{ClientID: "ms-client", ClientSecret: "ms-secret", IssuerParameter: true,
			RedirectURIs: append(cb("microsoft"), cb("mscommon")...), Users: msUsers})
		h.apple = providertest.NewApple(providertest.AppleOptions{RedirectURIs: cb("apple"), Users: []providertest.User{appleAlice, appleBob}})
		h.appleBool = providertest.NewApple(providertest.AppleOptions{RedirectURIs: cb("apple2"), Users: []providertest.User{appleBob}, BooleanClaims: true})
		h.gitlab = providertest.NewGitLab(providertest.OIDCOptions{ClientID: "gl-client", ClientSecret: "gl-secret", RedirectURIs: cb("gitlab"), Users: []providertest.User{glAlice}})
		h.linkedin = providertest.NewLinkedIn(providertest.OIDCOptions{ClientID: "li-client", ClientSecret: "li-secret", RedirectURIs: cb("linkedin"), Users: []providertest.User{liAlice}})
		h.slack = providertest.NewSlack(providertest.OIDCOptions{ClientID: "sl-client", ClientSecret: "sl-secret", RedirectURIs: cb("slack"), Users: []providertest.User{liAlice}})
		h.discord = providertest.NewDiscord(providertest.OAuth2Options{ClientID: "dc-client", ClientSecret: "dc-secret",
			RedirectURIs: append(cb("discord"), cb("generic")...), Users: []providertest.User{discordAlice, discordEve}})
		h.facebook = providertest.NewFacebook(providertest.OAuth2Options{ClientID: "fb-client", ClientSecret: "fb-secret", RedirectURIs: cb("facebook"), Users: []providertest.User{fbAlice}})
		for _, c := range []func(){h.ms.Close, h.apple.Close, h.appleBool.Close, h.gitlab.Close, h.linkedin.Close, h.slack.Close, h.discord.Close, h.facebook.Close} {
			t.Cleanup(c)
		}
		return fmt.Sprintf(`
issuer = %q
upstream_timeout = "2s"
[database]
url = %q
[providers.microsoft]
client_id = "ms-client"
client_secret = "ms-secret"
authority = %q
allowed_tenants = [%q, %q]
[providers.mscommon]
type = "microsoft"
client_id = "ms-client"
client_secret = "ms-secret"
authority = %q
[providers.apple]
client_id = %q
team_id = %q
key_id = %q
private_key = '''
%s'''
issuer = %q
[providers.apple2]
type = "apple"
client_id = %q
team_id = %q
key_id = %q
private_key = %q
issuer = %q
[providers.gitlab]
client_id = "gl-client"
client_secret = "gl-secret"
base_url = %q
[providers.discord]
client_id = "dc-client"
client_secret = "dc-secret"
base_url = %q
trust_email = true
[providers.facebook]
client_id = "fb-client"
client_secret = "fb-secret"
base_url = %q
[providers.linkedin]
client_id = "li-client"
client_secret = "li-secret"
issuer = %q
trust_email = true
[providers.slack]
client_id = "sl-client"
client_secret = "sl-secret"
issuer = %q
[providers.generic]
type = "oauth2"
client_id = "dc-client"
client_secret = "dc-secret"
authorize_url = %q
token_url = %q
userinfo_url = %q
scopes = ["identify"]
[providers.generic.claims]
subject = "id"
username = "username"
name = "global_name"
[[tenants]]
id = "spa"
redirect_uris = [%q]
providers = ["microsoft", "mscommon", "apple", "apple2", "gitlab", "discord", "facebook", "linkedin", "slack", "generic"]
`, issuer, "sqlite:"+filepath.Join(t.TempDir(), "broker.db"),
			h.ms.BaseURL(), allowedDir, providertest.MicrosoftConsumersTenant, h.ms.BaseURL(),
			h.apple.ClientID(), h.apple.TeamID(), h.apple.KeyID(), h.apple.PrivateKeyPEM(), h.apple.URL(),
			// apple2's key as one line with literal \n, as an environment
			// variable often carries it.
			h.appleBool.ClientID(), h.appleBool.TeamID(), h.appleBool.KeyID(), strings.ReplaceAll(h.appleBool.PrivateKeyPEM(), "\n", `\n`), h.appleBool.URL(),
			h.gitlab.URL(), h.discord.BaseURL(), h.facebook.BaseURL(), h.linkedin.URL(), h.slack.URL(),
			h.discord.BaseURL()+"/oauth2/authorize", h.discord.BaseURL()+"/api/oauth2/token", h.discord.BaseURL()+"/api/users/@me",
			servertest.AppRedirect) + `
[[tenants]]
id = "platform"
redirect_uris = ["` + servertest.AppRedirect + `"]
providers = ["gitlab"]
[tenants.access]
groups = ["acme/platform"]
[[tenants.roles]]
role = "deployer"
groups = ["acme/platform"]
[[tenants.roles]]
role = "viewer"
everyone = true
[[tenants.claims]]
name = "groups"
expr = "identity.groups"
in = ["access_token"]
`
	})
	return h
}

// signInWith runs a sign-in through a redirect-based provider (setNext
// picks the user upstream) and returns the app's redirect query.
func (h *provHarness) signInWith(provider string, setNext func(providertest.User), u providertest.User) (url.Values, servertest.PKCE) {
	h.T.Helper()
	p := servertest.NewPKCE()
	setNext(u)
	return h.NewBrowser().Follow(h.AuthorizeURL("/auth/"+provider+"/login", "spa", p, nil)), p
}

// tokens redeems a successful sign-in's code; it fails the test otherwise.
func (h *provHarness) tokens(q url.Values, p servertest.PKCE) servertest.TokenResponse {
	h.T.Helper()
	if q.Get("error") != "" {
		h.T.Fatalf("sign-in: error=%s (%s)", q.Get("error"), q.Get("error_description"))
	}
	tr, status := h.Redeem("spa", q.Get("code"), p.Verifier)
	if status != http.StatusOK {
		h.T.Fatalf("redeem: status %d: %+v", status, tr)
	}
	return tr
}

func (h *provHarness) me(tr servertest.TokenResponse) servertest.MeResponse {
	h.T.Helper()
	var me servertest.MeResponse
	if status, _ := h.GetBearer("/auth/me", tr.AccessToken, &me); status != http.StatusOK {
		h.T.Fatalf("/auth/me: status %d", status)
	}
	return me
}

func wantDenied(t *testing.T, q url.Values) {
	t.Helper()
	if q.Get("error") != "access_denied" || q.Get("code") != "" {
		t.Fatalf("got %v, want error=access_denied and no code", q)
	}
}

func TestMicrosoftSignIn(t *testing.T) {
	h := newProvHarness(t)
	// The directory's verified address: keyed on tid:oid, email vouched.
	alice := h.me(h.tokens(h.signInWith("microsoft", h.ms.SetNextUser, msAlice)))
	if got, want := alice.Identities[0].Subject, allowedDir+":"+msAlice.ObjectID; got != want {
		t.Errorf("subject = %q, want %q (tid:oid, never the email or the pairwise sub)", got, want)
	}
	if !alice.EmailVerified || alice.Email != "alice@acme.test" {
		t.Errorf("alice: email %q verified %v, want alice@acme.test vouched (xms_edov)", alice.Email, alice.EmailVerified)
	}
	// nOAuth: the same address without xms_edov is neither vouched for
	// nor linked to alice's account.
	mallory := h.me(h.tokens(h.signInWith("microsoft", h.ms.SetNextUser, msNoEdov)))
	if mallory.ID == alice.ID || mallory.EmailVerified {
		t.Errorf("mallory: id %s (alice %s), emailVerified %v: an unvouched Entra email linked or was trusted", mallory.ID, alice.ID, mallory.EmailVerified)
	}
	// A personal account works when its directory is allowed.
	pat := h.me(h.tokens(h.signInWith("microsoft", h.ms.SetNextUser, msPersonal)))
	if want := providertest.MicrosoftConsumersTenant + ":" + msPersonal.ObjectID; pat.Identities[0].Subject != want {
		t.Errorf("personal subject = %q, want %q", pat.Identities[0].Subject, want)
	}
}

func TestMicrosoftRefusals(t *testing.T) {
	h := newProvHarness(t)
	forge := func(name string, user providertest.User, mutate func(c map[string]any)) {
		t.Run(name, func(t *testing.T) {
			h.ms.SetIDTokenMutator(mutate)
			defer h.ms.SetIDTokenMutator(nil)
			q, _ := h.signInWith("microsoft", h.ms.SetNextUser, user)
			wantDenied(t, q)
		})
	}
	// A token from a directory that is not allowed, with its own,
	// correct issuer.
	forge("directory not allowed", msOutsider, nil)
	// The outsider's token claims the allowed directory's issuer: the
	// issuer follows the token's tid, which is not allowed.
	forge("issuer of an allowed directory", msOutsider, func(c map[string]any) {
		c["iss"] = h.ms.BaseURL() + "/" + allowedDir + "/v2.0"
	})
	// An allowed directory's token whose iss is not that directory's.
	forge("forged iss", msAlice, func(c map[string]any) { c["iss"] = h.ms.BaseURL() + "/" + otherDir + "/v2.0" })
	forge("templated iss", msAlice, func(c map[string]any) { c["iss"] = h.ms.BaseURL() + "/{tenantid}/v2.0" })
	forge("no tid", msAlice, func(c map[string]any) { delete(c, "tid") })
	// RFC 9207: the authorization response's iss must be an allowed
	// directory's issuer at this authority.
	for name, iss := range map[string]string{
		"response iss of a directory not allowed": h.ms.BaseURL() + "/" + otherDir + "/v2.0",
		"response iss of another authority":       "https://login.evil.test/" + allowedDir + "/v2.0",
		"response iss templated":                  h.ms.BaseURL() + "/{tenantid}/v2.0",
	} {
		t.Run(name, func(t *testing.T) {
			b, p := h.NewBrowser(), servertest.NewPKCE()
			h.ms.SetNextUser(msAlice)
			up := b.UpstreamRedirect(h.AuthorizeURL("/auth/microsoft/login", "spa", p, nil))
			resp := b.Get(up.String())
			resp.Body.Close()
			back, _ := url.Parse(resp.Header.Get("Location"))
			q := back.Query()
			if q.Get("iss") != h.ms.BaseURL()+"/"+allowedDir+"/v2.0" {
				t.Fatalf("the fake sent iss %q, want alice's directory's issuer", q.Get("iss"))
			}
			q.Set("iss", iss)
			back.RawQuery = q.Encode()
			wantDenied(t, b.Follow(back.String()))
		})
	}
	// tenant = common with no allowed_tenants refuses every account.
	t.Run("common without allowed_tenants", func(t *testing.T) {
		q, _ := h.signInWith("mscommon", h.ms.SetNextUser, msAlice)
		wantDenied(t, q)
	})
	if strings.Contains(h.Logs.String(), "ms-secret") {
		t.Error("a client secret reached the logs")
	}
}

// formPostPage reads the fake Apple's self-submitting form.
var formField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
var formAction = regexp.MustCompile(`<form method="post" action="([^"]+)">`)

// appleUpstream starts a sign-in with Apple in b and returns the form Apple
// would post back: its action and fields.
func (h *provHarness) appleUpstream(b *servertest.Browser, provider string, fake *providertest.Apple, u providertest.User, p servertest.PKCE) (string, url.Values) {
	h.T.Helper()
	fake.SetNextUser(u)
	up := b.UpstreamRedirect(h.AuthorizeURL("/auth/"+provider+"/login", "spa", p, nil))
	if got := up.Query().Get("response_mode"); got != "form_post" {
		h.T.Fatalf("response_mode = %q, want form_post", got)
	}
	resp := b.Get(up.String())
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action := formAction.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || action == nil {
		h.T.Fatalf("Apple's answer: status %d, body %.300s", resp.StatusCode, body)
	}
	form := url.Values{}
	for _, m := range formField.FindAllSubmatch(body, -1) {
		form.Set(string(m[1]), html.UnescapeString(string(m[2])))
	}
	return html.UnescapeString(string(action[1])), form
}

// postForm posts as the browser does when Apple's page submits itself:
// a cross-site POST, which carries no SameSite=Lax cookie. It returns the
// 303's target.
func (h *provHarness) crossSitePost(action string, form url.Values) (*http.Response, string) {
	h.T.Helper()
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(action, form)
	if err != nil {
		h.T.Fatal(err)
	}
	resp.Body.Close()
	return resp, resp.Header.Get("Location")
}

func TestAppleSignIn(t *testing.T) {
	h := newProvHarness(t)
	first := func(u providertest.User) servertest.MeResponse {
		t.Helper()
		b, p := h.NewBrowser(), servertest.NewPKCE()
		action, form := h.appleUpstream(b, "apple", h.apple, u, p)
		resp, next := h.crossSitePost(action, form)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(next, h.Issuer+"/auth/apple/callback?response=") {
			t.Fatalf("form POST: status %d, Location %q; want 303 to the GET callback", resp.StatusCode, next)
		}
		for _, secret := range []string{form.Get("code"), "firstName"} {
			if strings.Contains(next, secret) {
				t.Errorf("the callback URL carries %q readable", secret)
			}
		}
		// The GET is a top-level navigation: the browser's Lax cookie goes.
		return h.me(h.tokens(b.Follow(next), p))
	}
	alice := first(appleAlice)
	if alice.Name != "Alice Apple" {
		t.Errorf("name = %q, want the name Apple sent in the user field", alice.Name)
	}
	if !alice.EmailVerified || alice.Email != appleAlice.Email {
		t.Errorf("email %q verified %v: a private relay address Apple verified must be vouched for", alice.Email, alice.EmailVerified)
	}
	// The second sign-in has no user field: the name is kept.
	again := first(appleAlice)
	if again.ID != alice.ID || again.Name != "Alice Apple" {
		t.Errorf("second sign-in: id %s name %q, want %s and the name kept", again.ID, again.Name, alice.ID)
	}
	// The broker's client secret, as Apple's token endpoint checked it.
	hdr, c, n := h.apple.LastClientSecret()
	if n < 2 || hdr["alg"] != "ES256" || hdr["kid"] != h.apple.KeyID() || c["iss"] != h.apple.TeamID() ||
		c["sub"] != h.apple.ClientID() {
		t.Errorf("client secret: header %v claims %v (%d accepted)", hdr, c, n)
	}
	iat, _ := c.GetIssuedAt()
	exp, _ := c.GetExpirationTime()
	if exp.Sub(iat.Time) > providertest.AppleSecretMaxTTL || exp.Sub(iat.Time) <= 0 {
		t.Errorf("client secret lives %s, want at most six months", exp.Sub(iat.Time))
	}
	// Booleans as JSON booleans, a key with literal \n.
	bob := first2(t, h, appleBob)
	if !bob.EmailVerified || bob.Name != "Bob Apple" {
		t.Errorf("apple2 (boolean claims): %+v", bob)
	}
}

func first2(t *testing.T, h *provHarness, u providertest.User) servertest.MeResponse {
	t.Helper()
	b, p := h.NewBrowser(), servertest.NewPKCE()
	action, form := h.appleUpstream(b, "apple2", h.appleBool, u, p)
	_, next := h.crossSitePost(action, form)
	return h.me(h.tokens(b.Follow(next), p))
}

func TestAppleRefusals(t *testing.T) {
	h := newProvHarness(t)
	t.Run("replayed state", func(t *testing.T) {
		b, p := h.NewBrowser(), servertest.NewPKCE()
		action, form := h.appleUpstream(b, "apple", h.apple, appleBob, p)
		_, next := h.crossSitePost(action, form)
		h.tokens(b.Follow(next), p)
		// The same response posted again, and the sealed GET replayed.
		_, again := h.crossSitePost(action, form)
		for _, u := range []string{again, next} {
			resp := b.Get(u)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("replay %.80s: status %d, want 400", u, resp.StatusCode)
			}
		}
	})
	t.Run("another browser's response (login CSRF)", func(t *testing.T) {
		attacker, p := h.NewBrowser(), servertest.NewPKCE()
		action, form := h.appleUpstream(attacker, "apple", h.apple, appleBob, p)
		_, next := h.crossSitePost(action, form)
		victim := h.NewBrowser()
		resp := victim.Get(next)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})
	t.Run("forged sealed response", func(t *testing.T) {
		resp := h.NewBrowser().Get(h.Issuer + "/auth/apple/callback?response=" + strings.Repeat("A", 100))
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})
	t.Run("state in the URL, not the form", func(t *testing.T) {
		b, p := h.NewBrowser(), servertest.NewPKCE()
		action, form := h.appleUpstream(b, "apple", h.apple, appleBob, p)
		state := form.Get("state")
		form.Del("state")
		resp, _ := h.crossSitePost(action+"?state="+url.QueryEscape(state), form)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})
	t.Run("POST to a provider that redirects", func(t *testing.T) {
		resp, _ := h.crossSitePost(h.Issuer+"/auth/gitlab/callback", url.Values{"state": {"x"}, "code": {"y"}})
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("status %d, want 405", resp.StatusCode)
		}
	})
}

func TestOAuth2AndPresetsSignIn(t *testing.T) {
	h := newProvHarness(t)
	// Discord with trust_email: its verified address is vouched for, and
	// links the Discord and LinkedIn (trust_email) identities.
	dAlice := h.me(h.tokens(h.signInWith("discord", h.discord.SetNextUser, discordAlice)))
	if dAlice.Identities[0].Subject != discordAlice.Subject || dAlice.Identities[0].Username != "alice_d" || !dAlice.EmailVerified {
		t.Errorf("discord alice: %+v", dAlice)
	}
	li := h.me(h.tokens(h.signInWith("linkedin", h.linkedin.SetNextUser, liAlice)))
	if li.ID != dAlice.ID || !li.EmailVerified {
		t.Errorf("linkedin (string email_verified, trust_email): id %s verified %v, want %s linked", li.ID, li.EmailVerified, dAlice.ID)
	}
	// Discord's unverified address links nothing.
	dEve := h.me(h.tokens(h.signInWith("discord", h.discord.SetNextUser, discordEve)))
	if dEve.ID == dAlice.ID || dEve.EmailVerified {
		t.Errorf("discord eve (verified false) linked to alice or was vouched for")
	}
	// Facebook never links on email, whatever it says.
	fb := h.me(h.tokens(h.signInWith("facebook", h.facebook.SetNextUser, fbAlice)))
	if fb.ID == dAlice.ID || fb.EmailVerified {
		t.Errorf("facebook: id %s (alice %s) verified %v: a Facebook email linked accounts", fb.ID, dAlice.ID, fb.EmailVerified)
	}
	if fb.Avatar != fbAlice.Picture || fb.Name != "Alice FB" {
		t.Errorf("facebook profile: name %q avatar %q (picture.data.url)", fb.Name, fb.Avatar)
	}
	// GitLab and Slack (OIDC presets); generic oauth2 with a field mapping.
	gl := h.me(h.tokens(h.signInWith("gitlab", h.gitlab.SetNextUser, glAlice)))
	if gl.ID == dAlice.ID || gl.EmailVerified {
		t.Errorf("gitlab (trust_email false by default): id %s verified %v", gl.ID, gl.EmailVerified)
	}
	h.tokens(h.signInWith("slack", h.slack.SetNextUser, liAlice))
	gen := h.me(h.tokens(h.signInWith("generic", h.discord.SetNextUser, discordAlice)))
	if gen.Identities[0].Subject != discordAlice.Subject || gen.Name != "Alice D" || gen.Email != "" {
		t.Errorf("generic oauth2: %+v", gen)
	}
}

func TestNewProviderTypesUpstreamFaults(t *testing.T) {
	h := newProvHarness(t)
	h.discord.SetTokenError("invalid_grant")
	q, _ := h.signInWith("discord", h.discord.SetNextUser, discordAlice)
	wantDenied(t, q)
	h.discord.SetTokenError("")
	h.facebook.SetTokenError("server_error")
	defer h.facebook.SetTokenError("")
	q, _ = h.signInWith("facebook", h.facebook.SetNextUser, fbAlice)
	if q.Get("error") == "" || q.Get("code") != "" {
		t.Errorf("facebook token fault: %v", q)
	}
}

// Groups from the upstream (GitLab's here) satisfy a tenant's access and
// role rules that name them; an identity outside the group is refused.
func TestGroupsInAccessAndRoles(t *testing.T) {
	h := newProvHarness(t)
	signIn := func(u providertest.User) url.Values {
		p := servertest.NewPKCE()
		h.gitlab.SetNextUser(u)
		q := h.NewBrowser().Follow(h.AuthorizeURL("/auth/gitlab/login", "platform", p, nil))
		if q.Get("code") == "" {
			return q
		}
		tr, status := h.Redeem("platform", q.Get("code"), p.Verifier)
		if status != http.StatusOK {
			t.Fatalf("redeem: %d %+v", status, tr)
		}
		at := servertest.PayloadOf(t, tr.AccessToken)
		q.Set("roles", fmt.Sprint(at["roles"]))
		q.Set("groups", fmt.Sprint(at["groups"]))
		return q
	}
	if q := signIn(glAlice); q.Get("roles") != "[deployer viewer]" || q.Get("groups") != "[acme acme/platform]" {
		t.Errorf("a member of acme/platform: %v, want roles [deployer viewer] and its groups in the groups claim", q)
	}
	outsider := glAlice
	outsider.Subject, outsider.Groups = "43", []string{"acme"}
	wantDenied(t, signIn(outsider))
}
