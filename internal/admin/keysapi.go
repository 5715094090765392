package admin

import (
	"errors"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/storage"
)

// Keys through the API (the console's keys page). Only an unrestricted
// holder of the admin scope may list, make or revoke keys: anything less
// could mint itself more than it holds.

// keyView is a key as the API shows it: never its secret or hash.
func keyView(k storage.AdminKey) map[string]any {
	v := map[string]any{"id": k.ID, "name": k.Name, "scopes": k.Scopes, "created_at": k.CreatedAt.UTC(), "revoked": !k.RevokedAt.IsZero()}
	if k.Tenant != "" {
		v["tenant"] = k.Tenant
	}
	if !k.RevokedAt.IsZero() {
		v["revoked_at"] = k.RevokedAt.UTC()
	}
	return v
}

func (a *API) listKeys(c echo.Context) error {
	if restricted(c) != "" {
		return errRestricted(c)
	}
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	keys, err := a.Store.ListAdminKeys(c.Request().Context())
	if err != nil {
		return err
	}
	var views []map[string]any
	for _, k := range keys {
		if k.ID > p.after {
			views = append(views, keyView(k))
		}
	}
	// Ids are random: pages follow id order, which is stable.
	sort.Slice(views, func(i, j int) bool { return views[i]["id"].(string) < views[j]["id"].(string) })
	if len(views) > p.limit+1 {
		views = views[:p.limit+1]
	}
	return list(c, p, views, func(v map[string]any) string { return v["id"].(string) })
}

func (a *API) createKey(c echo.Context) error {
	if restricted(c) != "" {
		return errRestricted(c)
	}
	obj, err := readObject(c)
	if err != nil {
		return err
	}
	obj = withoutNulls(obj)
	var ps []httpx.Problem
	name := take(obj, "name", &ps)
	tenant := take(obj, "tenant", &ps)
	var scopes []string
	if v, ok := obj["scopes"]; ok {
		delete(obj, "scopes")
		list, _ := v.([]any)
		for _, s := range list {
			if str, ok := s.(string); ok {
				scopes = append(scopes, str)
			}
		}
		if len(list) != len(scopes) || list == nil {
			ps = append(ps, httpx.Problem{Field: "scopes", Message: "want a list of scopes"})
		}
	}
	for k := range obj {
		ps = append(ps, httpx.Problem{Field: k, Message: "unknown key: want name, scopes, tenant"})
	}
	if len(ps) > 0 {
		return invalid(dedupe(ps))
	}
	key, k, err := NewKey(name, scopes, tenant, a.Now())
	if err != nil {
		field := "name"
		switch {
		case strings.Contains(err.Error(), "scope"):
			field = "scopes"
		case strings.Contains(err.Error(), "tenant"):
			field = "tenant"
		}
		return invalid(problem(field, "%s", strings.TrimPrefix(err.Error(), "admin key: ")))
	}
	if err := a.Store.CreateAdminKey(c.Request().Context(), k); err != nil {
		return err
	}
	a.audit(c, "key.created", tenant, "", map[string]any{"key": k.ID, "name": k.Name, "scopes": k.Scopes})
	v := keyView(k)
	v["key"] = key
	return c.JSON(201, v)
}

func (a *API) revokeKey(c echo.Context) error {
	if restricted(c) != "" {
		return errRestricted(c)
	}
	id := c.Param("id")
	ctx := c.Request().Context()
	k, err := a.Store.GetAdminKey(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return notFound("no key " + id)
	} else if err != nil {
		return err
	}
	if !k.RevokedAt.IsZero() {
		return c.NoContent(204)
	}
	if err := a.Store.RevokeAdminKey(ctx, id, a.Now()); err != nil {
		return err
	}
	a.audit(c, "key.revoked", k.Tenant, "", map[string]any{"key": k.ID, "name": k.Name})
	return c.NoContent(204)
}
