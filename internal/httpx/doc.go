// Package httpx holds the broker's HTTP plumbing shared by every handler:
// the one Echo error handler that maps errors to status codes and RFC 6749
// error bodies (or an HTML page for browsers) and logs once, security
// headers, CORS per tenant, redirects (302 after GET, 303 after POST), the
// client address (X-Forwarded-For only through trusted proxies), the
// per-address and per-tenant rate limits, the bound on requests in flight
// (503 with Retry-After beyond it), and the request framing guard
// (Content-Length with Transfer-Encoding refused, its connection closed).
package httpx
