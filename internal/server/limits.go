package server

import (
	"net/url"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/httpx"
)

// rateLimits are the middlewares of [rate_limits].
type rateLimits struct {
	// client guards every endpoint where a client authenticates (/token,
	// /revoke, /introspect): one budget for all three, so that a guesser
	// cannot spend one endpoint's and then move on to the next.
	login, client, refresh echo.MiddlewareFunc
}

// limiter is a Limiter of rate r; nil (no limit) when r is "0".
func (s *Server) limiter(r config.Rate) *httpx.Limiter {
	return httpx.NewLimiter(httpx.LimiterConfig{Burst: r.Count, Per: r.Per, MaxKeys: s.cfg.RateLimits.MaxKeys, Now: s.now})
}

// rateLimits builds one budget per client address and one per tenant for
// the login starts, the client endpoints and /auth/refresh.
func (s *Server) rateLimits() rateLimits {
	rl := s.cfg.RateLimits
	login := &httpx.RateLimit{
		Name: "login", PerIP: s.limiter(rl.LoginPerIP), PerTenant: s.limiter(rl.LoginPerTenant),
		Tenant: func(c echo.Context) (string, error) { return s.knownTenant(c.QueryParam("client_id")), nil },
		Page:   true, Log: s.log,
	}
	client := &httpx.RateLimit{
		Name: "token", PerIP: s.limiter(rl.TokenPerIP), PerTenant: s.limiter(rl.TokenPerTenant),
		Tenant: s.requestClient, Log: s.log,
	}
	refresh := &httpx.RateLimit{
		Name: "refresh", PerIP: s.limiter(rl.RefreshPerIP), PerTenant: s.limiter(rl.RefreshPerTenant),
		Tenant: s.browserTenant, Log: s.log,
	}
	return rateLimits{login: login.Middleware, client: client.Middleware, refresh: refresh.Middleware}
}

// knownTenant returns id if it names a configured tenant: made-up ids must
// not each get a budget (and memory) of their own.
func (s *Server) knownTenant(id string) string {
	if _, ok := s.tenants.Tenant(id); ok {
		return id
	}
	return ""
}

// requestClient is the client a /token, /revoke or /introspect request
// names: the Basic user or the body's client_id. It is only a budget key,
// not authentication. The body is parsed once: params keeps it for the
// handler.
func (s *Server) requestClient(c echo.Context) (string, error) {
	req := c.Request()
	if id, _, ok := req.BasicAuth(); ok {
		id, _ = url.QueryUnescape(id)
		return s.knownTenant(id), nil
	}
	p, err := httpx.Params(c)
	if err != nil {
		return "", err // the handler would refuse the same body
	}
	return s.knownTenant(p.Get("client_id")), nil
}

// browserTenant is the app an /auth/refresh call comes from: the one
// X-Tenant-ID names, else the origin the browser sent if some tenant
// allows it.
func (s *Server) browserTenant(c echo.Context) (string, error) {
	cl := s.auth.CallerOf(c)
	switch {
	case cl.Named != "" && cl.Tenant != nil:
		return cl.Tenant.ID, nil
	case s.tenants.OriginAllowed(cl.Origin):
		// Allowed origins are a configured set: a bounded key space.
		return "origin " + cl.Origin, nil
	}
	return "", nil
}
