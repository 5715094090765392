package accounts

import (
	"encoding/binary"
	"errors"
)

// Facts are stored with every session and decoded at every refresh, so
// their encoding is compact and cheap to read (a JSON decode cost more
// than the rules it feeds): a version byte, a flags byte, then each list
// as a count followed by length-prefixed strings, all lengths as
// uvarints. A later version appends what it adds; a decoder refuses a
// version it does not know rather than guess.
//
//	version 1: flags, verified emails, groups
//	version 2: version 1, then the identity's subject, username and
//	           vouched-for email (what claim expressions see of it)
const factsVersion = 2

const (
	factGitHub = 1 << 0
	// factTeams: the groups of a GitHub identity include its teams.
	factTeams = 1 << 1
)

// Encode is the form a session stores its facts in.
func (f Facts) Encode() []byte {
	b := []byte{factsVersion, 0}
	if f.GitHub {
		b[1] |= factGitHub
	}
	if f.Teams {
		b[1] |= factTeams
	}
	for _, list := range [][]string{f.VerifiedEmails, f.Groups} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, s := range list {
			b = appendString(b, s)
		}
	}
	for _, s := range []string{f.Subject, f.Username, f.Email} {
		b = appendString(b, s)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errBadFacts = errors.New("accounts: malformed session facts")

// DecodeFacts reads what Encode wrote, by this broker or an earlier one.
func DecodeFacts(b []byte) (Facts, error) { return decodeFacts(b) }

func decodeFacts(b []byte) (Facts, error) {
	if len(b) < 2 || b[0] < 1 || b[0] > factsVersion {
		return Facts{}, errBadFacts
	}
	version := b[0]
	f := Facts{GitHub: b[1]&factGitHub != 0, Teams: b[1]&factTeams != 0}
	b = b[2:]
	for _, list := range []*[]string{&f.VerifiedEmails, &f.Groups} {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return Facts{}, errBadFacts
		}
		b = b[k:]
		for range n {
			var s string
			var ok bool
			if s, b, ok = readString(b); !ok {
				return Facts{}, errBadFacts
			}
			*list = append(*list, s)
		}
	}
	if version >= 2 {
		for _, p := range []*string{&f.Subject, &f.Username, &f.Email} {
			var ok bool
			if *p, b, ok = readString(b); !ok {
				return Facts{}, errBadFacts
			}
		}
	}
	if len(b) != 0 {
		return Facts{}, errBadFacts
	}
	return f, nil
}

func readString(b []byte) (string, []byte, bool) {
	l, k := binary.Uvarint(b)
	if k <= 0 || l > uint64(len(b)-k) {
		return "", nil, false
	}
	return string(b[k : k+int(l)]), b[k+int(l):], true
}
