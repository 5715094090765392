package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"golang.org/x/oauth2"
)

// tokenResponse is the part of the broker's token response the tool uses.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	tenant       string // the app the tokens were issued to (its client_id)
}

// agent plays the tenant app and its users' browsers against one broker.
type agent struct {
	hc     *h1Client
	broker string // the broker's base URL (its issuer)
	users  int
	next   atomic.Uint64 // the next user to sign in, round robin
	apps   *tenantCycle  // the app each sign-in is for; nil: the one of config.toml
}

// nextUser picks the next of the fake upstreams' users.
func (a *agent) nextUser() int { return int(a.next.Add(1) % uint64(a.users)) }

// signIn runs one complete login as the app's user number user, through
// provider ("google": the fake OIDC upstream, or "github"), and returns
// the tokens the app receives. Each hop is one request; the browser's
// only cookie is the broker's login binding, carried from step 1 to 3.
func (a *agent) signIn(ctx context.Context, provider string, user int) (tokenResponse, error) {
	verifier := oauth2.GenerateVerifier()
	state := rand.Text()
	app := a.apps.pick()
	q := url.Values{
		"response_type": {"code"}, "client_id": {app}, "redirect_uri": {appRedirect},
		"scope": {"openid email profile"}, "state": {state},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}

	// 1. The app sends the browser to the broker, which stores the login
	// state and sends the browser upstream.
	resp, err := a.send(ctx, http.MethodGet, a.broker+"/auth/"+provider+"/login?"+q.Encode(), nil, nil, 0)
	if err != nil {
		return tokenResponse{}, err
	}
	upstream, err := location(resp)
	if err != nil {
		return tokenResponse{}, err
	}
	cookie := "Cookie: " + strings.Join(resp.cookies, "; ")

	// 2. The fake upstream's sign-in page, the user chosen in the URL: it
	// redirects back to the broker's callback with its code.
	uq := upstream.Query()
	uq.Set("login_as", subject(user))
	upstream.RawQuery = uq.Encode()
	resp, err = a.send(ctx, http.MethodGet, upstream.String(), nil, nil, 0)
	if err != nil {
		return tokenResponse{}, fmt.Errorf("upstream: %w", err)
	}
	callback, err := location(resp)
	if err != nil {
		return tokenResponse{}, err
	}
	if cb := a.broker + "/auth/" + provider + "/callback"; !strings.HasPrefix(callback.String(), cb+"?") {
		return tokenResponse{}, fmt.Errorf("upstream redirected to %s%s, not the broker's callback (error=%q)",
			callback.Host, callback.Path, callback.Query().Get("error"))
	}

	// 3. The broker's callback redeems the upstream code, finds or creates
	// the user and sends the browser to the app with a code of its own.
	resp, err = a.send(ctx, http.MethodGet, callback.String(), []string{cookie}, nil, 0)
	if err != nil {
		return tokenResponse{}, err
	}
	back, err := location(resp)
	if err != nil {
		return tokenResponse{}, err
	}
	bq := back.Query()
	switch {
	case back.Scheme+"://"+back.Host+back.Path != appRedirect:
		return tokenResponse{}, fmt.Errorf("callback redirected to %s%s, not the app", back.Host, back.Path)
	case bq.Get("error") != "":
		return tokenResponse{}, fmt.Errorf("callback: error=%s: %s", bq.Get("error"), bq.Get("error_description"))
	case bq.Get("state") != state:
		return tokenResponse{}, errors.New("callback: the app's state came back altered")
	case bq.Get("code") == "":
		return tokenResponse{}, errors.New("callback: no code")
	}

	// 4. The app redeems the code with its PKCE verifier.
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {bq.Get("code")}, "redirect_uri": {appRedirect},
		"client_id": {app}, "code_verifier": {verifier},
	}
	return a.token(ctx, form)
}

// refresh rotates the refresh token of tr at POST /token, as tr's app.
func (a *agent) refresh(ctx context.Context, tr tokenResponse) (tokenResponse, error) {
	return a.token(ctx, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}, "client_id": {tr.tenant},
	})
}

// token posts form, whose client_id is the app's, to /token.
func (a *agent) token(ctx context.Context, form url.Values) (tokenResponse, error) {
	resp, err := a.send(ctx, http.MethodPost, a.broker+"/token",
		[]string{"Content-Type: application/x-www-form-urlencoded"}, []byte(form.Encode()), http.StatusOK)
	if err != nil {
		return tokenResponse{}, err
	}
	var tr tokenResponse
	if err := json.Unmarshal(resp.body, &tr); err != nil {
		return tokenResponse{}, fmt.Errorf("POST /token: %w", err)
	}
	if tr.AccessToken == "" || tr.RefreshToken == "" {
		return tokenResponse{}, errors.New("POST /token: no access_token or refresh_token")
	}
	tr.tenant = form.Get("client_id")
	return tr, nil
}

// bearerGet is an app's call with the access token of tr: it must answer
// 200.
func (a *agent) bearerGet(ctx context.Context, u string, tr tokenResponse) error {
	_, err := a.send(ctx, http.MethodGet, u, []string{"Authorization: Bearer " + tr.AccessToken, "X-Tenant-ID: " + tr.tenant}, nil, http.StatusOK)
	return err
}

// send makes one request and reads the whole answer, which must have
// status want, or be a redirect when want is 0. Errors name the method and
// path, never the query, which holds codes and state.
func (a *agent) send(ctx context.Context, method, rawURL string, hdr []string, body []byte, want int) (*h1Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	resp, err := a.hc.do(ctx, method, u, hdr, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u.Path, err)
	}
	ok := resp.status == want
	if want == 0 {
		ok = resp.status >= 300 && resp.status < 400 && resp.location != ""
	}
	if !ok {
		return nil, fmt.Errorf("%s %s: status %d: %s", method, u.Path, resp.status, snippet(resp.body))
	}
	return resp, nil
}

// location is a redirect's target, resolved against the request.
func location(resp *h1Response) (*url.URL, error) {
	u, err := resp.url.Parse(resp.location)
	if err != nil {
		return nil, fmt.Errorf("%s: bad Location: %w", resp.url.Path, err)
	}
	return u, nil
}

// snippet is the start of a body, on one line, for error messages.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}
