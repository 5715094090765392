package admin

import (
	"encoding"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/config"
)

// The OpenAPI 3.1 description of the API, built from the route table (so
// that no route goes undocumented) and, for tenants and connections, from
// config's own types (so that the keys it lists are the keys the API
// takes, the same as config.toml's).

func (a *API) openAPI(c echo.Context) error { return c.JSON(200, a.document()) }

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

func (a *API) document() map[string]any {
	paths := map[string]map[string]any{}
	for _, r := range a.routes {
		if paths[r.path] == nil {
			paths[r.path] = map[string]any{}
		}
		paths[r.path][strings.ToLower(r.method)] = operation(r)
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Broker admin API",
			"version":     "1",
			"description": "Runtime onboarding: tenants, connections and their domains, users and sessions, the audit log and admin keys. Every operation but this document needs an admin key (broker admin-keys create) with the operation's scope (x-required-scope) or `admin`, or the admin console's access token (an access token of the tenant broker-console carrying admin.console_role), which has the rights of `admin`. A key restricted to a tenant sees only that tenant's things: others answer 404.",
		},
		"servers":    []any{map[string]any{"url": Prefix}},
		"paths":      paths,
		"components": map[string]any{"schemas": schemas(), "securitySchemes": map[string]any{"adminKey": map[string]any{"type": "http", "scheme": "bearer", "description": "An admin key, bk_<id>_<secret>; or the admin console's access token (an access token of the tenant broker-console carrying admin.console_role), which has the rights of the admin scope"}}},
	}
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func operation(r route) map[string]any {
	op := map[string]any{"summary": r.summary, "operationId": operationID(r)}
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(r.path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, q := range r.query {
		s := map[string]any{"type": "string"}
		switch q {
		case "limit":
			s = map[string]any{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": defaultLimit}
		case "since":
			s = map[string]any{"type": "string", "format": "date-time"}
		}
		params = append(params, map[string]any{"name": q, "in": "query", "schema": s})
	}
	if params != nil {
		op["parameters"] = params
	}
	if r.request != "" {
		content := map[string]any{"application/json": map[string]any{"schema": ref(r.request)}}
		if r.method == "PATCH" {
			content["application/merge-patch+json"] = map[string]any{"schema": ref(r.request)}
		}
		op["requestBody"] = map[string]any{"required": true, "content": content}
	}
	ok := map[string]any{"description": "success"}
	switch {
	case r.response != "":
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(r.response)}}
	case r.status != 204:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
	}
	responses := map[string]any{strconv.Itoa(r.status): ok}
	errs := []int{}
	if r.scope != "" {
		op["security"] = []any{map[string]any{"adminKey": []any{}}}
		op["x-required-scope"] = r.scope
		errs = append(errs, 401, 403, 429)
	}
	if strings.Contains(r.path, "{") {
		errs = append(errs, 404)
	}
	if r.query != nil {
		errs = append(errs, 400)
	}
	if r.request != "" {
		errs = append(errs, 400, 409, 413, 415, 422)
	} else if r.method != "GET" {
		errs = append(errs, 409)
	}
	for _, s := range errs {
		responses[strconv.Itoa(s)] = map[string]any{"description": errorDescriptions[s],
			"content": map[string]any{"application/json": map[string]any{"schema": ref("Error")}}}
	}
	op["responses"] = responses
	return op
}

var errorDescriptions = map[int]string{
	400: "bad query or body", 401: "no valid admin key", 403: "the key lacks the scope, or is restricted to a tenant",
	404: "not found, or not visible to this key", 409: "conflict, or managed by config.toml", 413: "body larger than 64 KiB",
	415: "not JSON", 422: "invalid body: see problems", 429: "too many failed key attempts",
}

// operationID is "getTenantsId"-style: method and path words.
func operationID(r route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(r.method))
	for _, w := range strings.FieldsFunc(r.path, func(c rune) bool { return c == '/' || c == '{' || c == '}' || c == '.' || c == '_' }) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

func object(props map[string]any, required ...string) map[string]any {
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func listOf(item string) map[string]any {
	return object(map[string]any{
		"items":       map[string]any{"type": "array", "items": ref(item)},
		"next_cursor": map[string]any{"type": "string", "description": "absent on the last page"},
	}, "items")
}

func str(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }

var (
	boolean  = map[string]any{"type": "boolean"}
	dateTime = map[string]any{"type": "string", "format": "date-time"}
)

func schemas() map[string]any {
	tenantKeys := keysOf(reflect.TypeFor[config.Tenant]())
	delete(tenantKeys, "client_secret")
	tenantIn := clone(tenantKeys)
	tenantIn["confidential"] = map[string]any{"type": "boolean", "description": "a confidential tenant: the 201 answer holds its client_secret, shown once"}
	tenantOut := clone(tenantKeys)
	tenantOut["confidential"] = boolean
	tenantOut["managed_by"] = map[string]any{"enum": []any{managedByConfig, managedByAPI}}
	tenantOut["created_at"], tenantOut["updated_at"] = dateTime, dateTime
	tenantOut["client_secret"] = str("only in the answers to creation and rotation")

	connKeys := keysOf(reflect.TypeFor[config.Provider]())
	connKeys[microsoftTenant] = connKeys["tenant"]
	connKeys["tenant"] = str("the tenant owning the connection: only it may use it (absent: any tenant may)")
	connKeys["id"] = str("its name in tenants' providers and in /auth/{id}/login")
	connIn := clone(connKeys)
	connOut := clone(connKeys)
	for _, f := range []string{"client_secret", "private_key"} {
		delete(connOut, f)
		connIn[f] = map[string]any{"type": "string", "writeOnly": true, "description": "write-only, stored sealed with secrets_key"}
	}
	connOut["secrets_set"] = map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
	connOut["managed_by"] = tenantOut["managed_by"]
	connOut["created_at"], connOut["updated_at"] = dateTime, dateTime

	session := object(map[string]any{
		"id": str(""), "user": str(""), "tenant": str(""), "provider": str(""), "scope": str(""),
		"roles":     map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		"auth_time": dateTime, "created_at": dateTime, "expires_at": dateTime,
	})
	user := map[string]any{
		"id": str(""), "name": str(""), "email": str(""), "email_verified": boolean, "picture": str(""),
		"username": str(""), "disabled": boolean, "created_at": dateTime, "updated_at": dateTime,
	}
	detail := clone(user)
	detail["identities"] = map[string]any{"type": "array", "items": object(map[string]any{
		"provider": str(""), "subject": str(""), "username": str(""), "email": str(""), "email_verified": boolean})}
	detail["sessions"] = map[string]any{"type": "array", "items": ref("Session")}

	return map[string]any{
		"Error": object(map[string]any{
			"error": str("a code: invalid_key, insufficient_scope, not_found, conflict, invalid_body..."), "error_description": str(""),
			"problems": map[string]any{"type": "array", "items": object(map[string]any{"field": str("a key path, like redirect_uris[0]"), "message": str("")}, "field", "message")},
		}, "error", "error_description"),
		"TenantInput":     closed(object(tenantIn, "id", "redirect_uris", "providers")),
		"TenantPatch":     closed(object(tenantIn)),
		"Tenant":          object(tenantOut, "id", "managed_by", "confidential"),
		"TenantList":      listOf("Tenant"),
		"ConnectionInput": closed(object(connIn, "id", "type", "client_id")),
		"ConnectionPatch": closed(object(connIn)),
		"Connection":      object(connOut, "id", "type", "managed_by", "secrets_set"),
		"ConnectionList":  listOf("Connection"),
		"DomainInput":     closed(object(map[string]any{"domain": str("an email domain, like acme.com")}, "domain")),
		"Domain": object(map[string]any{
			"domain": str(""), "connection": str(""), "verified": boolean, "verified_at": dateTime,
			"txt_name": str("publish a TXT record here: _broker-verify.<domain>"), "txt_value": str("with this value"),
		}, "domain", "verified", "txt_name", "txt_value"),
		"DomainList":  listOf("Domain"),
		"User":        object(user, "id", "disabled"),
		"UserDetail":  object(detail, "id", "disabled", "identities", "sessions"),
		"UserList":    listOf("User"),
		"UserPatch":   closed(object(map[string]any{"disabled": boolean}, "disabled")),
		"Session":     session,
		"SessionList": listOf("Session"),
		"AuditEvent": object(map[string]any{
			"id": map[string]any{"type": "integer"}, "time": dateTime, "type": str("tenant.created, login.failed, ..."),
			"actor": str("key:<id> for an admin key, the operator's email for the admin console, cli:admin-keys for broker admin-keys"), "tenant": str(""), "user": str(""), "ip": str(""),
			"detail": map[string]any{"type": "object"},
		}, "id", "time", "type"),
		"AuditList": listOf("AuditEvent"),
		"KeyInput": closed(object(map[string]any{
			"name":   str("whose key it is"),
			"scopes": map[string]any{"type": "array", "items": map[string]any{"enum": scopeEnum()}},
			"tenant": str("restricts the key to this tenant's things"),
		}, "name", "scopes")),
		"Key":        object(keyProps(), "id", "name", "scopes", "created_at", "revoked"),
		"KeyCreated": object(keyCreatedProps(), "id", "name", "scopes", "key"),
		"KeyList":    listOf("Key"),
		"ConnectionTest": object(map[string]any{
			"connection": str(""), "type": str(""), "ok": boolean,
			"discovery":      map[string]any{"type": "boolean", "description": "false for types that publish no discovery document (OAuth 2.0 only)"},
			"url":            str("the discovery document fetched"),
			"error":          str("what went wrong, when ok is false"),
			"issuer_matches": map[string]any{"type": "boolean", "description": "the document's issuer is the one it was fetched for (OIDC Discovery 1.0 §4.3)"},
			"issuer":         str(""), "authorization_endpoint": str(""), "token_endpoint": str(""), "userinfo_endpoint": str(""), "jwks_uri": str(""),
		}, "connection", "type", "ok", "discovery"),
		"ConnectionTypeList": object(map[string]any{"items": map[string]any{"type": "array", "items": object(map[string]any{
			"type": str(""), "label": str(""), "oidc": boolean,
			"keys":     map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "the keys a connection of this type reads"},
			"defaults": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
		}, "type", "keys")}}, "items"),
	}
}

func scopeEnum() []any {
	out := make([]any, len(Scopes))
	for i, s := range Scopes {
		out[i] = s
	}
	return out
}

func keyProps() map[string]any {
	return map[string]any{
		"id": str("the public part of the key"), "name": str(""), "tenant": str(""),
		"scopes":     map[string]any{"type": "array", "items": map[string]any{"enum": scopeEnum()}},
		"created_at": dateTime, "revoked": boolean, "revoked_at": dateTime,
	}
}

func keyCreatedProps() map[string]any {
	p := keyProps()
	p["key"] = str("bk_<id>_<secret>: shown this once, the broker keeps only its hash")
	return p
}

// closed refuses keys the schema does not name, as the API does.
func closed(s map[string]any) map[string]any {
	s["additionalProperties"] = false
	return s
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// keysOf describes the config.toml keys of a struct type as JSON Schema
// properties.
func keysOf(t reflect.Type) map[string]any {
	props := map[string]any{}
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if !f.IsExported() || f.Anonymous || name == "-" || name == "" {
			continue
		}
		props[name] = schemaOf(f.Type)
	}
	return props
}

func schemaOf(t reflect.Type) map[string]any {
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		return closed(object(keysOf(t)))
	}
	return map[string]any{}
}
