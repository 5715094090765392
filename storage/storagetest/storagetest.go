package storagetest

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

// Run runs the whole suite. newStore must return an empty store and arrange
// (with t.Cleanup) for it to be closed and removed; every subtest gets its
// own.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Store)
	}{
		{"Ping", testPing},
		{"Fill", testFill},
		{"CreateUser", testCreateUser},
		{"CreateUserDuplicateIdentity", testCreateUserDuplicateIdentity},
		{"UpdateUser", testUpdateUser},
		{"AddIdentity", testAddIdentity},
		{"UpdateIdentity", testUpdateIdentity},
		{"FindUserByTrustedEmail", testFindUserByTrustedEmail},
		{"LoginState", testLoginState},
		{"LoginStateConcurrently", testLoginStateConcurrently},
		{"SessionSpendsLoginState", testSessionSpendsLoginState},
		{"RedeemCode", testRedeemCode},
		{"RedeemCodeAtomic", testRedeemCodeAtomic},
		{"RedeemCodeOfRevokedSession", testRedeemCodeOfRevokedSession},
		{"RedeemCodeExpiry", testRedeemCodeExpiry},
		{"RedeemCodeConcurrently", testRedeemCodeConcurrently},
		{"Session", testSession},
		{"RevokeSession", testRevokeSession},
		{"ListRevokedSessions", testListRevokedSessions},
		{"RotateRefreshToken", testRotateRefreshToken},
		{"RotateRefreshTokenSuccessorExists", testRotateRefreshTokenSuccessorExists},
		{"RotateRefreshTokenOfRevokedSession", testRotateRefreshTokenOfRevokedSession},
		{"RotateExpiredRefreshToken", testRotateExpiredRefreshToken},
		{"RotateRefreshTokenConcurrently", testRotateRefreshTokenConcurrently},
		{"ReplaceSuccessor", testReplaceSuccessor},
		{"ReplaceSuccessorRefusals", testReplaceSuccessorRefusals},
		{"ReplaceSuccessorConcurrently", testReplaceSuccessorConcurrently},
		{"MissingParent", testMissingParent},
		{"Keys", testKeys},
		{"Secret", testSecret},
		{"DeleteExpired", testDeleteExpired},
		{"Records", testRecords},
		{"ListRecords", testListRecords},
		{"RecordChanges", testRecordChanges},
		{"RecordChangesConcurrently", testRecordChangesConcurrently},
		{"AdminKeys", testAdminKeys},
		{"Audit", testAudit},
		{"ListUsers", testListUsers},
		{"SetUserDisabled", testSetUserDisabled},
		{"DeleteUser", testDeleteUser},
		{"DeleteUserWithoutSessions", testDeleteUserWithoutSessions},
		{"DeleteUserConcurrently", testDeleteUserConcurrently},
		{"ListUserSessions", testListUserSessions},
		{"RevokeTenantSessions", testRevokeTenantSessions},
		{"SSOSession", testSSOSession},
		{"SessionWithSSO", testSessionWithSSO},
		{"EndProviderSSOSessions", testEndProviderSSOSessions},
		{"RevokeSSOSession", testRevokeSSOSession},
		{"LogoutOutbox", testLogoutOutbox},
		{"ClaimLogoutsConcurrently", testClaimLogoutsConcurrently},
		{"AdminRevocationsQueueLogouts", testAdminRevocationsQueueLogouts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newStore(t))
		})
	}
}

// t0 is the suite's fixed "now"; every time is derived from it in whole
// seconds, which every backend keeps exactly.
var t0 = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

func testPing(t *testing.T, s storage.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// wantErr fails t unless err is (or wraps) want; want nil means no error.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) { // errors.Is(err, nil) is err == nil
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// mustEqual fails t unless got and want hold the same values (see
// canonical).
func mustEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(canonical(reflect.ValueOf(got)).Interface(), canonical(reflect.ValueOf(want)).Interface()) {
		t.Fatalf("%s:\ngot  %+v\nwant %+v", what, got, want)
	}
}

var timeType = reflect.TypeFor[time.Time]()

// canonical returns a copy of v with times in UTC (no location, no
// monotonic reading) and empty slices nil, so a comparison sees what a
// backend was asked to keep rather than how it hands it back.
func canonical(v reflect.Value) reflect.Value {
	switch {
	case v.Type() == timeType:
		return reflect.ValueOf(v.Interface().(time.Time).UTC())
	case v.Kind() == reflect.Slice:
		if v.Len() == 0 {
			return reflect.Zero(v.Type())
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(canonical(v.Index(i)))
		}
		return out
	case v.Kind() == reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			out.Field(i).Set(canonical(v.Field(i)))
		}
		return out
	}
	return v
}

// newUser creates a user with one identity ("test", id) created at created.
func newUser(t *testing.T, s storage.Store, id string, created time.Time) (storage.User, storage.Identity) {
	t.Helper()
	u := storage.User{
		ID:            id,
		Name:          "Name " + id,
		Email:         id + "@example.com",
		EmailVerified: true,
		Picture:       "https://example.com/" + id + ".png",
		Username:      "login-" + id,
		CreatedAt:     created,
		UpdatedAt:     created,
	}
	ident := storage.Identity{
		UserID:        id,
		Provider:      "test",
		Subject:       id,
		Username:      id,
		Email:         id + "@example.com",
		EmailVerified: true,
		CreatedAt:     created,
		UpdatedAt:     created,
	}
	if err := s.CreateUser(t.Context(), u, ident); err != nil {
		t.Fatalf("CreateUser(%s): %v", id, err)
	}
	return u, ident
}

// newSession creates a user and a session of it expiring at expires.
func newSession(t *testing.T, s storage.Store, id string, expires time.Time) storage.Session {
	t.Helper()
	sess := session(t, s, id, expires)
	if err := s.CreateSession(t.Context(), storage.NewSession{Session: sess}); err != nil {
		t.Fatalf("CreateSession(%s): %v", id, err)
	}
	return sess
}

// session creates a user and returns a session of it, not yet stored.
func session(t *testing.T, s storage.Store, id string, expires time.Time) storage.Session {
	t.Helper()
	newUser(t, s, "user-"+id, t0)
	return storage.Session{
		ID:        id,
		UserID:    "user-" + id,
		TenantID:  "tenant",
		Provider:  "test",
		Scope:     "openid email",
		Roles:     []string{"admin", "dev"},
		Facts:     []byte(`{"emails":["` + id + `@example.com"]}`),
		Nonce:     "nonce-" + id,
		AuthTime:  t0,
		CreatedAt: t0,
		ExpiresAt: expires,
	}
}

// newChain signs in as the broker does: it creates session sessionID
// (expiring at expires) with its code, and redeems the code at t0, which
// starts the session's refresh chain with the live link hash.
func newChain(t *testing.T, s storage.Store, sessionID string, expires time.Time, hash string) storage.RefreshToken {
	t.Helper()
	sess := session(t, s, sessionID, expires)
	c := code("code-"+sessionID, sess, t0.Add(time.Minute))
	if err := s.CreateSession(t.Context(), withCode(sess, c)); err != nil {
		t.Fatalf("CreateSession(%s): %v", sessionID, err)
	}
	rt := refreshToken(hash, sessionID)
	if _, err := s.RedeemCode(t.Context(), c.Hash, t0, rt); err != nil {
		t.Fatalf("RedeemCode(%s): %v", c.Hash, err)
	}
	return rt
}

func refreshToken(hash, sessionID string) storage.RefreshToken {
	return storage.RefreshToken{Hash: hash, SessionID: sessionID, CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
}

// withCode is sess with its code, as a sign-in stores it.
func withCode(sess storage.Session, c storage.AuthCode) storage.NewSession {
	return storage.NewSession{Session: sess, Codes: []storage.AuthCode{c}}
}

// code is an authorization code for sess, expiring at expires.
func code(hash string, sess storage.Session, expires time.Time) storage.AuthCode {
	return storage.AuthCode{
		Hash:          hash,
		TenantID:      sess.TenantID,
		RedirectURI:   "https://app.example.com/cb",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		SessionID:     sess.ID,
		UserID:        sess.UserID,
		Scope:         "openid",
		Nonce:         "n",
		ExpiresAt:     expires,
	}
}

// newCode creates the code hash, expiring at expires, with its session
// "session-<hash>".
func newCode(t *testing.T, s storage.Store, hash string, expires time.Time) storage.AuthCode {
	t.Helper()
	sess := session(t, s, "session-"+hash, t0.Add(24*time.Hour))
	c := code(hash, sess, expires)
	if err := s.CreateSession(t.Context(), withCode(sess, c)); err != nil {
		t.Fatalf("CreateSession(%s, code %s): %v", sess.ID, hash, err)
	}
	return c
}

// redeem redeems the code hash (made by newCode) at now, starting its
// session's chain with "rt-<hash>".
func redeem(t *testing.T, s storage.Store, hash string, now time.Time) (storage.AuthCode, error) {
	return s.RedeemCode(t.Context(), hash, now, refreshToken("rt-"+hash, "session-"+hash))
}

// raced is one call's outcome in a race.
type raced[T any] struct {
	value T
	err   error
}

// race runs call(0..n-1) at once, released together, and returns each
// outcome by index.
func race[T any](n int, call func(i int) (T, error)) []raced[T] {
	results := make([]raced[T], n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			v, err := call(i)
			results[i] = raced[T]{v, err}
		})
	}
	close(start)
	wg.Wait()
	return results
}

// soleWinner fails t unless exactly one call succeeded, and returns it.
func soleWinner[T any](t *testing.T, what string, results []raced[T]) int {
	t.Helper()
	winner := -1
	for i, r := range results {
		if r.err == nil {
			if winner >= 0 {
				t.Fatalf("%s succeeded twice (calls %d and %d)", what, winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no call succeeded; first error: %v", what, results[0].err)
	}
	return winner
}
