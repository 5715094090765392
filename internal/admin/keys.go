package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/authn"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/storage"
)

// Scopes of admin keys. ScopeAdmin holds every other.
const (
	ScopeTenantsRead      = "tenants:read"
	ScopeTenantsWrite     = "tenants:write"
	ScopeConnectionsRead  = "connections:read"
	ScopeConnectionsWrite = "connections:write"
	ScopeUsersRead        = "users:read"
	ScopeUsersWrite       = "users:write"
	ScopeAuditRead        = "audit:read"
	ScopeAdmin            = "admin"
)

// Scopes lists every scope.
var Scopes = []string{ScopeTenantsRead, ScopeTenantsWrite, ScopeConnectionsRead, ScopeConnectionsWrite,
	ScopeUsersRead, ScopeUsersWrite, ScopeAuditRead, ScopeAdmin}

// A key reads "bk_<id>_<secret>": the id (base32, no "_") finds the
// stored key, whose SHA-256 of the secret (256 random bits, base64url)
// is compared in constant time. The prefix lets secret scanners (GitHub's,
// gitleaks) recognise a leaked key.
const keyPrefix = "bk_"

var (
	idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)
	keyShape   = regexp.MustCompile(`^bk_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$`)
)

// NewKey makes a key: what to give its holder, once, and what to store.
// name says whose it is; tenant, when set, restricts it to that tenant.
func NewKey(name string, scopes []string, tenant string, now time.Time) (string, storage.AdminKey, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "" || len(name) > 100:
		return "", storage.AdminKey{}, errors.New("admin key: a name of 1 to 100 characters is required")
	case len(scopes) == 0:
		return "", storage.AdminKey{}, fmt.Errorf("admin key: at least one scope is required: %s", strings.Join(Scopes, ", "))
	case tenant != "" && !safeID.MatchString(tenant):
		return "", storage.AdminKey{}, fmt.Errorf("admin key: tenant %q is not a tenant id", tenant)
	}
	for _, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return "", storage.AdminKey{}, fmt.Errorf("admin key: unknown scope %q: want %s", s, strings.Join(Scopes, ", "))
		}
	}
	idb, secret := make([]byte, 10), make([]byte, 32)
	_, _ = rand.Read(idb) // crypto/rand.Read never fails (Go 1.24+)
	_, _ = rand.Read(secret)
	id := strings.ToLower(idEncoding.EncodeToString(idb))
	sec := base64.RawURLEncoding.EncodeToString(secret)
	hash := sha256.Sum256([]byte(sec))
	k := storage.AdminKey{ID: id, Name: name, Hash: hash[:], Scopes: slices.Compact(slices.Sorted(slices.Values(scopes))),
		Tenant: tenant, CreatedAt: now}
	return keyPrefix + id + "_" + sec, k, nil
}

// cliActor is the actor of the changes `broker admin-keys` makes on the
// database, with no key of its own.
const cliActor = "cli:admin-keys"

// CreateKey makes a key, stores it and audits it (the bootstrap: `broker
// admin-keys create` works on the database directly).
func CreateKey(ctx context.Context, s Store, name string, scopes []string, tenant string, now time.Time) (string, storage.AdminKey, error) {
	key, k, err := NewKey(name, scopes, tenant, now)
	if err != nil {
		return "", storage.AdminKey{}, err
	}
	if err := s.CreateAdminKey(ctx, k); err != nil {
		return "", storage.AdminKey{}, fmt.Errorf("admin key: store: %w", err)
	}
	_, err = s.AppendAudit(ctx, storage.AuditEvent{Time: now, Type: "key.created", Actor: cliActor, Tenant: tenant,
		Detail: detail(map[string]any{"key": k.ID, "name": k.Name, "scopes": k.Scopes})})
	if err != nil {
		return "", storage.AdminKey{}, fmt.Errorf("admin key: audit: %w", err)
	}
	return key, k, nil
}

// RevokeKey revokes key id and audits it.
func RevokeKey(ctx context.Context, s Store, id string, now time.Time) error {
	k, err := s.GetAdminKey(ctx, id)
	if err != nil {
		return fmt.Errorf("admin key %s: %w", id, err)
	}
	if err := s.RevokeAdminKey(ctx, id, now); err != nil {
		return fmt.Errorf("admin key %s: %w", id, err)
	}
	_, err = s.AppendAudit(ctx, storage.AuditEvent{Time: now, Type: "key.revoked", Actor: cliActor, Tenant: k.Tenant,
		Detail: detail(map[string]any{"key": k.ID, "name": k.Name})})
	if err != nil {
		return fmt.Errorf("admin key: audit: %w", err)
	}
	return nil
}

const keyCtx = "admin.key"

// keyOf returns the key authenticate put on the request.
func keyOf(c echo.Context) *storage.AdminKey {
	k, _ := c.Get(keyCtx).(*storage.AdminKey)
	return k
}

var errBadKey = apiError(http.StatusUnauthorized, "invalid_key", "the admin key is missing, unknown, revoked or wrong")

// authenticate admits requests carrying a valid admin key (RFC 6750 §2.1:
// Authorization: Bearer). Failed attempts spend a budget per client
// address, taken before the key is checked and given back on success,
// so that a guesser is slowed to a crawl whatever keys it tries.
func (a *API) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw, ok := authn.BearerToken(c.Request())
		if !ok {
			return apiError(http.StatusUnauthorized, "invalid_key", "an admin key is required: Authorization: Bearer bk_...")
		}
		ip := c.RealIP()
		d := a.Failures.Take(ip)
		if !d.Allowed {
			if d.FirstRefusal {
				a.Log.Warn("admin key failures exceeded", "ip", ip)
			}
			return httpx.TooManyRequests(c, d.RetryAfter)
		}
		if !strings.HasPrefix(raw, keyPrefix) {
			if err := a.operator(c, raw); err != nil {
				return err
			}
			a.Failures.Refund(ip)
			return next(c)
		}
		m := keyShape.FindStringSubmatch(raw)
		if m == nil {
			return errBadKey
		}
		k, err := a.Store.GetAdminKey(c.Request().Context(), m[1])
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return errBadKey
		case err != nil:
			return err
		case !k.RevokedAt.IsZero(), !authn.SecretMatches(m[2], k.Hash):
			return errBadKey
		}
		a.Failures.Refund(ip)
		c.Set(keyCtx, &k)
		return next(c)
	}
}

// require admits keys holding scope, or admin.
func (a *API) require(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			k := keyOf(c)
			if !slices.Contains(k.Scopes, scope) && !slices.Contains(k.Scopes, ScopeAdmin) {
				return apiError(http.StatusForbidden, "insufficient_scope", "this key lacks the scope "+scope)
			}
			return next(c)
		}
	}
}

// sees reports whether the request's key may see tenant id's things: a
// key restricted to one tenant sees nothing of another's, and is answered
// 404 for it, as if it did not exist, so that it cannot even learn which
// other tenants there are.
func sees(c echo.Context, tenant string) bool {
	k := keyOf(c)
	return k.Tenant == "" || k.Tenant == tenant
}

// consoleChange refuses a change to the built-in tenant broker-console,
// or to a connection it owns, to a key without the admin scope: whoever
// holds its console role has the admin scope, so a key that may change
// its roles, providers or connections could grant itself everything.
func consoleChange(c echo.Context, tenant string) error {
	if tenant != config.ConsoleTenantID || slices.Contains(keyOf(c).Scopes, ScopeAdmin) {
		return nil
	}
	return apiError(http.StatusForbidden, "insufficient_scope", "changes to "+config.ConsoleTenantID+" and its connections need the scope "+ScopeAdmin)
}

// restricted returns the tenant the request's key is restricted to, or "".
func restricted(c echo.Context) string { return keyOf(c).Tenant }

// errRestricted refuses a restricted key what only unrestricted keys may
// do (create another tenant, disable a user across tenants).
func errRestricted(c echo.Context) error {
	return apiError(http.StatusForbidden, "restricted_key", "this key is restricted to tenant "+restricted(c))
}
