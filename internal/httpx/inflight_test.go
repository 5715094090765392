package httpx

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestInFlight: with two requests held in their handlers and a bound of
// two, a third is answered 503 temporarily_unavailable with Retry-After
// at once, the health check still 200; once one finishes, the next
// request is served.
func TestInFlight(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = ErrorHandler(slog.New(slog.DiscardHandler))
	e.Use(InFlight(2, "/readyz"))
	entered, release := make(chan struct{}), make(chan struct{})
	e.POST("/slow", func(c echo.Context) error {
		entered <- struct{}{}
		<-release
		return c.NoContent(http.StatusOK)
	})
	e.POST("/fast", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	e.GET("/readyz", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	serve := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec
	}

	held := make(chan int, 2)
	for range 2 {
		go func() { held <- serve(http.MethodPost, "/slow").Code }()
		<-entered
	}
	rec := serve(http.MethodPost, "/fast")
	var body struct{ Error string }
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusServiceUnavailable || body.Error != "temporarily_unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Errorf("third request with two in flight: %d %q Retry-After %q; want 503 temporarily_unavailable with Retry-After",
			rec.Code, body.Error, rec.Header().Get("Retry-After"))
	}
	if got := serve(http.MethodGet, "/readyz").Code; got != http.StatusOK {
		t.Errorf("/readyz with the bound reached: %d, want 200 (exempt)", got)
	}
	release <- struct{}{}
	if got := <-held; got != http.StatusOK {
		t.Errorf("held request: %d, want 200", got)
	}
	if got := serve(http.MethodPost, "/fast").Code; got != http.StatusOK {
		t.Errorf("request after one finished: %d, want 200", got)
	}
	close(release)
	if got := <-held; got != http.StatusOK {
		t.Errorf("held request: %d, want 200", got)
	}
}
