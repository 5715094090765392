package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/callback"
	"github.com/socialbroker/broker/internal/accounts"
	"github.com/socialbroker/broker/internal/admin"
	"github.com/socialbroker/broker/internal/audit"
	"github.com/socialbroker/broker/internal/authn"
	"github.com/socialbroker/broker/internal/backchannel"
	"github.com/socialbroker/broker/internal/claims"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/metrics"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/postgres"
	"github.com/socialbroker/broker/storage/sqlite"
	"github.com/socialbroker/broker/tokens"
)

// Options are what the caller injects beside the config.
type Options struct {
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Transport carries upstream calls; when nil, a clone of
	// http.DefaultTransport with a deeper idle pool (upstreamTransport).
	Transport http.RoundTripper
	// Mount, when set, can add routes (the demo page) before serving.
	Mount func(e *echo.Echo)
}

// Server is an assembled broker.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	now     func() time.Time
	store   storage.Store
	keys    *tokens.KeySet
	tokens  *tokens.Service
	tenants *tenants.Registry
	auth    *authn.Authn
	records *tenants.Syncer // runtime configuration (admin.go)
	// logoutKey keys /logout's confirmation values (internal/logout).
	logoutKey []byte
	admin     *admin.API
	audit     *audit.Recorder
	// logouts sends back-channel logouts from the store's outbox.
	logouts *backchannel.Deliverer
	metrics *metrics.Metrics
	echo    *echo.Echo
	// writes judges whether the store takes writes, for /readyz; nil if
	// the store cannot tell (ready.go).
	writes *writeCheck
	// draining is set when Serve has been told to stop: /readyz answers
	// 503 and responses close their connections (drain).
	draining atomic.Bool
}

// New assembles a broker from cfg. It opens (and migrates) the store and
// loads or creates the signing keys; it contacts no upstream.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	store, err := openStore(ctx, cfg.Database.URL)
	if err != nil {
		return nil, err
	}
	s, err := assemble(ctx, cfg, opts, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	return s, nil
}

// stateKeyName names the secret that seals login states (storage.Secrets):
// a new name, for a key of another kind or size, would start a new key.
const stateKeyName = "login-state-xchacha20poly1305"

// logoutKeyName names the secret that keys /logout's confirmation values.
const logoutKeyName = "logout-confirmation-hmac-sha256"

func assemble(ctx context.Context, cfg *config.Config, opts Options, store storage.Store) (*Server, error) {
	transport := opts.Transport
	if transport == nil {
		transport = upstreamTransport()
	}
	// One HTTP client whose timeout bounds every upstream call, so a slow
	// or dead upstream produces a clear error instead of a hung sign-in.
	reg, err := tenants.FromConfig(cfg, providers.Deps{
		HTTPClient: &http.Client{Timeout: cfg.UpstreamTimeout.Duration, Transport: transport}, Now: opts.Now,
	})
	if err != nil {
		return nil, err
	}
	t := cfg.Tokens
	keys, err := tokens.NewKeySet(store, tokens.KeySetConfig{
		Alg: t.SigningAlg, Rotation: t.KeyRotation.Duration,
		// An ID token stays in use as a logout hint (id_token_hint) for as
		// long as its session lives: refresh grants issue none, and RP
		// libraries keep the sign-in's. Its key stays published that long.
		MaxTokenTTL: max(t.AccessTTL.Duration, t.IDTokenTTL.Duration, t.RefreshMaxTTL.Duration), Now: opts.Now,
	})
	if err != nil {
		return nil, err
	}
	if err := keys.Refresh(ctx); err != nil {
		return nil, err
	}
	events := audit.NewRecorder(store, opts.Logger, opts.Now)
	svc, err := tokens.NewService(store, keys, tokens.Config{
		Issuer: cfg.Issuer, AccessTTL: t.AccessTTL.Duration, IDTokenTTL: t.IDTokenTTL.Duration,
		RefreshIdleTTL: t.RefreshIdleTTL.Duration, RefreshMaxTTL: t.RefreshMaxTTL.Duration,
		ReuseGrace: t.RefreshReuseGrace.Duration, CodeTTL: t.CodeTTL.Duration,
		Policy: tenantPolicy(reg), Claims: tenantClaims(reg, opts.Logger), Now: opts.Now, Logger: opts.Logger,
		OnReuse: func(sess storage.Session) {
			events.Record(storage.AuditEvent{Type: audit.RefreshReuseDetected, Tenant: sess.TenantID, User: sess.UserID})
		},
	})
	if err != nil {
		return nil, err
	}
	if err := svc.SyncRevocations(ctx); err != nil {
		return nil, err
	}
	fresh := make([]byte, callback.StateKeySize)
	_, _ = rand.Read(fresh) // crypto/rand.Read never fails (Go 1.24+)
	stateKey, err := store.Secret(ctx, stateKeyName, fresh)
	if err != nil {
		return nil, err
	}
	fresh = make([]byte, 32)
	_, _ = rand.Read(fresh)
	logoutKey, err := store.Secret(ctx, logoutKeyName, fresh)
	if err != nil {
		return nil, err
	}
	flow, err := callback.New(callback.Config{
		Issuer: cfg.Issuer, LoginTTL: cfg.LoginTTL.Duration, UpstreamTimeout: cfg.UpstreamTimeout.Duration,
		Directory: reg, States: store, StateKey: stateKey, Users: accounts.New(store, opts.Now),
		Grants: svc, Events: events, Now: opts.Now, Logger: opts.Logger,
		SSO: callback.SSOConfig{Enabled: cfg.SSO.Enabled, IdleTTL: cfg.SSO.IdleTTL.Duration, MaxTTL: cfg.SSO.MaxTTL.Duration, Store: store},
	})
	if err != nil {
		return nil, err
	}
	box, err := secretsBox(ctx, cfg, store)
	if err != nil {
		return nil, err
	}
	// The admin console's tenant, before the registry first reads the
	// records.
	if err := admin.EnsureConsoleTenant(ctx, store, cfg, opts.Now()); err != nil {
		return nil, err
	}
	records, err := recordSyncer(ctx, cfg, opts, store, reg, box, transport)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: opts.Logger, now: opts.Now, store: store, keys: keys, tokens: svc,
		tenants: reg, records: records, metrics: metrics.New(), audit: events, logoutKey: logoutKey,
	}
	if s.admin, err = s.newAdminAPI(box, svc, transport); err != nil {
		return nil, err
	}
	if wh, ok := store.(writeHealth); ok {
		s.writes = &writeCheck{store: wh, now: opts.Now}
	}
	s.logouts, err = backchannel.New(backchannel.Config{
		Issuer: cfg.Issuer, Outbox: store, Signer: keys, Now: opts.Now, Logger: opts.Logger,
		URI: func(tenantID string) (string, bool) {
			t, ok := reg.Tenant(tenantID)
			if !ok {
				t, ok = reg.Departed(tenantID)
			}
			if !ok {
				return "", false
			}
			return t.BackchannelLogoutURI, true
		},
		// A runtime tenant's URI was chosen by whoever holds a key for it:
		// its deliveries go through netguard (SSRF), as connections do.
		Guarded: func(tenantID string) bool {
			if cfg.Admin.AllowPrivateNetworks {
				return false
			}
			return !slices.ContainsFunc(cfg.Tenants, func(t config.Tenant) bool { return t.ID == tenantID })
		},
		GaveUp: s.auditGaveUp,
	})
	if err != nil {
		return nil, err
	}
	s.auth = &authn.Authn{Tokens: svc, Tenants: reg, ClientFailures: s.limiter(cfg.RateLimits.AuthFailuresPerClient), Log: opts.Logger}
	s.echo = s.routes(flow, opts.Mount)
	return s, nil
}

// auditGaveUp records a back-channel logout given up in the audit log.
func (s *Server) auditGaveUp(d storage.LogoutDelivery, lastErr error) {
	detail, _ := json.Marshal(map[string]any{"sid": d.SessionID, "attempts": d.Attempts, "last_error": lastErr.Error()})
	s.audit.Record(storage.AuditEvent{Type: backchannel.DeliveryFailed, Tenant: d.TenantID, User: d.UserID, Detail: detail})
}

// tenantPolicy judges sessions against their tenant's current rules
// (tokens.Policy). A session whose tenant is gone admits nobody.
func tenantPolicy(reg *tenants.Registry) tokens.Policy {
	return func(sess storage.Session) ([]string, bool) {
		t, ok := reg.Tenant(sess.TenantID)
		if !ok {
			return nil, false
		}
		return accounts.Judge(t.Tenant, sess.Facts, sess.Roles)
	}
}

// tenantClaims finds the custom claims of a tenant as it is now
// (tokens.Config.Claims); their evaluation logs each claim left out,
// naming the claim and why, never its value.
func tenantClaims(reg *tenants.Registry, log *slog.Logger) func(string) tokens.ClaimsFunc {
	return func(tenantID string) tokens.ClaimsFunc {
		t, ok := reg.Tenant(tenantID)
		if !ok || !t.HasClaims() {
			return nil
		}
		return func(sess storage.Session, user storage.User, roles []string, want claims.Destination) claims.Output {
			out, failed := t.Claims(sess, user, roles, want)
			for _, f := range failed {
				log.Warn("custom claim left out", "tenant", t.ID, "claim", f.Claim, "sid", sess.ID, "err", f.Err)
			}
			return out
		}
	}
}

// openStore opens the store a database URL names, applying its migrations.
func openStore(ctx context.Context, url string) (storage.Store, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		return sqlite.Open(ctx, strings.TrimPrefix(url, "sqlite:"))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgres.Open(ctx, url)
	default:
		return nil, fmt.Errorf("database.url: unsupported database %q", strings.SplitN(url, ":", 2)[0])
	}
}

// Migrate brings the database cfg names up to this broker's schema and
// returns; `broker serve` does the same at start.
func Migrate(ctx context.Context, cfg *config.Config) error {
	store, err := openStore(ctx, cfg.Database.URL)
	if err != nil {
		return err
	}
	return store.Close()
}

// upstreamTransport is http.DefaultTransport keeping more idle
// connections per host. A broker talks to a handful of upstream hosts,
// many sign-ins at once; with the default two idle connections per host,
// most sign-ins under load would dial anew (and, against a real upstream,
// pay a TLS handshake) for their code exchange. A program that replaced
// http.DefaultTransport (a proxy, a test's wiretap) keeps its own.
func upstreamTransport() http.RoundTripper {
	def, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t := def.Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	return t
}

// Handler is the broker as an http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Serve answers on l until ctx ends, then drains (see drain) and stops. It
// also keeps the signing keys fresh and removes expired rows.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := s.httpServer(s.closeWhileDraining(s.echo))
	// Content-Length with Transfer-Encoding: 400 and the connection closed
	// (RFC 9112 §6.1), which net/http alone does not do.
	l = httpx.GuardFraming(srv, l, s.log)
	bg, stop := context.WithCancel(ctx)
	defer stop()
	go s.maintain(bg)
	go s.audit.Run(bg)
	return serveUntil(ctx, srv, l, s.drain)
}

// drain runs when Serve is told to stop, before the listener closes.
//
// http.Server.Shutdown, called at once, closes every idle keep-alive
// connection, while clients (load balancers' pools above all) may be
// sending their next request on it: that request is lost with a reset,
// and a POST is not retried. So for shutdown_delay the broker goes on
// serving, but /readyz answers 503, so that load balancers take it out of
// rotation, and every response carries Connection: close, so that
// keep-alive clients leave their connections after the request they are
// on instead of sending another into a closing one. Only then does
// Shutdown close what is idle and wait for what is in flight.
func (s *Server) drain() {
	s.draining.Store(true)
	d := s.cfg.ShutdownDelay.Duration
	if d <= 0 {
		return
	}
	s.log.Info("shutting down: not ready, still serving until load balancers notice", "delay", d.String())
	time.Sleep(d)
}

// closeWhileDraining sends Connection: close on every response once the
// broker is draining; net/http then closes the connection after it.
func (s *Server) closeWhileDraining(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// ServeMetrics answers GET /metrics, and nothing else, on l until ctx
// ends: the listener of metrics_listen, kept off the public one as
// Dex's telemetry port is.
func (s *Server) ServeMetrics(ctx context.Context, l net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	srv := s.httpServer(mux)
	return serveUntil(ctx, srv, httpx.GuardFraming(srv, l, s.log), nil)
}

func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// serveUntil serves srv on l until ctx ends, then runs drain (if not nil)
// and waits for in-flight requests for at most ten seconds.
func serveUntil(ctx context.Context, srv *http.Server, l net.Listener, drain func()) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if drain != nil {
		drain()
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// revocationPoll bounds how long a logout on another replica takes to
// reach this one. A short poll of an indexed column, rather than a push
// channel: it works the same on every store, costs one small query per
// replica per tick whatever the traffic, and cannot miss a revocation
// across a reconnect.
const revocationPoll = 250 * time.Millisecond

// logoutPoll is how often each replica looks for back-channel logouts
// due: how long after a session ends its app hears of it, at most.
const logoutPoll = time.Second

// maintain syncs revocations several times a second, sends due
// back-channel logouts every second, refreshes keys every
// minute (so keys created by another replica are published here too) and
// deletes expired rows (and audit events past their retention) every ten.
func (s *Server) maintain(ctx context.Context) {
	failing := false
	runChores(ctx,
		chore{revocationPoll, func(ctx context.Context) {
			err := s.tokens.SyncRevocations(ctx)
			if err != nil && !failing {
				s.log.Warn("revocation sync failing; token checks answer 503 until it recovers", "err", err)
			} else if err == nil && failing {
				s.log.Info("revocation sync recovered")
			}
			failing = err != nil
		}},
		chore{logoutPoll, func(ctx context.Context) {
			if err := s.logouts.Run(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("back-channel logouts not sent", "err", err)
			}
		}},
		chore{revocationPoll, s.syncRecords},
		chore{time.Minute, func(ctx context.Context) {
			if err := s.keys.Refresh(ctx); err != nil {
				s.log.Warn("key refresh failed", "err", err)
			}
		}},
		chore{10 * time.Minute, s.sweep},
	)
}

// sweep deletes expired rows, and audit events past admin.audit_retention.
func (s *Server) sweep(ctx context.Context) {
	n, err := s.store.DeleteExpired(ctx, s.now())
	if err != nil {
		s.log.Warn("expiry sweep failed", "err", err)
	} else if n > 0 {
		s.log.Debug("expired rows removed", "rows", n)
	}
	if keep := s.cfg.Admin.AuditRetention.Duration; keep > 0 {
		n, err := s.store.DeleteAuditBefore(ctx, s.now().Add(-keep))
		if err != nil {
			s.log.Warn("audit retention sweep failed", "err", err)
		} else if n > 0 {
			s.log.Debug("audit events past retention removed", "events", n)
		}
	}
}

// chore is background work done every so often.
type chore struct {
	every time.Duration
	run   func(context.Context)
}

// runChores runs each chore on a ticker and goroutine of its own until
// ctx ends: a slow one (a sweep over a large backlog of expired rows) must
// not hold up the others, above all the revocation poll, without which
// token checks fail closed within seconds.
func runChores(ctx context.Context, chores ...chore) {
	var wg sync.WaitGroup
	for _, c := range chores {
		wg.Go(func() {
			t := time.NewTicker(c.every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					c.run(ctx)
				}
			}
		})
	}
	wg.Wait()
}

// Close releases the store.
func (s *Server) Close() error { return s.store.Close() }
