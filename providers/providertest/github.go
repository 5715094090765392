package providertest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GitHubOptions configures a fake GitHub (laid out like GitHub Enterprise
// Server: OAuth under /login/oauth, REST API under /api/v3).
type GitHubOptions struct {
	// ClientID and ClientSecret are the one registered OAuth app. Defaults
	// "fake-github-client" and "fake-github-secret".
	ClientID, ClientSecret string
	// RedirectURIs are the app's callback URLs: when set, redirect_uri must
	// be one of them and defaults to the first; otherwise any absolute URL
	// is accepted and redirect_uri is required.
	RedirectURIs []string
	Users        []User
	// MaxPerPage caps per_page on /user/orgs and /user/teams; default 100 as on GitHub. Set
	// it low to exercise pagination.
	MaxPerPage int
	// Now is the fake's clock for code and token expiry; default time.Now.
	Now func() time.Time
	// URL, when set, makes the fake start no server of its own: URL is its
	// BaseURL, and the caller serves Handler() there (see OIDCOptions.URL).
	URL string
}

// GitHub is a fake GitHub OAuth app host and REST API.
type GitHub struct {
	core *core
	opts GitHubOptions
}

// NewGitHub starts a fake GitHub on 127.0.0.1. It panics if a user's
// Subject is not a decimal number (GitHub ids are integers).
func NewGitHub(opts GitHubOptions) *GitHub {
	if opts.ClientID == "" {
		opts.ClientID = "fake-github-client"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "fake-github-secret"
	}
	if opts.MaxPerPage <= 0 || opts.MaxPerPage > 100 {
		opts.MaxPerPage = 100
	}
	for _, u := range opts.Users {
		if _, err := strconv.ParseInt(u.Subject, 10, 64); err != nil {
			panic(fmt.Sprintf("providertest: GitHub user %q: Subject %q is not a numeric id", u.Login, u.Subject))
		}
	}
	f := &GitHub{core: newCore("GitHub", opts.ClientID, opts.ClientSecret, opts.RedirectURIs, opts.Users, opts.Now), opts: opts}
	f.core.grantTypeOptional = true
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", f.authorize)
	mux.HandleFunc("/login/oauth/access_token", f.token)
	mux.HandleFunc("GET /api/v3/user", f.api(f.user))
	mux.HandleFunc("GET /api/v3/user/emails", f.api(f.emails))
	mux.HandleFunc("GET /api/v3/user/orgs", f.api(f.orgs))
	mux.HandleFunc("GET /api/v3/user/teams", f.api(f.teams))
	f.core.start(mux, opts.URL)
	return f
}

// BaseURL is the web root: /login/oauth/authorize and
// /login/oauth/access_token live under it.
func (f *GitHub) BaseURL() string { return f.core.url }

// APIURL is the REST API root, BaseURL()+"/api/v3".
func (f *GitHub) APIURL() string { return f.core.url + "/api/v3" }

// Handler serves the fake; see OIDC.Handler.
func (f *GitHub) Handler() http.Handler { return f.core.handler }

// Close shuts the server down.
func (f *GitHub) Close() { f.core.close() }

// SetNextUser makes the next authorization request approve at once as u
// instead of showing the chooser page. It applies to one request.
func (f *GitHub) SetNextUser(u User) { f.core.setNextUser(u) }

// SetDelay makes every endpoint wait d before answering (or until the
// client gives up): a slow upstream.
func (f *GitHub) SetDelay(d time.Duration) { f.core.setDelay(d) }

// SetDown makes every endpoint drop the connection without answering.
func (f *GitHub) SetDown(down bool) { f.core.setDown(down) }

// SetTokenError makes the token endpoint refuse every request with this
// error code, GitHub style: HTTP 200 with an "error" field
// ("bad_verification_code"); "" turns it off.
func (f *GitHub) SetTokenError(code string) { f.core.setTokenError(code) }

// Reset turns every fault knob off and forgets the next user. Issued codes
// and tokens stay valid.
func (f *GitHub) Reset() { f.core.reset() }

func (f *GitHub) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirectURI, ok := f.core.clientRedirect(w, q, true)
	if !ok {
		return
	}
	// GitHub takes scopes separated by spaces or commas.
	scopes := strings.FieldsFunc(q.Get("scope"), func(r rune) bool { return r == ' ' || r == ',' })
	f.core.approve(w, r, redirectURI, &grant{scopes: scopes})
}

// token answers like GitHub: form-encoded unless the client accepts JSON,
// and HTTP 200 even for errors, which come as an "error" field.
func (f *GitHub) token(w http.ResponseWriter, r *http.Request) {
	answer := func(v map[string]string) {
		w.Header().Set("Cache-Control", "no-store")
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			writeJSON(w, http.StatusOK, v)
			return
		}
		form := url.Values{}
		for k, s := range v {
			form.Set(k, s)
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		_, _ = w.Write([]byte(form.Encode()))
	}
	if code := f.core.tokenError(); code != "" {
		answer(map[string]string{"error": code, "error_description": "fault injected"})
		return
	}
	g, errCode, desc := f.core.redeem(r)
	switch {
	case errCode == "invalid_client":
		errCode = "incorrect_client_credentials"
	case desc == descRedirectMismatch:
		errCode = "redirect_uri_mismatch"
	case errCode == "invalid_grant":
		errCode = "bad_verification_code"
	}
	if errCode != "" {
		answer(map[string]string{"error": errCode, "error_description": desc,
			"error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"})
		return
	}
	answer(map[string]string{
		"access_token": f.core.issue("gho_", r.PostForm.Get("code"), g),
		"token_type":   "bearer",
		"scope":        strings.Join(g.scopes, ","),
	})
}

// api wraps a REST endpoint with GitHub's checks: a User-Agent is required,
// the token must be valid, and answers list the token's scopes.
func (f *GitHub) api(h func(w http.ResponseWriter, r *http.Request, g *grant)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") == "" {
			writeJSON(w, http.StatusForbidden, ghMessage("Request forbidden by administrative rules. Please make sure your request has a User-Agent header"))
			return
		}
		g, ok := f.core.bearer(r)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, ghMessage("Bad credentials"))
			return
		}
		w.Header().Set("X-OAuth-Scopes", strings.Join(g.scopes, ", "))
		h(w, r, g)
	}
}

func ghMessage(msg string) map[string]string {
	return map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"}
}

// nullable renders "" as JSON null, as GitHub does for unset profile fields.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (f *GitHub) user(w http.ResponseWriter, _ *http.Request, g *grant) {
	u := g.user
	id, _ := strconv.ParseInt(u.Subject, 10, 64) // checked by NewGitHub
	writeJSON(w, http.StatusOK, map[string]any{
		"login":      u.Login,
		"id":         id,
		"avatar_url": u.Picture,
		"html_url":   f.BaseURL() + "/" + u.Login,
		"type":       "User",
		"name":       nullable(u.Name),
		"email":      nullable(u.PublicEmail),
	})
}

// emails needs scope user:email (or user); without it GitHub answers 404.
func (f *GitHub) emails(w http.ResponseWriter, _ *http.Request, g *grant) {
	if !slices.Contains(g.scopes, "user:email") && !slices.Contains(g.scopes, "user") {
		w.Header().Set("X-Accepted-OAuth-Scopes", "user, user:email")
		writeJSON(w, http.StatusNotFound, ghMessage("Not Found"))
		return
	}
	list := []map[string]any{}
	for _, e := range g.user.githubEmails() {
		visibility := nullable("")
		if e.Email == g.user.PublicEmail {
			visibility = nullable("public")
		}
		list = append(list, map[string]any{"email": e.Email, "primary": e.Primary, "verified": e.Verified, "visibility": visibility})
	}
	writeJSON(w, http.StatusOK, list)
}

// readsOrgs: the grant may list private memberships (read:org, or a
// wider org scope). The fake treats every membership as private, so
// without it the lists are empty, as GitHub lists only public ones then.
func readsOrgs(g *grant) bool {
	return slices.ContainsFunc(g.scopes, func(s string) bool { return s == "read:org" || s == "write:org" || s == "admin:org" })
}

// orgs lists memberships, paginated like GitHub (per_page, page, Link).
func (f *GitHub) orgs(w http.ResponseWriter, r *http.Request, g *grant) {
	var orgs []string
	if readsOrgs(g) {
		orgs = g.user.Orgs
	}
	f.paginate(w, r, len(orgs), func(i int) map[string]any {
		return map[string]any{"login": orgs[i], "id": i + 1, "url": f.APIURL() + "/orgs/" + orgs[i]}
	})
}

// teams lists team memberships (User.Teams, "org/slug") like GET
// /user/teams: each team with its slug, name and organisation.
func (f *GitHub) teams(w http.ResponseWriter, r *http.Request, g *grant) {
	var teams []string
	if readsOrgs(g) {
		teams = g.user.Teams
	}
	f.paginate(w, r, len(teams), func(i int) map[string]any {
		org, slug, _ := strings.Cut(teams[i], "/")
		return map[string]any{"id": i + 1, "slug": slug, "name": strings.ToUpper(slug[:1]) + slug[1:],
			"organization": map[string]any{"login": org, "id": 1000 + i}}
	})
}

// paginate answers one page of a list of n items the way GitHub does
// (per_page, page, Link rel next/last/prev/first).
func (f *GitHub) paginate(w http.ResponseWriter, r *http.Request, n int, item func(i int) map[string]any) {
	q := r.URL.Query()
	perPage, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || perPage <= 0 {
		perPage = 30
	}
	perPage = min(perPage, f.opts.MaxPerPage)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page <= 0 {
		page = 1
	}
	last := max(1, (n+perPage-1)/perPage)
	link := func(p int, rel string) string {
		v := url.Values{"per_page": {strconv.Itoa(perPage)}, "page": {strconv.Itoa(p)}}
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, f.BaseURL(), r.URL.Path, v.Encode(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(page-1, "prev"), link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	list := []map[string]any{}
	for i := (page - 1) * perPage; i < min(page*perPage, n); i++ {
		list = append(list, item(i))
	}
	writeJSON(w, http.StatusOK, list)
}
