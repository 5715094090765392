package server

import (
	"net/url"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/httpx"
)

// rateLimits are the middlewares of [rate_limits].
type rateLimits struct {
	login, token, refresh echo.MiddlewareFunc
}

// rateLimits builds one budget per client address and one per tenant for
// the login starts, /token and /auth/refresh.
func (s *Server) rateLimits() rateLimits {
	rl := s.cfg.RateLimits
	limiter := func(r config.Rate) *httpx.Limiter {
		return httpx.NewLimiter(httpx.LimiterConfig{Burst: r.Count, Per: r.Per, MaxKeys: rl.MaxKeys, Now: s.now})
	}
	login := &httpx.RateLimit{
		Name: "login", PerIP: limiter(rl.LoginPerIP), PerTenant: limiter(rl.LoginPerTenant),
		Tenant: func(c echo.Context) (string, error) { return s.knownTenant(c.QueryParam("client_id")), nil },
		Page:   true, Log: s.log,
	}
	token := &httpx.RateLimit{
		Name: "token", PerIP: limiter(rl.TokenPerIP), PerTenant: limiter(rl.TokenPerTenant),
		Tenant: s.tokenClient, Log: s.log,
	}
	refresh := &httpx.RateLimit{
		Name: "refresh", PerIP: limiter(rl.RefreshPerIP), PerTenant: limiter(rl.RefreshPerTenant),
		Tenant: s.browserTenant, Log: s.log,
	}
	return rateLimits{login: login.Middleware, token: token.Middleware, refresh: refresh.Middleware}
}

// knownTenant returns id if it names a configured tenant: made-up ids must
// not each get a budget (and memory) of their own.
func (s *Server) knownTenant(id string) string {
	if _, ok := s.tenants[id]; ok {
		return id
	}
	return ""
}

// tokenClient is the client a /token request names: the Basic user or the
// body's client_id. It is only a budget key, not authentication. The body
// is parsed once: params keeps it for the handler.
func (s *Server) tokenClient(c echo.Context) (string, error) {
	req := c.Request()
	if id, _, ok := req.BasicAuth(); ok {
		id, _ = url.QueryUnescape(id)
		return s.knownTenant(id), nil
	}
	p, err := params(c)
	if err != nil {
		return "", err // the handler would refuse the same body
	}
	return s.knownTenant(p.Get("client_id")), nil
}

// browserTenant is the app an /auth/refresh call comes from: X-Tenant-ID,
// else the tenant whose allowed origin the browser sent.
func (s *Server) browserTenant(c echo.Context) (string, error) {
	if id := s.knownTenant(c.Request().Header.Get("X-Tenant-ID")); id != "" {
		return id, nil
	}
	origin := c.Request().Header.Get("Origin")
	if !s.cors.Allowed(origin) {
		return "", nil
	}
	// Allowed origins are a fixed, configured set: a bounded key space.
	return "origin " + origin, nil
}
