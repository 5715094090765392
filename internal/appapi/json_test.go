package appapi

import (
	"encoding/json"
	"testing"
)

// FuzzAppendJSONString: /auth/check's hand-written JSON strings are byte
// for byte what encoding/json writes, whatever the string.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "u_8f3Kq", `quo"te back\slash`, "\x00\x01\x1f\b\f\n\r\t\x7f",
		"<script>&amp;", "\u2028\u2029", "\xff\xfe\xc3", "é 😀 中", "tenant-with-ünïcode"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got[1:], want)
		}
	})
}
