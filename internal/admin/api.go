package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/secretbox"
	"github.com/socialbroker/broker/storage"
)

// Prefix is where the API is mounted.
const Prefix = "/admin/v1"

// Store is what the API reads and writes.
type Store interface {
	storage.Records
	storage.AdminKeys
	storage.Audit
	storage.UserAdmin
	GetUser(ctx context.Context, id string) (storage.User, error)
	ListIdentities(ctx context.Context, userID string) ([]storage.Identity, error)
	GetSession(ctx context.Context, id string) (storage.Session, error)
	RevokeSession(ctx context.Context, id string, now time.Time) error
	EndProviderSSOSessions(ctx context.Context, provider string, now time.Time) (int64, error)
}

// URLChecker refuses a URL a connection must not reach: one that resolves
// to a loopback, private, link-local or metadata address (internal/netguard).
type URLChecker func(ctx context.Context, rawURL string) error

// DomainVerifier looks a domain's verification record up
// (internal/domains).
type DomainVerifier interface {
	Verify(ctx context.Context, domain, want string) (bool, error)
}

// Config is what New needs.
type Config struct {
	Store Store
	// File is the broker's configuration: its tenants and providers are
	// listed here, read-only, and its issuer checks redirect rules.
	File *config.Config
	// Secrets seals connection secrets; nil when secrets_key is not set,
	// and then connections with secrets cannot be created.
	Secrets  *secretbox.Box
	CheckURL URLChecker
	Domains  DomainVerifier
	// Sync brings this replica's registry up to the records just written,
	// so that a change is in force here before the API answers; other
	// replicas follow through their poll of the change feed.
	Sync func(ctx context.Context) error
	// SyncRevocations makes this replica refuse the tokens of sessions
	// just revoked, before the API answers.
	SyncRevocations func(ctx context.Context) error
	// Console, when set, admits the admin console's operators by their
	// access tokens (operators.go).
	Console *Operators
	// HTTPClient fetches runtime connections' discovery documents (the
	// connection test); its transport must refuse private addresses unless
	// admin.allow_private_networks (internal/netguard), as the calls of
	// sign-ins through them do. FileHTTPClient fetches those of
	// config.toml's providers, which the operator trusts, as sign-ins do.
	HTTPClient, FileHTTPClient *http.Client
	// Failures is the budget of failed key attempts per client address;
	// nil does not limit.
	Failures *httpx.Limiter
	Now      func() time.Time
	Log      *slog.Logger
}

// API is the admin API.
type API struct {
	Config
	routes []route
}

// New returns the API; every dependency is required but Secrets and
// Failures.
func New(cfg Config) (*API, error) {
	switch {
	case cfg.Store == nil, cfg.File == nil, cfg.CheckURL == nil, cfg.Domains == nil, cfg.Sync == nil, cfg.SyncRevocations == nil:
		return nil, errors.New("admin: Store, File, CheckURL, Domains, Sync and SyncRevocations are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	a := &API{Config: cfg}
	a.routes = a.table()
	return a, nil
}

// route is one operation: the router mounts it and the OpenAPI document
// describes it, from this one table.
type route struct {
	method  string
	path    string // under Prefix, with {param}s as OpenAPI writes them
	scope   string // "" for none (the OpenAPI document itself)
	summary string
	// request and response name component schemas ("" for none); status
	// is the success status.
	request, response string
	status            int
	query             []string // query parameters
	handler           echo.HandlerFunc
}

func (a *API) table() []route {
	return []route{
		{method: "GET", path: "/openapi.json", summary: "This document", response: "", status: 200, handler: a.openAPI},

		{method: "GET", path: "/tenants", scope: ScopeTenantsRead, summary: "List tenants", response: "TenantList", status: 200, query: []string{"limit", "cursor"}, handler: a.listTenants},
		{method: "POST", path: "/tenants", scope: ScopeTenantsWrite, summary: "Create a tenant", request: "TenantInput", response: "Tenant", status: 201, handler: a.createTenant},
		{method: "GET", path: "/tenants/{id}", scope: ScopeTenantsRead, summary: "Read a tenant", response: "Tenant", status: 200, handler: a.getTenant},
		{method: "PATCH", path: "/tenants/{id}", scope: ScopeTenantsWrite, summary: "Change a tenant (JSON merge patch, RFC 7396)", request: "TenantPatch", response: "Tenant", status: 200, handler: a.patchTenant},
		{method: "DELETE", path: "/tenants/{id}", scope: ScopeTenantsWrite, summary: "Delete a tenant, its sessions and its connections", status: 204, handler: a.deleteTenant},
		{method: "POST", path: "/tenants/{id}/secret", scope: ScopeTenantsWrite, summary: "Rotate a confidential tenant's client secret", response: "Tenant", status: 200, handler: a.rotateSecret},

		{method: "GET", path: "/connections", scope: ScopeConnectionsRead, summary: "List connections", response: "ConnectionList", status: 200, query: []string{"limit", "cursor"}, handler: a.listConnections},
		{method: "POST", path: "/connections", scope: ScopeConnectionsWrite, summary: "Create a connection", request: "ConnectionInput", response: "Connection", status: 201, handler: a.createConnection},
		{method: "GET", path: "/connections/{id}", scope: ScopeConnectionsRead, summary: "Read a connection", response: "Connection", status: 200, handler: a.getConnection},
		{method: "PATCH", path: "/connections/{id}", scope: ScopeConnectionsWrite, summary: "Change a connection (JSON merge patch, RFC 7396)", request: "ConnectionPatch", response: "Connection", status: 200, handler: a.patchConnection},
		{method: "DELETE", path: "/connections/{id}", scope: ScopeConnectionsWrite, summary: "Delete a connection and its domains", status: 204, handler: a.deleteConnection},

		{method: "POST", path: "/connections/{id}/test", scope: ScopeConnectionsRead, summary: "Fetch the connection's discovery document and show what it says", response: "ConnectionTest", status: 200, handler: a.testConnection},
		{method: "GET", path: "/connection-types", scope: ScopeConnectionsRead, summary: "List the connection types and the keys each reads", response: "ConnectionTypeList", status: 200, handler: a.connectionTypes},

		{method: "GET", path: "/connections/{id}/domains", scope: ScopeConnectionsRead, summary: "List a connection's domains", response: "DomainList", status: 200, query: []string{"limit", "cursor"}, handler: a.listDomains},
		{method: "POST", path: "/connections/{id}/domains", scope: ScopeConnectionsWrite, summary: "Claim a domain for a connection", request: "DomainInput", response: "Domain", status: 201, handler: a.createDomain},
		{method: "GET", path: "/connections/{id}/domains/{domain}", scope: ScopeConnectionsRead, summary: "Read a domain", response: "Domain", status: 200, handler: a.getDomain},
		{method: "DELETE", path: "/connections/{id}/domains/{domain}", scope: ScopeConnectionsWrite, summary: "Remove a domain", status: 204, handler: a.deleteDomain},
		{method: "POST", path: "/connections/{id}/domains/{domain}/verify", scope: ScopeConnectionsWrite, summary: "Look the domain's TXT record up", response: "Domain", status: 200, handler: a.verifyDomain},

		{method: "GET", path: "/users", scope: ScopeUsersRead, summary: "Search users", response: "UserList", status: 200, query: []string{"email", "tenant", "limit", "cursor"}, handler: a.listUsers},
		{method: "GET", path: "/users/{id}", scope: ScopeUsersRead, summary: "Read a user, its identities and live sessions", response: "UserDetail", status: 200, handler: a.getUser},
		{method: "PATCH", path: "/users/{id}", scope: ScopeUsersWrite, summary: "Disable or enable a user", request: "UserPatch", response: "UserDetail", status: 200, handler: a.patchUser},
		{method: "DELETE", path: "/users/{id}", scope: ScopeUsersWrite, summary: "Delete a user, its identities and sessions", status: 204, handler: a.deleteUser},
		{method: "GET", path: "/users/{id}/sessions", scope: ScopeUsersRead, summary: "List a user's live sessions", response: "SessionList", status: 200, query: []string{"limit", "cursor"}, handler: a.listUserSessions},
		{method: "DELETE", path: "/sessions/{sid}", scope: ScopeUsersWrite, summary: "Revoke a session", status: 204, handler: a.revokeSession},

		{method: "GET", path: "/keys", scope: ScopeAdmin, summary: "List admin keys, revoked ones too (never their secrets)", response: "KeyList", status: 200, query: []string{"limit", "cursor"}, handler: a.listKeys},
		{method: "POST", path: "/keys", scope: ScopeAdmin, summary: "Make an admin key: the answer holds it, shown this once", request: "KeyInput", response: "KeyCreated", status: 201, handler: a.createKey},
		{method: "DELETE", path: "/keys/{id}", scope: ScopeAdmin, summary: "Revoke an admin key", status: 204, handler: a.revokeKey},

		{method: "GET", path: "/audit", scope: ScopeAuditRead, summary: "List audit events, newest first", response: "AuditList", status: 200, query: []string{"type", "tenant", "since", "limit", "cursor"}, handler: a.listAudit},
	}
}

// Register mounts the API on e under Prefix.
func (a *API) Register(e *echo.Echo) {
	g := e.Group(Prefix, httpx.NoStore)
	for _, r := range a.routes {
		mw := []echo.MiddlewareFunc{}
		if r.scope != "" {
			mw = append(mw, a.authenticate, a.require(r.scope))
		}
		g.Add(r.method, echoPath(r.path), r.handler, mw...)
	}
	// Anything else under the prefix is a JSON 404, not the HTML one.
	g.Any("/*", func(echo.Context) error { return notFound("no such admin API path") })
}

// echoPath turns "/tenants/{id}" into Echo's "/tenants/:id".
func echoPath(p string) string {
	p = strings.ReplaceAll(p, "{", ":")
	return strings.ReplaceAll(p, "}", "")
}

// update overwrites a record's document if the record has not changed
// since it was read (its Seq); what names it in errors.
func (a *API) update(ctx context.Context, rec storage.Record, doc []byte, what string) (storage.Record, error) {
	next := rec
	next.Doc, next.UpdatedAt = doc, a.Now()
	stored, err := a.Store.UpdateRecord(ctx, next, rec.Seq)
	switch {
	case errors.Is(err, storage.ErrConflict):
		return storage.Record{}, conflict("the " + what + " changed while this request was made: read it again and retry")
	case errors.Is(err, storage.ErrNotFound):
		return storage.Record{}, notFound("no " + what + " " + rec.ID)
	}
	return stored, err
}

// Errors as the admin API answers them (httpx.APIError).
func apiError(status int, code, desc string) *httpx.APIError {
	return &httpx.APIError{Status: status, Code: code, Description: desc}
}

func notFound(desc string) error { return apiError(http.StatusNotFound, "not_found", desc) }
func conflict(desc string) error { return apiError(http.StatusConflict, "conflict", desc) }
func badRequest(desc string) error {
	return apiError(http.StatusBadRequest, "invalid_request", desc)
}

// invalid is the 422 of a body with problems.
func invalid(ps []httpx.Problem) error {
	return &httpx.APIError{Status: http.StatusUnprocessableEntity, Code: "invalid_body",
		Description: "the request body is invalid: see problems", Problems: ps}
}

func problem(field, format string, args ...any) []httpx.Problem {
	return []httpx.Problem{{Field: field, Message: fmt.Sprintf(format, args...)}}
}
