package admin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/storage"
)

// ConsolePath is where the admin console is served, under the issuer.
const ConsolePath = "/admin/"

// ConsoleCallbackPath is the console's redirect URI, under the issuer.
const ConsoleCallbackPath = "/admin/callback"

// EnsureConsoleTenant creates the built-in tenant broker-console, through
// which operators sign in to the admin console, or brings it in line
// with config.toml: its redirect URI, origin and logout URI are the
// console's (and only those); every provider of config.toml is among its providers; and
// every address of [admin] console_admins holds admin.console_role. What
// the admin API changed beyond that (more role rules, more emails, owned
// connections) is kept. A concurrent start of another replica is retried.
func EnsureConsoleTenant(ctx context.Context, s Store, cfg *config.Config, now time.Time) error {
	for range 5 {
		err := ensureConsoleTenant(ctx, s, cfg, now)
		if !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrAlreadyExists) {
			return err
		}
	}
	return errors.New("console tenant: changed concurrently five times in a row")
}

func ensureConsoleTenant(ctx context.Context, s Store, cfg *config.Config, now time.Time) error {
	issuer := cfg.Issuer
	iu, err := url.Parse(issuer)
	if err != nil {
		return fmt.Errorf("console tenant: issuer: %w", err)
	}
	origin := iu.Scheme + "://" + iu.Host
	rec, err := s.GetRecord(ctx, storage.KindTenant, config.ConsoleTenantID)
	exists := err == nil
	t := &config.Tenant{ID: config.ConsoleTenantID, Name: "Broker console"}
	switch {
	case exists:
		if t, err = tenants.TenantFromRecord(rec); err != nil {
			return fmt.Errorf("console tenant: %w", err)
		}
	case !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("console tenant: %w", err)
	}
	before, _ := tenants.TenantDoc(t)

	// Its URLs are the console's and nothing else's: set, not merged, so
	// that a changed issuer leaves no stale (and, in cookie mode, invalid)
	// origin behind.
	t.RedirectURIs = []string{issuer + ConsoleCallbackPath}
	t.PostLogoutRedirectURIs = []string{issuer + ConsolePath}
	t.AllowedOrigins = []string{origin}
	// The console's page never holds a refresh token: an HttpOnly cookie
	// does, which only /auth/refresh and /auth/logout read (cookie mode).
	t.RefreshTokenDelivery = config.DeliveryCookie
	hasProvider := func(name string) bool {
		if _, ok := cfg.Providers[name]; ok {
			return true
		}
		r, err := s.GetRecord(ctx, storage.KindConnection, name)
		return err == nil && (r.Owner == "" || r.Owner == config.ConsoleTenantID)
	}
	// Providers gone from config.toml leave; all of its providers are in.
	t.Providers = slices.DeleteFunc(t.Providers, func(p string) bool { return !hasProvider(p) })
	for _, p := range slices.Sorted(maps.Keys(cfg.Providers)) {
		t.Providers = with(t.Providers, p)
	}
	if len(cfg.Admin.ConsoleAdmins) > 0 {
		i := slices.IndexFunc(t.Roles, func(r config.Role) bool { return r.Role == cfg.Admin.ConsoleRole })
		if i < 0 {
			t.Roles = append(t.Roles, config.Role{Role: cfg.Admin.ConsoleRole})
			i = len(t.Roles) - 1
		}
		for _, e := range cfg.Admin.ConsoleAdmins {
			t.Roles[i].Emails = with(t.Roles[i].Emails, e)
		}
	}
	if ps := config.ValidateTenant(t, issuer, hasProvider); len(ps) > 0 {
		return fmt.Errorf("console tenant: %s: %s", ps[0].Field, ps[0].Message)
	}
	doc, err := tenants.TenantDoc(t)
	if err != nil {
		return err
	}
	// Not audited: like config.toml's own tenants, it is configuration,
	// and nobody made the change.
	if exists {
		if string(doc) == string(before) {
			return nil
		}
		next := rec
		next.Doc, next.UpdatedAt = doc, now
		_, err = s.UpdateRecord(ctx, next, rec.Seq)
		return err
	}
	_, err = s.CreateRecord(ctx, storage.Record{Kind: storage.KindTenant, ID: t.ID, Doc: doc, CreatedAt: now})
	return err
}

// with returns list with v appended unless it holds it.
func with(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}
