package providers

import (
	"cmp"
	"strings"
)

// GitLabURL is GitLab.com; self-managed instances have their own.
const GitLabURL = "https://gitlab.com"

// NewGitLab returns the provider for GitLab.com or a self-managed GitLab
// (baseURL): OpenID Connect whose issuer is the instance's URL. GitLab
// puts the user's groups only in the userinfo answer (the groups claim;
// the ID token has at most groups_direct), so userinfo is always read,
// and those groups become the identity's.
func NewGitLab(cfg OIDCConfig, baseURL string) (*OIDC, error) {
	if cfg.Name == "" {
		cfg.Name = "gitlab"
	}
	cfg.Issuer = strings.TrimRight(cmp.Or(baseURL, GitLabURL), "/")
	p, err := NewOIDC(cfg)
	if err != nil {
		return nil, err
	}
	p.q.alwaysUserinfo = true
	return p, nil
}
