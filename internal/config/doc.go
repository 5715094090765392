// Package config reads config.toml: it expands ${NAME} from the environment,
// applies defaults and validates everything, so the rest of the broker can
// trust a *Config without checking it again.
//
// Expansion happens on decoded string values, never on the file's text, so
// an environment variable cannot change the file's structure. Unknown keys
// are errors, not ignored, because a misspelt security setting that is
// silently ignored is worse than a refusal to start. Every problem is
// reported at once in a *ValidationError, each naming its key path.
//
// A tenant and a provider can each be checked on their own, as the admin
// API checks the ones it is given: ValidateTenant and ValidateProvider
// return Problems whose Field is relative to what they check, which Parse
// prefixes with "tenants[i]." or "providers.NAME.". A provider's keys, their
// defaults and their rules belong to package providers (providers.Spec,
// WithDefaults, CheckSpec); this package only finds them in the file.
//
// Validation follows the OAuth security rules the broker relies on later:
// redirect URIs are registered exactly (no wildcards, no fragments, http
// only for loopback), CORS origins are exact origins, and codes live at
// most 10 minutes.
package config
