package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"maps"
	"slices"
	"sort"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/storage"
)

// Who manages a tenant or connection (the "managed_by" of views).
const (
	managedByConfig = "config" // config.toml: read-only here
	managedByAPI    = "api"
)

// fileTenant returns the config.toml tenant id names.
func (a *API) fileTenant(id string) (*config.Tenant, bool) {
	for i := range a.File.Tenants {
		if a.File.Tenants[i].ID == id {
			return &a.File.Tenants[i], true
		}
	}
	return nil, false
}

var errManagedByConfig = conflict("managed by config.toml: change it there")

// tenantView is a tenant as the API shows it: its config.toml keys, never
// its secret.
func tenantView(t *config.Tenant, rec *storage.Record) map[string]any {
	v := config.EncodeJSON(t)
	if v == nil {
		v = map[string]any{}
	}
	delete(v, "client_secret")
	v["id"] = t.ID
	v["confidential"] = t.Confidential()
	v["managed_by"] = managedByConfig
	if rec != nil {
		v["managed_by"] = managedByAPI
		v["created_at"] = rec.CreatedAt.UTC()
		v["updated_at"] = rec.UpdatedAt.UTC()
	}
	return v
}

// loadTenant finds a tenant the request's key may see: 404 otherwise,
// whether it exists or not. rec is nil for a config.toml tenant.
func (a *API) loadTenant(c echo.Context, id string) (*config.Tenant, *storage.Record, error) {
	if !safeID.MatchString(id) || !sees(c, id) {
		return nil, nil, notFound("no tenant " + id)
	}
	if t, ok := a.fileTenant(id); ok {
		return t, nil, nil
	}
	rec, err := a.Store.GetRecord(c.Request().Context(), storage.KindTenant, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, notFound("no tenant " + id)
	} else if err != nil {
		return nil, nil, err
	}
	t, err := tenants.TenantFromRecord(rec)
	if err != nil {
		return nil, nil, err
	}
	return t, &rec, nil
}

// runtimeTenant is loadTenant for a change: config.toml's tenants refuse
// it (409).
func (a *API) runtimeTenant(c echo.Context) (*config.Tenant, *storage.Record, error) {
	t, rec, err := a.loadTenant(c, c.Param("id"))
	if err == nil && rec == nil {
		err = errManagedByConfig
	}
	if err == nil {
		err = consoleChange(c, t.ID)
	}
	return t, rec, err
}

func (a *API) listTenants(c echo.Context) error {
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	if r := restricted(c); r != "" {
		var views []map[string]any
		if t, rec, err := a.loadTenant(c, r); err == nil && r > p.after {
			views = append(views, tenantView(t, rec))
		}
		return list(c, p, views, nil)
	}
	// config.toml's tenants and the records, merged in id order.
	var views []map[string]any
	for i := range a.File.Tenants {
		if t := &a.File.Tenants[i]; t.ID > p.after {
			views = append(views, tenantView(t, nil))
		}
	}
	recs, err := a.Store.ListRecords(c.Request().Context(), storage.KindTenant, "", p.after, p.limit+1)
	if err != nil {
		return err
	}
	for i := range recs {
		t, err := tenants.TenantFromRecord(recs[i])
		if err != nil {
			return err
		}
		views = append(views, tenantView(t, &recs[i]))
	}
	sort.Slice(views, func(i, j int) bool { return views[i]["id"].(string) < views[j]["id"].(string) })
	return list(c, p, views, func(v map[string]any) string { return v["id"].(string) })
}

func (a *API) getTenant(c echo.Context) error {
	t, rec, err := a.loadTenant(c, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(200, tenantView(t, rec))
}

// tenantFromBody decodes a tenant body by config.toml's rules and
// validates it as config.toml's tenants are (config.ValidateTenant).
// secretHash, when set, makes it confidential.
func (a *API) tenantFromBody(ctx context.Context, obj map[string]any, ps []httpx.Problem, secretHash []byte) (*config.Tenant, []httpx.Problem, error) {
	readOnly(obj, &ps, "managed_by", "created_at", "updated_at")
	if _, ok := obj["client_secret"]; ok {
		delete(obj, "client_secret")
		ps = append(ps, httpx.Problem{Field: "client_secret", Message: `the broker makes the secret and shows it once: send "confidential": true`})
	}
	t := &config.Tenant{}
	ps = append(ps, fromConfig(config.DecodeJSON(obj, t), nil)...)
	t.ClientSecretHash = secretHash
	if len(t.ID) > 64 {
		ps = append(ps, httpx.Problem{Field: "id", Message: "at most 64 characters"})
	}
	var storeErr error
	hasProvider := func(name string) bool {
		if _, ok := a.File.Providers[name]; ok {
			return true
		}
		if !connectionName.MatchString(name) {
			return false
		}
		rec, err := a.Store.GetRecord(ctx, storage.KindConnection, name)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			storeErr = err
		}
		// Another tenant's connection is, to this one, no connection.
		return err == nil && (rec.Owner == "" || rec.Owner == t.ID)
	}
	ps = append(ps, fromConfig(config.ValidateTenant(t, a.File.Issuer, hasProvider), nil)...)
	// The broker POSTs to the back-channel logout URI from inside its
	// network: one chosen by whoever holds a key for this tenant passes
	// the connections' rule (no loopback, private, link-local or metadata
	// address unless admin.allow_private_networks), against server-side
	// request forgery. The deliverer checks each connection again.
	if u := t.BackchannelLogoutURI; u != "" && !slices.ContainsFunc(ps, func(p httpx.Problem) bool { return p.Field == "backchannel_logout_uri" }) {
		if err := a.CheckURL(ctx, u); err != nil {
			ps = append(ps, httpx.Problem{Field: "backchannel_logout_uri", Message: err.Error()})
		}
	}
	return t, ps, storeErr
}

func (a *API) createTenant(c echo.Context) error {
	ctx := c.Request().Context()
	obj, err := readObject(c)
	if err != nil {
		return err
	}
	obj = withoutNulls(obj)
	var ps []httpx.Problem
	var secret string
	var hash []byte
	if takeBool(obj, "confidential", &ps) {
		secret, hash = newClientSecret()
	}
	t, ps, err := a.tenantFromBody(ctx, obj, ps, hash)
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		return invalid(dedupe(ps))
	}
	if r := restricted(c); r != "" && t.ID != r {
		return errRestricted(c)
	}
	if err := consoleChange(c, t.ID); err != nil {
		return err
	}
	if _, ok := a.fileTenant(t.ID); ok {
		return conflict("tenant " + t.ID + " exists in config.toml")
	}
	doc, err := tenants.TenantDoc(t)
	if err != nil {
		return err
	}
	rec, err := a.Store.CreateRecord(ctx, storage.Record{Kind: storage.KindTenant, ID: t.ID, Doc: doc, CreatedAt: a.Now()})
	if errors.Is(err, storage.ErrAlreadyExists) {
		return conflict("tenant " + t.ID + " exists")
	} else if err != nil {
		return err
	}
	a.audit(c, "tenant.created", t.ID, "", map[string]any{"confidential": t.Confidential()})
	if err := a.Sync(ctx); err != nil {
		return err
	}
	v := tenantView(t, &rec)
	if secret != "" {
		v["client_secret"] = secret
	}
	return c.JSON(201, v)
}

// newClientSecret makes a client secret, 256 random bits (RFC 6749
// §10.10) in base64url, and the hash that is all the broker keeps of it.
func newClientSecret() (string, []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	secret := base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(secret))
	return secret, h[:]
}

func (a *API) patchTenant(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	t, rec, err := a.runtimeTenant(c)
	if err != nil {
		return err
	}
	patch, err := readObject(c)
	if err != nil {
		return err
	}
	var ps []httpx.Problem
	readOnly(patch, &ps, "confidential")
	if v, ok := patch["id"]; ok && v != id {
		ps = append(ps, httpx.Problem{Field: "id", Message: "read-only: a tenant's id is its client_id"})
	}
	delete(patch, "id")
	cur := config.EncodeJSON(t)
	delete(cur, "client_secret")
	merged, _ := mergePatch(cur, patch).(map[string]any)
	merged["id"] = id
	nt, ps, err := a.tenantFromBody(ctx, merged, ps, t.ClientSecretHash)
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		return invalid(dedupe(ps))
	}
	stored, err := a.storeTenant(c, nt, rec, map[string]any{"fields": sortedKeys(patch)})
	if err != nil {
		return err
	}
	return c.JSON(200, tenantView(nt, &stored))
}

// storeTenant stores a changed tenant, audits and syncs.
func (a *API) storeTenant(c echo.Context, t *config.Tenant, rec *storage.Record, d map[string]any) (storage.Record, error) {
	ctx := c.Request().Context()
	doc, err := tenants.TenantDoc(t)
	if err != nil {
		return storage.Record{}, err
	}
	stored, err := a.update(ctx, *rec, doc, "tenant")
	if err != nil {
		return storage.Record{}, err
	}
	a.audit(c, "tenant.updated", t.ID, "", d)
	return stored, a.Sync(ctx)
}

func (a *API) rotateSecret(c echo.Context) error {
	t, rec, err := a.runtimeTenant(c)
	if err != nil {
		return err
	}
	if !t.Confidential() {
		return conflict("tenant " + t.ID + " is public: it has no secret to rotate")
	}
	secret, hash := newClientSecret()
	t.ClientSecretHash = hash
	stored, err := a.storeTenant(c, t, rec, map[string]any{"rotated": "client_secret"})
	if err != nil {
		return err
	}
	v := tenantView(t, &stored)
	v["client_secret"] = secret
	return c.JSON(200, v)
}

func (a *API) deleteTenant(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	if _, _, err := a.runtimeTenant(c); err != nil {
		return err
	}
	if id == config.ConsoleTenantID {
		return conflict("the admin console signs operators in through " + id + ": it cannot be deleted (change its roles instead)")
	}
	if err := a.Store.DeleteRecord(ctx, storage.KindTenant, id, a.Now()); errors.Is(err, storage.ErrNotFound) {
		return notFound("no tenant " + id)
	} else if err != nil {
		return err
	}
	a.audit(c, "tenant.deleted", id, "", nil)
	// Its keys die with it: an offboarded customer's key must not make
	// the tenant again (a key restricted to a tenant may create it).
	keys, err := a.Store.ListAdminKeys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Tenant != id || !k.RevokedAt.IsZero() {
			continue
		}
		if err := a.Store.RevokeAdminKey(ctx, k.ID, a.Now()); err != nil {
			return err
		}
		a.audit(c, "key.revoked", id, "", map[string]any{"key": k.ID, "name": k.Name, "reason": "tenant deleted"})
	}
	// Its own connections go with it: no other tenant may use them.
	owned, err := a.Store.ListRecords(ctx, storage.KindConnection, id, "", 0)
	if err != nil {
		return err
	}
	for _, conn := range owned {
		if err := a.removeConnection(c, conn.ID, id); err != nil {
			return err
		}
	}
	n, err := a.Store.RevokeTenantSessions(ctx, id, a.Now())
	if err != nil {
		return err
	}
	if n > 0 {
		a.audit(c, "session.revoked", id, "", map[string]any{"sessions": n, "reason": "tenant deleted"})
	}
	if err := a.Sync(ctx); err != nil {
		return err
	}
	if err := a.SyncRevocations(ctx); err != nil {
		return err
	}
	return c.NoContent(204)
}

// dedupe keeps the first problem per field: one field, one message.
func dedupe(ps []httpx.Problem) []httpx.Problem {
	seen := map[string]bool{}
	return slices.DeleteFunc(ps, func(p httpx.Problem) bool {
		dup := seen[p.Field]
		seen[p.Field] = true
		return dup
	})
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
