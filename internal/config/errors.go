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

// Problem is one thing wrong with a value, at Field: a key path relative
// to what was validated. ValidateTenant says "redirect_uris[0]", which Parse
// reports as "tenants[2].redirect_uris[0]" and an API can report as is.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Field + ": " + p.Message }

// problems collects findings while decoding and validating. Only the first
// problem per field is kept: a key whose ${VAR} is unset is not also
// reported as "required".
type problems struct {
	list []Problem
	seen map[string]bool
}

func (p *problems) add(field, format string, args ...any) {
	if p.seen == nil {
		p.seen = make(map[string]bool)
	}
	if p.seen[field] {
		return
	}
	p.seen[field] = true
	p.list = append(p.list, Problem{field, fmt.Sprintf(format, args...)})
}

// addAll adds problems found in the table at path, prefixing their fields.
func (p *problems) addAll(path string, list []Problem) {
	for _, pr := range list {
		p.add(path+"."+pr.Field, "%s", pr.Message)
	}
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	lines := make([]string, len(p.list))
	for i, pr := range p.list {
		lines[i] = pr.String()
	}
	return &ValidationError{Problems: lines}
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
