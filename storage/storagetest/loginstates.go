package storagetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

func testLoginState(t *testing.T, s storage.Store) {
	exp := t0.Add(10 * time.Minute)
	wantErr(t, "UseLoginState", s.UseLoginState(t.Context(), "state-hash", exp), nil)
	wantErr(t, "UseLoginState(again)", s.UseLoginState(t.Context(), "state-hash", exp), storage.ErrAlreadyUsed)
	wantErr(t, "UseLoginState(another)", s.UseLoginState(t.Context(), "other-hash", exp), nil)
}

// A sign-in spends its login state in the write that starts its session:
// a used state stores nothing, an unused one is used from then on.
func testSessionSpendsLoginState(t *testing.T, s storage.Store) {
	exp := t0.Add(10 * time.Minute)
	used := storage.UsedLoginState{ID: "used-state", ExpiresAt: exp}
	wantErr(t, "UseLoginState", s.UseLoginState(t.Context(), used.ID, used.ExpiresAt), nil)

	sess := session(t, s, "s1", t0.Add(time.Hour))
	in := withCode(sess, code("c1", sess, t0.Add(time.Minute)))
	in.LoginState = used
	wantErr(t, "CreateSession(used state)", s.CreateSession(t.Context(), in), storage.ErrAlreadyUsed)
	_, err := s.GetSession(t.Context(), "s1")
	wantErr(t, "GetSession after a used state", err, storage.ErrNotFound)
	_, err = s.GetCode(t.Context(), "c1")
	wantErr(t, "GetCode after a used state", err, storage.ErrNotFound)

	in.LoginState = storage.UsedLoginState{ID: "fresh-state", ExpiresAt: exp}
	wantErr(t, "CreateSession(fresh state)", s.CreateSession(t.Context(), in), nil)
	wantErr(t, "UseLoginState(spent by its session)", s.UseLoginState(t.Context(), "fresh-state", exp), storage.ErrAlreadyUsed)
	got, err := s.GetSession(t.Context(), "s1")
	wantErr(t, "GetSession", err, nil)
	mustEqual(t, "GetSession", got, sess)

	// A session that fails for another reason leaves its state unused.
	taken := in
	taken.LoginState = storage.UsedLoginState{ID: "third-state", ExpiresAt: exp}
	wantErr(t, "CreateSession(session exists)", s.CreateSession(t.Context(), taken), storage.ErrAlreadyExists)
	wantErr(t, "UseLoginState(of a refused session)", s.UseLoginState(t.Context(), "third-state", exp), nil)
}

func testLoginStateConcurrently(t *testing.T, s storage.Store) {
	results := race(50, func(int) (struct{}, error) {
		return struct{}{}, s.UseLoginState(t.Context(), "state-hash", t0.Add(time.Minute))
	})
	winner := soleWinner(t, "UseLoginState", results)
	for i, r := range results {
		if i != winner {
			wantErr(t, "concurrent UseLoginState", r.err, storage.ErrAlreadyUsed)
		}
	}

	// Callbacks racing with one state: one session, the others refused.
	state := storage.UsedLoginState{ID: "raced-state", ExpiresAt: t0.Add(time.Minute)}
	const n = 20
	ins := make([]storage.NewSession, n)
	for i := range ins {
		sess := session(t, s, fmt.Sprintf("raced-%d", i), t0.Add(time.Hour))
		ins[i] = withCode(sess, code("code-"+sess.ID, sess, t0.Add(time.Minute)))
		ins[i].LoginState = state
	}
	sessions := race(n, func(i int) (struct{}, error) { return struct{}{}, s.CreateSession(t.Context(), ins[i]) })
	winner = soleWinner(t, "CreateSession with one login state", sessions)
	for i, r := range sessions {
		_, err := s.GetSession(t.Context(), ins[i].Session.ID)
		if i == winner {
			wantErr(t, "GetSession(winner)", err, nil)
			continue
		}
		wantErr(t, "concurrent CreateSession", r.err, storage.ErrAlreadyUsed)
		wantErr(t, "GetSession(refused)", err, storage.ErrNotFound)
	}
}

func testSecret(t *testing.T, s storage.Store) {
	first, err := s.Secret(t.Context(), "seal", []byte("first value"))
	wantErr(t, "Secret", err, nil)
	mustEqual(t, "Secret", string(first), "first value")
	// Later callers, replicas starting after the first, get the first value.
	again, err := s.Secret(t.Context(), "seal", []byte("second value"))
	wantErr(t, "Secret(again)", err, nil)
	mustEqual(t, "Secret(again)", string(again), "first value")
	other, err := s.Secret(t.Context(), "other", []byte("other value"))
	wantErr(t, "Secret(other)", err, nil)
	mustEqual(t, "Secret(other)", string(other), "other value")

	// Replicas starting together all get the one value that won.
	results := race(20, func(i int) ([]byte, error) {
		return s.Secret(t.Context(), "raced", []byte{byte(i)})
	})
	for i, r := range results {
		wantErr(t, "concurrent Secret", r.err, nil)
		if !bytes.Equal(r.value, results[0].value) {
			t.Fatalf("concurrent Secret %d got %x, call 0 got %x", i, r.value, results[0].value)
		}
	}
}
