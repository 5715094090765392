package providers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// errAnswerTooLarge: an upstream answered with more than maxBody bytes.
var errAnswerTooLarge = errors.New("answer too large")

// bounded returns a copy of c whose answers fail beyond maxBody bytes.
// go-oidc reads discovery documents, JWKS and userinfo answers whole; an
// upstream that is hostile, compromised or impersonated (a 10 MB or
// endless answer) must not make the broker buffer without limit. The
// client's Timeout still bounds an upstream that never answers.
func bounded(c *http.Client) *http.Client {
	return withTransport(c, func(next http.RoundTripper) http.RoundTripper {
		return boundedTransport{next: next, max: maxBody}
	})
}

type boundedTransport struct {
	next http.RoundTripper
	max  int64
}

func (t boundedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %w: %d bytes from %s", ErrUpstream, errAnswerTooLarge, resp.ContentLength, r.URL.Host)
	}
	resp.Body = &boundedBody{rc: resp.Body, left: t.max}
	return resp, nil
}

// boundedBody reads at most left bytes and fails if there are more.
type boundedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, err := b.rc.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("%w: %w", ErrUpstream, errAnswerTooLarge)
		} else if err != nil {
			return 0, err
		}
		return 0, nil
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *boundedBody) Close() error { return b.rc.Close() }
