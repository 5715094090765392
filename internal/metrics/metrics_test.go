package metrics_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
)

// TestMetrics: /metrics is a Prometheus exposition counting requests by
// route template and status, never by raw path or made-up method.
func TestMetrics(t *testing.T) {
	h := servertest.New(t, "")
	tr := h.SignIn("github", "spa", servertest.Alice)
	h.GetBearer("/auth/check", tr.AccessToken, nil)
	h.GetBearer("/auth/check", "forged", nil)
	h.Do(servertest.MustRequest(t, http.MethodGet, h.Issuer+"/no/such/path/secret-looking-value"), nil)
	h.Do(servertest.MustRequest(t, "MADEUP1", h.Issuer+"/auth/check"), nil)
	resp, err := http.Get(h.Issuer + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body := servertest.ReadAll(t, resp)
	resp.Body.Close()
	for _, want := range []string{
		`broker_http_requests_total{code="200",method="GET",route="/auth/check"} 1`,
		`broker_http_requests_total{code="401",method="GET",route="/auth/check"} 1`,
		`broker_http_requests_total{code="302",method="GET",route="/auth/:provider/callback"} 1`,
		`broker_http_request_duration_seconds_bucket{route="/token"`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "secret-looking-value") || strings.Contains(body, tr.AccessToken) {
		t.Error("/metrics shows a raw path or a token")
	}
	// A method a client makes up must not start a series of its own.
	if strings.Contains(body, "MADEUP1") || !strings.Contains(body, `method="other"`) {
		t.Error("/metrics labels a made-up method as itself, not as other")
	}
}
