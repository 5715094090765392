// Package httpx holds the broker's HTTP plumbing shared by every handler:
// the one Echo error handler that maps errors to status codes and RFC 6749
// error bodies (or an HTML page for browsers) and logs once, security
// headers, and CORS per tenant.
package httpx
