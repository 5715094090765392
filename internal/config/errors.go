package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ValidationError lists everything wrong with a configuration, each problem
// starting with the key it is about ("tenants[0].redirect_uris[1]: ...").
// Parse reports all problems at once so an operator fixes them in one pass.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid configuration: " + e.Problems[0]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration (%d problems):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	return b.String()
}

// problems collects findings while decoding and validating. Only the first
// problem per key is kept: a key whose ${VAR} is unset is not also reported
// as "required".
type problems struct {
	list []string
	seen map[string]bool
}

func (p *problems) add(key, format string, args ...any) {
	if p.seen == nil {
		p.seen = make(map[string]bool)
	}
	if p.seen[key] {
		return
	}
	p.seen[key] = true
	p.list = append(p.list, key+": "+fmt.Sprintf(format, args...))
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: p.list}
}

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// join appends a TOML key to a key path, quoting it when TOML would.
func join(path, key string) string {
	if !bareKey.MatchString(key) {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
