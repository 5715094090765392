package claims

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
)

// User is the expression variable `user`: the broker's account.
type User struct {
	ID            string `cel:"id"`
	Name          string `cel:"name"`
	Email         string `cel:"email"`
	EmailVerified bool   `cel:"email_verified"`
	Picture       string `cel:"picture"`
}

// Identity is the expression variable `identity`: the upstream identity
// of the sign-in. Its Email is set only when the broker vouches for it
// (internal/accounts), so that no expression can pass on an address that
// nobody verified as if it were.
type Identity struct {
	Provider string   `cel:"provider"`
	Subject  string   `cel:"subject"`
	Username string   `cel:"username"`
	Email    string   `cel:"email"`
	Groups   []string `cel:"groups"`
}

// Tenant is the expression variable `tenant`.
type Tenant struct {
	ID   string `cel:"id"`
	Name string `cel:"name"`
}

// Input is what one evaluation sees; Roles is the variable `roles`.
type Input struct {
	User     User
	Identity Identity
	Tenant   Tenant
	Roles    []string
}

// env is the one CEL environment every expression is checked in: the
// four variables, the standard library and macros, and the strings
// extension (lowerAscii, split, join, replace...). No I/O, no clock, no
// bindings: an expression's cost grows with its inputs, never by itself.
var env = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(reflect.TypeFor[User](), reflect.TypeFor[Identity](), reflect.TypeFor[Tenant](), ext.ParseStructTags(true)),
		cel.Variable("user", cel.ObjectType("claims.User")),
		cel.Variable("identity", cel.ObjectType("claims.Identity")),
		cel.Variable("tenant", cel.ObjectType("claims.Tenant")),
		cel.Variable("roles", cel.ListType(cel.StringType)),
		ext.Strings(),
		cel.ParserExpressionSizeLimit(MaxExprLength),
		cel.ParserRecursionLimit(64),
	)
})

// Program is one compiled, type-checked expression.
type Program struct {
	// tracked counts its cost as it goes and stops at CostLimit.
	tracked cel.Program
	// untracked, when set, is the same program without the counting,
	// which costs as much as a short expression itself: its estimated
	// worst case over inputs within the bounds below is within CostLimit.
	untracked cel.Program
	// groups: the expression reads identity.groups.
	groups bool
}

// The input sizes the static cost estimate assumes. An evaluation whose
// input is larger runs the tracked program.
const (
	maxInputString = 1024 // bytes of any string of the input
	maxInputGroups = 2000 // GitHub: 10 pages of organisations and 10 of teams
	maxInputRoles  = 256
)

// Check compiles expr and returns what is wrong with it, or "": the
// config validator's question.
func Check(expr string) string {
	if _, err := compile(expr); err != nil {
		return err.Error()
	}
	return ""
}

// compile parses and type-checks expr, refuses a result that is not JSON
// (bytes, timestamps, the input objects themselves), and plans it with
// the cost limit.
func compile(expr string) (*Program, error) {
	switch {
	case strings.TrimSpace(expr) == "":
		return nil, errors.New(`required: a CEL expression, like "tenant.id + ':' + user.id"`)
	case len(expr) > MaxExprLength:
		return nil, fmt.Errorf("longer than %d bytes", MaxExprLength)
	}
	e, err := env()
	if err != nil {
		return nil, fmt.Errorf("claims: CEL environment: %w", err)
	}
	checked, iss := e.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("does not compile: %s", oneLine(iss.Err().Error()))
	}
	if !jsonType(checked.OutputType()) {
		return nil, fmt.Errorf("its value is of type %s: want a string, number, bool, null, or a list or map (string keys) of those", cel.FormatCELType(checked.OutputType()))
	}
	p := &Program{groups: readsGroups(checked.NativeRep())}
	if p.tracked, err = e.Program(checked, cel.CostLimit(CostLimit)); err != nil {
		return nil, fmt.Errorf("does not compile: %s", oneLine(err.Error()))
	}
	if est, err := e.EstimateCost(checked, inputBounds{}); err == nil && est.Max <= CostLimit {
		if p.untracked, err = e.Program(checked); err != nil {
			return nil, fmt.Errorf("does not compile: %s", oneLine(err.Error()))
		}
	}
	return p, nil
}

// inputBounds tells the cost estimator how large the variables' strings
// and lists can be (checker.CostEstimator).
type inputBounds struct{}

func (inputBounds) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	path := n.Path()
	if len(path) == 0 {
		return nil // not an input
	}
	switch n.Type().Kind() {
	case types.StringKind:
		return &checker.SizeEstimate{Min: 0, Max: maxInputString}
	case types.ListKind:
		if path[0] == "roles" {
			return &checker.SizeEstimate{Min: 0, Max: maxInputRoles}
		}
		return &checker.SizeEstimate{Min: 0, Max: maxInputGroups}
	}
	return nil
}

func (inputBounds) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// withinBounds reports whether in is as small as inputBounds says.
func withinBounds(in *Input) bool {
	if len(in.Identity.Groups) > maxInputGroups || len(in.Roles) > maxInputRoles {
		return false
	}
	for _, s := range [...]string{in.User.ID, in.User.Name, in.User.Email, in.User.Picture,
		in.Identity.Provider, in.Identity.Subject, in.Identity.Username, in.Identity.Email, in.Tenant.ID, in.Tenant.Name} {
		if len(s) > maxInputString {
			return false
		}
	}
	for _, list := range [][]string{in.Identity.Groups, in.Roles} {
		for _, s := range list {
			if len(s) > maxInputString {
				return false
			}
		}
	}
	return true
}

// oneLine folds CEL's multi-line messages (with their source excerpt and
// caret) into one line fit for a problem list.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " | ")), " ")
}

// jsonType reports whether values of type t can be claim values: JSON's
// types, possibly only known at evaluation (dyn).
func jsonType(t *cel.Type) bool {
	switch t.Kind() {
	case types.BoolKind, types.IntKind, types.UintKind, types.DoubleKind, types.StringKind,
		types.NullTypeKind, types.DynKind, types.AnyKind:
		return true
	case types.ListKind:
		return jsonType(t.Parameters()[0])
	case types.MapKind:
		k := t.Parameters()[0].Kind()
		return (k == types.StringKind || k == types.DynKind || k == types.AnyKind) && jsonType(t.Parameters()[1])
	}
	return false
}

// readsGroups reports whether a checked expression selects
// identity.groups (has() included).
func readsGroups(a *ast.AST) bool {
	found := false
	ast.PostOrderVisit(a.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() != ast.SelectKind || e.AsSelect().FieldName() != "groups" {
			return
		}
		if op := e.AsSelect().Operand(); op.Kind() == ast.IdentKind && op.AsIdent() == "identity" {
			found = true
		}
	}))
	return found
}
