// Package accounts turns a verified upstream identity into a broker user,
// and decides, from a tenant's rules, who may sign in and with which roles.
//
// Identities are keyed on (provider, upstream subject), never on email. A
// new identity joins an existing user only when its email is verified by a
// provider trusted for email, and the existing user's email was too: an
// unverified or untrusted email could otherwise take over an account
// (RFC 9700 §4.x on account linking, OIDC Core §5.7 on email claims).
package accounts
