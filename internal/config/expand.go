package config

import (
	"regexp"
	"sort"
)

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand replaces ${NAME} in every string of a decoded TOML tree, in place.
//
// It runs on decoded values, never on the file's text: whatever an
// environment variable holds (quotes, newlines, "]"), it lands inside one
// string and cannot add keys or change the file's structure. Substituted
// text is not scanned again, so a value containing "${X}" stays literal.
func expand(path string, v any, getenv func(string) string, ps *problems) any {
	switch v := v.(type) {
	case string:
		return envRef.ReplaceAllStringFunc(v, func(ref string) string {
			name := ref[2 : len(ref)-1]
			val := getenv(name)
			if val == "" {
				ps.add(path, "environment variable %s is not set", name)
			}
			return val
		})
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys) // problems in a stable order
		for _, k := range keys {
			v[k] = expand(join(path, k), v[k], getenv, ps)
		}
	case []map[string]any:
		for i, m := range v {
			expand(index(path, i), m, getenv, ps)
		}
	case []any:
		for i := range v {
			v[i] = expand(index(path, i), v[i], getenv, ps)
		}
	}
	return v
}
