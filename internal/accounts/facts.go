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
const factsVersion = 1

const factGitHub = 1 << 0

// Encode is the form a session stores its facts in.
func (f Facts) Encode() []byte {
	b := []byte{factsVersion, 0}
	if f.GitHub {
		b[1] |= factGitHub
	}
	for _, list := range [][]string{f.VerifiedEmails, f.Groups} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, s := range list {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	return b
}

var errBadFacts = errors.New("accounts: malformed session facts")

func decodeFacts(b []byte) (Facts, error) {
	if len(b) < 2 || b[0] != factsVersion {
		return Facts{}, errBadFacts
	}
	f := Facts{GitHub: b[1]&factGitHub != 0}
	b = b[2:]
	for _, list := range []*[]string{&f.VerifiedEmails, &f.Groups} {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return Facts{}, errBadFacts
		}
		b = b[k:]
		for range n {
			l, k := binary.Uvarint(b)
			if k <= 0 || l > uint64(len(b)-k) {
				return Facts{}, errBadFacts
			}
			*list = append(*list, string(b[k:k+int(l)]))
			b = b[k+int(l):]
		}
	}
	if len(b) != 0 {
		return Facts{}, errBadFacts
	}
	return f, nil
}
