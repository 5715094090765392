// Package logout ends sessions at the browser's request: OpenID Connect
// RP-Initiated Logout 1.0 at /logout.
package logout
