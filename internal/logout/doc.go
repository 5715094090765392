// Package logout ends sessions at the browser's request: OpenID Connect
// RP-Initiated Logout 1.0 at /logout, which ends the broker session (SSO)
// and every app session started from it. The apps hear of it through
// back-channel logout (internal/backchannel).
package logout
