package server_test

import (
	"net/http"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
)

func TestHealth(t *testing.T) {
	h := servertest.New(t, "")
	for _, path := range []string{"/healthz", "/readyz"} {
		if status := h.Do(servertest.MustRequest(t, http.MethodGet, h.Issuer+path), nil); status != http.StatusOK {
			t.Errorf("%s: %d", path, status)
		}
	}
}
