package tokens

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/socialbroker/broker/internal/claims"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/storage"
)

// Store is what the token service keeps.
type Store interface {
	storage.Codes
	storage.Sessions
	storage.RefreshTokens
	GetUser(ctx context.Context, id string) (storage.User, error)
	RevokeSSOSession(ctx context.Context, id string, now time.Time) ([]string, error)
}

// Config configures a Service.
type Config struct {
	Issuer         string
	AccessTTL      time.Duration
	IDTokenTTL     time.Duration
	RefreshIdleTTL time.Duration
	RefreshMaxTTL  time.Duration
	ReuseGrace     time.Duration
	CodeTTL        time.Duration
	// Policy judges a session against its tenant's rules as they are at
	// each grant; nil keeps the roles the session was signed in with.
	Policy Policy
	// Claims, when set, returns the evaluator of a tenant's custom claims,
	// nil when it has none. The evaluator runs once per issuance, for the
	// tokens issued (the access token, the ID token if any), and once per
	// access token presented to /userinfo, on the session, its user and
	// the roles the token states. It never fails: a claim that cannot be
	// evaluated is left out.
	Claims func(tenantID string) ClaimsFunc
	// OnReuse, when set, hears of each session ended because a stale
	// refresh token came back (the audit log's refresh.reuse_detected).
	OnReuse func(sess storage.Session)
	Now     func() time.Time
	Logger  *slog.Logger
}

// ClaimsFunc evaluates a tenant's custom claims (Config.Claims).
type ClaimsFunc func(sess storage.Session, user storage.User, roles []string, want claims.Destination) claims.Output

// Policy applies the rules of a session's tenant, as they are now, to
// what the session's sign-in established (Session.Facts): the roles its
// next tokens carry, or admitted false when the tenant no longer admits
// the user (or no longer exists). The contract asks for this at every
// refresh: a role removed from the rules, or an email domain dropped from
// them, must not live on in a session for its whole lifetime.
type Policy func(sess storage.Session) (roles []string, admitted bool)

// Service issues, rotates, verifies and revokes the broker's tokens.
type Service struct {
	store   Store
	keys    *KeySet
	cfg     Config
	log     *slog.Logger
	revoked *revocations
	// checked remembers verified access tokens until their exp, so
	// repeated checks of one token skip the signature verification. It is
	// keyed by the token itself: the map's own hash (seeded per process)
	// finds it, and a hit is the very same token, byte for byte. Only
	// tokens that verified are kept, so their number is bounded by what
	// the broker issued, not by what clients send.
	checked *cache[string, *AccessClaims]
	// sessions and users spare the refresh grant its reads: a session row
	// never changes but for its revocation, which the revocation list
	// tells for as long as it keeps the revocation, so a session is kept
	// no longer than that (see sessionUntil); a user's profile is taken as
	// of at most userCacheTTL ago.
	sessions *cache[string, storage.Session]
	users    *cache[string, storage.User]
	// codes spares a redemption its read when this replica issued the
	// code: an unredeemed code never changes, and whether it was redeemed
	// meanwhile is decided by the redemption's own write (RedeemCode).
	codes *cache[string, storage.AuthCode]
	// userinfo keeps the /userinfo custom claims of the access tokens
	// presented there, by jti, until they expire: a client calling it
	// again gets them without another evaluation. They are evaluated only
	// then, not at issuance: kept for every token issued, they cost some
	// 20 MB of peak RSS under load (BENCHMARKS.md, "Claims").
	userinfo *cache[string, []claims.Claim]
}

// Cache bounds. An access-token entry is about a kilobyte (the token and
// its claims), a session or user a few hundred bytes: some tens of
// megabytes at the very most, a few in practice.
const (
	verifiedCacheSize = 16384
	sessionCacheSize  = 16384
	userCacheSize     = 16384
	codeCacheSize     = 16384
	userinfoCacheSize = 4096
	// userCacheTTL bounds how stale the profile claims (email, name) of a
	// refreshed token can be after the user signs in with a new email.
	userCacheTTL = 30 * time.Second
)

// NewService returns a Service signing with keys.
func NewService(store Store, keys *KeySet, cfg Config) (*Service, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("tokens: issuer is required")
	}
	for _, d := range []time.Duration{cfg.AccessTTL, cfg.IDTokenTTL, cfg.RefreshIdleTTL, cfg.RefreshMaxTTL, cfg.CodeTTL} {
		if d <= 0 {
			return nil, errors.New("tokens: lifetimes must be positive")
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, keys: keys, cfg: cfg, log: cfg.Logger, revoked: newRevocations(store, cfg.Now, cfg.AccessTTL),
		checked:  newCache[string, *AccessClaims](verifiedCacheSize),
		sessions: newCache[string, storage.Session](sessionCacheSize),
		users:    newCache[string, storage.User](userCacheSize),
		codes:    newCache[string, storage.AuthCode](codeCacheSize),
		userinfo: newCache[string, []claims.Claim](userinfoCacheSize),
	}, nil
}

// SyncRevocations refreshes the in-memory list of revoked sessions from
// storage. Call it at start and a few times a second: it bounds how long
// another replica's logout takes to reach this one.
func (s *Service) SyncRevocations(ctx context.Context) error { return s.revoked.sync(ctx) }

// Keys is the key set the service signs with.
func (s *Service) Keys() *KeySet { return s.keys }

// CodeGrant is a completed sign-in waiting for its app: the session it
// starts, and the authorization request (redirect URI, PKCE challenge)
// the one-time code answers.
type CodeGrant struct {
	UserID        string
	TenantID      string
	Provider      string
	Scope         string
	Roles         []string
	Facts         []byte // see storage.Session.Facts
	Nonce         string
	RedirectURI   string
	CodeChallenge string
	// AuthTime is when the user last authenticated upstream (the ID
	// token's auth_time); zero means now, a sign-in that just went there.
	AuthTime time.Time
	// SSOID is the broker session the sign-in came through, if any
	// (storage.Session.SSOID): ending it ends this session too.
	SSOID string
	// LoginState, when its ID is set, is spent in the same write: if it
	// was spent already, nothing is stored and the error wraps
	// storage.ErrAlreadyUsed.
	LoginState storage.UsedLoginState
	// SSO, when set, is the broker session the sign-in starts or renews,
	// stored in the same write (storage.NewSession.SSO); SSOID is then
	// its ID. If it names a revoked broker session, nothing is stored and
	// the error wraps storage.ErrRevoked.
	SSO *storage.SSOSession
}

// IssueCode records the session of a completed sign-in together with the
// one-time authorization code that hands it to the app, in one write, and
// returns the code and the session's id. The session lives at most
// RefreshMaxTTL.
func (s *Service) IssueCode(ctx context.Context, g CodeGrant) (code, sid string, err error) {
	now := s.cfg.Now()
	authTime := g.AuthTime
	if authTime.IsZero() {
		authTime = now
	}
	if g.SSO != nil {
		g.SSOID = g.SSO.ID
	}
	sess := storage.Session{
		ID: NewTimeID(now), UserID: g.UserID, TenantID: g.TenantID, Provider: g.Provider,
		Scope: g.Scope, Roles: g.Roles, Facts: g.Facts, SSOID: g.SSOID, Nonce: g.Nonce,
		AuthTime: authTime, CreatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshMaxTTL),
	}
	code = NewStamped(now)
	stored := storage.AuthCode{
		Hash: StoredKey(code), TenantID: g.TenantID, RedirectURI: g.RedirectURI,
		CodeChallenge: g.CodeChallenge, SessionID: sess.ID, UserID: g.UserID,
		Scope: g.Scope, Nonce: g.Nonce, ExpiresAt: now.Add(s.cfg.CodeTTL),
	}
	err = s.store.CreateSession(ctx, storage.NewSession{
		Session: sess, Codes: []storage.AuthCode{stored}, LoginState: g.LoginState, SSO: g.SSO,
	})
	if err != nil {
		return "", "", fmt.Errorf("tokens: create session: %w", err)
	}
	// The code's redemption needs the code and its session: on this
	// replica both are served from memory.
	s.codes.put(stored.Hash, stored, stored.ExpiresAt, now)
	s.sessions.put(sess.ID, sess, s.sessionUntil(sess, now), now)
	return code, sess.ID, nil
}

// Grant is a token endpoint success response (RFC 6749 §5.1).
type Grant struct {
	AccessToken  string
	RefreshToken string
	IDToken      string
	Scope        string
	ExpiresIn    time.Duration
	Session      storage.Session
}

// CodeExchange is an authorization_code grant request from an
// authenticated (or public) client.
type CodeExchange struct {
	Code        string
	ClientID    string
	RedirectURI string
	Verifier    string
}

func invalidGrant(desc string) error { return oautherr.New(oautherr.InvalidGrant, desc) }

// ExchangeCode redeems an authorization code (RFC 6749 §4.1.3).
//
// The code is read and checked first; only a request that passes every
// check redeems it, in one write that also starts the session's refresh
// chain. A request with the wrong client, redirect URI or verifier leaves
// the code to its rightful client: the verifier is what proves that
// client (RFC 7636 §1), and one guess at it is as hopeless as the next.
func (s *Service) ExchangeCode(ctx context.Context, in CodeExchange) (*Grant, error) {
	if in.Code == "" || len(in.Code) > 128 {
		return nil, oautherr.New(oautherr.InvalidRequest, "code is required")
	}
	now := s.cfg.Now()
	hash := StoredKey(in.Code)
	code, err := s.code(ctx, hash, now)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, invalidGrant("authorization code is invalid or expired")
	case err != nil:
		return nil, fmt.Errorf("tokens: get code: %w", err)
	case !code.UsedAt.IsZero():
		return nil, s.codeReplayed(ctx, code, now)
	case !now.Before(code.ExpiresAt):
		return nil, invalidGrant("authorization code is invalid or expired")
	}
	if code.TenantID != in.ClientID {
		return nil, invalidGrant("authorization code was issued to another client")
	}
	if code.RedirectURI != in.RedirectURI {
		return nil, invalidGrant("redirect_uri does not match the authorization request")
	}
	switch {
	case code.CodeChallenge != "":
		if !verifierMatches(in.Verifier, code.CodeChallenge) {
			return nil, invalidGrant("code_verifier does not match the code_challenge")
		}
	case in.Verifier != "":
		// RFC 9700 §2.1.1: a verifier without a challenge is a PKCE downgrade attempt.
		return nil, invalidGrant("code_verifier sent but the authorization request had no code_challenge")
	}
	sess, err := s.liveSession(ctx, code.SessionID, now)
	if err != nil {
		return nil, err
	}
	roles, err := s.judge(ctx, sess, now)
	if err != nil {
		return nil, err
	}
	refresh := newRefreshToken(sess.ID, now)
	code, err = s.store.RedeemCode(ctx, hash, now, storage.RefreshToken{
		Hash: StoredKey(refresh), SessionID: sess.ID, CreatedAt: now, ExpiresAt: s.idleEnd(sess, now),
	})
	if err == nil || errors.Is(err, storage.ErrAlreadyUsed) {
		s.codes.remove(hash) // used: from now on the store says so
	}
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed):
		// Redeemed since it was read: two redemptions raced.
		return nil, s.codeReplayed(ctx, code, now)
	case errors.Is(err, storage.ErrNotFound):
		return nil, invalidGrant("authorization code is invalid or expired")
	case errors.Is(err, storage.ErrRevoked):
		// Revoked since liveSession read it (this replica's view lagged).
		s.sessions.remove(sess.ID)
		return nil, invalidGrant("session was revoked")
	case err != nil:
		return nil, fmt.Errorf("tokens: redeem code: %w", err)
	}
	return s.grant(ctx, sess, roles, refresh, signInIDToken, now)
}

// code returns the code stored under hash, from memory if this replica
// issued it and it has not been redeemed here since. A code redeemed on
// another replica may still be in memory, unused: its redemption then
// finds it used, and the replay is caught there.
func (s *Service) code(ctx context.Context, hash string, now time.Time) (storage.AuthCode, error) {
	if c, ok := s.codes.get(hash, now); ok {
		return c, nil
	}
	return s.store.GetCode(ctx, hash)
}

// codeReplayed answers a code presented again after its redemption.
// RFC 6749 §4.1.2 and RFC 9700 §4.5: a replayed code means it leaked;
// everything the first redemption issued is revoked.
func (s *Service) codeReplayed(ctx context.Context, code storage.AuthCode, now time.Time) error {
	if err := s.revoke(ctx, code.SessionID, now); err != nil {
		return err
	}
	s.log.Warn("authorization code replayed; session revoked", "tenant", code.TenantID, "sid", code.SessionID)
	return invalidGrant("authorization code was already used")
}

// Refresh rotates a refresh token (RFC 6749 §6, RFC 9700 §4.14.2).
// authorize is handed the tenant the token belongs to before anything
// changes, and refuses the refresh by returning an error: it is how the
// caller binds the token to the authenticated client.
func (s *Service) Refresh(ctx context.Context, presented string, authorize func(tenantID string) error) (*Grant, error) {
	sid, ok := refreshSession(presented)
	if !ok {
		return nil, invalidGrant("refresh token is invalid")
	}
	now := s.cfg.Now()
	sess, err := s.liveSession(ctx, sid, now)
	if err != nil {
		return nil, err
	}
	if err := authorize(sess.TenantID); err != nil {
		return nil, err
	}
	roles, err := s.judge(ctx, sess, now)
	if err != nil {
		return nil, err
	}
	next := newRefreshToken(sid, now)
	old, err := s.store.RotateRefreshToken(ctx, StoredKey(presented), storage.RefreshToken{
		Hash: StoredKey(next), SessionID: sid, CreatedAt: now, ExpiresAt: s.idleEnd(sess, now),
	}, seal(presented, next), now)
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed):
		if next, err = s.presentedAgain(ctx, sess, presented, old, now); err != nil {
			return nil, err
		}
	case errors.Is(err, storage.ErrNotFound):
		return nil, invalidGrant("refresh token is invalid")
	case errors.Is(err, storage.ErrRevoked):
		// Checked inside the rotation: a revocation on another replica a
		// moment ago wins, whatever this replica's caches say.
		s.sessions.remove(sid)
		return nil, invalidGrant("session was revoked")
	case errors.Is(err, storage.ErrExpired):
		// The live link went unused past the idle lifetime: the session is
		// over. The store rotated nothing, so should this revocation fail,
		// the next attempt lands here again.
		if err := s.revoke(ctx, sid, now); err != nil {
			return nil, err
		}
		return nil, invalidGrant("refresh token expired")
	case err != nil:
		return nil, fmt.Errorf("tokens: rotate refresh token: %w", err)
	}
	if old.SessionID != sid {
		return nil, invalidGrant("refresh token is invalid")
	}
	id := noIDToken
	if !slices.Equal(roles, sess.Roles) && slices.Contains(strings.Fields(sess.Scope), "roles") {
		id = refreshIDToken
	}
	return s.grant(ctx, sess, roles, next, id, now)
}

// judge returns the roles sess's next tokens carry. A session whose tenant
// no longer admits its user ends here: it is revoked, and the answer is
// invalid_grant (contract: "the session ends").
func (s *Service) judge(ctx context.Context, sess storage.Session, now time.Time) ([]string, error) {
	if s.cfg.Policy == nil {
		return sess.Roles, nil
	}
	roles, admitted := s.cfg.Policy(sess)
	if admitted {
		return roles, nil
	}
	if err := s.revoke(ctx, sess.ID, now); err != nil {
		return nil, err
	}
	s.log.Info("session ended: the app's access rules no longer admit its user", "tenant", sess.TenantID, "sid", sess.ID)
	return nil, invalidGrant("the app's access rules no longer admit this user; sign in again")
}

// presentedAgain answers a refresh token presented after its rotation,
// and returns the successor to hand out.
//
//   - Within the reuse grace (two tabs refreshing at once, or a quick
//     retry): the same successor, opened from its sealed copy.
//   - Later, while the successor has never been used: its client never
//     received it (the answer was lost after the rotation committed: a
//     network partition, a 503 from a database that committed anyway). A
//     new successor replaces it, and the unreceived one is superseded, so
//     whoever presents it later is caught as a reuse: a thief who stole
//     this token is detected one step later, at the next refresh of
//     whichever of the two holds the superseded copy.
//   - A superseded token, or one whose successor has been used: a stale
//     copy held by the client or a thief. The session is revoked (RFC 9700
//     §4.14.2).
//
// Elapsed time that comes out negative beyond the clock skew allowed
// between replicas (a clock stepped back) is never inside the grace.
func (s *Service) presentedAgain(ctx context.Context, sess storage.Session, presented string, old storage.RefreshToken, now time.Time) (string, error) {
	elapsed := now.Sub(old.UsedAt)
	switch {
	case old.SuccessorHash == "":
		return "", s.reused(ctx, sess, now, "a superseded refresh token was presented")
	case elapsed >= -MaxClockSkew && elapsed <= s.cfg.ReuseGrace:
		next, err := open(presented, old.SuccessorSealed)
		if err != nil {
			return "", invalidGrant("refresh token is invalid")
		}
		return next, nil
	}
	next := newRefreshToken(sess.ID, now)
	err := s.store.ReplaceSuccessor(ctx, StoredKey(presented), old.SuccessorHash, storage.RefreshToken{
		Hash: StoredKey(next), SessionID: sess.ID, CreatedAt: now, ExpiresAt: s.idleEnd(sess, now),
	}, seal(presented, next), now)
	switch {
	case err == nil:
		s.log.Info("refresh token presented again before its successor was used; successor replaced", "tenant", sess.TenantID, "sid", sess.ID)
		return next, nil
	case errors.Is(err, storage.ErrAlreadyUsed):
		return "", s.reused(ctx, sess, now, "refresh token reused after rotation")
	case errors.Is(err, storage.ErrRevoked):
		s.sessions.remove(sess.ID)
		return "", invalidGrant("session was revoked")
	case errors.Is(err, storage.ErrExpired):
		if err := s.revoke(ctx, sess.ID, now); err != nil {
			return "", err
		}
		return "", invalidGrant("refresh token expired")
	default:
		return "", fmt.Errorf("tokens: replace successor: %w", err)
	}
}

// reused ends a session one of whose stale refresh tokens came back:
// either its client or a thief holds a stale copy.
func (s *Service) reused(ctx context.Context, sess storage.Session, now time.Time, what string) error {
	if err := s.revoke(ctx, sess.ID, now); err != nil {
		return err
	}
	s.log.Warn(what+"; session revoked", "tenant", sess.TenantID, "sid", sess.ID)
	if s.cfg.OnReuse != nil {
		s.cfg.OnReuse(sess)
	}
	return invalidGrant("refresh token was already used; the session is revoked")
}

// idleEnd is when a refresh token issued now dies unused: the idle
// lifetime, capped by the session's absolute end.
func (s *Service) idleEnd(sess storage.Session, now time.Time) time.Time {
	end := now.Add(s.cfg.RefreshIdleTTL)
	if sess.ExpiresAt.Before(end) {
		return sess.ExpiresAt
	}
	return end
}

// liveSession loads a session that is not revoked and has not reached its
// absolute end.
func (s *Service) liveSession(ctx context.Context, sid string, now time.Time) (storage.Session, error) {
	if sess, ok := s.sessions.get(sid, now); ok {
		revoked, err := s.revoked.check(sid)
		switch {
		case err == nil && revoked:
			return sess, invalidGrant("session was revoked")
		case err == nil:
			return sess, nil
		}
		// The revocation list is stale: ask the database itself.
	}
	sess, err := s.store.GetSession(ctx, sid)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return sess, invalidGrant("session not found")
	case err != nil:
		return sess, fmt.Errorf("tokens: get session: %w", err)
	case !sess.RevokedAt.IsZero():
		return sess, invalidGrant("session was revoked")
	case !sess.ExpiresAt.After(now):
		return sess, invalidGrant("session expired")
	}
	s.sessions.put(sid, sess, s.sessionUntil(sess, now), now)
	return sess, nil
}

// sessionUntil is how long a session read (or created) at now may be
// served from memory: no longer than the revocation list keeps a
// revocation that comes after the read (AccessTTL, plus its allowance for
// skew), so that a session revoked long ago, whose revocation has left
// the list, is read from the database again.
func (s *Service) sessionUntil(sess storage.Session, now time.Time) time.Time {
	if end := now.Add(s.cfg.AccessTTL); end.Before(sess.ExpiresAt) {
		return end
	}
	return sess.ExpiresAt
}

// user returns a user's profile, at most userCacheTTL old.
func (s *Service) user(ctx context.Context, id string, now time.Time) (storage.User, error) {
	if u, ok := s.users.get(id, now); ok {
		return u, nil
	}
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return u, fmt.Errorf("tokens: get user: %w", err)
	}
	s.users.put(id, u, now.Add(userCacheTTL), now)
	return u, nil
}

// idTokenKind says whether a grant carries an ID token, and which.
type idTokenKind int

const (
	noIDToken idTokenKind = iota
	// signInIDToken answers the code exchange: it carries the nonce.
	signInIDToken
	// refreshIDToken answers a refresh (OIDC Core §12.2): same iss, sub,
	// aud and auth_time, and no nonce. A refresh carries one only when
	// the roles it would state differ from the sign-in's (the tenant's
	// rules changed, and roles follow them at every refresh), so that an
	// RP that gates on the ID token's roles (oauth2-proxy's allowed
	// groups) sees the change. §12.2 makes it optional, and leaving it out
	// otherwise spares every refresh a second signature.
	refreshIDToken
)

func (s *Service) grant(ctx context.Context, sess storage.Session, roles []string, refresh string, idToken idTokenKind, now time.Time) (*Grant, error) {
	user, err := s.user(ctx, sess.UserID, now)
	if err != nil {
		return nil, err
	}
	scopes := strings.Fields(sess.Scope)
	at := &AccessClaims{
		ClientID: sess.TenantID, Scope: sess.Scope, SID: sess.ID, TID: sess.TenantID,
		Roles: nonNil(roles),
	}
	at.Issuer, at.Subject, at.ID = s.cfg.Issuer, sess.UserID, NewID()
	at.Audience = []string{sess.TenantID}
	// An access token never outlives its session, so checking one needs only
	// the revocation list, not the session row.
	expires := now.Add(s.cfg.AccessTTL)
	if sess.ExpiresAt.Before(expires) {
		expires = sess.ExpiresAt
	}
	at.IssuedAt, at.ExpiresAt = numericDate(now), numericDate(expires)
	withID := idToken != noIDToken && slices.Contains(scopes, "openid")
	var custom claims.Output
	if eval := s.claimsOf(sess.TenantID); eval != nil {
		want := claims.AccessToken
		if withID {
			want |= claims.IDToken
		}
		custom = eval(sess, user, at.Roles, want)
		at.Custom = custom.Access
	}
	// RFC 9068 §2.2.1 leaves identity claims to the AS: an email the
	// broker does not vouch for stays out of what APIs authorise on.
	if slices.Contains(scopes, "email") && user.EmailVerified {
		at.Email = user.Email
	}
	access, err := s.keys.SignAccessToken(at)
	if err != nil {
		return nil, err
	}
	g := &Grant{AccessToken: access, RefreshToken: refresh, Scope: sess.Scope, ExpiresIn: expires.Sub(now).Truncate(time.Second), Session: sess}
	if withID {
		id := &IDClaims{AuthTime: sess.AuthTime.Unix(), SID: sess.ID}
		if idToken == signInIDToken {
			id.Nonce = sess.Nonce
		}
		id.Issuer, id.Subject, id.Audience = s.cfg.Issuer, sess.UserID, []string{sess.TenantID}
		id.IssuedAt, id.ExpiresAt = numericDate(now), numericDate(now.Add(s.cfg.IDTokenTTL))
		if slices.Contains(scopes, "email") {
			id.Email, id.EmailVerified = user.Email, user.EmailVerified
		}
		if slices.Contains(scopes, "profile") {
			id.Name, id.Picture, id.PreferredUsername = user.Name, user.Picture, user.Username
		}
		if slices.Contains(scopes, "roles") {
			// oauth2-proxy and most gateways gate on a claim of the ID
			// token or userinfo, not of the access token.
			id.Roles = at.Roles
		}
		id.Custom = custom.ID
		if g.IDToken, err = s.keys.SignIDToken(id); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// UserinfoClaims returns the custom claims /userinfo adds for a verified
// access token: evaluated from its session, its user and its roles the
// first time it is presented here, and kept until it expires.
func (s *Service) UserinfoClaims(ctx context.Context, c *AccessClaims) ([]claims.Claim, error) {
	eval := s.claimsOf(c.TID)
	if eval == nil {
		return nil, nil
	}
	now := s.cfg.Now()
	if got, ok := s.userinfo.get(c.ID, now); ok {
		return got, nil
	}
	sess, err := s.liveSession(ctx, c.SID, now)
	if err != nil {
		return nil, err
	}
	user, err := s.user(ctx, sess.UserID, now)
	if err != nil {
		return nil, err
	}
	got := eval(sess, user, c.Roles, claims.Userinfo).Userinfo
	s.userinfo.put(c.ID, got, c.ExpiresAt.Time, now)
	return got, nil
}

// claimsOf returns the evaluator of tenant's custom claims, nil if none.
func (s *Service) claimsOf(tenant string) ClaimsFunc {
	if s.cfg.Claims == nil {
		return nil
	}
	return s.cfg.Claims(tenant)
}

// Verify checks an access token and that its session has not been
// revoked. It reads no storage: the signature proves the claims, the
// token's exp is capped by the session's end, and revocations are kept in
// memory. It returns ErrTokenExpired, an *InvalidTokenError,
// or one wrapping storage.ErrUnavailable when revocations cannot be
// vouched for.
//
// A token verified once is remembered until its exp, so that repeated
// checks of one token skip the signature verification.
func (s *Service) Verify(ctx context.Context, raw string) (*AccessClaims, error) {
	if len(raw) > MaxTokenBytes {
		return nil, Invalid("malformed token")
	}
	now := s.cfg.Now()
	c, ok := s.checked.get(raw, now)
	if !ok { // never seen, or expired: a full verification says which
		var err error
		if c, err = s.keys.ParseAccessToken(raw, s.cfg.Issuer); err != nil {
			return nil, err
		}
		// A copy: raw may be part of a larger string (a form body).
		s.checked.put(strings.Clone(raw), c, c.ExpiresAt.Time, now)
	}
	// The revocation list keeps a revocation for AccessTTL (and its
	// allowance) after it: a token older than AccessTTL, minted while
	// access_ttl was longer (a rolling change), may belong to a session
	// revoked too long ago for the list to tell. Its app refreshes.
	if c.IssuedAt == nil || now.Sub(c.IssuedAt.Time) > s.cfg.AccessTTL {
		return nil, fmt.Errorf("%w: token outlived access_ttl", ErrInvalidToken)
	}
	revoked, err := s.revoked.check(c.SID)
	switch {
	case err != nil:
		return nil, err
	case revoked:
		return nil, Invalid("session is no longer active")
	}
	return c, nil
}

// RevokeRefreshToken ends the session a refresh token belongs to (RFC 7009
// §2.1: revoking a refresh token revokes the grant). Unknown tokens, and
// tokens whose tenant authorize refuses, are ignored, as §2.2 asks for
// invalid tokens. It reports whether a session was revoked.
func (s *Service) RevokeRefreshToken(ctx context.Context, token string, authorize func(tenantID string) error) (bool, error) {
	sid, ok := refreshSession(token)
	if !ok {
		return false, nil
	}
	sess, err := s.store.GetSession(ctx, sid)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("tokens: get session: %w", err)
	case authorize(sess.TenantID) != nil:
		return false, nil
	}
	// The session id alone is no proof of holding the token: require the
	// token itself to be a link of the chain.
	if _, err := s.store.GetRefreshToken(ctx, StoredKey(token)); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("tokens: get refresh token: %w", err)
	}
	return true, s.revoke(ctx, sid, s.cfg.Now())
}

// RevokeSession ends a session and with it every token it issued.
func (s *Service) RevokeSession(ctx context.Context, sid string) error {
	return s.revoke(ctx, sid, s.cfg.Now())
}

// EndSession ends session sid. With everywhere it also ends the broker
// session sid was started from, if any, and with it every app session
// started from that (a logout "everywhere").
func (s *Service) EndSession(ctx context.Context, sid string, everywhere bool) error {
	if err := s.revoke(ctx, sid, s.cfg.Now()); err != nil || !everywhere {
		return err
	}
	sess, err := s.store.GetSession(ctx, sid)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("tokens: get session: %w", err)
	case sess.SSOID == "":
		return nil
	}
	return s.RevokeSSOSession(ctx, sess.SSOID)
}

// RefreshTokenSession is the id of the session a refresh token names, as
// written in it: unverified, so only for a token that RevokeRefreshToken
// has just found to be a link of that session's chain.
func RefreshTokenSession(token string) string {
	sid, _ := refreshSession(token)
	return sid
}

// RevokeSSOSession ends broker session id and every app session started
// from it, in one write, and puts those in this replica's revocation
// view at once (other replicas learn of them at their next poll). An
// unknown id is no error: the browser is signed out either way.
func (s *Service) RevokeSSOSession(ctx context.Context, id string) error {
	now := s.cfg.Now()
	ended, err := s.store.RevokeSSOSession(context.WithoutCancel(ctx), id, now)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("tokens: revoke sso session: %w", err)
	}
	for _, sid := range ended {
		s.revoked.add(sid, now, now.Add(s.cfg.RefreshMaxTTL))
	}
	return nil
}

// revoke ends session sid, in the store and in this replica's view. It is
// written even if the request's context ends meanwhile: a client that
// hangs up after presenting a replayed code or a reused refresh token must
// not be what keeps its session alive.
func (s *Service) revoke(ctx context.Context, sid string, now time.Time) error {
	err := s.store.RevokeSession(context.WithoutCancel(ctx), sid, now)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("tokens: revoke session: %w", err)
	}
	// The entry goes once no token of the session can be alive; the
	// session's end is not known here, its longest lifetime is.
	s.revoked.add(sid, now, now.Add(s.cfg.RefreshMaxTTL))
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
