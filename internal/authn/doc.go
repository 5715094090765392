// Package authn answers, once per request, who is calling: which app
// (Caller, from X-Tenant-ID or a browser Origin), with which access token
// (Bearer, which puts the verified claims on the request), and, at the
// client endpoints, which OAuth client (Client, RFC 6749 §2.3).
package authn
