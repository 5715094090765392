package httpx

import (
	"fmt"
	"testing"
)

// TestFraming: the framing follows header sections and Content-Length
// bodies however the bytes arrive, and stops at the first request it
// cannot frame past: refused when it has both Content-Length and
// Transfer-Encoding, the last on its connection in any case.
func TestFraming(t *testing.T) {
	const (
		get   = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
		post  = "POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 26\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
		clte  = "POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
		te    = "POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
		ok    = "ok"
		last  = "last"
		refus = "refused"
	)
	tests := []struct {
		name, stream string
		want         []string // what the handler learns of each request
	}{
		{"keep-alive", get + post + get, []string{ok, ok, ok, last}},
		{"CL.TE", clte + get, []string{refus, last}},
		{"CL.TE after others", get + post + clte + get, []string{ok, ok, refus, last}},
		{"TE then CL, names in any case, bare LF", "POST /t HTTP/1.1\nhost: x\ntransfer-encoding: chunked\ncontent-LENGTH: 3\n\n0\r\n\r\n", []string{refus, last}},
		{"chunked alone", te + get, []string{last, last}},
		{"repeated length, one value", "POST /t HTTP/1.1\r\nContent-Length: 1\r\nContent-Length:  1 \r\n\r\nx" + get, []string{ok, ok, last}},
		{"repeated length, two values", "POST /t HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx" + get, []string{last, last}},
		{"folded length", "POST /t HTTP/1.1\r\nContent-Length: 1\r\n 0\r\n\r\n" + get, []string{last, last}},
		{"bad length", "POST /t HTTP/1.1\r\nContent-Length: +1\r\n\r\nx" + get, []string{last, last}},
		{"long length", "POST /t HTTP/1.1\r\nContent-Length: 1" + fmt.Sprintf("%200s", "") + "\r\n\r\nx" + get, []string{last, last}},
		{"blank lines before a request", get + "\r\n\r\n" + get, []string{ok, ok, last}},
	}
	for _, tt := range tests {
		for _, size := range []int{1, 2, 7, len(tt.stream)} {
			t.Run(fmt.Sprintf("%s/%d-byte reads", tt.name, size), func(t *testing.T) {
				var f framing
				for s := tt.stream; len(s) > 0; {
					n := min(size, len(s))
					f.scan([]byte(s[:n]))
					s = s[n:]
				}
				for i, want := range tt.want {
					ambiguous, end := f.served()
					got := ok
					if ambiguous {
						got = refus
					} else if end {
						got = last
					}
					if got != want {
						t.Errorf("request %d: %s, want %s", i+1, got, want)
					}
				}
			})
		}
	}
}
