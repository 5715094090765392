package providers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/oauth2"
)

// GitHub.com's endpoints; GitHub Enterprise Server has its own.
const (
	GitHubURL    = "https://github.com"
	GitHubAPIURL = "https://api.github.com"
)

// GitHubConfig configures the GitHub provider (github.com or GitHub
// Enterprise Server).
type GitHubConfig struct {
	// Name is the {provider} path segment; default "github". Another name
	// lets a second GitHub (say, Enterprise Server) sit beside github.com.
	Name         string
	ClientID     string
	ClientSecret string
	// BaseURL hosts the OAuth endpoints: BaseURL/login/oauth/authorize and
	// BaseURL/login/oauth/access_token. Default GitHubURL.
	BaseURL string
	// APIURL is the REST API root. Default GitHubAPIURL; GitHub
	// Enterprise Server uses https://HOST/api/v3.
	APIURL string
	// HTTPClient carries every upstream call; its Timeout bounds them.
	HTTPClient *http.Client
	// DistrustEmail: GitHub is not trusted to vouch for its verified
	// emails (trust_email = false), so they never link accounts.
	DistrustEmail bool
}

// GitHub is the Provider for GitHub's OAuth apps. GitHub is plain OAuth2, so
// the identity comes from its REST API: /user, /user/emails and, when asked,
// /user/orgs.
type GitHub struct {
	cfg    GitHubConfig
	client *http.Client
}

var _ Provider = (*GitHub)(nil)

const (
	githubAPIVersion = "2022-11-28"
	// githubMaxOrgPages bounds /user/orgs and /user/teams pagination (100
	// per page). A truncated list can only withhold access, never grant it.
	githubMaxOrgPages = 10
)

// NewGitHub validates cfg and returns the provider. It does no network I/O.
func NewGitHub(cfg GitHubConfig) (*GitHub, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("github: client ID and client secret are required")
	}
	if cfg.HTTPClient == nil {
		return nil, errors.New("github: HTTP client is required")
	}
	if cfg.Name == "" {
		cfg.Name = "github"
	}
	if url.PathEscape(cfg.Name) != cfg.Name {
		return nil, fmt.Errorf("github: invalid provider name %q", cfg.Name)
	}
	cfg.BaseURL = strings.TrimSuffix(cmp.Or(cfg.BaseURL, GitHubURL), "/")
	cfg.APIURL = strings.TrimSuffix(cmp.Or(cfg.APIURL, GitHubAPIURL), "/")
	if err := checkBaseURL(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("github: base URL: %w", err)
	}
	if err := checkBaseURL(cfg.APIURL); err != nil {
		return nil, fmt.Errorf("github: API URL: %w", err)
	}
	return &GitHub{
		cfg: cfg,
		// GitHub's token endpoint answers form-encoded unless asked for JSON,
		// and its API refuses requests without a User-Agent.
		client: withHeaders(bounded(cfg.HTTPClient), http.Header{
			"Accept":     {"application/json"},
			"User-Agent": {"socialbroker"},
		}),
	}, nil
}

// Name returns the configured name, "github" by default.
func (g *GitHub) Name() string { return g.cfg.Name }

// AuthCodeURL returns GitHub's authorization URL with PKCE S256 (supported
// by GitHub since 2025; only S256 is accepted).
func (g *GitHub) AuthCodeURL(_ context.Context, req AuthRequest) (string, error) {
	if err := checkAuthRequest("github", req); err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(req.Verifier)}
	if req.LoginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login", req.LoginHint)) // GitHub's name for login_hint
	}
	// GitHub understands only prompt=select_account (its account picker).
	if slices.Contains(strings.Fields(req.Prompt), "select_account") {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "select_account"))
	}
	return g.oauth2Config(req.RedirectURL, req.WantGroups || req.WantTeams).AuthCodeURL(req.State, opts...), nil
}

// Exchange redeems the code and reads the user, their emails and, when
// req.WantGroups, their organisations.
func (g *GitHub) Exchange(ctx context.Context, req ExchangeRequest) (*Identity, error) {
	if req.Code == "" || req.Verifier == "" {
		return nil, fmt.Errorf("github: exchange: %w: missing code or verifier", ErrInvalidIdentity)
	}
	// GitHub reports a bad code as HTTP 200 with an "error" field, which
	// x/oauth2 turns into a RetrieveError like any RFC 6749 §5.2 error.
	tok, err := g.oauth2Config(req.RedirectURL, req.WantGroups || req.WantTeams).Exchange(
		context.WithValue(ctx, oauth2.HTTPClient, g.client), req.Code, oauth2.VerifierOption(req.Verifier))
	if err != nil {
		return nil, fmt.Errorf("github: exchange code: %w", tokenError(err))
	}
	h := http.Header{
		"Authorization":        {"Bearer " + tok.AccessToken},
		"Accept":               {"application/vnd.github+json"},
		"X-GitHub-Api-Version": {githubAPIVersion},
	}

	// The reads need only the token, so they are made together: a
	// sign-in waits for GitHub's slowest answer, not for the sum of them.
	var (
		user                                 githubUser
		emails                               []githubEmail
		orgs, teams                          []string
		userErr, emailsErr, orgsErr, teamErr error
		wg                                   sync.WaitGroup
	)
	wg.Go(func() { _, userErr = getJSON(ctx, g.client, g.cfg.APIURL+"/user", h, &user) })
	// /user shows only the public email, if any; the addresses and whether
	// GitHub verified them come from /user/emails (scope user:email).
	wg.Go(func() { _, emailsErr = getJSON(ctx, g.client, g.cfg.APIURL+"/user/emails?per_page=100", h, &emails) })
	if req.WantGroups || req.WantTeams {
		wg.Go(func() { orgs, orgsErr = g.orgs(ctx, h) })
	}
	if req.WantTeams {
		wg.Go(func() { teams, teamErr = g.teams(ctx, h) })
	}
	wg.Wait()
	switch {
	case userErr != nil:
		return nil, fmt.Errorf("github: read user: %w", userErr)
	case emailsErr != nil:
		return nil, fmt.Errorf("github: read emails: %w", emailsErr)
	case orgsErr != nil:
		return nil, fmt.Errorf("github: read orgs: %w", orgsErr)
	case teamErr != nil:
		return nil, fmt.Errorf("github: read teams: %w", teamErr)
	}
	if user.ID == 0 || user.Login == "" {
		return nil, fmt.Errorf("github: read user: %w: no id or login", ErrUpstream)
	}
	id := &Identity{
		Provider:     g.Name(),
		Subject:      strconv.FormatInt(user.ID, 10), // logins can be renamed; ids are stable
		Username:     user.Login,
		Name:         user.Name,
		Picture:      user.AvatarURL,
		EmailTrusted: !g.cfg.DistrustEmail,
		Groups:       append(orgs, teams...),
		Teams:        req.WantTeams,
	}
	for _, e := range emails {
		switch {
		case !e.Verified || e.Email == "":
		case e.Primary:
			id.Email, id.EmailVerified = e.Email, true
			id.VerifiedEmails = append([]string{e.Email}, id.VerifiedEmails...)
		default:
			id.VerifiedEmails = append(id.VerifiedEmails, e.Email)
		}
	}
	if id.Email == "" && user.Email != "" {
		// No verified primary: fall back on the public email, verified only
		// if /user/emails says so.
		id.Email, id.EmailVerified = user.Email, slices.Contains(id.VerifiedEmails, user.Email)
	}
	return id, nil
}

// githubUser is what the broker reads of GET /user.
type githubUser struct {
	ID        int64  `json:"id"`
	Login     string `json:"login"`
	Name      string `json:"name"`
	AvatarURL string `json:"avatar_url"`
	Email     string `json:"email"` // the public profile email, often null
}

// githubEmail is one address of GET /user/emails.
type githubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// orgs lists the user's organisation logins. Private memberships need
// scope read:org.
func (g *GitHub) orgs(ctx context.Context, h http.Header) ([]string, error) {
	var orgs []string
	err := g.pages(ctx, h, "/user/orgs", func(page []byte) error {
		var batch []struct {
			Login string `json:"login"`
		}
		if err := json.Unmarshal(page, &batch); err != nil {
			return err
		}
		for _, o := range batch {
			orgs = append(orgs, o.Login)
		}
		return nil
	})
	return orgs, err
}

// teams lists the user's teams as "org/team-slug" (GET /user/teams, scope
// read:org): the form rules name them by. A slug is the team's URL name,
// stable across renames of its display name.
func (g *GitHub) teams(ctx context.Context, h http.Header) ([]string, error) {
	var teams []string
	err := g.pages(ctx, h, "/user/teams", func(page []byte) error {
		var batch []struct {
			Slug         string `json:"slug"`
			Organization struct {
				Login string `json:"login"`
			} `json:"organization"`
		}
		if err := json.Unmarshal(page, &batch); err != nil {
			return err
		}
		for _, t := range batch {
			if t.Slug != "" && t.Organization.Login != "" {
				teams = append(teams, t.Organization.Login+"/"+t.Slug)
			}
		}
		return nil
	})
	return teams, err
}

// pages reads a list endpoint page by page (100 each), following Link
// rel="next" (GitHub REST pagination), at most githubMaxOrgPages pages: a
// truncated list can only withhold access, never grant it.
func (g *GitHub) pages(ctx context.Context, h http.Header, path string, each func(page []byte) error) error {
	api, err := url.Parse(g.cfg.APIURL)
	if err != nil {
		return err
	}
	next := g.cfg.APIURL + path + "?per_page=100"
	for page := 0; next != "" && page < githubMaxOrgPages; page++ {
		var raw json.RawMessage
		header, err := getJSON(ctx, g.client, next, h, &raw)
		if err != nil {
			return err
		}
		if err := each(raw); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrUpstream, path, err)
		}
		next = nextLink(header, api)
	}
	return nil
}

// nextLink returns the RFC 8288 Link rel="next" target, or "" when there is
// none or when it points outside the API origin: the bearer token goes with
// every page, so it must never follow a link to another host.
func nextLink(h http.Header, api *url.URL) string {
	for _, v := range h.Values("Link") {
		for link := range strings.SplitSeq(v, ",") {
			target, params, _ := strings.Cut(link, ";")
			target = strings.TrimSpace(target)
			if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			isNext := false
			for p := range strings.SplitSeq(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && slices.Contains(strings.Fields(strings.Trim(val, `"`)), "next") {
					isNext = true
				}
			}
			if !isNext {
				continue
			}
			u, err := api.Parse(target[1 : len(target)-1])
			if err != nil || u.Scheme != api.Scheme || u.Host != api.Host {
				return ""
			}
			return u.String()
		}
	}
	return ""
}

func (g *GitHub) oauth2Config(redirectURL string, wantOrgs bool) *oauth2.Config {
	// read:org covers both organisations and teams.
	scopes := []string{"read:user", "user:email"}
	if wantOrgs {
		scopes = append(scopes, "read:org")
	}
	return &oauth2.Config{
		ClientID:     g.cfg.ClientID,
		ClientSecret: g.cfg.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   g.cfg.BaseURL + "/login/oauth/authorize",
			TokenURL:  g.cfg.BaseURL + "/login/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams, // as GitHub documents
		},
		RedirectURL: redirectURL,
		Scopes:      scopes,
	}
}
