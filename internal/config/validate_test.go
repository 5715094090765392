package config

import (
	"reflect"
	"testing"

	"github.com/socialbroker/broker/providers"
)

// ValidateTenant checks one tenant on its own, as the admin API will, with
// fields relative to the tenant; Parse reports the same problems under
// tenants[i].
func TestValidateTenant(t *testing.T) {
	known := func(name string) bool { return name == "google" }
	tn := Tenant{
		ID:             "app",
		RedirectURIs:   []string{"https://app.example/cb", "http://app.example/cb"},
		AllowedOrigins: []string{"https://app.example/"},
		Providers:      []string{"google", "gitlab"},
		Roles:          []Role{{Role: "admin"}},
	}
	got := ValidateTenant(&tn, "https://auth.example", known)
	var fields []string
	for _, p := range got {
		fields = append(fields, p.Field)
	}
	want := []string{"providers[1]", "redirect_uris[1]", "allowed_origins[0]", "roles[0]"}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("problems at %q, want %q\n%v", fields, want, got)
	}
	if tn.Name != "app" || tn.RefreshTokenDelivery != DeliveryBody {
		t.Errorf("defaults: name %q, refresh_token_delivery %q; want %q, %q", tn.Name, tn.RefreshTokenDelivery, "app", DeliveryBody)
	}

	ok := Tenant{ID: "app", RedirectURIs: []string{"https://app.example/cb"}, Providers: []string{"google"}}
	if ps := ValidateTenant(&ok, "https://auth.example", known); len(ps) != 0 {
		t.Errorf("valid tenant: %v", ps)
	}
}

func TestValidateProvider(t *testing.T) {
	tests := []struct {
		spec providers.Spec
		want []Problem
	}{
		{providers.Spec{Name: "corp", Type: "oidc", ClientID: "c", Issuer: "https://idp.example"}, nil},
		{providers.Spec{Name: "Corp", Type: "oidc", ClientID: "c"}, []Problem{
			{"id", "provider names are URL path segments: use only a-z, 0-9, _ and -"},
			{"issuer", "required for oidc providers"},
		}},
		{providers.Spec{Name: "gh", Type: "github", ClientID: "c"}, []Problem{{"client_secret", "required for github providers"}}},
	}
	for _, tt := range tests {
		if got := ValidateProvider(tt.spec); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ValidateProvider(%+v) = %v, want %v", tt.spec, got, tt.want)
		}
	}
}
