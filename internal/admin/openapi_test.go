package admin

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/config"
)

type nopVerifier struct{}

func (nopVerifier) Verify(context.Context, string, string) (bool, error) { return false, nil }

// nopStore satisfies Store; this test calls nothing of it.
type nopStore struct{ Store }

// TestOpenAPIDocumentsEveryRoute: every route the router serves under
// /admin/v1 is in the document, and every operation of the document is a
// route, with the scope the router requires.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	nop := func(context.Context) error { return nil }
	a, err := New(Config{Store: nopStore{}, File: &config.Config{}, Domains: nopVerifier{}, Sync: nop, SyncRevocations: nop,
		CheckURL: func(context.Context, string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	a.Register(e)
	var served []string
	for _, r := range e.Routes() {
		if strings.HasPrefix(r.Path, Prefix+"/") && r.Path != Prefix+"/*" {
			served = append(served, r.Method+" "+strings.TrimPrefix(r.Path, Prefix))
		}
	}
	var documented []string
	doc := a.document()
	for path, ops := range doc["paths"].(map[string]map[string]any) {
		for method, op := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+echoPath(path))
			scope, _ := op.(map[string]any)["x-required-scope"].(string)
			if path != "/openapi.json" && !slices.Contains(Scopes, scope) {
				t.Errorf("%s %s documents scope %q", method, path, scope)
			}
		}
	}
	slices.Sort(served)
	slices.Sort(documented)
	if !slices.Equal(served, documented) {
		t.Errorf("served:\n%s\ndocumented:\n%s", strings.Join(served, "\n"), strings.Join(documented, "\n"))
	}
	if len(served) < 24 {
		t.Errorf("only %d routes served", len(served))
	}
	// Every schema an operation names exists.
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	// A tenant's claims are described field by field.
	for _, name := range []string{"TenantInput", "TenantPatch", "Tenant"} {
		props := schemas[name].(map[string]any)["properties"].(map[string]any)
		c, _ := props["claims"].(map[string]any)
		items, _ := c["items"].(map[string]any)
		fields, _ := items["properties"].(map[string]any)
		if fields["name"] == nil || fields["expr"] == nil || fields["in"] == nil {
			t.Errorf("%s: claims schema %v, want items with name, expr and in", name, c)
		}
	}
	for _, r := range a.routes {
		for _, name := range []string{r.request, r.response} {
			if _, ok := schemas[name]; name != "" && !ok {
				t.Errorf("%s %s names schema %s, which is not in components", r.method, r.path, name)
			}
		}
	}
}
