package servertest

// The app's registered URIs in the harness, and look-alikes of them.
const AppLogout = "http://127.0.0.1:5173/"

// noLimits turns the rate limits off for tests that make many requests.
const NoLimits = `
[rate_limits]
login_per_ip = "0"
login_per_tenant = "0"
token_per_ip = "0"
token_per_tenant = "0"
refresh_per_ip = "0"
refresh_per_tenant = "0"
`

// appHome is where error pages about the harness's tenants link back to:
// the origin they registered (config.Tenant.Home).
const AppHome = "http://127.0.0.1:5173/"
