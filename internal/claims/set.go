package claims

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"
)

// Set is a tenant's compiled claims, ready to evaluate; never changed
// once built, safe for concurrent use. A nil or empty Set has no claims.
type Set struct {
	claims []compiledClaim
	groups bool
}

type compiledClaim struct {
	name string
	in   Destination
	prg  *Program
}

// Compile compiles a tenant's checked rules. An error here means the
// rules were not checked (config.ValidateTenant): it names the claim.
func Compile(rules []Rule) (*Set, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	s := &Set{}
	for _, r := range rules {
		if msg := CheckName(r.Name); msg != "" {
			return nil, fmt.Errorf("claims: %s: %s", r.Name, msg)
		}
		p, err := compile(r.Expr)
		if err != nil {
			return nil, fmt.Errorf("claims: %s: %w", r.Name, err)
		}
		in := r.In
		if in == 0 {
			in = Everywhere
		}
		s.claims = append(s.claims, compiledClaim{name: r.Name, in: in, prg: p})
		s.groups = s.groups || p.groups
	}
	return s, nil
}

// Len returns how many claims s has.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.claims)
}

// ReadsGroups reports whether some expression reads identity.groups:
// sign-ins then fetch the identity's groups (GitHub's organisations and
// teams cost calls of their own).
func (s *Set) ReadsGroups() bool { return s != nil && s.groups }

// Claim is one evaluated claim: its name and its value as JSON.
type Claim struct {
	Name  string
	Value json.RawMessage
}

// Output is one evaluation's claims, by destination, in the order of the
// tenant's rules.
type Output struct {
	Access, ID, Userinfo []Claim
}

// Failure is a claim left out of an evaluation, and why. Err never holds
// the claim's value; a CEL error may quote what the expression looked up
// (a missing map key).
type Failure struct {
	Claim string
	Err   error
}

// Errors a Failure may wrap.
var (
	ErrCostLimit = errors.New("claims: expression exceeded its cost limit")
	ErrTooLarge  = errors.New("claims: value too large")
	ErrNotJSON   = errors.New("claims: value is not JSON")
)

// Eval evaluates, once against in, every claim of s that goes to one of
// the destinations want, and returns them for those destinations. Claims
// whose value is null are left out silently; those that fail, or would
// take a destination past MaxTotalBytes, are left out and reported.
func (s *Set) Eval(in *Input, want Destination) (Output, []Failure) {
	var out Output
	var failed []Failure
	if s.Len() == 0 {
		return out, nil
	}
	act := activation{in}
	small := withinBounds(in)
	var used [3]int // bytes per destination, in the order below
	for _, c := range s.claims {
		if c.in&want == 0 {
			continue
		}
		prg := c.prg.tracked
		if small && c.prg.untracked != nil {
			prg = c.prg.untracked
		}
		v, _, err := prg.Eval(act)
		if err != nil {
			if isCostLimit(err) {
				err = ErrCostLimit
			}
			failed = append(failed, Failure{c.name, err})
			continue
		}
		if v == types.NullValue {
			continue
		}
		raw, err := appendJSON(nil, v, 0)
		switch {
		case err != nil:
			failed = append(failed, Failure{c.name, err})
			continue
		case len(raw) > MaxValueBytes:
			failed = append(failed, Failure{c.name, fmt.Errorf("%w: %d bytes of JSON, at most %d", ErrTooLarge, len(raw), MaxValueBytes)})
			continue
		}
		cost := len(raw) + len(c.name) + 4 // "name":value,
		var full []string
		for i, d := range []struct {
			bit  Destination
			name string
			dst  *[]Claim
		}{{AccessToken, "access_token", &out.Access}, {IDToken, "id_token", &out.ID}, {Userinfo, "userinfo", &out.Userinfo}} {
			if c.in&want&d.bit == 0 {
				continue
			}
			if used[i]+cost > MaxTotalBytes {
				full = append(full, d.name)
				continue
			}
			used[i] += cost
			*d.dst = append(*d.dst, Claim{c.name, raw})
		}
		if full != nil {
			failed = append(failed, Failure{c.name, fmt.Errorf("%w: left out of %s, whose custom claims may take %d bytes of JSON", ErrTooLarge, strings.Join(full, ", "), MaxTotalBytes)})
		}
	}
	return out, failed
}

func isCostLimit(err error) bool {
	// cel-go reports the limit as an EvalCancelledError with this cause.
	var ce interpreter.EvalCancelledError
	return errors.As(err, &ce) && ce.Cause == interpreter.CostLimitExceeded
}

// activation hands an evaluation its four variables without building a
// map per call.
type activation struct{ in *Input }

func (a activation) ResolveName(name string) (any, bool) {
	switch name {
	case "user":
		return &a.in.User, true
	case "identity":
		return &a.in.Identity, true
	case "tenant":
		return &a.in.Tenant, true
	case "roles":
		if a.in.Roles == nil {
			return []string{}, true
		}
		return a.in.Roles, true
	}
	return nil, false
}

func (activation) Parent() interpreter.Activation { return nil }

// maxDepth bounds the nesting of a value (lists in maps in lists...).
const maxDepth = 8

// appendJSON appends v as JSON. Map keys must be strings, and come out
// sorted, so that one input always gives the same bytes.
func appendJSON(b []byte, v ref.Val, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrNotJSON, maxDepth)
	}
	switch v := v.(type) {
	case types.Null:
		return append(b, "null"...), nil
	case types.Bool:
		return strconv.AppendBool(b, bool(v)), nil
	case types.Int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case types.Uint:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case types.Double:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%w: %v has no JSON form", ErrNotJSON, f)
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64), nil
	case types.String:
		return appendString(b, string(v)), nil
	case *types.Err:
		return nil, v
	case traits.Lister:
		n, ok := v.Size().(types.Int)
		if !ok {
			return nil, ErrNotJSON
		}
		b = append(b, '[')
		for i := types.Int(0); i < n; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, v.Get(i), depth+1); err != nil {
				return nil, err
			}
			if len(b) > MaxValueBytes {
				return nil, fmt.Errorf("%w: more than %d bytes of JSON", ErrTooLarge, MaxValueBytes)
			}
		}
		return append(b, ']'), nil
	case traits.Mapper:
		var keys []string
		for it := v.Iterator(); it.HasNext() == types.True; {
			k, ok := it.Next().(types.String)
			if !ok {
				return nil, fmt.Errorf("%w: a map key is not a string", ErrNotJSON)
			}
			keys = append(keys, string(k))
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, k), ':')
			var err error
			if b, err = appendJSON(b, v.Get(types.String(k)), depth+1); err != nil {
				return nil, err
			}
			if len(b) > MaxValueBytes {
				return nil, fmt.Errorf("%w: more than %d bytes of JSON", ErrTooLarge, MaxValueBytes)
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("%w: a value of type %s", ErrNotJSON, v.Type().(ref.Type).TypeName())
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}
