// Package domains proves that whoever registers an email domain for a
// connection (home-realm discovery, through the admin API) controls it: the
// broker hands out a random token, the domain's owner publishes it as a
// TXT record at TXTName(domain), and Verifier looks it up through the
// resolver admin.dns_resolver names. A verified domain routes its users'
// sign-ins to the connection and binds that connection's sign-ins to it,
// so it must never be granted on the owner's say-so alone.
package domains
