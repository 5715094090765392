package admin

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/storage"
)

// connectionName is a connection's id: a provider name, which is a URL
// path segment (/auth/{provider}/login), as config.ValidateProvider says,
// and at most 64 characters.
var connectionName = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// In a connection's body "tenant" is its owner (the contract's word), so
// Microsoft's own "tenant" key (its directory) is written there
// "microsoft_tenant".
const microsoftTenant = "microsoft_tenant"

var renameMicrosoft = map[string]string{"tenant": microsoftTenant}

// urlKeys are the keys whose URLs the broker will fetch: each must pass
// the URL checker (no loopback, private, link-local or metadata
// addresses).
var urlKeys = []string{"issuer", "base_url", "api_url", "authority", "authorize_url", "token_url", "userinfo_url"}

// connectionView is a connection as the API shows it: the keys of its
// [providers.NAME] section, never a secret; "secrets_set" names the
// secrets it holds.
func connectionView(p *config.Provider, owner string, secrets []string, rec *storage.Record) map[string]any {
	v := config.EncodeJSON(p)
	if v == nil {
		v = map[string]any{}
	}
	for _, f := range tenants.SecretFields {
		delete(v, f)
	}
	if mt, ok := v["tenant"]; ok {
		v[microsoftTenant] = mt
		delete(v, "tenant")
	}
	v["id"] = p.Name
	if owner != "" {
		v["tenant"] = owner
	}
	sort.Strings(secrets)
	v["secrets_set"] = append([]string{}, secrets...)
	v["managed_by"] = managedByConfig
	if rec != nil {
		v["managed_by"] = managedByAPI
		v["created_at"] = rec.CreatedAt.UTC()
		v["updated_at"] = rec.UpdatedAt.UTC()
	}
	return v
}

// fileSecrets names the secrets a config.toml provider holds.
func fileSecrets(p *config.Provider) []string {
	var s []string
	if p.ClientSecret != "" {
		s = append(s, "client_secret")
	}
	if p.PrivateKey != "" {
		s = append(s, "private_key")
	}
	return s
}

// connection is a stored connection as written, its secrets sealed.
type connection struct {
	p      *config.Provider
	sealed map[string]string
	rec    *storage.Record // nil for a config.toml provider
}

func (cn connection) owner() string {
	if cn.rec == nil {
		return ""
	}
	return cn.rec.Owner
}

func (cn connection) view() map[string]any {
	if cn.rec == nil {
		return connectionView(cn.p, "", fileSecrets(cn.p), nil)
	}
	return connectionView(cn.p, cn.rec.Owner, slices.Collect(maps.Keys(cn.sealed)), cn.rec)
}

// loadConnection finds a connection the request's key may see: a key
// restricted to a tenant sees that tenant's own connections only.
func (a *API) loadConnection(c echo.Context, id string) (connection, error) {
	none := notFound("no connection " + id)
	if !connectionName.MatchString(id) {
		return connection{}, none
	}
	if p, ok := a.File.Providers[id]; ok {
		if restricted(c) != "" {
			return connection{}, none
		}
		p.Name = id
		return connection{p: &p}, nil
	}
	rec, err := a.Store.GetRecord(c.Request().Context(), storage.KindConnection, id)
	if errors.Is(err, storage.ErrNotFound) {
		return connection{}, none
	} else if err != nil {
		return connection{}, err
	}
	if r := restricted(c); r != "" && rec.Owner != r {
		return connection{}, none
	}
	p, sealed, err := tenants.ConnectionSettings(rec)
	if err != nil {
		return connection{}, err
	}
	return connection{p: p, sealed: sealed, rec: &rec}, nil
}

// runtimeConnection is loadConnection for a change, or for domains:
// config.toml's providers refuse them (409).
func (a *API) runtimeConnection(c echo.Context) (connection, error) {
	cn, err := a.loadConnection(c, c.Param("id"))
	if err == nil && cn.rec == nil {
		err = errManagedByConfig
	}
	if err == nil && c.Request().Method != http.MethodGet {
		err = consoleChange(c, cn.owner())
		if err == nil && cn.owner() == "" {
			// Shared, but offered by the console: as much the console's.
			var users []string
			if users, err = a.tenantsUsing(c.Request().Context(), cn.p.Name); err == nil && slices.Contains(users, config.ConsoleTenantID) {
				err = consoleChange(c, config.ConsoleTenantID)
			}
		}
	}
	return cn, err
}

func (a *API) listConnections(c echo.Context) error {
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	r := restricted(c)
	var views []map[string]any
	if r == "" {
		for name, fp := range a.File.Providers {
			if name > p.after {
				fp.Name = name
				views = append(views, connection{p: &fp}.view())
			}
		}
	}
	recs, err := a.Store.ListRecords(c.Request().Context(), storage.KindConnection, r, p.after, p.limit+1)
	if err != nil {
		return err
	}
	for i := range recs {
		cp, sealed, err := tenants.ConnectionSettings(recs[i])
		if err != nil {
			return err
		}
		views = append(views, connection{p: cp, sealed: sealed, rec: &recs[i]}.view())
	}
	sort.Slice(views, func(i, j int) bool { return views[i]["id"].(string) < views[j]["id"].(string) })
	return list(c, p, views, func(v map[string]any) string { return v["id"].(string) })
}

func (a *API) getConnection(c echo.Context) error {
	cn, err := a.loadConnection(c, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(200, cn.view())
}

// connectionFromBody decodes a connection's keys (obj, in the API's
// form, its secrets taken out into plain) by config.toml's rules, and
// validates it as config.toml's providers are (config.ValidateProvider),
// its URLs with the URL checker too.
func (a *API) connectionFromBody(ctx context.Context, id string, obj map[string]any, plain map[string]string, ps []httpx.Problem) (*config.Provider, []httpx.Problem) {
	readOnly(obj, &ps, "managed_by", "created_at", "updated_at", "secrets_set")
	if mt, ok := obj[microsoftTenant]; ok {
		obj["tenant"] = mt
		delete(obj, microsoftTenant)
	}
	p := &config.Provider{}
	ps = append(ps, fromConfig(config.DecodeJSON(obj, p), renameMicrosoft)...)
	p.Name = id
	p.ClientSecret, p.PrivateKey = plain["client_secret"], plain["private_key"]
	if len(id) > 64 {
		ps = append(ps, httpx.Problem{Field: "id", Message: "at most 64 characters"})
	}
	ps = append(ps, fromConfig(config.ValidateProvider(p.Spec), renameMicrosoft)...)
	urls := connectionURLs(p)
	for _, k := range urlKeys {
		u := urls[k]
		if u == "" || slices.ContainsFunc(ps, func(pr httpx.Problem) bool { return pr.Field == k }) {
			continue
		}
		if err := a.CheckURL(ctx, u); err != nil {
			ps = append(ps, httpx.Problem{Field: k, Message: err.Error()})
		}
	}
	return p, dedupe(ps)
}

// connectionURLs are a connection's URL keys and values (urlKeys).
func connectionURLs(p *config.Provider) map[string]string {
	return map[string]string{"issuer": p.Issuer, "base_url": p.BaseURL, "api_url": p.APIURL, "authority": p.Authority,
		"authorize_url": p.AuthorizeURL, "token_url": p.TokenURL, "userinfo_url": p.UserinfoURL}
}

// movedURLs names the URL keys whose value differs between old and next.
func movedURLs(old, next *config.Provider) []string {
	was, now := connectionURLs(old), connectionURLs(next)
	var moved []string
	for _, k := range urlKeys {
		if was[k] != now[k] {
			moved = append(moved, k)
		}
	}
	return moved
}

// takeSecrets moves the secret keys of obj into a map of their own. In a
// patch, null removes a secret: those are listed in removed.
func takeSecrets(obj map[string]any, ps *[]httpx.Problem) (plain map[string]string, removed []string) {
	plain = map[string]string{}
	for _, f := range tenants.SecretFields {
		v, ok := obj[f]
		if !ok {
			continue
		}
		delete(obj, f)
		switch v := v.(type) {
		case nil:
			removed = append(removed, f)
		case string:
			plain[f] = v
		default:
			*ps = append(*ps, httpx.Problem{Field: f, Message: "want a string"})
		}
	}
	return plain, removed
}

// seal seals a connection's new secrets into sealed.
func (a *API) seal(id string, plain, sealed map[string]string) {
	for f, v := range plain {
		if v != "" {
			sealed[f] = a.Secrets.Seal(v, tenants.SecretLabel(id, f))
		}
	}
}

var errNoSecretsKey = conflict("secrets_key is not set in config.toml: the broker cannot keep connection secrets without it")

// ownerProblems checks a new connection's owner.
func (a *API) ownerProblems(ctx context.Context, owner string) ([]httpx.Problem, error) {
	if owner == "" {
		return nil, nil
	}
	if _, ok := a.fileTenant(owner); ok {
		return nil, nil
	}
	if !safeID.MatchString(owner) {
		return problem("tenant", "no tenant %q", owner), nil
	}
	_, err := a.Store.GetRecord(ctx, storage.KindTenant, owner)
	if errors.Is(err, storage.ErrNotFound) {
		return problem("tenant", "no tenant %q", owner), nil
	}
	return nil, err
}

func (a *API) createConnection(c echo.Context) error {
	ctx := c.Request().Context()
	obj, err := readObject(c)
	if err != nil {
		return err
	}
	obj = withoutNulls(obj)
	var ps []httpx.Problem
	id := take(obj, "id", &ps)
	owner := take(obj, "tenant", &ps)
	if r := restricted(c); r != "" {
		if owner != "" && owner != r {
			return errRestricted(c)
		}
		owner = r // a restricted key's connections are its tenant's own
	}
	if err := consoleChange(c, owner); err != nil {
		return err
	}
	plain, _ := takeSecrets(obj, &ps)
	p, ps := a.connectionFromBody(ctx, id, obj, plain, ps)
	ops, err := a.ownerProblems(ctx, owner)
	if err != nil {
		return err
	}
	if ps = dedupe(append(ps, ops...)); len(ps) > 0 {
		return invalid(ps)
	}
	if _, ok := a.File.Providers[id]; ok {
		return conflict("connection " + id + " exists in config.toml")
	}
	if a.Secrets == nil {
		return errNoSecretsKey
	}
	sealed := map[string]string{}
	a.seal(id, plain, sealed)
	p.ClientSecret, p.PrivateKey = "", ""
	doc, err := tenants.ConnectionDoc(p, sealed)
	if err != nil {
		return err
	}
	rec, err := a.Store.CreateRecord(ctx, storage.Record{Kind: storage.KindConnection, ID: id, Owner: owner, Doc: doc, CreatedAt: a.Now()})
	if errors.Is(err, storage.ErrAlreadyExists) {
		return conflict("connection " + id + " exists")
	} else if err != nil {
		return err
	}
	a.audit(c, "connection.created", owner, "", map[string]any{"connection": id, "type": p.Type})
	if err := a.Sync(ctx); err != nil {
		return err
	}
	return c.JSON(201, connection{p: p, sealed: sealed, rec: &rec}.view())
}

func (a *API) patchConnection(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	cn, err := a.runtimeConnection(c)
	if err != nil {
		return err
	}
	if a.Secrets == nil {
		return errNoSecretsKey
	}
	patch, err := readObject(c)
	if err != nil {
		return err
	}
	var ps []httpx.Problem
	if v, ok := patch["id"]; ok && v != id {
		ps = append(ps, httpx.Problem{Field: "id", Message: "read-only: it names the connection in tenants' providers and callback URLs"})
	}
	if v, ok := patch["tenant"]; ok && v != cn.owner() && !(v == nil && cn.owner() == "") {
		ps = append(ps, httpx.Problem{Field: "tenant", Message: "read-only: a connection's owner does not change"})
	}
	delete(patch, "id")
	delete(patch, "tenant")
	plain, removed := takeSecrets(patch, &ps)
	// The secrets the connection keeps, opened to be validated with the
	// rest (a type may require one; an Apple key must parse).
	kept := map[string]string{}
	for f, s := range cn.sealed {
		if _, replaced := plain[f]; replaced || slices.Contains(removed, f) {
			continue
		}
		v, err := a.Secrets.Open(s)
		if err != nil {
			return err
		}
		kept[f] = v
	}
	for f, v := range kept {
		plain[f] = v
	}
	cur := connectionView(cn.p, "", nil, nil)
	for _, k := range []string{"id", "secrets_set", "managed_by"} {
		delete(cur, k)
	}
	merged, _ := mergePatch(cur, patch).(map[string]any)
	p, ps := a.connectionFromBody(ctx, id, merged, plain, ps)
	// Secrets are write-only: a kept secret never goes to an address it
	// was not sent for, or whoever may change the connection could point
	// its token endpoint at a server of theirs and sign in to read the
	// secret there. A changed URL needs the secrets sent again.
	if moved := movedURLs(cn.p, p); len(moved) > 0 {
		for f := range kept {
			ps = append(ps, httpx.Problem{Field: f, Message: "send it again: " + strings.Join(moved, ", ") +
				" changes, and a kept secret is never sent to a new address"})
		}
	}
	if len(ps) > 0 {
		return invalid(dedupe(ps))
	}
	sealed := map[string]string{}
	for f, s := range cn.sealed {
		if _, ok := kept[f]; ok {
			sealed[f] = s
		}
	}
	for f := range kept {
		delete(plain, f)
	}
	a.seal(id, plain, sealed)
	p.ClientSecret, p.PrivateKey = "", ""
	doc, err := tenants.ConnectionDoc(p, sealed)
	if err != nil {
		return err
	}
	stored, err := a.update(ctx, *cn.rec, doc, "connection")
	if err != nil {
		return err
	}
	if len(movedURLs(cn.p, p)) > 0 || cn.p.Type != p.Type {
		if err := a.endBrokerSessions(c, id); err != nil {
			return err
		}
	}
	changed := append(sortedKeys(patch), slices.Collect(maps.Keys(plain))...)
	a.audit(c, "connection.updated", cn.owner(), "", map[string]any{"connection": id, "fields": append(changed, removed...)})
	if err := a.Sync(ctx); err != nil {
		return err
	}
	return c.JSON(200, connection{p: p, sealed: sealed, rec: &stored}.view())
}

func (a *API) deleteConnection(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	cn, err := a.runtimeConnection(c)
	if err != nil {
		return err
	}
	users, err := a.tenantsUsing(ctx, id)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return conflict("connection " + id + " is in the providers of tenant " + users[0] + ": remove it there first")
	}
	if err := a.removeConnection(c, id, cn.owner()); err != nil {
		return err
	}
	if err := a.Sync(ctx); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// tenantsUsing lists the runtime tenants whose providers name connection
// id (config.toml's cannot name a runtime connection).
func (a *API) tenantsUsing(ctx context.Context, id string) ([]string, error) {
	recs, err := a.Store.ListRecords(ctx, storage.KindTenant, "", "", 0)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range recs {
		t, err := tenants.TenantFromRecord(r)
		if err != nil {
			return nil, err
		}
		if slices.Contains(t.Providers, id) {
			ids = append(ids, t.ID)
		}
	}
	return ids, nil
}

// removeConnection deletes a connection and its domains, and audits it.
func (a *API) removeConnection(c echo.Context, id, owner string) error {
	ctx := c.Request().Context()
	doms, err := a.Store.ListRecords(ctx, storage.KindDomain, id, "", 0)
	if err != nil {
		return err
	}
	for _, d := range doms {
		if err := a.Store.DeleteRecord(ctx, storage.KindDomain, d.ID, a.Now()); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		a.audit(c, "domain.deleted", owner, "", map[string]any{"connection": id, "domain": d.ID})
	}
	if err := a.Store.DeleteRecord(ctx, storage.KindConnection, id, a.Now()); errors.Is(err, storage.ErrNotFound) {
		return notFound("no connection " + id)
	} else if err != nil {
		return err
	}
	a.audit(c, "connection.deleted", owner, "", map[string]any{"connection": id})
	return a.endBrokerSessions(c, id)
}

// endBrokerSessions ends the broker sessions that signed in through
// connection id, once its name no longer leads to the IdP they signed in
// at (deleted, or pointed elsewhere): broker sessions are reused by
// provider name, and a connection made later under that name (by any
// tenant) must not sign their users in silently.
func (a *API) endBrokerSessions(c echo.Context, id string) error {
	if _, err := a.Store.EndProviderSSOSessions(c.Request().Context(), id, a.Now()); err != nil {
		return err
	}
	return nil
}
