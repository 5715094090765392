package accounts

import (
	"slices"
	"testing"
)

func TestFactsRoundTrip(t *testing.T) {
	for _, f := range []Facts{
		{},
		{GitHub: true},
		{VerifiedEmails: []string{"alice@acme.com", "a@xn--bcher-kva.example"}, GitHub: true, Groups: []string{"acme", ""}},
		{VerifiedEmails: []string{string(make([]byte, 300))}},
	} {
		got, err := decodeFacts(f.Encode())
		if err != nil || got.GitHub != f.GitHub || !slices.Equal(got.VerifiedEmails, f.VerifiedEmails) || !slices.Equal(got.Groups, f.Groups) {
			t.Errorf("decode(encode(%+v)) = %+v, %v", f, got, err)
		}
	}
}

// Facts that do not decode admit nobody: Judge must never read a torn or
// foreign value as an empty, and so rule-free, set of facts.
func TestFactsMalformed(t *testing.T) {
	good := Facts{VerifiedEmails: []string{"alice@acme.com"}, Groups: []string{"acme"}}.Encode()
	cases := map[string][]byte{
		"empty":           {},
		"unknown version": append([]byte{9}, good[1:]...),
		"truncated":       good[:len(good)-1],
		"trailing bytes":  append(slices.Clone(good), 0),
		"huge count":      {factsVersion, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"JSON":            []byte(`{"emails":["alice@acme.com"]}`),
	}
	for name, b := range cases {
		if _, err := decodeFacts(b); err == nil {
			t.Errorf("%s: decoded, want an error", name)
		}
		if _, ok := Judge(nil, b, []string{"admin"}); ok {
			t.Errorf("%s: Judge admitted", name)
		}
	}
}

func FuzzDecodeFacts(f *testing.F) {
	f.Add(Facts{VerifiedEmails: []string{"alice@acme.com"}, GitHub: true, Groups: []string{"acme"}}.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeFacts(b)
		if err != nil {
			return
		}
		again, err := decodeFacts(got.Encode())
		if err != nil || again.GitHub != got.GitHub || !slices.Equal(again.VerifiedEmails, got.VerifiedEmails) || !slices.Equal(again.Groups, got.Groups) {
			t.Fatalf("re-encoding %+v gave %+v, %v", got, again, err)
		}
	})
}

// Version 2 keeps the identity's fields; a version 1 encoding (sessions
// of an earlier broker) still decodes, without them.
func TestFactsVersions(t *testing.T) {
	f := Facts{VerifiedEmails: []string{"alice@acme.com"}, GitHub: true, Teams: true, Groups: []string{"acme", "acme/admins"},
		Subject: "42", Username: "alice", Email: "alice@acme.com"}
	got, err := decodeFacts(f.Encode())
	if err != nil || got.Subject != "42" || got.Username != "alice" || got.Email != "alice@acme.com" || !got.Teams || !got.GitHub {
		t.Errorf("v2 round trip: %+v, %v", got, err)
	}
	v1 := []byte{1, factGitHub, 1, 14}
	v1 = append(v1, "alice@acme.com"...)
	v1 = append(v1, 1, 4)
	v1 = append(v1, "acme"...)
	got, err = decodeFacts(v1)
	if err != nil || !got.GitHub || got.Teams || got.Subject != "" || !slices.Equal(got.Groups, []string{"acme"}) {
		t.Errorf("v1: %+v, %v", got, err)
	}
	if LacksTeams(v1) != true || LacksTeams(f.Encode()) != false || LacksTeams(Facts{Groups: []string{"eng"}}.Encode()) != false {
		t.Error("LacksTeams: want true only for GitHub facts without teams")
	}
}
