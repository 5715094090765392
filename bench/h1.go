package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// h1Client is the load generator's HTTP/1.1 client: keep-alive
// connections, one request at a time on each, and nothing else. It is
// the tool's own for the reason wrk and h2load have theirs: the load
// generator shares the two cores with the broker, and every microsecond
// it spends is one the broker does not get. net/http's client took about
// as much CPU per request as the broker's /auth/check (≈ 45 µs: two
// goroutines and their hand-offs per connection, header maps); this one
// writes the request with one syscall and parses only
// what the tool reads: the status, Location, Set-Cookie and the body
// (Content-Length or chunked).
type h1Client struct {
	timeout time.Duration
	dialer  net.Dialer

	mu   sync.Mutex
	idle map[string][]*h1Conn // by host:port
}

type h1Conn struct {
	nc        net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
}

// maxIdle is how long a kept connection may wait for its next request.
// Well under the broker's and the bare process's IdleTimeout (120 s): a
// connection the server has since closed would fail the next request,
// and a bench request is never retried (a refresh must not run twice).
const maxIdle = 30 * time.Second

// h1Response is an answer as the tool reads it.
type h1Response struct {
	url      *url.URL // the request's, to resolve Location against
	status   int
	location string
	cookies  []string // each Set-Cookie's name=value
	body     []byte
}

func newH1Client(timeout time.Duration) *h1Client {
	return &h1Client{timeout: timeout, dialer: net.Dialer{Timeout: 5 * time.Second}, idle: map[string][]*h1Conn{}}
}

// do sends one request: hdr holds whole header lines ("Name: value"),
// body (if any) is sent with its Content-Length. Redirects are returned,
// not followed.
func (c *h1Client) do(ctx context.Context, method string, u *url.URL, hdr []string, body []byte) (*h1Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	conn, err := c.get(ctx, u.Host)
	if err != nil {
		return nil, err
	}
	resp, keep, err := c.roundTrip(conn, method, u, hdr, body)
	if err != nil || !keep {
		conn.nc.Close()
		return resp, err
	}
	c.put(u.Host, conn)
	return resp, nil
}

func (c *h1Client) get(ctx context.Context, host string) (*h1Conn, error) {
	c.mu.Lock()
	for list := c.idle[host]; len(list) > 0; list = c.idle[host] {
		conn := list[len(list)-1]
		c.idle[host] = list[:len(list)-1]
		if time.Since(conn.idleSince) < maxIdle {
			c.mu.Unlock()
			return conn, nil
		}
		conn.nc.Close()
	}
	c.mu.Unlock()
	nc, err := c.dialer.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	return &h1Conn{nc: nc, br: bufio.NewReaderSize(nc, 8<<10), bw: bufio.NewWriterSize(nc, 4<<10)}, nil
}

func (c *h1Client) put(host string, conn *h1Conn) {
	conn.idleSince = time.Now()
	c.mu.Lock()
	c.idle[host] = append(c.idle[host], conn)
	c.mu.Unlock()
}

// closeIdle closes every kept connection.
func (c *h1Client) closeIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for host, list := range c.idle {
		for _, conn := range list {
			conn.nc.Close()
		}
		delete(c.idle, host)
	}
}

// maxBody bounds an answer's body, as the tool only reads small ones.
const maxBody = 1 << 20

// roundTrip writes the request and reads the whole answer; keep says
// whether the connection may carry another request.
func (c *h1Client) roundTrip(conn *h1Conn, method string, u *url.URL, hdr []string, body []byte) (resp *h1Response, keep bool, err error) {
	if err := conn.nc.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return nil, false, err
	}
	w := conn.bw
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(u.RequestURI())
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(u.Host)
	w.WriteString("\r\n")
	for _, h := range hdr {
		w.WriteString(h)
		w.WriteString("\r\n")
	}
	if body != nil {
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.Itoa(len(body)))
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		return nil, false, err
	}
	return readResponse(conn.br, u)
}

var errMalformed = errors.New("malformed HTTP response")

func readResponse(br *bufio.Reader, u *url.URL) (*h1Response, bool, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return nil, false, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return nil, false, errMalformed
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil || status < 200 {
		// No request of the tool's asks for an interim answer (1xx).
		return nil, false, errMalformed
	}
	resp := &h1Response{url: u, status: status}
	keep := line[7] == '1' // HTTP/1.1 keeps the connection unless told otherwise
	length, chunked := -1, false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return nil, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return nil, false, errMalformed
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 || length > maxBody {
				return nil, false, errMalformed
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = keep && !bytes.EqualFold(value, []byte("close"))
		case bytes.EqualFold(name, []byte("Location")):
			resp.location = string(value)
		case bytes.EqualFold(name, []byte("Set-Cookie")):
			pair, _, _ := bytes.Cut(value, []byte(";"))
			resp.cookies = append(resp.cookies, string(pair))
		}
	}
	switch {
	case chunked:
		resp.body, err = readChunked(br)
	case length >= 0:
		resp.body = make([]byte, length)
		_, err = io.ReadFull(br, resp.body)
	case status == 204 || status == 304:
	default: // delimited by the end of the connection
		resp.body, err = io.ReadAll(io.LimitReader(br, maxBody))
		keep = false
	}
	if err != nil {
		return nil, false, err
	}
	return resp, keep, nil
}

func readChunked(br *bufio.Reader) ([]byte, error) {
	var body []byte
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseUint(string(size), 16, 32)
		if err != nil || len(body)+int(n) > maxBody {
			return nil, errMalformed
		}
		if n == 0 {
			// Trailers, if any, end with an empty line.
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return nil, err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return body, nil
				}
			}
		}
		start := len(body)
		body = append(body, make([]byte, n)...)
		if _, err := io.ReadFull(br, body[start:]); err != nil {
			return nil, err
		}
		if crlf, err := br.ReadSlice('\n'); err != nil {
			return nil, err
		} else if string(crlf) != "\r\n" { // the chunk ends with its CRLF
			return nil, errMalformed
		}
	}
}
