package tokens

import (
	"encoding/json"
	"testing"

	"github.com/socialbroker/broker/internal/claims"
)

// Custom claims follow the standard ones in the signed JSON, and a token
// without any is what it always was.
func TestCustomClaimsMarshal(t *testing.T) {
	c := &AccessClaims{ClientID: "app", Roles: []string{}, Custom: []claims.Claim{
		{Name: "plan", Value: json.RawMessage(`"pro"`)},
		{Name: "https://acme.com/teams", Value: json.RawMessage(`["a/b"]`)},
	}}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if m["plan"] != "pro" || m["https://acme.com/teams"].([]any)[0] != "a/b" || m["client_id"] != "app" {
		t.Errorf("got %s", b)
	}
	plain, _ := json.Marshal(&AccessClaims{ClientID: "app", Roles: []string{}})
	type bare AccessClaims
	want, _ := json.Marshal((*bare)(&AccessClaims{ClientID: "app", Roles: []string{}}))
	if string(plain) != string(want) {
		t.Errorf("without custom claims: %s, want %s", plain, want)
	}
	id, _ := json.Marshal(&IDClaims{SID: "s", Custom: []claims.Claim{{Name: "x", Value: json.RawMessage(`1`)}}})
	if err := json.Unmarshal(id, &m); err != nil || m["x"] != float64(1) || m["sid"] != "s" {
		t.Errorf("ID claims: %s", id)
	}
}
