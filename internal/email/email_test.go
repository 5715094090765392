package email

import "testing"

func TestCanonical(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Alice@ACME.com", "alice@acme.com", true},
		{"al\u0130ce@acme.com", "al\u0130ce@acme.com", true}, // U+0130 is not lowered to i
		{"anna@B\u00fccher.example", "anna@xn--bcher-kva.example", true},
		{"x@acme.te\u017ft", "", false},  // U+017F would fold to s
		{"x@\u212Aacme.test", "", false}, // U+212A (Kelvin) would fold to k
		{"x@\uff41cme.test", "", false},  // fullwidth a would map to a
		{"a@b@acme.com", "", false},
		{"@acme.com", "", false},
		{"alice@", "", false},
		{"acme.com", "", false},
	}
	for _, tt := range tests {
		got, ok := Canonical(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Canonical(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
