package config

import (
	"encoding"
	"reflect"
	"sort"
	"strings"
	"time"
)

// decode stores a decoded, expanded TOML tree into rv, reporting unknown
// keys and type mismatches with their full path ("tenants[0].redirect_uri").
// Fields absent from the tree keep what rv already holds, which is how
// defaults survive.
//
// The toml package parses the file (Parse) but does not decode it into
// Config, for reasons measured with github.com/BurntSushi/toml v1.6.0
// (issue 15, item 7):
//   - MetaData.Undecoded names a key without its array index
//     ("tenants.secret", not which tenant), and a decode error names the
//     key the same way, its line being that of the key's last occurrence in
//     the file, not of the faulty one.
//   - Decoding stops at the first wrong type, and that error is a string
//     ("incompatible types: TOML value has type int64; destination has type
//     string") with no type to inspect, so it cannot be said in the file's
//     words ("want an array of strings") or listed with the other problems.
//   - Keys match fields case-insensitively: ID = "a" sets id, and with
//     both in one table, which wins depends on map iteration order.
//   - It decodes only text, while ${NAME} is expanded in decoded values
//     (expand.go): using it would mean re-encoding the expanded tree.
//
// This walk gives exact keys, indexed paths and every problem at once.
func decode(path string, data any, rv reflect.Value, ps *problems) {
	if rv.CanAddr() {
		if u, ok := rv.Addr().Interface().(encoding.TextUnmarshaler); ok {
			decodeText(path, data, u, rv.Type(), ps)
			return
		}
	}
	var ok bool
	switch rv.Kind() {
	case reflect.String:
		var s string
		if s, ok = data.(string); ok {
			rv.SetString(s)
		}
	case reflect.Bool:
		var b bool
		if b, ok = data.(bool); ok {
			rv.SetBool(b)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var n int64
		if n, ok = data.(int64); ok {
			if rv.OverflowInt(n) {
				ps.add(path, "%d is out of range", n)
				return
			}
			rv.SetInt(n)
		}
	case reflect.Pointer:
		p := reflect.New(rv.Type().Elem())
		decode(path, data, p.Elem(), ps)
		rv.Set(p)
		return
	case reflect.Slice:
		ok = decodeSlice(path, data, rv, ps)
	case reflect.Map:
		ok = decodeMap(path, data, rv, ps)
	case reflect.Struct:
		ok = decodeStruct(path, data, rv, ps)
	}
	if !ok {
		ps.add(path, "want %s, got %s", goType(rv.Type()), tomlType(data))
	}
}

// decodeText decodes the string types of this package (Duration, Rate),
// which say themselves what is wrong with a string.
func decodeText(path string, data any, u encoding.TextUnmarshaler, t reflect.Type, ps *problems) {
	s, ok := data.(string)
	if !ok {
		ps.add(path, "want %s, got %s", goType(t), tomlType(data))
		return
	}
	if err := u.UnmarshalText([]byte(s)); err != nil {
		ps.add(path, "%v", err)
	}
}

// decodeSlice accepts both shapes the toml package produces for arrays:
// []any for inline arrays, []map[string]any for [[array.of.tables]].
func decodeSlice(path string, data any, rv reflect.Value, ps *problems) bool {
	var items []any
	switch v := data.(type) {
	case []any:
		items = v
	case []map[string]any:
		for _, m := range v {
			items = append(items, m)
		}
	default:
		return false
	}
	s := reflect.MakeSlice(rv.Type(), len(items), len(items))
	for i, item := range items {
		decode(index(path, i), item, s.Index(i), ps)
	}
	rv.Set(s)
	return true
}

func decodeMap(path string, data any, rv reflect.Value, ps *problems) bool {
	m, ok := data.(map[string]any)
	if !ok || rv.Type().Key().Kind() != reflect.String {
		return false
	}
	if rv.IsNil() {
		rv.Set(reflect.MakeMapWithSize(rv.Type(), len(m)))
	}
	for _, k := range sortedKeys(m) {
		v := reflect.New(rv.Type().Elem()).Elem()
		decode(join(path, k), m[k], v, ps)
		rv.SetMapIndex(reflect.ValueOf(k).Convert(rv.Type().Key()), v)
	}
	return true
}

func decodeStruct(path string, data any, rv reflect.Value, ps *problems) bool {
	m, ok := data.(map[string]any)
	if !ok {
		return false
	}
	fields := tomlFields(rv.Type())
	for _, k := range sortedKeys(m) {
		i, ok := fields[k]
		if !ok {
			ps.add(join(path, k), "unknown key")
			continue
		}
		decode(join(path, k), m[k], rv.FieldByIndex(i), ps)
	}
	return true
}

// tomlFields maps TOML key names to field indexes, the fields of embedded
// structs (Provider's providers.Spec) included as if they were the
// struct's own; `toml:"-"` fields are not settable from the file.
func tomlFields(t reflect.Type) map[string][]int {
	out := make(map[string][]int, t.NumField())
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if !f.IsExported() || f.Anonymous || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Index
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// goType names what a destination expects, in the file's vocabulary.
func goType(t reflect.Type) string {
	if t == reflect.TypeFor[Duration]() {
		return `a duration string like "15m"`
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Pointer:
		return goType(t.Elem())
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(goType(t.Elem()), "a "), "an ") + "s"
	case reflect.Map, reflect.Struct:
		return "a table"
	}
	return t.String()
}

// tomlType names a decoded TOML value.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a number"
	case time.Time:
		return "a date/time"
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	}
	return "a value"
}
