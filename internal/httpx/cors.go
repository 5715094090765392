package httpx

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// CORS answers cross-origin requests from origins allowed says some
// tenant allows (asked per request, so that tenants added at runtime are
// served at once). It echoes only an allowed origin, never "*" and never
// "null", and always varies on Origin so caches cannot serve one origin's
// answer to another. It applies to the JSON endpoints and answers their
// preflights.
func CORS(allowed func(origin string) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ctx echo.Context) error {
			h := ctx.Response().Header()
			h.Add("Vary", "Origin")
			origin := ctx.Request().Header.Get("Origin")
			if origin == "" || !allowed(origin) {
				if isPreflight(ctx.Request()) {
					return ctx.NoContent(http.StatusForbidden)
				}
				return next(ctx)
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			if isPreflight(ctx.Request()) {
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Tenant-ID, X-Requested-With, X-Broker-CSRF")
				h.Set("Access-Control-Max-Age", "600")
				return ctx.NoContent(http.StatusNoContent)
			}
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
			return next(ctx)
		}
	}
}

// PublicCORS answers any origin without credentials: the discovery
// documents and the JWKS are public, and every browser OIDC library
// (oidc-client-ts, oauth4webapi) fetches them cross-origin before it can do
// anything else. No cookie or Authorization header is ever honoured with
// them, so "*" discloses nothing a server-side fetch would not.
func PublicCORS(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ctx echo.Context) error {
		h := ctx.Response().Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if isPreflight(ctx.Request()) {
			h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
			h.Set("Access-Control-Max-Age", "600")
			return ctx.NoContent(http.StatusNoContent)
		}
		return next(ctx)
	}
}

func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}
