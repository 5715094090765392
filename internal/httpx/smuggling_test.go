package httpx_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/server/servertest"
)

// rawExchange sends raw bytes on a fresh connection to the broker, then
// reads every response until the broker closes the connection (or the
// deadline passes, which fails the test: the connection stayed open).
func rawExchange(t *testing.T, issuer, raw string) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(issuer, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	br := bufio.NewReader(c)
	var resps []*http.Response
	for {
		resp, err := http.ReadResponse(br, nil)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return resps
		}
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("after %d responses the connection is still open", len(resps))
			}
			return resps // reset by the peer: closed
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		resps = append(resps, resp)
	}
}

func statuses(resps []*http.Response) []int {
	var out []int
	for _, r := range resps {
		out = append(out, r.StatusCode)
	}
	return out
}

// TestRequestSmuggling: a request with both Content-Length and
// Transfer-Encoding (CL.TE: a proxy in front frames it by length and
// forwards the bytes after the chunked body as part of it) is answered
// 400 and its connection closed (RFC 9112 §6.1, §11.2): what follows
// the chunked body is never served as a second request.
func TestRequestSmuggling(t *testing.T) {
	h := servertest.New(t, "")
	const smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	// A proxy that frames by Content-Length forwards all of this as one
	// body; a server that reads the chunks sees a second request.
	chunked := "0\r\n\r\n" + smuggled
	cl := strconv.Itoa(len(chunked))
	tests := []struct {
		name, head string
	}{
		{"GET, CL then TE", "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + cl + "\r\nTransfer-Encoding: chunked\r\n"},
		{"POST /token, TE then CL", "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nContent-Length: " + cl + "\r\n"},
		{"lower case names", "POST /auth/refresh HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: " + cl + "\r\ntransfer-encoding: CHUNKED\r\n"},
		{"zero length", "POST /revoke HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n"},
		{"bare LF line ends", "GET /healthz HTTP/1.1\nHost: x\nContent-Length: " + cl + "\nTransfer-Encoding: chunked\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resps := rawExchange(t, h.Issuer, tt.head+"\r\n"+chunked)
			if got := statuses(resps); len(got) != 1 || got[0] != http.StatusBadRequest {
				t.Fatalf("responses %v, want one 400 and the connection closed", got)
			}
			body, _ := io.ReadAll(resps[0].Body)
			if !strings.Contains(string(body), `"error":"invalid_request"`) {
				t.Errorf("400 body %q, want an RFC 6749 invalid_request", body)
			}
		})
	}

	t.Run("after a good request on the same connection", func(t *testing.T) {
		good := "POST /revoke HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 21\r\n\r\ntoken=x&client_id=spa"
		bad := "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + cl + "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
		if got := statuses(rawExchange(t, h.Issuer, good+bad)); len(got) != 2 || got[0] != http.StatusOK || got[1] != http.StatusBadRequest {
			t.Fatalf("responses %v, want 200, 400 and the connection closed", got)
		}
	})
	t.Run("after OPTIONS *, which net/http would answer itself", func(t *testing.T) {
		options := "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"
		bad := "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + cl + "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
		if got := statuses(rawExchange(t, h.Issuer, options+bad)); len(got) != 2 || got[0] >= 500 || got[1] != http.StatusBadRequest {
			t.Fatalf("responses %v, want an answer, 400 and the connection closed", got)
		}
	})
	t.Run("requests framed by length keep the connection", func(t *testing.T) {
		post := "POST /revoke HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 21\r\n\r\ntoken=x&client_id=spa"
		last := "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
		if got := statuses(rawExchange(t, h.Issuer, post+smuggled+post+last)); len(got) != 4 || got[0] != 200 || got[1] != 200 || got[2] != 200 || got[3] != 200 {
			t.Fatalf("responses %v, want four 200s", got)
		}
	})
	t.Run("a chunked request alone is served, then the connection ends", func(t *testing.T) {
		post := "POST /revoke HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n15\r\ntoken=x&client_id=spa\r\n0\r\n\r\n"
		resps := rawExchange(t, h.Issuer, post+smuggled)
		if got := statuses(resps); len(got) != 1 || got[0] != http.StatusOK {
			t.Fatalf("responses %v, want one 200 and the connection closed", got)
		}
	})
}
