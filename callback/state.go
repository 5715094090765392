package callback

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
	"golang.org/x/crypto/chacha20poly1305"
)

// flow is what the broker remembers between sending a browser upstream and
// its return. It is stored nowhere: it travels as the broker's own state
// parameter, sealed (XChaCha20-Poly1305) under a key that only the
// broker's replicas hold, so that the upstream and the browser carry it but
// can neither read nor change it (our PKCE verifier towards the upstream is
// inside). The callback records the state's hash as used, which is what
// makes a state work once (RFC 9700 §4.7.1), with the session on success
// (see takeFlow); starting a sign-in, which anyone can do, writes nothing.
type flow struct {
	Browser       string // hash of the browser-binding cookie
	Tenant        string // client_id
	Provider      string // configured provider name
	RedirectURI   string // the app's validated redirect URI
	AppState      string // the app's state, returned untouched
	Challenge     string // the app's PKCE challenge
	Scope         string // granted scope
	Nonce         string // the app's OIDC nonce, for its ID token
	Verifier      string // our PKCE verifier towards the upstream
	UpstreamNonce string // our nonce towards the upstream
	WantGroups    bool
	WantTeams     bool
	Expires       int64 // unix milliseconds: refused from then on
}

// stateAAD binds a sealed flow to its purpose and to this encoding: data
// sealed for anything else, or by another version, does not open as a flow.
var stateAAD = []byte("broker login state v1")

// maxState bounds the state parameter the callback accepts: above the
// largest sealed flow, about 5,000 characters with every app parameter at
// maxParam; a usual one is some 400.
const maxState = 8 << 10

// usedStateMargin is how long a used state is remembered past its expiry:
// far more than replicas' clocks, kept by NTP, should ever differ.
const usedStateMargin = 5 * time.Minute

var errBadFlow = errors.New("malformed login state")

func (f *flow) strings() []*string {
	return []*string{&f.Browser, &f.Tenant, &f.Provider, &f.RedirectURI, &f.AppState,
		&f.Challenge, &f.Scope, &f.Nonce, &f.Verifier, &f.UpstreamNonce}
}

// marshal encodes f compactly: each string behind its length, so that no
// character of an app's parameters costs more than itself (JSON would
// escape some into six).
func (f *flow) marshal() []byte {
	b := binary.AppendVarint(nil, f.Expires)
	var want byte // 1: groups, 2: teams too
	if f.WantGroups {
		want |= 1
	}
	if f.WantTeams {
		want |= 2
	}
	b = append(b, want)
	for _, p := range f.strings() {
		b = binary.AppendUvarint(b, uint64(len(*p)))
		b = append(b, *p...)
	}
	return b
}

func (f *flow) unmarshal(b []byte) error {
	var n int
	if f.Expires, n = binary.Varint(b); n <= 0 || len(b) == n || b[n] > 3 {
		return errBadFlow
	}
	f.WantGroups, f.WantTeams, b = b[n]&1 != 0, b[n]&2 != 0, b[n+1:]
	for _, p := range f.strings() {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return errBadFlow
		}
		*p, b = string(b[n:n+int(l)]), b[n+int(l):]
	}
	if len(b) != 0 {
		return errBadFlow
	}
	return nil
}

// sealFlow returns f as a state parameter: a random nonce, then f
// encrypted and authenticated. XChaCha20-Poly1305's 192-bit nonces may be
// drawn at random for as many seals as a key will ever see; AES-GCM's
// 96-bit ones would call for a new key after 2^32 sign-ins (NIST SP
// 800-38D §8.3), and this key is never rotated.
func (h *Handler) sealFlow(f *flow) string {
	plain := f.marshal()
	nonce := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(plain)+h.aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(h.aead.Seal(nonce, nonce, plain, stateAAD))
}

// openFlow reads a state parameter back. Only the one canonical spelling
// of a sealed flow is accepted: a decoder skips line breaks and the spare
// bits of the last character, and each other spelling would hash to
// another id, usable once more.
func (h *Handler) openFlow(state string) (*flow, error) {
	sealed, err := base64.RawURLEncoding.DecodeString(state)
	if err != nil || base64.RawURLEncoding.EncodeToString(sealed) != state ||
		len(sealed) < chacha20poly1305.NonceSizeX+h.aead.Overhead() {
		return nil, errBadFlow
	}
	n := chacha20poly1305.NonceSizeX
	plain, err := h.aead.Open(nil, sealed[:n], sealed[n:], stateAAD)
	if err != nil {
		return nil, errBadFlow
	}
	var f flow
	if err := f.unmarshal(plain); err != nil {
		return nil, err
	}
	return &f, nil
}

// bindingCookie names the browser-binding cookie (see cookieName).
const bindingCookie = "broker_login"

// cookieName is the name the cookie called base goes by. Over https the
// __Host- prefix pins the cookie to this host and path / with Secure (RFC
// 6265bis §4.1.3.2); browsers refuse that prefix over plain http, where
// only loopback development runs.
func (h *Handler) cookieName(base string) string {
	if h.secure {
		return "__Host-" + base
	}
	return base
}

// browserBinding returns this browser's binding secret, minting a new one
// if it has none. One secret serves every flow the browser has in flight,
// so sign-ins in two tabs do not clobber each other.
func (h *Handler) browserBinding(c echo.Context) string {
	if ck, err := c.Cookie(h.cookieName(bindingCookie)); err == nil && len(ck.Value) == 43 {
		return ck.Value
	}
	return tokens.NewOpaque()
}

func (h *Handler) setBindingCookie(c echo.Context, value string) {
	// Lax: the upstream's return is a top-level GET navigation from
	// another site, which Lax lets through and Strict would not.
	h.setCookie(c, h.cookieName(bindingCookie), value, int(h.cfg.LoginTTL/time.Second))
}

// setCookie sets one of the flow's cookies: HttpOnly, SameSite=Lax, path
// /, and Secure over https (where its name carries the __Host- prefix).
func (h *Handler) setCookie(c echo.Context, name, value string, maxAge int) {
	c.SetCookie(&http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode,
	})
}

// start seals the flow into the state and sends the browser upstream.
func (h *Handler) start(c echo.Context, r *authRequest) error {
	up, ok := h.dir.Upstream(r.provider)
	if !ok {
		return h.fail(c, &redirectError{redirectURI: r.redirectURI, state: r.state,
			err: oautherr.New(oautherr.InvalidRequest, "provider is not configured")})
	}
	binding := h.browserBinding(c)
	f := flow{
		Browser: tokens.Hash(binding), Tenant: r.tenant.ID, Provider: r.provider,
		RedirectURI: r.redirectURI, AppState: r.state, Challenge: r.challenge,
		Scope: r.scope, Nonce: r.nonce,
		Verifier: tokens.NewOpaque(), UpstreamNonce: tokens.NewOpaque(),
		WantGroups: r.tenant.WantGroups, WantTeams: r.tenant.WantTeams,
		Expires: h.cfg.Now().Add(h.cfg.LoginTTL).UnixMilli(),
	}
	state := h.sealFlow(&f)
	target, err := up.Provider.AuthCodeURL(c.Request().Context(), providers.AuthRequest{
		State: state, Nonce: f.UpstreamNonce, Verifier: f.Verifier,
		RedirectURL: h.callbackURL(r.provider), LoginHint: r.loginHint, Prompt: r.prompt,
		WantGroups: f.WantGroups, WantTeams: f.WantTeams,
	})
	if err != nil {
		h.log.Warn("upstream unavailable at login start", "provider", r.provider, "err", err)
		return h.fail(c, &redirectError{redirectURI: r.redirectURI, state: r.state,
			err: oautherr.New(oautherr.TemporarilyUnavailable, "the sign-in provider cannot be reached; try again shortly")})
	}
	h.setBindingCookie(c, binding)
	return httpx.Redirect(c, target)
}

// takeFlow opens the flow sealed in state and checks that it is unexpired
// and that it belongs to this browser and provider. Any fault is a page:
// the request cannot be trusted to say where to redirect. With a fault
// found after the flow opened, the flow comes back too, for the page to
// name its app; nothing else of it may be used.
//
// Whether the state was used is not read here: a sign-in would pay a
// round trip to the database for what only a replay needs to know. The
// callback spends the state on every way out instead, and a spend that
// finds it spent already is the replay, answered with the page a used
// state gets whatever went wrong: in the very write that starts the
// session (tokens.CodeGrant.LoginState) on success, or with spend, first
// thing, on any refusal. So a replayed callback mints nothing and gets the
// page (CONTRACT: "Bad or replayed state: 400 page"), whether the
// upstream refuses its spent code or, lax, honours it again; of two
// callbacks racing with one state, the store lets one start a session.
func (h *Handler) takeFlow(c echo.Context, state, provider string) (*flow, storage.UsedLoginState, error) {
	f, err := h.openFlow(state)
	if err != nil {
		return nil, storage.UsedLoginState{}, err
	}
	expires := time.UnixMilli(f.Expires)
	if !h.cfg.Now().Before(expires) {
		return f, storage.UsedLoginState{}, errExpiredFlow
	}
	// The record outlives the state by usedStateMargin, so that a replica
	// whose clock lags another's, still taking the state for unexpired,
	// finds it used.
	use := storage.UsedLoginState{ID: tokens.Hash(state), ExpiresAt: expires.Add(usedStateMargin)}
	// A state that reached another browser, or another provider's
	// callback, is spent all the same: a login CSRF gets a single try.
	ck, cerr := c.Cookie(h.cookieName(bindingCookie))
	if cerr != nil || subtle.ConstantTimeCompare([]byte(tokens.Hash(ck.Value)), []byte(f.Browser)) != 1 {
		return f, use, h.spend(c, use, errOtherBrowser)
	}
	if f.Provider != provider {
		return f, use, h.spend(c, use, errOtherProvider)
	}
	return f, use, nil
}

// spend records a login state as used where its sign-in ends without a
// session, and returns storage.ErrAlreadyUsed if it was used before (a
// replay: its refusal is the used state's), else refusal. It outlives the
// request: a client that hangs up must not leave its state usable.
func (h *Handler) spend(c echo.Context, use storage.UsedLoginState, refusal error) error {
	err := h.cfg.States.UseLoginState(context.WithoutCancel(c.Request().Context()), use.ID, use.ExpiresAt)
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed):
		return err
	case err != nil:
		h.log.Warn("login state could not be spent", "err", err)
	}
	return refusal
}
