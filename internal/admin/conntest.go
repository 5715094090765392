package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/providers"
)

// maxDiscovery bounds a discovery document read by the connection test.
const maxDiscovery = 256 << 10

func (a *API) connectionTypes(c echo.Context) error {
	return c.JSON(200, map[string]any{"items": providers.Describe()})
}

// testConnection fetches the connection's discovery document (OIDC
// Discovery 1.0 §4) the way the broker will, through the client that
// refuses private addresses unless admin.allow_private_networks, and
// shows what it says. It answers 200 whatever the upstream did: "ok"
// and "error" say how it went.
func (a *API) testConnection(c echo.Context) error {
	cn, err := a.loadConnection(c, c.Param("id"))
	if err != nil {
		return err
	}
	spec := cn.p.Spec
	u := providers.DiscoveryURL(spec)
	out := map[string]any{"connection": cn.p.Name, "type": spec.Type}
	if u == "" {
		out["ok"], out["discovery"] = false, false
		out["error"] = "this type is OAuth 2.0 only and publishes no discovery document: sign in through it to test it"
		return c.JSON(200, out)
	}
	out["discovery"], out["url"] = true, u
	doc, err := a.fetchDiscovery(c, u, cn.rec == nil)
	if err != nil {
		out["ok"], out["error"] = false, err.Error()
		return c.JSON(200, out)
	}
	for _, k := range []string{"issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
		"scopes_supported", "response_types_supported", "code_challenge_methods_supported", "id_token_signing_alg_values_supported"} {
		if v, ok := doc[k]; ok {
			out[k] = v
		}
	}
	iss, _ := doc["issuer"].(string)
	want := strings.TrimSuffix(u, "/.well-known/openid-configuration")
	// OIDC Discovery §4.3: the issuer in the document must be the one it
	// was fetched for (Microsoft's multi-tenant templates name {tenantid}).
	out["issuer_matches"] = iss == want || strings.Contains(iss, "{tenantid}")
	_, hasAuth := doc["authorization_endpoint"].(string)
	_, hasToken := doc["token_endpoint"].(string)
	out["ok"] = out["issuer_matches"] == true && hasAuth && hasToken
	if out["ok"] == false {
		out["error"] = "the document lacks an authorization or token endpoint, or names another issuer (" + iss + ")"
	}
	return c.JSON(200, out)
}

// fetchDiscovery fetches u the way sign-ins reach the connection: a
// runtime connection's through the SSRF guard, config.toml's (fromFile)
// as they are.
func (a *API) fetchDiscovery(c echo.Context, u string, fromFile bool) (map[string]any, error) {
	ctx := c.Request().Context()
	client := a.FileHTTPClient
	if !fromFile {
		if err := a.CheckURL(ctx, u); err != nil {
			return nil, err
		}
		client = a.HTTPClient
	}
	if client == nil {
		return nil, fmt.Errorf("no HTTP client to fetch %s with", u)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("discovery URL %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: the server answered %s", u, resp.Status)
	}
	var doc map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDiscovery)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("fetch %s: not a JSON object: %w", u, err)
	}
	return doc, nil
}
