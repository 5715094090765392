package config

import (
	"encoding"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"
)

// decode stores a decoded, expanded TOML tree into rv, reporting unknown
// keys and type mismatches with their full path ("tenants[0].redirect_uri").
//
// The toml package's own decoder cannot be used after expansion without
// re-encoding the tree, and its MetaData.Undecoded keys carry no array
// indexes; this walk is short and gives both. Fields absent from the tree
// keep what rv already holds, which is how defaults survive.
func decode(path string, data any, rv reflect.Value, ps *problems) {
	if rv.CanAddr() {
		if u, ok := rv.Addr().Interface().(encoding.TextUnmarshaler); ok {
			s, ok := data.(string)
			if !ok {
				ps.add(path, "want %s, got %s", goType(rv.Type()), tomlType(data))
				return
			}
			if err := u.UnmarshalText([]byte(s)); err != nil {
				ps.add(path, "%v", err)
			}
			return
		}
	}

	switch rv.Kind() {
	case reflect.String:
		if s, ok := data.(string); ok {
			rv.SetString(s)
			return
		}
	case reflect.Bool:
		if b, ok := data.(bool); ok {
			rv.SetBool(b)
			return
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n, ok := data.(int64); ok {
			if rv.OverflowInt(n) {
				ps.add(path, "%d is out of range", n)
				return
			}
			rv.SetInt(n)
			return
		}
	case reflect.Float32, reflect.Float64:
		switch n := data.(type) {
		case float64:
			rv.SetFloat(n)
			return
		case int64:
			if math.Abs(float64(n)) < 1<<53 {
				rv.SetFloat(float64(n))
				return
			}
		}
	case reflect.Pointer:
		p := reflect.New(rv.Type().Elem())
		decode(path, data, p.Elem(), ps)
		rv.Set(p)
		return
	case reflect.Slice:
		items, ok := asArray(data)
		if !ok {
			break
		}
		s := reflect.MakeSlice(rv.Type(), len(items), len(items))
		for i, item := range items {
			decode(index(path, i), item, s.Index(i), ps)
		}
		rv.Set(s)
		return
	case reflect.Map:
		m, ok := data.(map[string]any)
		if !ok || rv.Type().Key().Kind() != reflect.String {
			break
		}
		if rv.IsNil() {
			rv.Set(reflect.MakeMapWithSize(rv.Type(), len(m)))
		}
		for _, k := range sortedKeys(m) {
			v := reflect.New(rv.Type().Elem()).Elem()
			decode(join(path, k), m[k], v, ps)
			rv.SetMapIndex(reflect.ValueOf(k).Convert(rv.Type().Key()), v)
		}
		return
	case reflect.Struct:
		m, ok := data.(map[string]any)
		if !ok {
			break
		}
		fields := tomlFields(rv.Type())
		for _, k := range sortedKeys(m) {
			i, ok := fields[k]
			if !ok {
				ps.add(join(path, k), "unknown key")
				continue
			}
			decode(join(path, k), m[k], rv.Field(i), ps)
		}
		return
	}
	ps.add(path, "want %s, got %s", goType(rv.Type()), tomlType(data))
}

// asArray accepts both shapes the toml package produces for arrays:
// []any for inline arrays, []map[string]any for [[array.of.tables]].
func asArray(data any) ([]any, bool) {
	switch v := data.(type) {
	case []any:
		return v, true
	case []map[string]any:
		out := make([]any, len(v))
		for i, m := range v {
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

// tomlFields maps TOML key names to field indexes; `toml:"-"` fields are
// not settable from the file.
func tomlFields(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = i
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
	case reflect.Float32, reflect.Float64:
		return "a number"
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
