package callback

import (
	"fmt"
	"net/http"

	"github.com/socialbroker/broker/internal/httpx"
)

// unregisteredRedirect is the page for a redirect_uri the tenant did not
// register (RFC 6749 §4.1.2.1: never redirect to it). It names the app
// and where its operator registers the address; the address itself only
// goes to the log, with the nearest registered one: a page that echoed it
// would let anyone put their link on the broker's page.
func unregisteredRedirect(t *App, sent string) error {
	msg := fmt.Sprintf("%s (client_id %q) asked to return to an address that is not registered for it. "+
		"If you run this app: add the exact address, byte for byte, to redirect_uris of the tenant %q in the broker's configuration. "+
		"The broker's log line with the reference below holds the address sent and the nearest registered one.",
		t.Name, t.ID, t.ID)
	return httpx.Page(http.StatusBadRequest, "Invalid return address", msg).
		ForApp(t.Name, t.Home).
		Logged("redirect_uri not registered", "tenant", t.ID, "redirect_uri", clip(sent), "nearest_registered", nearest(sent, t.RedirectURIs))
}

// refused is a callback refusal page for a sign-in whose flow could be
// read: it links back to the flow's app when the broker still knows it,
// and logs the tenant and the cause.
func (h *Handler) refused(f *flow, cause error, msg string) error {
	pe := httpx.Page(http.StatusBadRequest, "Sign-in could not be completed", msg)
	pe.Err = cause
	if f == nil {
		return pe.Logged("sign-in refused")
	}
	pe.Logged("sign-in refused", "tenant", f.Tenant, "provider", f.Provider)
	if t, ok := h.dir.App(f.Tenant); ok {
		pe.ForApp(t.Name, t.Home)
	}
	return pe
}

// clip bounds a request value written to the log.
func clip(s string) string {
	if len(s) > maxParam {
		return s[:maxParam] + "..."
	}
	return s
}

// nearest is the registered URI closest to sent by edit distance: what
// the app most likely meant ("localhost" for "127.0.0.1", a missing
// trailing slash, another port).
func nearest(sent string, registered []string) string {
	sent = clip(sent)
	best, bestD := "", -1
	for _, r := range registered {
		if d := editDistance(sent, r); bestD < 0 || d < bestD {
			best, bestD = r, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
