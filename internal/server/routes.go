package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/socialbroker/broker/callback"
	"github.com/socialbroker/broker/internal/appapi"
	"github.com/socialbroker/broker/internal/console"
	"github.com/socialbroker/broker/internal/cookiemode"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/logout"
	"github.com/socialbroker/broker/internal/oauth"
	"github.com/socialbroker/broker/internal/web"
)

// routes mounts every endpoint: the one place that says which handler
// answers which path, behind which middleware.
func (s *Server) routes(flow *callback.Handler, mount func(*echo.Echo)) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = httpx.ErrorHandler(s.log)
	// X-Forwarded-For is believed only from trusted_proxies; the issuer,
	// never Host or X-Forwarded-Host, names the broker in URLs and tokens.
	e.IPExtractor = httpx.ClientIP(s.cfg.TrustedProxyPrefixes())
	e.Use(s.metrics.Middleware) // outermost: it sees the status actually sent
	if s.cfg.MaxInFlight > 0 {
		// Overload is answered early, 503 with Retry-After, and counted by
		// the metrics; the health checks are never refused.
		e.Use(httpx.InFlight(s.cfg.MaxInFlight, "/healthz", "/readyz", "/metrics"))
	}
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		s.log.Error("panic", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err, "stack", string(stack))
		return err
	}}))
	e.Use(httpx.SecureHeaders, middleware.BodyLimit("64K"))
	limits := s.rateLimits()

	flow.Register(e, limits.login)
	e.StaticFS("/assets", web.Assets())

	cookies := &cookiemode.Cookies{Issuer: s.cfg.Issuer, IdleTTL: s.cfg.Tokens.RefreshIdleTTL.Duration, Auth: s.auth, Now: s.now}
	std := &oauth.Endpoints{Issuer: s.cfg.Issuer, Tokens: s.tokens, Keys: s.keys, Users: s.store, Auth: s.auth, Cookies: cookies}
	app := &appapi.Endpoints{Tokens: s.tokens, Users: s.store, Auth: s.auth, Cookies: cookies, Tenants: s.tenants, Audit: s.audit}
	rp := &logout.Endpoint{Issuer: s.cfg.Issuer, Tokens: s.tokens, Keys: s.keys, Tenants: s.tenants, Audit: s.audit, Browser: flow, ConfirmKey: s.logoutKey}

	// Public metadata: any origin may read it (contract, "Changes").
	public := e.Group("", httpx.PublicCORS)
	for path, h := range map[string]echo.HandlerFunc{
		"/.well-known/openid-configuration":       std.Discovery,
		"/.well-known/oauth-authorization-server": std.Discovery,
		"/.well-known/jwks.json":                  std.JWKS,
	} {
		public.GET(path, h)
		public.OPTIONS(path, h) // answered by PublicCORS
	}
	e.GET("/logout", rp.EndSession)
	e.POST("/logout", rp.EndSession)
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	if s.cfg.MetricsListen == "" { // otherwise only ServeMetrics answers it
		e.GET("/metrics", echo.WrapHandler(s.metrics.Handler()))
	}

	// Endpoints apps call from scripts carry CORS for allow-listed origins.
	api := e.Group("", httpx.CORS(s.tenants.OriginAllowed))
	for _, path := range []string{"/token", "/revoke", "/introspect", "/userinfo", "/auth/check", "/auth/me", "/auth/permissions", "/auth/refresh", "/auth/logout"} {
		api.OPTIONS(path, func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	}
	userinfo := s.auth.Bearer(std.Userinfo, nil)
	api.POST("/token", std.Token, httpx.NoStore, limits.client)
	api.POST("/revoke", std.Revoke, httpx.NoStore, limits.client)
	api.POST("/introspect", std.Introspect, httpx.NoStore, limits.client)
	api.GET("/userinfo", userinfo, httpx.NoStore)
	api.POST("/userinfo", userinfo, httpx.NoStore)
	api.GET("/auth/check", s.auth.AppBearer(app.Check, map[string]any{"authenticated": false}), httpx.NoStore)
	api.GET("/auth/me", s.auth.AppBearer(app.Me, nil), httpx.NoStore)
	api.GET("/auth/permissions", s.auth.AppBearer(app.Permissions, nil), httpx.NoStore)
	api.POST("/auth/refresh", app.Refresh, httpx.NoStore, limits.refresh)
	api.POST("/auth/logout", app.Logout, httpx.NoStore)
	if s.cfg.AdminListen == "" { // otherwise only ServeAdmin answers it
		s.admin.Register(e)
		// The console lives beside the API it calls, and beside /authorize
		// through which its operators sign in.
		console.Register(e)
	}
	if mount != nil {
		mount(e)
	}
	return e
}
