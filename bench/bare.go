package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
)

// bareURL is what the bare ceiling process prints, as one JSON line.
type bareURL struct {
	URL string `json:"url"`
}

// barePath is the bare handler's one route: the same path as the check
// scenario's, so that requests are byte for byte alike but for the host.
const barePath = "/auth/check"

// serveBare is the -serve-bare mode: echo.New() with one GET route that
// answers 200 and a small JSON body, nothing else (no middleware), served
// with the broker's http.Server limits. Driven like /auth/check, it is
// the most any Echo handler can do here: the ceiling for check.
func serveBare(_ []string) int {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	body := map[string]any{"authenticated": true, "sub": "bare", "tenant": "bench", "expiresAt": "2099-01-01T00:00:00Z"}
	e.GET(barePath, func(c echo.Context) error { return c.JSON(http.StatusOK, body) })

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench bare:", err)
		return 1
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          log.New(os.Stderr, "bench bare: ", 0),
	}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	if err := json.NewEncoder(os.Stdout).Encode(bareURL{URL: "http://" + l.Addr().String()}); err != nil {
		fmt.Fprintln(os.Stderr, "bench bare:", err)
		return 1
	}
	waitForParent(sig)
	return 0
}
