package backchannel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/socialbroker/broker/internal/netguard"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
)

// DeliveryFailed is the audit event type of a delivery given up.
const DeliveryFailed = "logout.delivery_failed"

// Signer mints logout tokens (tokens.KeySet).
type Signer interface {
	SignLogoutToken(issuer string, l tokens.Logout, now time.Time) (string, error)
}

// Timing of deliveries.
const (
	// RequestTimeout bounds one POST to an app.
	RequestTimeout = 5 * time.Second
	// lease is how long a claimed delivery is withheld from other
	// claims: longer than its POST and the writes after it can take, so
	// that only a replica that died mid-delivery lets another send it
	// again.
	lease = 4 * RequestTimeout
	// firstRetry and maxRetry bound the backoff between attempts: it
	// doubles from firstRetry at each failure up to maxRetry.
	firstRetry = 2 * time.Second
	maxRetry   = 5 * time.Minute
	// GiveUpAfter is how long after its session ended a delivery is
	// still retried. The contract asks for at least an hour.
	GiveUpAfter = time.Hour
	// batch bounds the deliveries one round claims and sends at once.
	batch = 32
)

// Config configures a Deliverer.
type Config struct {
	Issuer string // the logout tokens' iss
	Outbox storage.LogoutOutbox
	Signer Signer
	// URI returns a tenant's backchannel_logout_uri ("" when it has
	// none: its deliveries are dropped unsent), and whether the tenant is
	// known. An unknown tenant's deliveries are retried: it may be one
	// created on another replica a moment ago, not yet known here.
	URI func(tenantID string) (uri string, known bool)
	// Client sends the POSTs; its redirects are never followed. Default:
	// a client of its own.
	Client *http.Client
	// Guarded reports whether a tenant's deliveries must not reach
	// loopback, private, link-local or metadata addresses (netguard): a
	// tenant made through the admin API, whose URI whoever holds a key
	// for it chose, unless admin.allow_private_networks. Checked at each
	// connection, on the address dialled: a name that resolved to a
	// public address when the URI was set may not resolve so now (DNS
	// rebinding). nil guards none.
	Guarded func(tenantID string) bool
	// GaveUp, when set, hears of each delivery given up (the audit log's
	// DeliveryFailed).
	GaveUp func(d storage.LogoutDelivery, lastErr error)
	Now    func() time.Time
	Logger *slog.Logger
}

var errUnknownTenant = errors.New("tenant unknown on this replica")

// Deliverer sends the outbox's due deliveries.
type Deliverer struct {
	cfg     Config
	client  *http.Client
	guarded *http.Client // client through netguard's transport
	log     *slog.Logger
}

// New returns a Deliverer.
func New(cfg Config) (*Deliverer, error) {
	if cfg.Issuer == "" || cfg.Outbox == nil || cfg.Signer == nil || cfg.URI == nil {
		return nil, errors.New("backchannel: issuer, outbox, signer and URI are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	client := &http.Client{}
	if cfg.Client != nil {
		c := *cfg.Client
		client = &c
	}
	client.Timeout = RequestTimeout
	// A redirect is an answer other than 200/204: the delivery is
	// retried at the registered URI, never sent where a redirect points.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	guarded := *client
	base, _ := client.Transport.(*http.Transport)
	guarded.Transport = netguard.Transport(base, false)
	return &Deliverer{cfg: cfg, client: client, guarded: &guarded, log: cfg.Logger}, nil
}

// Run sends every delivery due now, a batch at a time, and returns when
// none is left due or ctx ends. The POSTs of one batch run side by side.
func (d *Deliverer) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		now := d.cfg.Now()
		due, err := d.cfg.Outbox.ClaimLogouts(ctx, now, now.Add(lease), batch)
		if err != nil {
			return fmt.Errorf("backchannel: claim: %w", err)
		}
		var wg sync.WaitGroup
		for _, dl := range due {
			wg.Go(func() { d.deliver(ctx, dl) })
		}
		wg.Wait()
		if len(due) < batch {
			return nil
		}
	}
	return ctx.Err()
}

// deliver makes one attempt at dl and records its outcome.
func (d *Deliverer) deliver(ctx context.Context, dl storage.LogoutDelivery) {
	// The outcome is recorded even if ctx ends meanwhile: a delivery left
	// leased is only retried once its lease is over.
	store := context.WithoutCancel(ctx)
	uri, known := d.cfg.URI(dl.TenantID)
	if known && uri == "" {
		d.remove(store, dl)
		return
	}
	err := errUnknownTenant
	if known {
		err = d.send(ctx, uri, dl)
	}
	if err == nil {
		d.remove(store, dl)
		d.log.Debug("back-channel logout delivered", "tenant", dl.TenantID, "sid", dl.SessionID, "attempts", dl.Attempts)
		return
	}
	now := d.cfg.Now()
	if now.Sub(dl.CreatedAt) >= GiveUpAfter {
		d.remove(store, dl)
		d.log.Warn("back-channel logout given up", "tenant", dl.TenantID, "sid", dl.SessionID, "attempts", dl.Attempts, "err", err)
		if d.cfg.GaveUp != nil {
			d.cfg.GaveUp(dl, err)
		}
		return
	}
	next := now.Add(Backoff(dl.Attempts))
	d.log.Info("back-channel logout failed; will retry", "tenant", dl.TenantID, "sid", dl.SessionID,
		"attempts", dl.Attempts, "retry_at", next, "err", err)
	if err := d.cfg.Outbox.RetryLogout(store, dl.ID, next); err != nil && !errors.Is(err, storage.ErrNotFound) {
		// The lease runs out and the delivery is claimed again then.
		d.log.Warn("back-channel logout: retry not recorded", "sid", dl.SessionID, "err", err)
	}
}

func (d *Deliverer) remove(ctx context.Context, dl storage.LogoutDelivery) {
	if err := d.cfg.Outbox.DeleteLogout(ctx, dl.ID); err != nil {
		d.log.Warn("back-channel logout: delivery not removed; it may be sent again", "sid", dl.SessionID, "err", err)
	}
}

// send POSTs a fresh logout token (Back-Channel Logout 1.0 §2.5): a form
// with logout_token, answered 200 (or 204, which some frameworks send for
// an empty 200) on success.
func (d *Deliverer) send(ctx context.Context, uri string, dl storage.LogoutDelivery) error {
	token, err := d.cfg.Signer.SignLogoutToken(d.cfg.Issuer,
		tokens.Logout{TenantID: dl.TenantID, UserID: dl.UserID, SessionID: dl.SessionID}, d.cfg.Now())
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri,
		strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	client := d.client
	if d.cfg.Guarded != nil && d.cfg.Guarded(dl.TenantID) {
		client = d.guarded
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("app answered %d", resp.StatusCode)
	}
	return nil
}

// Backoff is the wait after a delivery's nth failed attempt (n from 1).
func Backoff(attempts int) time.Duration {
	wait := firstRetry
	for i := 1; i < attempts && wait < maxRetry; i++ {
		wait *= 2
	}
	return min(wait, maxRetry)
}
