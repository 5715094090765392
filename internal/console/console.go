package console

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/httpx"
)

//go:embed ui
var ui embed.FS

// Register serves the console under /admin/: its page at /admin/ and
// /admin/callback (the redirect URI), its files under /admin/ui/.
func Register(e *echo.Echo) {
	files, _ := fs.Sub(ui, "ui")
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		panic("console: index.html is not embedded: " + err.Error()) // a build fault, caught by every test
	}
	page := func(c echo.Context) error {
		httpx.SetPageHeaders(c.Response().Header())
		return c.HTMLBlob(http.StatusOK, index)
	}
	e.GET("/admin", func(c echo.Context) error { return c.Redirect(http.StatusFound, "admin/") })
	e.GET("/admin/", page)
	e.GET("/admin/callback", page)
	assets := http.StripPrefix("/admin/ui/", http.FileServerFS(files))
	e.GET("/admin/ui/*", func(c echo.Context) error {
		// Revalidated on each load: a new binary's files show at once.
		c.Response().Header().Set("Cache-Control", "no-cache")
		assets.ServeHTTP(c.Response(), c.Request())
		return nil
	})
}
