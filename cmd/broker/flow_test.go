package main

import (
	"bufio"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// newBrowser returns a client with a cookie jar that stops at each redirect.
func newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// followToApp walks redirects from start until one leads to appRedirect
// and returns that URL's query. tweak may alter each upstream hop (the
// demo's fake chooser needs login_as).
func followToApp(t *testing.T, browser *http.Client, start, appRedirect string, tweak func(string) string) url.Values {
	t.Helper()
	loc := start
	for hop := 0; hop < 6; hop++ {
		if tweak != nil {
			loc = tweak(loc)
		}
		resp, err := browser.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		next, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil || resp.StatusCode != http.StatusFound {
			t.Fatalf("GET %s: status %d", loc, resp.StatusCode)
		}
		if strings.HasPrefix(next.String(), appRedirect) {
			return next.Query()
		}
		loc = next.String()
	}
	t.Fatalf("sign-in from %s never reached %s", start, appRedirect)
	return nil
}

// waitForLine returns the first submatch of re in r's lines.
func waitForLine(t *testing.T, r io.Reader, re *regexp.Regexp) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				io.Copy(io.Discard, r)
				return
			}
		}
	}()
	select {
	case s := <-found:
		return s
	case <-time.After(30 * time.Second):
		t.Fatalf("no line matching %s", re)
		return ""
	}
}

// waitReady polls base/readyz until it answers 200.
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", base)
}
