package secretbox

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func box(t *testing.T, fill byte) *Box {
	t.Helper()
	b, err := New(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	b := box(t, 1)
	sealed := b.Seal("the-secret", "connection/acme/client_secret")
	if strings.Contains(sealed, "the-secret") {
		t.Fatalf("sealed value shows the secret: %s", sealed)
	}
	if again := b.Seal("the-secret", "connection/acme/client_secret"); again == sealed {
		t.Error("two seals of one secret are equal: the nonce is not random")
	}
	got, err := b.Open(sealed)
	if err != nil || got != "the-secret" {
		t.Fatalf("Open = %q, %v; want the secret", got, err)
	}
	if l := Label(sealed); l != "connection/acme/client_secret" {
		t.Errorf("Label = %q", l)
	}
	// Another key.
	if _, err := box(t, 2).Open(sealed); !errors.Is(err, ErrWrongKey) {
		t.Errorf("open with another key: %v, want ErrWrongKey", err)
	}
	// A label changed in the stored value: the AEAD refuses it.
	parts := strings.Split(sealed, ".")
	forged := parts[0] + "." + enc.EncodeToString([]byte("connection/other/client_secret")) + "." + parts[2]
	if _, err := b.Open(forged); !errors.Is(err, ErrWrongKey) {
		t.Errorf("open with a relabelled value: %v, want ErrWrongKey", err)
	}
	for _, bad := range []string{"", "v1.x", "v2." + parts[1] + "." + parts[2], "v1.!!.??"} {
		if _, err := b.Open(bad); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
	if _, err := New([]byte("short")); err == nil {
		t.Error("New accepted a 5-byte key")
	}
}

// memSecrets is storage.Secrets in memory: the first value stored wins.
type memSecrets map[string][]byte

func (m memSecrets) Secret(_ context.Context, name string, value []byte) ([]byte, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	m[name] = value
	return value, nil
}

func TestCheckKey(t *testing.T) {
	ctx := context.Background()
	db := memSecrets{}
	if err := box(t, 1).CheckKey(ctx, db); err != nil {
		t.Fatalf("first start: %v", err)
	}
	if err := box(t, 1).CheckKey(ctx, db); err != nil {
		t.Fatalf("restart with the same key: %v", err)
	}
	err := box(t, 2).CheckKey(ctx, db)
	if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "secrets_key") {
		t.Fatalf("start with another key: %v, want an error naming secrets_key", err)
	}
}
