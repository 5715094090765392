package callback

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/httpx"
	"golang.org/x/crypto/chacha20poly1305"
)

// Some upstreams (Apple, whenever name or email is asked for) return with
// response_mode=form_post (OAuth 2.0 Form Post Response Mode §2): an
// auto-submitted cross-site POST to the callback. The browser-binding
// cookie is SameSite=Lax, and Lax cookies are sent on a cross-site
// top-level navigation only with a safe method (RFC 6265bis §5.4.7.1), so
// the POST arrives without it, and the check that this browser started the
// sign-in (login CSRF, RFC 6749 §10.12) cannot be made there. Making the
// cookie SameSite=None would send it on every cross-site request instead.
//
// So the POST checks nothing and decides nothing: it seals the response's
// parameters (XChaCha20-Poly1305 under the state key, with their own
// purpose and a short expiry) and answers 303 See Other to the callback
// URL, which the browser follows with a GET (RFC 9110 §15.4.4): a
// top-level navigation that carries the Lax cookie. The GET then runs the
// one callback, every check included. The code and Apple's user field
// never appear readable in a URL or a log; a sealed response replayed is
// its state replayed, refused like any other.

// formPoster is a provider whose upstream returns with a form POST
// (providers.OIDC for Apple).
type formPoster interface{ FormPost() bool }

// formPostParams are what a form-post response may carry; user is Apple's
// name, sent on the first sign-in only.
var formPostParams = []string{"state", "code", "iss", "error", "error_description", "user"}

const (
	// sealedResponseTTL bounds the hop from the POST to the GET, which
	// a browser makes at once.
	sealedResponseTTL = 2 * time.Minute
	// maxSealedResponse bounds the sealed parameters: the largest state,
	// plus a code, Apple's user field and an error description.
	maxSealedResponse = maxState + 8<<10
)

var responseAAD = []byte("broker form_post response v1")

// formPost is POST /auth/{provider}/callback.
func (h *Handler) formPost(c echo.Context) error {
	up, ok := h.dir.Upstream(c.Param("provider"))
	if !ok {
		return badState("The sign-in response names no configured provider.")
	}
	if fp, ok := up.Provider.(formPoster); !ok || !fp.FormPost() {
		return httpx.Page(http.StatusMethodNotAllowed, "Sign-in could not be completed", "This provider returns with a redirect, not a form.")
	}
	// The body only: a parameter in the URL was not sent by the upstream.
	if err := c.Request().ParseForm(); err != nil {
		return badState("The sign-in response is malformed.")
	}
	form := c.Request().PostForm
	kept := url.Values{}
	for _, p := range formPostParams {
		switch vs := form[p]; {
		case len(vs) > 1:
			return badState("The sign-in response repeats the parameter " + p + ".")
		case len(vs) == 1:
			kept.Set(p, vs[0])
		}
	}
	if s := kept.Get("state"); s == "" || len(s) > maxState {
		return badState("The sign-in response carries no valid state.")
	}
	enc := kept.Encode()
	if len(enc) > maxSealedResponse {
		return badState("The sign-in response is too large.")
	}
	b := binary.AppendVarint(nil, h.cfg.Now().Add(sealedResponseTTL).UnixMilli())
	b = append(b, enc...)
	nonce := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(b)+h.aead.Overhead())
	_, _ = rand.Read(nonce)
	sealed := base64.RawURLEncoding.EncodeToString(h.aead.Seal(nonce, nonce, b, responseAAD))
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	return c.Redirect(http.StatusSeeOther, h.callbackURL(up.Name)+"?response="+sealed)
}

// openResponse reads back what formPost sealed; ok false when it is
// malformed, forged or expired.
func (h *Handler) openResponse(s string) (url.Values, bool) {
	sealed, err := base64.RawURLEncoding.DecodeString(s)
	n := chacha20poly1305.NonceSizeX
	if err != nil || len(sealed) < n+h.aead.Overhead() {
		return nil, false
	}
	b, err := h.aead.Open(nil, sealed[:n], sealed[n:], responseAAD)
	if err != nil {
		return nil, false
	}
	exp, k := binary.Varint(b)
	if k <= 0 || !h.cfg.Now().Before(time.UnixMilli(exp)) {
		return nil, false
	}
	q, err := url.ParseQuery(string(b[k:]))
	return q, err == nil
}
