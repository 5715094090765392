// Package admin is the broker's admin API under /admin/v1: tenants,
// connections (runtime upstream providers) and their domains, users and
// sessions, and the audit log, for operators holding an admin key.
//
// What goes where: api.go assembles the API and its route table, which
// the router and the OpenAPI document (openapi.go) both read; keys.go
// authenticates keys, their scopes and tenant restriction; body.go reads
// request bodies (size, unknown keys, JSON merge patch) and ids; page.go
// pages lists; audit.go writes the audit trail; one file per resource
// holds its handlers. Validation is config's (config.ValidateTenant,
// config.ValidateProvider): a tenant or connection made through the API
// passes exactly the rules of config.toml.
package admin
