package storagetest

import (
	"bytes"
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
