package httpx

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Problem is one thing wrong with a request body, at Field (a key path
// like "redirect_uris[0]").
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// APIError is a refusal by a JSON API that is not OAuth (the admin API):
// its own status, an error code and description, and, for a refused body,
// the problems, each naming its field. It never carries a secret.
type APIError struct {
	Status      int
	Code        string
	Description string
	Problems    []Problem
}

func (e *APIError) Error() string { return e.Code + ": " + e.Description }

func writeAPIError(c echo.Context, e *APIError) {
	body := map[string]any{"error": e.Code, "error_description": e.Description}
	if len(e.Problems) > 0 {
		body["problems"] = e.Problems
	}
	if e.Status == http.StatusUnauthorized {
		// RFC 6750 §3: a bearer-protected resource names its scheme.
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="broker-admin"`)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	_ = c.JSON(e.Status, body)
}
