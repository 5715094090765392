package providers

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// Why an upstream answer is refused before it is read whole.
var (
	// errAnswerTooLarge: more than maxBody bytes, announced or read.
	errAnswerTooLarge = errors.New("answer too large")
	// errNotJSON: a media type, or a first byte, that no answer the
	// broker reads (JSON, or a form-encoded token answer) ever has: an
	// HTML error or login page, an image, a binary.
	errNotJSON = errors.New("answer is not JSON")
)

// bounded returns a copy of c whose answers fail as soon as they cannot be
// valid: beyond maxBody bytes, with a media type that cannot hold JSON, or
// starting with markup. go-oidc reads discovery documents, JWKS and
// userinfo answers whole; an upstream that is hostile, compromised or
// impersonated (a 20 MB or endless answer, a captive portal's page) must
// not make the broker buffer, or even read, what it will refuse anyway.
// The client's Timeout, and the callback's deadline, still bound an
// upstream that never answers.
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
	switch {
	case resp.ContentLength > t.max:
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %w: %d bytes from %s", ErrUpstream, errAnswerTooLarge, resp.ContentLength, r.URL.Host)
	case !readableType(resp.Header.Get("Content-Type")):
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %w: %.40q from %s", ErrUpstream, errNotJSON, resp.Header.Get("Content-Type"), r.URL.Host)
	}
	resp.Body = &boundedBody{rc: resp.Body, left: t.max}
	return resp, nil
}

// readableType reports whether an answer of this media type may hold what
// the broker reads: JSON (application/json, application/*+json, and the
// text/javascript or text/plain some providers label it with), a signed
// JWT, or x/oauth2's form-encoded token answer. No type at all is given
// the benefit of the doubt; the first byte still decides.
func readableType(header string) bool {
	if header == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(header)
	if err != nil {
		return false
	}
	switch mt {
	case "application/json", "application/jwt", "application/x-www-form-urlencoded",
		"text/plain", "text/javascript", "application/javascript":
		return true
	}
	return strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// boundedBody reads at most left bytes and fails if there are more, and
// fails at once on an answer whose first non-blank byte opens markup.
type boundedBody struct {
	rc      io.ReadCloser
	left    int64
	started bool // a non-blank byte has been seen
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
	if !b.started {
		for _, c := range p[:n] {
			switch c {
			case ' ', '\t', '\r', '\n':
				continue
			case '<':
				return 0, fmt.Errorf("%w: %w: markup", ErrUpstream, errNotJSON)
			}
			b.started = true
			break
		}
	}
	return n, err
}

func (b *boundedBody) Close() error { return b.rc.Close() }
