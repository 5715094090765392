package httpx

import (
	"strconv"
	"strings"
	"testing"
)

// BenchmarkFramingScan is what the guard adds to reading one typical
// token request: its header section and form body.
func BenchmarkFramingScan(b *testing.B) {
	body := "grant_type=refresh_token&refresh_token=" + strings.Repeat("x", 66) + "&client_id=bench"
	req := []byte("POST /token HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: bench/1\r\nAccept: application/json\r\n" +
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\nAccept-Encoding: gzip\r\n\r\n" + body)
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	var f framing
	for b.Loop() {
		f.scan(req)
		f.served()
	}
}
