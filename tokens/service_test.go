package tokens

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/sqlite"
)

const testRedirect = "https://app.example/callback"

func testConfig(clock *fakeClock) Config {
	return Config{
		Issuer:         testIssuer,
		AccessTTL:      15 * time.Minute,
		IDTokenTTL:     time.Hour,
		RefreshIdleTTL: 24 * time.Hour,
		RefreshMaxTTL:  72 * time.Hour,
		ReuseGrace:     10 * time.Second,
		CodeTTL:        time.Minute,
		Now:            clock.Now,
	}
}

// serviceFixture is a Service on a real SQLite file with one user.
type serviceFixture struct {
	store *sqlite.Store
	path  string
	clock *fakeClock
	keys  *KeySet
	svc   *Service
	user  storage.User
}

func newServiceFixture(tb testing.TB) *serviceFixture {
	tb.Helper()
	store, path := newStore(tb)
	clock := newClock()
	f := &serviceFixture{store: store, path: path, clock: clock, keys: newKeySet(tb, store, ES256, clock)}
	f.user = storage.User{
		ID: "user-1", Name: "Alice", Email: "alice@acme.com", EmailVerified: true,
		Picture: "https://pics.example/alice.png", CreatedAt: t0, UpdatedAt: t0,
	}
	err := store.CreateUser(tb.Context(), f.user, storage.Identity{
		Provider: "google", Subject: "g-1", Email: f.user.Email, EmailVerified: true, EmailTrusted: true, CreatedAt: t0, UpdatedAt: t0,
	})
	if err != nil {
		tb.Fatalf("CreateUser: %v", err)
	}
	f.svc = f.replica(tb)
	return f
}

// replica is another Service on the same store and keys, as a second
// broker process would have, with its revocation list synced.
func (f *serviceFixture) replica(tb testing.TB) *Service {
	tb.Helper()
	svc, err := NewService(f.store, f.keys, testConfig(f.clock))
	if err != nil {
		tb.Fatalf("NewService: %v", err)
	}
	if err := svc.SyncRevocations(tb.Context()); err != nil {
		tb.Fatalf("SyncRevocations: %v", err)
	}
	return svc
}

// signIn records a session and issues its code, as the callback does.
// challengeFrom is the PKCE verifier the app chose; "" sends no challenge.
func (f *serviceFixture) signIn(tb testing.TB, scope, challengeFrom string) (code, sid string) {
	tb.Helper()
	challenge := ""
	if challengeFrom != "" {
		challenge = S256Challenge(challengeFrom)
	}
	code, sid, err := f.svc.IssueCode(tb.Context(), CodeGrant{
		UserID: f.user.ID, TenantID: testClient, Provider: "google", Scope: scope, Roles: []string{"admin"}, Nonce: "n-1",
		RedirectURI: testRedirect, CodeChallenge: challenge,
	})
	if err != nil {
		tb.Fatalf("IssueCode: %v", err)
	}
	return code, sid
}

// testVerifier is a valid PKCE verifier (RFC 7636 §4.1).
var testVerifier = strings.Repeat("abcdefghij", 5) + "-._~"

// login signs in and redeems the code.
func (f *serviceFixture) login(tb testing.TB, scope string) *Grant {
	tb.Helper()
	code, _ := f.signIn(tb, scope, testVerifier)
	g, err := f.svc.ExchangeCode(tb.Context(), CodeExchange{Code: code, ClientID: testClient, RedirectURI: testRedirect, Verifier: testVerifier})
	if err != nil {
		tb.Fatalf("ExchangeCode: %v", err)
	}
	return g
}

// verify syncs svc's revocations, then verifies: the revocation view must
// be fresh for Verify to answer at all.
func verify(tb testing.TB, svc *Service, token string) (*AccessClaims, error) {
	tb.Helper()
	if err := svc.SyncRevocations(tb.Context()); err != nil {
		tb.Fatalf("SyncRevocations: %v", err)
	}
	return svc.Verify(tb.Context(), token)
}

func allow(string) error { return nil }

// wantOAuthErr fails unless err is an *oautherr.Error with code.
func wantOAuthErr(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	var oe *oautherr.Error
	if !errors.As(err, &oe) || oe.Code != code {
		tb.Errorf("%s: got error %v, want %s", what, err, code)
	}
}

func TestExchangeCode(t *testing.T) {
	otherVerifier := strings.Repeat("z", 43)
	shortVerifier := strings.Repeat("s", 42) // RFC 7636 §4.1: 43 at least
	tests := []struct {
		name          string
		challengeFrom string // "" = no code_challenge
		edit          func(*CodeExchange)
		before        func(t *testing.T, f *serviceFixture, sid string)
		wantErr       string // oautherr code; "" = success
	}{
		{name: "PKCE", challengeFrom: testVerifier},
		{name: "no PKCE and no verifier", challengeFrom: ""},
		{name: "wrong client", challengeFrom: testVerifier, edit: func(e *CodeExchange) { e.ClientID = "other-app" }, wantErr: oautherr.InvalidGrant},
		{name: "wrong redirect_uri", challengeFrom: testVerifier, edit: func(e *CodeExchange) { e.RedirectURI = "https://evil.example/callback" }, wantErr: oautherr.InvalidGrant},
		{name: "redirect_uri with a trailing slash", challengeFrom: testVerifier, edit: func(e *CodeExchange) { e.RedirectURI += "/" }, wantErr: oautherr.InvalidGrant},
		{name: "redirect_uri missing", challengeFrom: testVerifier, edit: func(e *CodeExchange) { e.RedirectURI = "" }, wantErr: oautherr.InvalidGrant},
		{name: "wrong verifier", challengeFrom: testVerifier, edit: func(e *CodeExchange) { e.Verifier = otherVerifier }, wantErr: oautherr.InvalidGrant},
		{name: "verifier missing", challengeFrom: testVerifier, edit: func(e *CodeExchange) { e.Verifier = "" }, wantErr: oautherr.InvalidGrant},
		{name: "challenge sent as verifier", challengeFrom: testVerifier, edit: func(e *CodeExchange) { e.Verifier = S256Challenge(testVerifier) }, wantErr: oautherr.InvalidGrant},
		{name: "verifier too short though it matches", challengeFrom: shortVerifier, wantErr: oautherr.InvalidGrant},
		{name: "verifier without a challenge (PKCE downgrade)", challengeFrom: "", edit: func(e *CodeExchange) { e.Verifier = testVerifier }, wantErr: oautherr.InvalidGrant},
		{name: "code just before expiry", challengeFrom: testVerifier, before: func(t *testing.T, f *serviceFixture, _ string) { f.clock.Advance(time.Minute - time.Second) }},
		{name: "code expired", challengeFrom: testVerifier, before: func(t *testing.T, f *serviceFixture, _ string) { f.clock.Advance(time.Minute) }, wantErr: oautherr.InvalidGrant},
		{name: "unknown code", challengeFrom: testVerifier, edit: func(e *CodeExchange) { e.Code = NewOpaque() }, wantErr: oautherr.InvalidGrant},
		{name: "empty code", challengeFrom: testVerifier, edit: func(e *CodeExchange) { e.Code = "" }, wantErr: oautherr.InvalidRequest},
		{name: "oversize code", challengeFrom: testVerifier, edit: func(e *CodeExchange) { e.Code = strings.Repeat("c", 129) }, wantErr: oautherr.InvalidRequest},
		{name: "session revoked before the exchange", challengeFrom: testVerifier, before: func(t *testing.T, f *serviceFixture, sid string) {
			if err := f.svc.RevokeSession(t.Context(), sid); err != nil {
				t.Fatal(err)
			}
		}, wantErr: oautherr.InvalidGrant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newServiceFixture(t)
			scope := "openid email profile"
			code, sid := f.signIn(t, scope, tt.challengeFrom)
			if tt.before != nil {
				tt.before(t, f, sid)
			}
			in := CodeExchange{Code: code, ClientID: testClient, RedirectURI: testRedirect, Verifier: tt.challengeFrom}
			if tt.edit != nil {
				tt.edit(&in)
			}
			g, err := f.svc.ExchangeCode(t.Context(), in)
			if tt.wantErr != "" {
				wantOAuthErr(t, "ExchangeCode", err, tt.wantErr)
				if g != nil {
					t.Errorf("grant: got %+v, want nil", g)
				}
				return
			}
			if err != nil {
				t.Fatalf("ExchangeCode: %v", err)
			}
			c, err := verify(t, f.svc, g.AccessToken)
			if err != nil {
				t.Fatalf("Verify(access token): %v", err)
			}
			if c.Subject != f.user.ID || c.SID != sid || c.TID != testClient || c.ClientID != testClient ||
				len(c.Audience) != 1 || c.Audience[0] != testClient || c.Scope != scope ||
				len(c.Roles) != 1 || c.Roles[0] != "admin" || c.ID == "" {
				t.Errorf("access claims: got %+v", c)
			}
			if got, want := c.ExpiresAt.Time, f.clock.Now().Add(15*time.Minute); !got.Equal(want) {
				t.Errorf("access exp: got %v, want %v", got, want)
			}
			if g.ExpiresIn != 15*time.Minute || g.Scope != scope {
				t.Errorf("grant: got expires_in %v scope %q, want 15m, %q", g.ExpiresIn, g.Scope, scope)
			}
			parts := strings.Split(g.RefreshToken, ".")
			if stamp := fmt.Sprintf("%012x", f.clock.Now().UnixMilli()); len(parts) != 3 || parts[0] != sid || len(parts[1]) != 43 || parts[2] != stamp {
				t.Errorf("refresh token %q: want %s.<43 characters>.%s", g.RefreshToken, sid, stamp)
			}
			if g.IDToken == "" {
				t.Error("ID token missing for scope openid")
			}
			if _, err := f.svc.Refresh(t.Context(), g.RefreshToken, allow); err != nil {
				t.Errorf("Refresh of the issued token: %v", err)
			}
		})
	}
}

// TestExchangeCodeRefusalLeavesCode: a request the code does not belong
// to (another client, another redirect URI, a wrong or missing verifier)
// is refused without redeeming the code, which its rightful client can
// still redeem: the session is not revoked.
func TestExchangeCodeRefusalLeavesCode(t *testing.T) {
	f := newServiceFixture(t)
	code, _ := f.signIn(t, "openid", testVerifier)
	right := CodeExchange{Code: code, ClientID: testClient, RedirectURI: testRedirect, Verifier: testVerifier}
	for name, in := range map[string]CodeExchange{
		"another client":       {Code: code, ClientID: "other", RedirectURI: testRedirect, Verifier: testVerifier},
		"another redirect URI": {Code: code, ClientID: testClient, RedirectURI: testRedirect + "/x", Verifier: testVerifier},
		"a wrong verifier":     {Code: code, ClientID: testClient, RedirectURI: testRedirect, Verifier: strings.Repeat("x", 43)},
		"no verifier":          {Code: code, ClientID: testClient, RedirectURI: testRedirect},
	} {
		_, err := f.svc.ExchangeCode(t.Context(), in)
		wantOAuthErr(t, "ExchangeCode with "+name, err, oautherr.InvalidGrant)
	}
	g, err := f.svc.ExchangeCode(t.Context(), right)
	if err != nil {
		t.Fatalf("ExchangeCode by the rightful client after refusals: %v", err)
	}
	if _, err := verify(t, f.svc, g.AccessToken); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// redeemRace is a store on which another redemption of the code happens
// between ExchangeCode's read of the code and its own redemption.
type redeemRace struct {
	Store
	meanwhile func()
}

func (r *redeemRace) GetCode(ctx context.Context, hash string) (storage.AuthCode, error) {
	c, err := r.Store.GetCode(ctx, hash)
	r.meanwhile()
	return c, err
}

// afterRotation is a store after whose rotation attempts the request's
// context may end (the client hangs up), and whose next revocation may
// fail (the database goes away for a moment).
type afterRotation struct {
	Store
	hangUp    context.CancelFunc // if set, called once a rotation attempt has returned
	revokeErr error              // if set, what the next RevokeSession answers
}

func (a *afterRotation) RotateRefreshToken(ctx context.Context, hash string, next storage.RefreshToken, sealed []byte, now time.Time) (storage.RefreshToken, error) {
	old, err := a.Store.RotateRefreshToken(ctx, hash, next, sealed, now)
	if a.hangUp != nil {
		a.hangUp()
	}
	return old, err
}

func (a *afterRotation) RevokeSession(ctx context.Context, id string, now time.Time) error {
	if err := a.revokeErr; err != nil {
		a.revokeErr = nil
		return err
	}
	return a.Store.RevokeSession(ctx, id, now)
}

// TestRefreshExpiredStaysDead: a refresh token presented after its idle
// lifetime is refused and its session revoked, and nothing brings it back:
// not a retry within the reuse grace after the revocation failed (had the
// store rotated the dead token, the grace path would hand out its
// successor), not a client that hangs up once the store has answered.
func TestRefreshExpiredStaysDead(t *testing.T) {
	t.Run("revocation failed, then a retry within the grace", func(t *testing.T) {
		f := newServiceFixture(t)
		g := f.login(t, "openid")
		store := &afterRotation{Store: f.store, revokeErr: errors.New("database went away")}
		svc, err := NewService(store, f.keys, testConfig(f.clock))
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Set(25 * time.Hour) // past RefreshIdleTTL, before RefreshMaxTTL
		if got, err := svc.Refresh(t.Context(), g.RefreshToken, allow); err == nil || got != nil {
			t.Fatalf("Refresh of an expired token while revocation fails: %v, %v; want an error", got, err)
		}
		f.clock.Advance(time.Second)
		got, err := svc.Refresh(t.Context(), g.RefreshToken, allow)
		wantOAuthErr(t, "the same expired token again, within the grace", err, oautherr.InvalidGrant)
		if got != nil {
			t.Fatalf("the expired token came back to life: a grant with refresh token %.12s...", got.RefreshToken)
		}
		if sess, err := f.store.GetSession(t.Context(), g.Session.ID); err != nil || sess.RevokedAt.IsZero() {
			t.Errorf("session after the retry: revoked at %v (%v), want revoked", sess.RevokedAt, err)
		}
	})
	t.Run("client hangs up after the rotation", func(t *testing.T) {
		f := newServiceFixture(t)
		g := f.login(t, "openid")
		ctx, cancel := context.WithCancel(t.Context())
		svc, err := NewService(&afterRotation{Store: f.store, hangUp: cancel}, f.keys, testConfig(f.clock))
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Set(25 * time.Hour)
		_, err = svc.Refresh(ctx, g.RefreshToken, allow)
		wantOAuthErr(t, "Refresh of an expired token, the client gone", err, oautherr.InvalidGrant)
		if sess, err := f.store.GetSession(t.Context(), g.Session.ID); err != nil || sess.RevokedAt.IsZero() {
			t.Errorf("session after the hang-up: revoked at %v (%v), want revoked", sess.RevokedAt, err)
		}
	})
}

// TestExchangeCodeRedeemedMeanwhile: of two redemptions racing, the one
// that finds the code redeemed when it writes is a replay like any other:
// it gets nothing and the session is revoked.
func TestExchangeCodeRedeemedMeanwhile(t *testing.T) {
	f := newServiceFixture(t)
	code, _ := f.signIn(t, "openid", testVerifier)
	in := CodeExchange{Code: code, ClientID: testClient, RedirectURI: testRedirect, Verifier: testVerifier}
	var first *Grant
	racing, err := NewService(&redeemRace{Store: f.store, meanwhile: func() {
		var err error
		if first, err = f.svc.ExchangeCode(t.Context(), in); err != nil {
			t.Errorf("the other redemption: %v", err)
		}
	}}, f.keys, testConfig(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	g, err := racing.ExchangeCode(t.Context(), in)
	wantOAuthErr(t, "ExchangeCode redeemed meanwhile", err, oautherr.InvalidGrant)
	if g != nil || first == nil {
		t.Fatalf("grants: got %v for the late one and %v for the first, want only the first", g, first)
	}
	f.clock.Advance(time.Second)
	if _, err := verify(t, f.svc, first.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify(first access token) after the race: got %v, want %v", err, ErrInvalidToken)
	}
}

// codeReads is a store that counts the codes read from it.
type codeReads struct {
	Store
	n atomic.Int32
}

func (c *codeReads) GetCode(ctx context.Context, hash string) (storage.AuthCode, error) {
	c.n.Add(1)
	return c.Store.GetCode(ctx, hash)
}

// TestExchangeCodeIssuedHere: the replica that issued a code redeems it
// without reading it back; a replica that did not reads it.
func TestExchangeCodeIssuedHere(t *testing.T) {
	f := newServiceFixture(t)
	store := &codeReads{Store: f.store}
	here, err := NewService(store, f.keys, testConfig(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		issuer    *Service
		wantReads int32
	}{{"issued here", here, 0}, {"issued by another replica", f.svc, 1}} {
		store.n.Store(0)
		code, _, err := tt.issuer.IssueCode(t.Context(), CodeGrant{
			UserID: f.user.ID, TenantID: testClient, Provider: "google", Scope: "openid",
			RedirectURI: testRedirect, CodeChallenge: S256Challenge(testVerifier),
		})
		if err != nil {
			t.Fatalf("%s: IssueCode: %v", tt.name, err)
		}
		in := CodeExchange{Code: code, ClientID: testClient, RedirectURI: testRedirect, Verifier: testVerifier}
		if _, err := here.ExchangeCode(t.Context(), in); err != nil {
			t.Fatalf("%s: ExchangeCode: %v", tt.name, err)
		}
		if got := store.n.Load(); got != tt.wantReads {
			t.Errorf("%s: ExchangeCode read the code %d times, want %d", tt.name, got, tt.wantReads)
		}
	}
}

// TestExchangeCodeReplayedWhereIssued: a code redeemed on another replica
// is still unused in the memory of the replica that issued it; replayed
// there, it is caught by the redemption's own write.
func TestExchangeCodeReplayedWhereIssued(t *testing.T) {
	f := newServiceFixture(t)
	other := f.replica(t)
	code, _ := f.signIn(t, "openid", testVerifier)
	in := CodeExchange{Code: code, ClientID: testClient, RedirectURI: testRedirect, Verifier: testVerifier}
	first, err := other.ExchangeCode(t.Context(), in)
	if err != nil {
		t.Fatalf("ExchangeCode on the other replica: %v", err)
	}
	again, err := f.svc.ExchangeCode(t.Context(), in)
	wantOAuthErr(t, "ExchangeCode replayed where the code was issued", err, oautherr.InvalidGrant)
	if again != nil {
		t.Errorf("replay grant: got %+v, want nil", again)
	}
	_, err = other.Refresh(t.Context(), first.RefreshToken, allow)
	wantOAuthErr(t, "Refresh(first refresh token) after the replay", err, oautherr.InvalidGrant)
}

func TestExchangeCodeReplayRevokesSession(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration // between the first and second redemption
	}{
		{"replayed at once", 0},
		{"replayed after the code expired", 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newServiceFixture(t)
			other := f.replica(t)
			code, _ := f.signIn(t, "openid", testVerifier)
			in := CodeExchange{Code: code, ClientID: testClient, RedirectURI: testRedirect, Verifier: testVerifier}
			first, err := f.svc.ExchangeCode(t.Context(), in)
			if err != nil {
				t.Fatalf("first ExchangeCode: %v", err)
			}
			if _, err := verify(t, f.svc, first.AccessToken); err != nil {
				t.Fatalf("Verify before replay: %v", err)
			}
			f.clock.Advance(tt.advance)
			again, err := f.svc.ExchangeCode(t.Context(), in)
			wantOAuthErr(t, "replayed ExchangeCode", err, oautherr.InvalidGrant)
			if again != nil {
				t.Errorf("replay grant: got %+v, want nil", again)
			}
			f.clock.Advance(time.Second)
			for name, svc := range map[string]*Service{"this replica": f.svc, "another replica": other} {
				if _, err := verify(t, svc, first.AccessToken); !errors.Is(err, ErrInvalidToken) {
					t.Errorf("Verify(first access token) on %s after replay: got %v, want %v", name, err, ErrInvalidToken)
				}
			}
			_, err = f.svc.Refresh(t.Context(), first.RefreshToken, allow)
			wantOAuthErr(t, "Refresh(first refresh token) after replay", err, oautherr.InvalidGrant)
		})
	}
}

// TestExchangeCodeRefusesEndedSession: a code outliving its session
// (a session ending within the code's lifetime) grants nothing.
func TestExchangeCodeRefusesEndedSession(t *testing.T) {
	f := newServiceFixture(t)
	now := f.clock.Now()
	sess := storage.Session{
		ID: NewID(), UserID: f.user.ID, TenantID: testClient, Provider: "google", Scope: "openid",
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(30 * time.Second),
	}
	code := NewOpaque()
	err := f.store.CreateSession(t.Context(), storage.NewSession{Session: sess, Codes: []storage.AuthCode{{
		Hash: Hash(code), TenantID: testClient, RedirectURI: testRedirect, CodeChallenge: S256Challenge(testVerifier),
		SessionID: sess.ID, UserID: f.user.ID, Scope: "openid", ExpiresAt: now.Add(time.Minute),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(30 * time.Second)
	g, err := f.svc.ExchangeCode(t.Context(), CodeExchange{Code: code, ClientID: testClient, RedirectURI: testRedirect, Verifier: testVerifier})
	wantOAuthErr(t, "ExchangeCode for an ended session", err, oautherr.InvalidGrant)
	if g != nil {
		t.Errorf("grant: got %+v, want nil", g)
	}
}

func TestRefreshRotates(t *testing.T) {
	f := newServiceFixture(t)
	g0 := f.login(t, "openid email")
	tokens := []string{g0.RefreshToken}
	for i := 1; i <= 3; i++ {
		f.clock.Advance(time.Minute)
		g, err := f.svc.Refresh(t.Context(), tokens[len(tokens)-1], allow)
		if err != nil {
			t.Fatalf("refresh #%d: %v", i, err)
		}
		for _, old := range tokens {
			if g.RefreshToken == old {
				t.Fatalf("refresh #%d: successor %q equals an earlier token", i, g.RefreshToken)
			}
		}
		if sid, _, _ := strings.Cut(g.RefreshToken, "."); sid != g0.Session.ID {
			t.Errorf("refresh #%d: successor of session %q, want %q", i, sid, g0.Session.ID)
		}
		if g.IDToken != "" {
			t.Errorf("refresh #%d: ID token issued on refresh, want none", i)
		}
		c, err := verify(t, f.svc, g.AccessToken)
		if err != nil {
			t.Fatalf("refresh #%d: Verify: %v", i, err)
		}
		if c.SID != g0.Session.ID || c.Subject != f.user.ID || c.Email != f.user.Email {
			t.Errorf("refresh #%d: claims %+v", i, c)
		}
		tokens = append(tokens, g.RefreshToken)
	}
}

func TestRefreshReuse(t *testing.T) {
	const grace = 10 * time.Second
	tests := []struct {
		name        string
		reuseAfter  time.Duration // since the first rotation of r0
		wantRevoked bool
	}{
		{"reused at once", 0, false},
		{"reused at the end of the grace", grace, false},
		// Another replica's clock a little behind the one that rotated.
		{"reused on a replica whose clock is behind", -MaxClockSkew, false},
		// After the grace the successor is never handed out again: the
		// first link was used (g1 below), so r0 is a stale copy.
		{"reused after the grace", grace + time.Second, true},
		{"reused a day later", 24 * time.Hour, true},
		// A clock stepped back must not reopen the grace.
		{"reused after the clock stepped back an hour", -time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newServiceFixture(t)
			g0 := f.login(t, "openid")
			g1, err := f.svc.Refresh(t.Context(), g0.RefreshToken, allow)
			if err != nil {
				t.Fatalf("first Refresh: %v", err)
			}
			if tt.wantRevoked {
				// The successor is used: r0 is now only a stale copy.
				f.clock.Advance(time.Second)
				if g1, err = f.svc.Refresh(t.Context(), g1.RefreshToken, allow); err != nil {
					t.Fatalf("Refresh(successor): %v", err)
				}
				f.clock.Advance(-time.Second)
			}
			f.clock.Advance(tt.reuseAfter)
			again, err := f.svc.Refresh(t.Context(), g0.RefreshToken, allow)
			if !tt.wantRevoked {
				if err != nil {
					t.Fatalf("reuse within grace: %v", err)
				}
				if again.RefreshToken != g1.RefreshToken {
					t.Errorf("reuse within grace: got successor %q, want the same %q", again.RefreshToken, g1.RefreshToken)
				}
				if _, err := verify(t, f.svc, again.AccessToken); err != nil {
					t.Errorf("Verify(access from reuse): %v", err)
				}
				if _, err := verify(t, f.svc, g1.AccessToken); err != nil {
					t.Errorf("Verify(access from first rotation): %v", err)
				}
				if _, err := f.svc.Refresh(t.Context(), g1.RefreshToken, allow); err != nil {
					t.Errorf("Refresh(successor) after reuse within grace: %v", err)
				}
				return
			}
			wantOAuthErr(t, "reuse after grace", err, oautherr.InvalidGrant)
			// The latest link dies with the family.
			_, err = f.svc.Refresh(t.Context(), g1.RefreshToken, allow)
			wantOAuthErr(t, "Refresh(latest token) after reuse", err, oautherr.InvalidGrant)
			if tt.reuseAfter < 15*time.Minute {
				if _, err := verify(t, f.svc, g1.AccessToken); !errors.Is(err, ErrInvalidToken) {
					t.Errorf("Verify(latest access token) after reuse: got %v, want %v", err, ErrInvalidToken)
				}
			}
		})
	}
}

// TestRefreshReuseOfOldLinkRevokesLatest reuses the first link of a longer
// chain: the newest link, never itself reused, must die too.
func TestRefreshReuseOfOldLinkRevokesLatest(t *testing.T) {
	f := newServiceFixture(t)
	g0 := f.login(t, "openid")
	latest := g0
	for range 3 {
		f.clock.Advance(time.Minute)
		g, err := f.svc.Refresh(t.Context(), latest.RefreshToken, allow)
		if err != nil {
			t.Fatal(err)
		}
		latest = g
	}
	_, err := f.svc.Refresh(t.Context(), g0.RefreshToken, allow)
	wantOAuthErr(t, "reuse of the first link", err, oautherr.InvalidGrant)
	_, err = f.svc.Refresh(t.Context(), latest.RefreshToken, allow)
	wantOAuthErr(t, "Refresh(latest)", err, oautherr.InvalidGrant)
	if _, err := verify(t, f.svc, latest.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify(latest access token): got %v, want %v", err, ErrInvalidToken)
	}
}

func TestRefreshLifetimes(t *testing.T) {
	type step struct {
		at     time.Duration // since sign-in; each step refreshes the latest token
		wantOK bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"idle: used just before RefreshIdleTTL", []step{{24*time.Hour - time.Second, true}}},
		{"idle: unused for RefreshIdleTTL", []step{{24 * time.Hour, false}}},
		{"idle: each use extends it", []step{{20 * time.Hour, true}, {40 * time.Hour, true}, {44*time.Hour - time.Second, true}}},
		{"idle: unused after a rotation", []step{{20 * time.Hour, true}, {44 * time.Hour, false}}},
		{"absolute: used regularly up to RefreshMaxTTL", []step{
			{20 * time.Hour, true}, {40 * time.Hour, true}, {60 * time.Hour, true}, {72*time.Hour - time.Second, true},
		}},
		{"absolute: used regularly past RefreshMaxTTL", []step{
			{20 * time.Hour, true}, {40 * time.Hour, true}, {60 * time.Hour, true}, {71 * time.Hour, true}, {72 * time.Hour, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newServiceFixture(t)
			latest := f.login(t, "openid")
			for _, s := range tt.steps {
				f.clock.Set(s.at)
				g, err := f.svc.Refresh(t.Context(), latest.RefreshToken, allow)
				if !s.wantOK {
					wantOAuthErr(t, fmt.Sprintf("Refresh at %v", s.at), err, oautherr.InvalidGrant)
					return
				}
				if err != nil {
					t.Fatalf("Refresh at %v: %v", s.at, err)
				}
				// No access token outlives its session.
				c, err := verify(t, f.svc, g.AccessToken)
				if err != nil {
					t.Fatalf("Verify at %v: %v", s.at, err)
				}
				if end := t0.Add(72 * time.Hour); c.ExpiresAt.After(end) {
					t.Errorf("access token at %v expires %v, after the session's end %v", s.at, c.ExpiresAt.Time, end)
				}
				latest = g
			}
		})
	}
}

func TestRefreshConcurrentUseOfOneToken(t *testing.T) {
	const n = 50
	f := newServiceFixture(t)
	g0 := f.login(t, "openid")
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		results = make([]*Grant, n)
		errs    = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = f.svc.Refresh(t.Context(), g0.RefreshToken, allow)
		})
	}
	close(start)
	wg.Wait()
	successor := ""
	for i := range n {
		if errs[i] != nil {
			t.Errorf("call %d: %v", i, errs[i])
			continue
		}
		if successor == "" {
			successor = results[i].RefreshToken
		}
		if results[i].RefreshToken != successor {
			t.Errorf("call %d: successor %q, want %q like the others", i, results[i].RefreshToken, successor)
		}
	}
	if successor == "" || successor == g0.RefreshToken {
		t.Fatalf("successor: got %q, want a new token", successor)
	}
	if _, err := verify(t, f.svc, g0.AccessToken); err != nil {
		t.Errorf("session after concurrent refreshes: %v", err)
	}
	if _, err := f.svc.Refresh(t.Context(), successor, allow); err != nil {
		t.Errorf("Refresh(successor): %v", err)
	}
}

func TestRefreshAuthorizeRefusalChangesNothing(t *testing.T) {
	errDenied := errors.New("client may not use this token")
	f := newServiceFixture(t)
	g0 := f.login(t, "openid")
	var gotTenant string
	deny := func(tenant string) error { gotTenant = tenant; return errDenied }
	if _, err := f.svc.Refresh(t.Context(), g0.RefreshToken, deny); !errors.Is(err, errDenied) {
		t.Fatalf("Refresh with refusing authorize: got %v, want %v", err, errDenied)
	}
	if gotTenant != testClient {
		t.Errorf("authorize was handed tenant %q, want %q", gotTenant, testClient)
	}
	// Past the reuse grace: had the refused call rotated the token, this
	// would be a reuse and revoke the session.
	f.clock.Advance(time.Minute)
	g1, err := f.svc.Refresh(t.Context(), g0.RefreshToken, allow)
	if err != nil {
		t.Fatalf("Refresh after a refused one: %v", err)
	}
	if _, err := verify(t, f.svc, g1.AccessToken); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestRefreshRefusesUnknownTokens(t *testing.T) {
	f := newServiceFixture(t)
	g0 := f.login(t, "openid")
	sid := g0.Session.ID
	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"no session part", NewOpaque()},
		{"short secret", sid + ".abc"},
		{"forged secret on the real session", sid + "." + NewOpaque()},
		{"real secret on another session id", NewID() + "." + strings.SplitN(g0.RefreshToken, ".", 2)[1]},
		{"oversize", sid + "." + NewOpaque() + strings.Repeat("x", 100)},
		// The stamp is no secret, but it is part of what is hashed.
		{"real secret under another stamp", g0.RefreshToken[:strings.LastIndexByte(g0.RefreshToken, '.')] + ".000000000001"},
		{"real secret without its stamp", g0.RefreshToken[:strings.LastIndexByte(g0.RefreshToken, '.')]},
	}
	for _, tt := range tests {
		_, err := f.svc.Refresh(t.Context(), tt.token, allow)
		wantOAuthErr(t, tt.name, err, oautherr.InvalidGrant)
	}
	// Guessing at a session must not end it.
	if _, err := f.svc.Refresh(t.Context(), g0.RefreshToken, allow); err != nil {
		t.Errorf("Refresh(real token) after forged ones: %v", err)
	}
}

func TestRevokeRefreshToken(t *testing.T) {
	deny := func(string) error { return errors.New("not yours") }
	tests := []struct {
		name        string
		token       func(g0, g1 *Grant) string
		authorize   func(string) error
		wantRevoked bool
	}{
		{"forged token on the real session", func(g0, _ *Grant) string { return g0.Session.ID + "." + NewOpaque() }, allow, false},
		{"unknown session", func(*Grant, *Grant) string { return NewID() + "." + NewOpaque() }, allow, false},
		{"malformed", func(*Grant, *Grant) string { return "not-a-token" }, allow, false},
		{"tenant refused", func(_, g1 *Grant) string { return g1.RefreshToken }, deny, false},
		{"the live token", func(_, g1 *Grant) string { return g1.RefreshToken }, allow, true},
		{"a rotated link of the chain", func(g0, _ *Grant) string { return g0.RefreshToken }, allow, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newServiceFixture(t)
			g0 := f.login(t, "openid")
			g1, err := f.svc.Refresh(t.Context(), g0.RefreshToken, allow)
			if err != nil {
				t.Fatal(err)
			}
			revoked, err := f.svc.RevokeRefreshToken(t.Context(), tt.token(g0, g1), tt.authorize)
			if err != nil {
				t.Fatalf("RevokeRefreshToken: %v", err)
			}
			if revoked != tt.wantRevoked {
				t.Errorf("revoked: got %v, want %v", revoked, tt.wantRevoked)
			}
			_, verr := verify(t, f.svc, g1.AccessToken)
			_, rerr := f.svc.Refresh(t.Context(), g1.RefreshToken, allow)
			if tt.wantRevoked {
				if !errors.Is(verr, ErrInvalidToken) {
					t.Errorf("Verify after revocation: got %v, want %v", verr, ErrInvalidToken)
				}
				wantOAuthErr(t, "Refresh after revocation", rerr, oautherr.InvalidGrant)
				return
			}
			if verr != nil || rerr != nil {
				t.Errorf("session after a revocation that revoked nothing: Verify %v, Refresh %v; want both to work", verr, rerr)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name string
		// act runs after login; it returns the Service that verifies.
		act  func(t *testing.T, f *serviceFixture, g *Grant) *Service
		want error
	}{
		{"live session", func(t *testing.T, f *serviceFixture, _ *Grant) *Service { return f.svc }, nil},
		{"session revoked", func(t *testing.T, f *serviceFixture, g *Grant) *Service {
			if err := f.svc.RevokeSession(t.Context(), g.Session.ID); err != nil {
				t.Fatal(err)
			}
			return f.svc
		}, ErrInvalidToken},
		{"session revoked on another replica", func(t *testing.T, f *serviceFixture, g *Grant) *Service {
			other := f.replica(t)
			if err := other.RevokeSession(t.Context(), g.Session.ID); err != nil {
				t.Fatal(err)
			}
			return f.svc
		}, ErrInvalidToken},
		{"replica started after the revocation", func(t *testing.T, f *serviceFixture, g *Grant) *Service {
			if err := f.svc.RevokeSession(t.Context(), g.Session.ID); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Minute)
			return f.replica(t)
		}, ErrInvalidToken},
		{"another session revoked", func(t *testing.T, f *serviceFixture, _ *Grant) *Service {
			other := f.login(t, "openid")
			if err := f.svc.RevokeSession(t.Context(), other.Session.ID); err != nil {
				t.Fatal(err)
			}
			return f.svc
		}, nil},
		{"access token expired", func(t *testing.T, f *serviceFixture, _ *Grant) *Service {
			f.clock.Advance(15 * time.Minute)
			return f.svc
		}, ErrTokenExpired},
	}
	for _, tt := range tests {
		// warm: the token was verified (and cached) before the change; the
		// cache must not outlive the token's exp or hide a revocation.
		for _, warm := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/warm=%v", tt.name, warm), func(t *testing.T) {
				f := newServiceFixture(t)
				g := f.login(t, "openid")
				if warm {
					if _, err := verify(t, f.svc, g.AccessToken); err != nil {
						t.Fatalf("first Verify: %v", err)
					}
				}
				svc := tt.act(t, f, g)
				c, err := verify(t, svc, g.AccessToken)
				if tt.want == nil {
					if err != nil || c.SID != g.Session.ID {
						t.Errorf("Verify: got %+v, %v; want claims of session %s", c, err, g.Session.ID)
					}
					return
				}
				if !errors.Is(err, tt.want) {
					t.Errorf("Verify: got %v, want %v", err, tt.want)
				}
			})
		}
	}
}

// TestVerifyFailsClosedBeforeSync: a Service that never read the
// revocation list cannot vouch for any session.
func TestVerifyFailsClosedBeforeSync(t *testing.T) {
	f := newServiceFixture(t)
	g := f.login(t, "openid")
	fresh, err := NewService(f.store, f.keys, testConfig(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Verify(t.Context(), g.AccessToken); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Verify before SyncRevocations: got %v, want %v", err, storage.ErrUnavailable)
	}
}

func TestGrantClaimsFollowScope(t *testing.T) {
	tests := []struct {
		scope       string
		wantID      bool
		wantEmail   bool
		wantProfile bool
	}{
		{scope: "openid", wantID: true},
		{scope: "openid email", wantID: true, wantEmail: true},
		{scope: "openid profile", wantID: true, wantProfile: true},
		{scope: "email openid profile", wantID: true, wantEmail: true, wantProfile: true},
		{scope: "email", wantEmail: true},
		{scope: "profile"},
		{scope: ""},
		{scope: "openidemail emails"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.scope), func(t *testing.T) {
			f := newServiceFixture(t)
			g := f.login(t, tt.scope)
			c, err := verify(t, f.svc, g.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Email != ""; got != tt.wantEmail {
				t.Errorf("access token email: got %q, want present=%v", c.Email, tt.wantEmail)
			}
			if tt.wantEmail && c.Email != f.user.Email {
				t.Errorf("access token email: got %q, want %q", c.Email, f.user.Email)
			}
			if got := g.IDToken != ""; got != tt.wantID {
				t.Fatalf("ID token: got present=%v, want %v", got, tt.wantID)
			}
			if !tt.wantID {
				return
			}
			id, err := f.keys.ParseIDTokenHint(g.IDToken, testIssuer)
			if err != nil {
				t.Fatalf("ID token: %v", err)
			}
			if id.Subject != f.user.ID || id.SID != g.Session.ID || id.Nonce != "n-1" ||
				len(id.Audience) != 1 || id.Audience[0] != testClient || id.AuthTime != t0.Unix() {
				t.Errorf("ID token claims: got %+v", id)
			}
			if got := id.Email != "" || id.EmailVerified; got != tt.wantEmail {
				t.Errorf("ID token email: got %q verified %v, want present=%v", id.Email, id.EmailVerified, tt.wantEmail)
			}
			if tt.wantEmail && (id.Email != f.user.Email || !id.EmailVerified) {
				t.Errorf("ID token email: got %q verified %v, want %q verified", id.Email, id.EmailVerified, f.user.Email)
			}
			if got := id.Name != "" || id.Picture != ""; got != tt.wantProfile {
				t.Errorf("ID token profile: got name %q picture %q, want present=%v", id.Name, id.Picture, tt.wantProfile)
			}
			if exp := id.ExpiresAt.Time; !exp.Equal(f.clock.Now().Add(time.Hour)) {
				t.Errorf("ID token exp: got %v, want %v", exp, f.clock.Now().Add(time.Hour))
			}
		})
	}
}

// TestRefreshTokensNeverStoredInPlaintext reads the database files as an
// attacker with a copy of them would.
func TestRefreshTokensNeverStoredInPlaintext(t *testing.T) {
	f := newServiceFixture(t)
	code, _ := f.signIn(t, "openid", testVerifier)
	g0, err := f.svc.ExchangeCode(t.Context(), CodeExchange{Code: code, ClientID: testClient, RedirectURI: testRedirect, Verifier: testVerifier})
	if err != nil {
		t.Fatal(err)
	}
	g1, err := f.svc.Refresh(t.Context(), g0.RefreshToken, allow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Refresh(t.Context(), g0.RefreshToken, allow); err != nil { // within grace
		t.Fatal(err)
	}
	secrets := map[string]string{"code": code}
	for name, tok := range map[string]string{"first refresh token": g0.RefreshToken, "successor": g1.RefreshToken} {
		secrets[name] = tok
		secrets[name+" secret part"] = strings.SplitN(tok, ".", 2)[1]
	}
	scan := func(when string) {
		files, err := filepath.Glob(f.path + "*")
		if err != nil || len(files) == 0 {
			t.Fatalf("database files: %v, %v", files, err)
		}
		var all []byte
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		// The scan sees the rows at all: the token's hash is there.
		if !bytes.Contains(all, []byte(Hash(g1.RefreshToken))) {
			t.Fatalf("%s: hash of the successor not found in %v: the scan reads nothing", when, files)
		}
		for name, secret := range secrets {
			if bytes.Contains(all, []byte(secret)) {
				t.Errorf("%s: %s found in plaintext in the database files", when, name)
			}
		}
	}
	scan("while open")
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	scan("after close")
}

func TestSealOpen(t *testing.T) {
	token := "sid." + NewOpaque()
	successor := "sid." + NewOpaque()
	sealed := seal(token, successor)
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name   string
		token  string
		sealed []byte
		wantOK bool
	}{
		{"the sealing token", token, sealed, true},
		{"another token", "sid." + NewOpaque(), sealed, false},
		{"the successor itself", successor, sealed, false},
		{"tampered box", token, tampered, false},
		{"truncated box", token, sealed[:len(sealed)-1], false},
		{"shorter than a nonce", token, sealed[:5], false},
		{"empty box", token, nil, false},
	}
	for _, tt := range tests {
		got, err := open(tt.token, tt.sealed)
		switch {
		case tt.wantOK && (err != nil || got != successor):
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, successor)
		case !tt.wantOK && err == nil:
			t.Errorf("%s: got %q, want an error", tt.name, got)
		}
	}
	if bytes.Contains(sealed, []byte(successor)) {
		t.Error("sealed box contains the successor in plaintext")
	}
	if again := seal(token, successor); bytes.Equal(again, sealed) {
		t.Error("sealing twice gave the same box: the nonce is not fresh")
	}
}

func TestPKCEHelpers(t *testing.T) {
	// RFC 7636 Appendix B.
	if got, want := S256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; got != want {
		t.Errorf("S256Challenge(RFC 7636 example): got %q, want %q", got, want)
	}
	verifiers := []struct {
		v    string
		want bool
	}{
		{strings.Repeat("a", 43), true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 42), false},
		{strings.Repeat("a", 129), false},
		{strings.Repeat("a", 42) + "+", false},
		{strings.Repeat("a", 42) + "/", false},
		{strings.Repeat("a", 42) + " ", false},
		{strings.Repeat("a", 42) + "é", false},
		{"-._~" + strings.Repeat("Z9", 20), true},
	}
	for _, tt := range verifiers {
		if got := ValidVerifier(tt.v); got != tt.want {
			t.Errorf("ValidVerifier(%q): got %v, want %v", tt.v, got, tt.want)
		}
	}
	challenges := []struct {
		c    string
		want bool
	}{
		{S256Challenge(testVerifier), true},
		{S256Challenge(testVerifier) + "A", false},
		{S256Challenge(testVerifier)[:42], false},
		{strings.Repeat("!", 43), false},
	}
	for _, tt := range challenges {
		if got := ValidChallenge(tt.c); got != tt.want {
			t.Errorf("ValidChallenge(%q): got %v, want %v", tt.c, got, tt.want)
		}
	}
}

// committedThenFailed is a store whose rotations commit and then report
// a failure, as a PostgreSQL commit whose answer a partition swallowed, or
// a SQLite writer that fails after its commit. It keeps what it sealed.
type committedThenFailed struct {
	Store
	fail   bool
	sealed []byte
}

func (s *committedThenFailed) RotateRefreshToken(ctx context.Context, hash string, next storage.RefreshToken, sealed []byte, now time.Time) (storage.RefreshToken, error) {
	old, err := s.Store.RotateRefreshToken(ctx, hash, next, sealed, now)
	if err == nil && s.fail {
		s.sealed = sealed
		return storage.RefreshToken{}, storage.ErrUnavailable
	}
	return old, err
}

// A client whose rotation committed but whose answer was lost retries with
// the token it holds, long after the reuse grace: it gets a new successor
// and stays signed in. The successor it never received is superseded:
// whoever holds it is caught at its first use.
func TestRefreshLostAnswer(t *testing.T) {
	f := newServiceFixture(t)
	g0 := f.login(t, "openid")
	store := &committedThenFailed{Store: f.store, fail: true}
	svc, err := NewService(store, f.keys, testConfig(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Refresh(t.Context(), g0.RefreshToken, allow); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Refresh with a failing commit: %v, want the store's error", err)
	}
	lost, err := open(g0.RefreshToken, store.sealed) // what the lost answer carried
	if err != nil {
		t.Fatal(err)
	}
	store.fail = false
	for range 2 { // the retry may itself be retried
		f.clock.Advance(time.Minute) // well past the grace: the partition lasted
		g1, err := svc.Refresh(t.Context(), g0.RefreshToken, allow)
		if err != nil {
			t.Fatalf("retry with the token the client holds: %v, want a new successor", err)
		}
		if g1.RefreshToken == lost {
			t.Fatal("the retry got the lost successor again; want a new one")
		}
		if _, err := verify(t, svc, g1.AccessToken); err != nil {
			t.Errorf("Verify(access token of the retry): %v", err)
		}
	}
	// Only the latest retry's successor is live; the lost one is dead, and
	// presenting it ends the session.
	_, err = svc.Refresh(t.Context(), lost, allow)
	wantOAuthErr(t, "Refresh(the lost successor)", err, oautherr.InvalidGrant)
	if _, err := svc.Refresh(t.Context(), g0.RefreshToken, allow); err == nil {
		t.Error("the session survived the superseded successor's use")
	}
}

// A thief who replays a stolen token after the grace, before its owner
// used the successor, gets a successor of its own; the owner's next
// refresh, with the successor it holds, is caught as reuse and ends the
// session, the thief's chain with it: detected one step later.
func TestRefreshTheftDetectedOneStepLater(t *testing.T) {
	f := newServiceFixture(t)
	g0 := f.login(t, "openid")
	owner, err := f.svc.Refresh(t.Context(), g0.RefreshToken, allow)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	thief, err := f.svc.Refresh(t.Context(), g0.RefreshToken, allow)
	if err != nil {
		t.Fatalf("the replay of an unreceived-looking token: %v", err)
	}
	f.clock.Advance(time.Minute)
	_, err = f.svc.Refresh(t.Context(), owner.RefreshToken, allow)
	wantOAuthErr(t, "the owner's next refresh", err, oautherr.InvalidGrant)
	_, err = f.svc.Refresh(t.Context(), thief.RefreshToken, allow)
	wantOAuthErr(t, "the thief's next refresh", err, oautherr.InvalidGrant)
	if _, err := verify(t, f.svc, thief.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify(the thief's access token): %v, want %v", err, ErrInvalidToken)
	}
}

// When the tenant's rules change a session's roles, the refresh that
// applies them carries a new ID token stating them (no nonce, the sign-in's
// auth_time: OIDC Core §12.2), for RPs that gate on the ID token; an
// unchanged refresh carries none.
func TestRefreshIDTokenWhenRolesChange(t *testing.T) {
	f := newServiceFixture(t)
	roles := []string{"admin"}
	cfg := testConfig(f.clock)
	cfg.Policy = func(storage.Session) ([]string, bool) { return roles, true }
	svc, err := NewService(f.store, f.keys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	g0 := f.login(t, "openid roles")
	signIn, err := f.keys.ParseIDTokenHint(g0.IDToken, testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	g1, err := svc.Refresh(t.Context(), g0.RefreshToken, allow)
	if err != nil {
		t.Fatal(err)
	}
	if g1.IDToken != "" {
		t.Error("refresh with the roles of the sign-in: an ID token, want none")
	}
	roles = []string{"viewer"}
	f.clock.Advance(time.Minute)
	g2, err := svc.Refresh(t.Context(), g1.RefreshToken, allow)
	if err != nil {
		t.Fatal(err)
	}
	if g2.IDToken == "" {
		t.Fatal("refresh after the roles changed: no ID token")
	}
	id, err := f.keys.ParseIDTokenHint(g2.IDToken, testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(id.Roles, []string{"viewer"}) || id.Nonce != "" || id.AuthTime != signIn.AuthTime || id.Subject != signIn.Subject || id.SID != signIn.SID {
		t.Errorf("refreshed ID token %+v; want roles [viewer], no nonce, the sign-in's auth_time, sub and sid (%+v)", id, signIn)
	}
}
