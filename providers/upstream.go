package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"golang.org/x/oauth2"
)

// maxBody bounds every upstream answer. Identity answers are a few
// kilobytes; the largest real ones are a page of 100 GitHub organisations
// (about 70 KB) and a JWKS with certificate chains (tens of KB). Whoever
// answers in the upstream's place must not make the broker read more: a
// larger answer is refused as soon as it passes this.
const maxBody = 256 << 10

// getJSON GETs url with the given headers and decodes a 200 answer into v.
// It returns the answer's headers (GitHub paginates with Link). Failures wrap
// ErrUpstream or ErrInvalidIdentity as statusError decides; messages carry
// the URL and status but never the headers, which hold the bearer token.
func getJSON(ctx context.Context, client *http.Client, url string, h http.Header, v any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp) // its body is never read
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read answer: %w", ErrUpstream, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("%w: answer larger than %d bytes", ErrUpstream, maxBody)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("%w: malformed answer: %w", ErrUpstream, err)
	}
	return resp.Header, nil
}

// statusError classifies a non-200 answer. Server errors and rate limits are
// the upstream's trouble and may pass; any other 4xx means the upstream heard
// us and refused this token, so the identity cannot be established.
func statusError(resp *http.Response) error {
	code := resp.StatusCode
	switch {
	case code >= 500, code == http.StatusTooManyRequests,
		// GitHub answers an exhausted rate limit with 403 and this header.
		code == http.StatusForbidden && resp.Header.Get("X-RateLimit-Remaining") == "0":
		return fmt.Errorf("%w: HTTP %d", ErrUpstream, code)
	default:
		return fmt.Errorf("%w: HTTP %d", ErrInvalidIdentity, code)
	}
}

// tokenError classifies an x/oauth2 Exchange failure. An RFC 6749 §5.2 error
// code from the token endpoint (invalid_grant for a used, expired or
// PKCE-mismatched code; GitHub's bad_verification_code, sent with HTTP 200)
// is a refusal; transport failures, 5xx and unparseable answers are upstream
// faults. The RetrieveError itself is not wrapped: its text quotes the whole
// response body.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	if re.ErrorCode == "" || status >= 500 {
		return fmt.Errorf("%w: token endpoint answered HTTP %d", ErrUpstream, status)
	}
	return fmt.Errorf("%w: token endpoint refused the code: %.64q", ErrInvalidIdentity, re.ErrorCode)
}

// withHeaders returns a copy of client whose requests carry h unless they set
// those headers themselves. x/oauth2 offers no hook for token request
// headers, and GitHub answers form-encoded unless asked for JSON.
func withHeaders(client *http.Client, h http.Header) *http.Client {
	return withTransport(client, func(base http.RoundTripper) http.RoundTripper {
		return headerTransport{base: base, h: h}
	})
}

// withTransport returns a copy of client whose transport is wrap of its own
// (http.DefaultTransport when it has none).
func withTransport(client *http.Client, wrap func(http.RoundTripper) http.RoundTripper) *http.Client {
	c := *client
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = wrap(base)
	return &c
}

type headerTransport struct {
	base http.RoundTripper
	h    http.Header
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context()) // a RoundTripper must not modify its request
	for k, vs := range t.h {
		if r.Header.Get(k) == "" {
			r.Header[k] = vs
		}
	}
	return t.base.RoundTrip(r)
}

// checkAuthRequest rejects requests that would start an unprotected round
// trip: without state there is no CSRF protection (RFC 6749 §10.12), without
// a verifier no PKCE (RFC 9700 §2.1.1).
func checkAuthRequest(prefix string, req AuthRequest) error {
	switch {
	case req.State == "":
		return fmt.Errorf("%s: auth request without state", prefix)
	case req.Verifier == "":
		return fmt.Errorf("%s: auth request without PKCE verifier", prefix)
	case req.RedirectURL == "":
		return fmt.Errorf("%s: auth request without redirect URL", prefix)
	}
	return nil
}
