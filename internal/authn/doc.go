// Package authn answers who is calling: which app (Caller, from
// X-Tenant-ID or a browser Origin), with which access token (Bearer and
// AppBearer, which hand the endpoint the verified claims), and, at the
// client endpoints, which OAuth client (Client, RFC 6749 §2.3).
package authn
