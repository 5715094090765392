package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/server"
	"github.com/socialbroker/broker/internal/server/servertest"
)

// TestMaxInFlight: a broker with max_in_flight = 2 and two requests held
// in their handlers answers a third request, to any endpoint, 503 with
// Retry-After at once, while /readyz still answers; once the held ones
// end it serves again.
func TestMaxInFlight(t *testing.T) {
	h := servertest.New(t, "")
	cfg := *h.Cfg
	cfg.MaxInFlight = 2
	entered, release := make(chan struct{}), make(chan struct{})
	srv, err := server.New(t.Context(), &cfg, server.Options{Logger: servertest.NewLogger(h.Logs), Now: h.Clock.Now,
		Mount: func(e *echo.Echo) {
			e.GET("/held", func(c echo.Context) error {
				entered <- struct{}{}
				<-release
				return c.NoContent(http.StatusOK)
			})
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	held := make(chan int, 2)
	for range 2 {
		go func() { held <- get("/held").Code }()
		<-entered
	}
	for _, path := range []string{"/.well-known/jwks.json", "/auth/check"} {
		rec := get(path)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Errorf("GET %s with 2 of 2 in flight: %d Retry-After %q, want 503 with Retry-After", path, rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	if rec := get("/readyz"); rec.Code != http.StatusOK {
		t.Errorf("/readyz with 2 of 2 in flight: %d, want 200", rec.Code)
	}
	close(release)
	for range 2 {
		if code := <-held; code != http.StatusOK {
			t.Errorf("held request: %d, want 200", code)
		}
	}
	if rec := get("/.well-known/jwks.json"); rec.Code != http.StatusOK {
		t.Errorf("jwks after the held requests ended: %d, want 200", rec.Code)
	}
}
