package authn

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/url"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/internal/tenants"
)

// ClientRequest reads a client's POST (form or JSON) and authenticates the
// client: the start of the token, revocation and introspection endpoints.
func (a *Authn) ClientRequest(c echo.Context) (url.Values, *tenants.Tenant, error) {
	p, err := httpx.Params(c)
	if err != nil {
		return nil, nil, err
	}
	client, err := a.Client(c, p)
	return p, client, err
}

// Client identifies the client of a token, revocation or introspection
// request (RFC 6749 §2.3): client_secret_basic or client_secret_post for
// confidential tenants, client_id alone for public ones. Using two
// methods at once is refused (§2.3).
func (a *Authn) Client(c echo.Context, p url.Values) (*tenants.Tenant, error) {
	id, secret, basic := c.Request().BasicAuth()
	if basic {
		if p.Has("client_secret") {
			return nil, oautherr.New(oautherr.InvalidRequest, "use one client authentication method, not two")
		}
		// §2.3.1: both parts are form-urlencoded inside the Basic header.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, invalidClient()
		}
		if pid := p.Get("client_id"); pid != "" && pid != id {
			return nil, oautherr.New(oautherr.InvalidRequest, "client_id does not match the authenticated client")
		}
	} else {
		id, secret = p.Get("client_id"), p.Get("client_secret")
	}
	if id == "" {
		return nil, oautherr.New(oautherr.InvalidRequest, "client_id is required")
	}
	t, ok := a.Tenants.Tenant(id)
	if !ok {
		return nil, invalidClient()
	}
	if !t.Confidential() {
		if secret != "" {
			// A public client has no secret; one that sends a secret is
			// confused or probing.
			return nil, invalidClient()
		}
		return t, nil
	}
	// RFC 6749 §2.3.1: the server MUST protect the endpoint against brute
	// force attacks; §10.10: guessing client credentials must be
	// infeasible. Each confidential client has a budget of failures,
	// whatever the address they come from: it is taken before the secret
	// is checked and given back on success, so only failures spend it,
	// and once it is spent the secret is not even compared. Made-up ids
	// (which would each take memory) and public clients (which have no
	// secret to guess, and whose sign-ins anyone could then block) have
	// none.
	d := a.ClientFailures.Take(t.ID)
	if !d.Allowed {
		if d.FirstRefusal {
			a.Log.Warn("client authentication failures exceeded", "client_id", t.ID, "ip", c.RealIP())
		}
		return nil, httpx.TooManyRequests(c, d.RetryAfter)
	}
	if !SecretMatches(secret, t.SecretHash()) {
		return nil, invalidClient()
	}
	a.ClientFailures.Refund(t.ID)
	return t, nil
}

func invalidClient() error {
	return oautherr.New(oautherr.InvalidClient, "client authentication failed")
}

// SecretMatches reports whether secret's SHA-256 is hash, comparing in
// constant time: the comparison leaks neither the secret nor its length.
func SecretMatches(secret string, hash []byte) bool {
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], hash) == 1
}
