package authn

import (
	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/tenants"
)

// Caller is the app a request says it comes from.
type Caller struct {
	// Named is the X-Tenant-ID header as sent ("" when absent).
	Named string
	// Origin is the browser's Origin header ("" when absent).
	Origin string
	// Tenant is the app: the one Named names, or else the one tenant
	// allowing Origin. Nil when the request names no known app.
	Tenant *tenants.Tenant
}

// CallerOf returns the app c comes from. It is worked out anew at each
// ask (two header reads and a lookup in the registry) rather than kept on
// the request: keeping it cost /auth/check a map and a lock per request,
// more than working it out twice.
func (a *Authn) CallerOf(c echo.Context) Caller {
	h := c.Request().Header
	cl := Caller{Named: h.Get("X-Tenant-ID"), Origin: h.Get("Origin")}
	if cl.Named != "" {
		cl.Tenant, _ = a.Tenants.Tenant(cl.Named)
	} else if cl.Origin != "" {
		cl.Tenant, _ = a.Tenants.TenantOfOrigin(cl.Origin)
	}
	return cl
}

// SameApp refuses a token or refresh token of tenant tid presented by
// another app: a different X-Tenant-ID, or a browser Origin that tenant
// does not allow. It returns the token's tenant.
func (a *Authn) SameApp(c echo.Context, tid string) (*tenants.Tenant, error) {
	return a.sameApp(a.CallerOf(c), tid)
}

// sameApp is SameApp for a caller already worked out.
func (a *Authn) sameApp(cl Caller, tid string) (*tenants.Tenant, error) {
	t, ok := a.Tenants.Tenant(tid)
	if !ok {
		return nil, invalid("the app of this token is no longer configured")
	}
	if cl.Named != "" && cl.Named != tid {
		return nil, invalid("token belongs to another app")
	}
	if cl.Origin != "" && !t.AllowsOrigin(cl.Origin) {
		return nil, invalid("token belongs to another app")
	}
	return t, nil
}
