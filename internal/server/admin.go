package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/socialbroker/broker/internal/admin"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/domains"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/netguard"
	"github.com/socialbroker/broker/internal/secretbox"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
)

// OpenStore opens (and migrates) the database cfg names: for the commands
// that work on it directly (broker admin-keys).
func OpenStore(ctx context.Context, cfg *config.Config) (storage.Store, error) {
	return openStore(ctx, cfg.Database.URL)
}

// adminKeyFailures is each client address's budget of failed admin key
// attempts: a person mistyping a key gets ten tries a minute; a guesser
// of 256-bit secrets gets nowhere either way, but does not get to load
// the database with lookups.
var adminKeyFailures = config.Rate{Count: 10, Per: time.Minute}

// secretsBox opens secrets_key and checks it against the database: a key
// other than the one its connection secrets were sealed with, or none
// while connections exist, stops the broker at start with an error
// naming secrets_key, rather than at the first sign-in through a
// connection.
func secretsBox(ctx context.Context, cfg *config.Config, store storage.Store) (*secretbox.Box, error) {
	key := cfg.SecretsKeyBytes()
	if key == nil {
		conns, err := store.ListRecords(ctx, storage.KindConnection, "", "", 1)
		if err != nil {
			return nil, err
		}
		if len(conns) > 0 {
			return nil, errors.New("secrets_key is required: the database holds connections whose secrets are sealed with it")
		}
		return nil, nil
	}
	box, err := secretbox.New(key)
	if err != nil {
		return nil, fmt.Errorf("secrets_key: %w", err)
	}
	if err := box.CheckKey(ctx, store); err != nil {
		return nil, err
	}
	return box, nil
}

// guardedTransport is the transport of the calls to runtime connections'
// upstreams: it refuses private addresses (netguard) unless
// admin.allow_private_networks. An injected transport that is not an
// *http.Transport (a test's wiretap) carries them too when private
// networks are allowed; otherwise they need one netguard can guard.
func guardedTransport(cfg *config.Config, transport http.RoundTripper) http.RoundTripper {
	if base, ok := transport.(*http.Transport); ok {
		return netguard.Transport(base, cfg.Admin.AllowPrivateNetworks)
	} else if !cfg.Admin.AllowPrivateNetworks {
		return netguard.Transport(&http.Transport{}, false)
	}
	return transport
}

// recordSyncer keeps reg in step with the runtime records (tenants,
// connections, domains); it has applied all of them when it returns.
// Runtime connections call their upstreams through a transport that
// refuses private addresses (netguard) unless admin.allow_private_networks.
func recordSyncer(ctx context.Context, cfg *config.Config, opts Options, store storage.Store, reg *tenants.Registry, box *secretbox.Box, transport http.RoundTripper) (*tenants.Syncer, error) {
	guarded := guardedTransport(cfg, transport)
	var open func(string) (string, error)
	if box != nil {
		open = box.Open
	}
	sy := &tenants.Syncer{
		Registry: reg, Store: store, Log: opts.Logger,
		Decode: tenants.Decoder{
			Tenant:     tenants.TenantFromRecord,
			Connection: func(r storage.Record) (*config.Provider, error) { return tenants.ConnectionFromRecord(r, open) },
			Domain: func(r storage.Record) (bool, error) {
				d, err := tenants.DomainFromRecord(r)
				return d.Verified, err
			},
		},
		Deps: providers.Deps{Now: opts.Now, HTTPClient: &http.Client{
			Timeout: cfg.UpstreamTimeout.Duration, Transport: guarded,
		}},
	}
	if err := sy.Sync(ctx); err != nil {
		return nil, fmt.Errorf("runtime configuration: %w", err)
	}
	return sy, nil
}

// newAdminAPI assembles the admin API.
func (s *Server) newAdminAPI(box *secretbox.Box, svc *tokens.Service, transport http.RoundTripper) (*admin.API, error) {
	cfg := s.cfg
	return admin.New(admin.Config{
		Store: s.store, File: cfg, Secrets: box,
		Console:        &admin.Operators{Tokens: svc, Role: cfg.Admin.ConsoleRole},
		HTTPClient:     &http.Client{Timeout: cfg.UpstreamTimeout.Duration, Transport: guardedTransport(cfg, transport)},
		FileHTTPClient: &http.Client{Timeout: cfg.UpstreamTimeout.Duration, Transport: transport},
		CheckURL: func(ctx context.Context, u string) error {
			return netguard.CheckURL(ctx, u, cfg.Admin.AllowPrivateNetworks, nil)
		},
		Domains:         domains.Verifier{Resolver: cfg.Admin.DNSResolver},
		Sync:            s.records.Sync,
		SyncRevocations: svc.SyncRevocations,
		Failures:        s.limiter(adminKeyFailures),
		Now:             s.now, Log: s.log,
	})
}

// syncRecords is the poll by which this replica follows the runtime
// configuration changes other replicas make.
func (s *Server) syncRecords(ctx context.Context) {
	if err := s.records.Sync(ctx); err != nil {
		s.log.Warn("runtime configuration sync failed", "err", err)
	}
}

// ServeAdmin answers the admin API, and nothing else, on l until ctx
// ends: the listener of admin_listen, for an operator who keeps it off
// the public network. The main listener then answers 404 under /admin/.
func (s *Server) ServeAdmin(ctx context.Context, l net.Listener) error {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = httpx.ErrorHandler(s.log)
	e.IPExtractor = httpx.ClientIP(s.cfg.TrustedProxyPrefixes())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true}))
	e.Use(httpx.SecureHeaders, middleware.BodyLimit("64K"))
	s.admin.Register(e)
	srv := s.httpServer(e)
	return serveUntil(ctx, srv, httpx.GuardFraming(srv, l, s.log), nil)
}
