package providertest

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// OAuth2Options configures a fake plain OAuth 2.0 service.
type OAuth2Options struct {
	// ClientID defaults to "fake-client"; ClientSecret is required by the
	// token endpoint when set.
	ClientID, ClientSecret string
	RedirectURIs           []string
	Users                  []User
	Now                    func() time.Time
	// URL, when set, makes the fake start no server of its own: URL is its
	// BaseURL, and the caller serves Handler() there (see OIDCOptions.URL).
	URL string
}

// OAuth2 is a fake OAuth 2.0 service without OpenID Connect: authorize,
// token and one userinfo endpoint, in the shape of the imitated service.
// Its BaseURL() stands for every host the real service uses.
type OAuth2 struct {
	core     *core
	userinfo func(u User, scopes []string) map[string]any
}

type oauth2Shape struct {
	title                      string
	authorize, token, userinfo string // mux patterns
	user                       func(u User, scopes []string) map[string]any
	postOnly                   bool
	requiredScope              string
}

func newOAuth2(opts OAuth2Options, s oauth2Shape) *OAuth2 {
	if opts.ClientID == "" {
		opts.ClientID = "fake-client"
	}
	f := &OAuth2{core: newCore(s.title, opts.ClientID, opts.ClientSecret, opts.RedirectURIs, opts.Users, opts.Now), userinfo: s.user}
	f.core.postOnly = s.postOnly
	mux := http.NewServeMux()
	mux.HandleFunc(s.authorize, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		redirectURI, ok := f.core.clientRedirect(w, q, false)
		if !ok {
			return
		}
		scopes := strings.FieldsFunc(q.Get("scope"), func(r rune) bool { return r == ' ' || r == ',' })
		if q.Get("response_type") != "code" || (s.requiredScope != "" && !slices.Contains(scopes, s.requiredScope)) {
			redirectBack(w, r, redirectURI, map[string][]string{"error": {"invalid_request"},
				"error_description": {"response_type=code and scope " + s.requiredScope + " are required"}, "state": {q.Get("state")}})
			return
		}
		f.core.approve(w, r, redirectURI, &grant{scopes: scopes})
	})
	mux.HandleFunc(s.token, func(w http.ResponseWriter, r *http.Request) {
		if code := f.core.tokenError(); code != "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": code})
			return
		}
		g, errCode, desc := f.core.redeem(r)
		if errCode != "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": errCode, "error_description": desc})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": f.core.issue("", r.PostForm.Get("code"), g), "token_type": "Bearer",
			"expires_in": int(tokenTTL.Seconds()), "scope": strings.Join(g.scopes, " "),
		})
	})
	mux.HandleFunc(s.userinfo, func(w http.ResponseWriter, r *http.Request) {
		g, ok := f.core.bearer(r)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401: Unauthorized", "code": 0})
			return
		}
		writeJSON(w, http.StatusOK, f.userinfo(g.user, g.scopes))
	})
	f.core.start(mux, opts.URL)
	return f
}

// BaseURL is the server's root URL: base_url for the preset.
func (f *OAuth2) BaseURL() string { return f.core.url }

// Handler serves the fake; see OIDC.Handler.
func (f *OAuth2) Handler() http.Handler { return f.core.handler }

// Close shuts the server down.
func (f *OAuth2) Close() { f.core.close() }

// SetNextUser makes the next authorization approve at once as u.
func (f *OAuth2) SetNextUser(u User) { f.core.setNextUser(u) }

// SetTokenError makes the token endpoint refuse every request with this
// error code; "" turns it off.
func (f *OAuth2) SetTokenError(code string) { f.core.setTokenError(code) }

// SetDown makes every endpoint drop the connection without answering.
func (f *OAuth2) SetDown(down bool) { f.core.setDown(down) }

// NewDiscord starts a fake Discord: /oauth2/authorize, /api/oauth2/token
// and /api/users/@me, which answers id (a snowflake, as a string),
// username, global_name, avatar and, with the email scope only, email and
// the verified flag.
func NewDiscord(opts OAuth2Options) *OAuth2 {
	return newOAuth2(opts, oauth2Shape{
		title: "Discord", requiredScope: "identify",
		authorize: "GET /oauth2/authorize", token: "POST /api/oauth2/token", userinfo: "GET /api/users/@me",
		user: func(u User, scopes []string) map[string]any {
			m := map[string]any{"id": u.Subject, "username": u.Login, "global_name": u.Name,
				"avatar": nil, "discriminator": "0", "mfa_enabled": false, "locale": "en-US"}
			if slices.Contains(scopes, "email") {
				m["email"], m["verified"] = u.Email, u.EmailVerified
			}
			return m
		},
	})
}

// NewFacebook starts a fake Facebook Login and Graph API:
// /v25.0/dialog/oauth, /v25.0/oauth/access_token (client credentials in
// the body only) and /v25.0/me, which answers id, name, email (with the
// email scope, when the user has one) and picture.data.url. Like Facebook,
// it never says whether the email was verified.
func NewFacebook(opts OAuth2Options) *OAuth2 {
	return newOAuth2(opts, oauth2Shape{
		title: "Facebook", postOnly: true,
		authorize: "GET /v25.0/dialog/oauth", token: "POST /v25.0/oauth/access_token", userinfo: "GET /v25.0/me",
		user: func(u User, scopes []string) map[string]any {
			m := map[string]any{"id": u.Subject, "name": u.Name}
			if slices.Contains(scopes, "email") && u.Email != "" {
				m["email"] = u.Email
			}
			pic := u.Picture
			if pic == "" {
				pic = "https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=" + u.Subject
			}
			m["picture"] = map[string]any{"data": map[string]any{"url": pic, "height": 50, "width": 50, "is_silhouette": u.Picture == ""}}
			return m
		},
	})
}
