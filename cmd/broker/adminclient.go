package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// `broker tenants|connections|domains|users|audit` are thin clients of
// the admin API: each subcommand is one request (a list, every page of
// it), its answer printed as a table or, with --json, as the API gave it.

const adminUsage = `usage (admin API clients; the key in BROKER_ADMIN_KEY):
  broker tenants list | get ID | create --data JSON | patch ID --data JSON | delete ID | rotate-secret ID
  broker connections list | get ID | create --data JSON | patch ID --data JSON | delete ID
  broker domains list CONNECTION | add CONNECTION DOMAIN | get CONNECTION DOMAIN
                 | verify CONNECTION DOMAIN | delete CONNECTION DOMAIN
  broker users list [--email E] [--tenant T] | get ID | disable ID | enable ID | delete ID
               | sessions ID | revoke-session SESSION
  broker audit [--type T] [--tenant T] [--since 2026-12-07T08:00:00Z]

flags, anywhere after the command:
  --server URL   the broker (default $BROKER_SERVER, else http://127.0.0.1:8080);
                 plain http only to a loopback address, unless --insecure-http
  --json         print the API's JSON instead of a table
  --data JSON    a request body: JSON, @FILE, or - for standard input
  --limit N      at most N items of a list (0: all; audit's default 50)
`

// request is one call of the API a subcommand makes.
type request struct {
	method, path string
	query        url.Values
	body         []byte
	// columns, for a list, name the members shown as table columns.
	columns []string
}

var listColumns = map[string][]string{
	"tenants":     {"id", "name", "confidential", "managed_by", "providers"},
	"connections": {"id", "type", "tenant", "managed_by", "display_name"},
	"domains":     {"domain", "verified", "txt_name", "txt_value"},
	"users":       {"id", "email", "name", "disabled"},
	"sessions":    {"id", "tenant", "provider", "created_at", "expires_at"},
	"audit":       {"time", "type", "actor", "tenant", "user", "detail"},
}

func adminClient(ctx context.Context, resource string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("broker "+resource, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, adminUsage) }
	server := fs.String("server", envOr("BROKER_SERVER", "http://127.0.0.1:8080"), "the broker's URL")
	insecure := fs.Bool("insecure-http", false, "send the key over plain http to a host that is not loopback")
	asJSON := fs.Bool("json", false, "print JSON")
	data := fs.String("data", "", "request body: JSON, @FILE or -")
	limit := fs.Int("limit", 0, "at most this many items (0: all)")
	email := fs.String("email", "", "users list: by email")
	tenant := fs.String("tenant", "", "users list, audit: of this tenant")
	typ := fs.String("type", "", "audit: of this type")
	since := fs.String("since", "", "audit: at or after this time (RFC 3339)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if resource == "audit" {
		pos = append([]string{"list"}, pos...)
		if !flagSet(fs, "limit") {
			*limit = 50
		}
	}
	if len(pos) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return fmt.Errorf("%s: name a subcommand", resource)
	}
	body, err := readData(*data)
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"email": *email, "tenant": *tenant, "type": *typ, "since": *since} {
		if v != "" {
			q.Set(k, v)
		}
	}
	req, err := adminRequest(resource, pos, body, q)
	if err != nil {
		fmt.Fprint(stderr, adminUsage)
		return err
	}
	if err := keySafeTo(*server, *insecure); err != nil {
		return err
	}
	key := os.Getenv("BROKER_ADMIN_KEY")
	if key == "" {
		return errors.New("set BROKER_ADMIN_KEY to an admin key (broker admin-keys create)")
	}
	c := &apiClient{base: strings.TrimRight(*server, "/") + "/admin/v1", key: key, http: &http.Client{Timeout: 30 * time.Second}}
	if req.columns != nil {
		items, err := c.list(ctx, req, *limit)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, map[string]any{"items": items})
		}
		return printTable(stdout, req.columns, items)
	}
	status, obj, err := c.do(ctx, req.method, req.path, req.query, req.body)
	if err != nil {
		return err
	}
	switch {
	case status == http.StatusNoContent:
		if !*asJSON {
			fmt.Fprintln(stdout, "done")
		}
		return nil
	case *asJSON:
		return printJSON(stdout, obj)
	}
	return printObject(stdout, obj)
}

// adminRequest maps a subcommand and its arguments to a request.
func adminRequest(resource string, pos []string, body []byte, q url.Values) (request, error) {
	sub, args := pos[0], pos[1:]
	seg := func(i int) string { return url.PathEscape(args[i]) }
	want := func(n int, what string) error {
		if len(args) != n {
			return fmt.Errorf("%s %s: want %s", resource, sub, what)
		}
		return nil
	}
	needBody := func() error {
		if body == nil {
			return fmt.Errorf("%s %s: give the body with --data", resource, sub)
		}
		return nil
	}
	var r request
	var err error
	switch resource + " " + sub {
	case "tenants list", "connections list":
		r, err = request{method: "GET", path: "/" + resource, columns: listColumns[resource]}, want(0, "no arguments")
	case "tenants get", "connections get":
		err = want(1, "an id")
		r = request{method: "GET"}
	case "tenants delete", "connections delete":
		err = want(1, "an id")
		r = request{method: "DELETE"}
	case "tenants create", "connections create":
		r, err = request{method: "POST", path: "/" + resource, body: body}, errors.Join(want(0, "no arguments"), needBody())
	case "tenants patch", "connections patch":
		err = errors.Join(want(1, "an id"), needBody())
		r = request{method: "PATCH", body: body}
	case "tenants rotate-secret":
		if err = want(1, "an id"); err == nil {
			r = request{method: "POST", path: "/tenants/" + seg(0) + "/secret"}
		}
	case "domains list":
		if err = want(1, "a connection"); err == nil {
			r = request{method: "GET", path: "/connections/" + seg(0) + "/domains", columns: listColumns["domains"]}
		}
	case "domains add":
		if err = want(2, "a connection and a domain"); err == nil {
			b, _ := json.Marshal(map[string]string{"domain": args[1]})
			r = request{method: "POST", path: "/connections/" + seg(0) + "/domains", body: b}
		}
	case "domains get", "domains verify", "domains delete":
		if err = want(2, "a connection and a domain"); err == nil {
			r = request{method: map[string]string{"get": "GET", "verify": "POST", "delete": "DELETE"}[sub],
				path: "/connections/" + seg(0) + "/domains/" + seg(1)}
			if sub == "verify" {
				r.path += "/verify"
			}
		}
	case "users list":
		r, err = request{method: "GET", path: "/users", query: q, columns: listColumns["users"]}, want(0, "no arguments")
	case "users get", "users delete":
		err = want(1, "a user id")
		r = request{method: map[string]string{"get": "GET", "delete": "DELETE"}[sub]}
	case "users disable", "users enable":
		err = want(1, "a user id")
		b, _ := json.Marshal(map[string]bool{"disabled": sub == "disable"})
		r = request{method: "PATCH", body: b}
	case "users sessions":
		if err = want(1, "a user id"); err == nil {
			r = request{method: "GET", path: "/users/" + seg(0) + "/sessions", columns: listColumns["sessions"]}
		}
	case "users revoke-session":
		if err = want(1, "a session id"); err == nil {
			r = request{method: "DELETE", path: "/sessions/" + seg(0)}
		}
	case "audit list":
		r, err = request{method: "GET", path: "/audit", query: q, columns: listColumns["audit"]}, want(0, "no arguments")
	default:
		return request{}, fmt.Errorf("%s: unknown subcommand %q", resource, sub)
	}
	if err != nil {
		return request{}, err
	}
	if r.path == "" { // an operation on one item of the resource
		r.path = "/" + resource + "/" + seg(0)
	}
	return r, nil
}

// parseInterleaved parses flags wherever they stand among the positional
// arguments ("tenants get acme --json"), which flag.Parse alone stops at.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// readData reads --data: JSON as is, @FILE, or - for standard input. nil
// when not given.
func readData(d string) ([]byte, error) {
	switch {
	case d == "":
		return nil, nil
	case d == "-":
		return io.ReadAll(os.Stdin)
	case strings.HasPrefix(d, "@"):
		return os.ReadFile(d[1:])
	}
	return []byte(d), nil
}

type apiClient struct {
	base, key string
	http      *http.Client
}

// do makes one request; an answer other than 2xx is an error saying what
// the API said, each problem on a line of its own.
func (c *apiClient) do(ctx context.Context, method, path string, q url.Values, body []byte) (int, map[string]any, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, err
	}
	var obj map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &obj); err != nil {
			return 0, nil, fmt.Errorf("%s %s: %s: the answer is not JSON", method, path, resp.Status)
		}
	}
	if resp.StatusCode >= 300 {
		msg := fmt.Sprintf("%s %s: %s: %v", method, path, resp.Status, obj["error_description"])
		ps, _ := obj["problems"].([]any)
		for _, p := range ps {
			m, _ := p.(map[string]any)
			msg += fmt.Sprintf("\n  %v: %v", m["field"], m["message"])
		}
		return resp.StatusCode, nil, errors.New(msg)
	}
	return resp.StatusCode, obj, nil
}

// list fetches a list page after page, up to limit items (0: all).
func (c *apiClient) list(ctx context.Context, r request, limit int) ([]any, error) {
	var items []any
	q := url.Values{}
	for k, v := range r.query {
		q[k] = v
	}
	for {
		if limit > 0 {
			q.Set("limit", strconv.Itoa(min(limit-len(items), 200)))
		}
		_, obj, err := c.do(ctx, r.method, r.path, q, nil)
		if err != nil {
			return nil, err
		}
		page, _ := obj["items"].([]any)
		items = append(items, page...)
		next, _ := obj["next_cursor"].(string)
		if next == "" || (limit > 0 && len(items) >= limit) {
			return items, nil
		}
		q.Set("cursor", next)
	}
}

func printJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(v)
}

// cell formats a member for a table.
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return "-"
	case string:
		if v == "" {
			return "-"
		}
		return v
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = cell(x)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(v)
}

func printTable(w io.Writer, columns []string, items []any) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(columns, "\t")))
	for _, it := range items {
		m, _ := it.(map[string]any)
		row := make([]string, len(columns))
		for i, col := range columns {
			row[i] = cell(m[col])
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// printObject prints one item as a two-column table of its members.
func printObject(w io.Writer, obj map[string]any) error {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\n", k, cell(obj[k]))
	}
	return tw.Flush()
}

// keySafeTo refuses to send the admin key in clear text off this machine:
// over plain http it goes only to a loopback address (a broker on this
// host, or a port forwarded to it), unless the operator says otherwise.
func keySafeTo(server string, insecure bool) error {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--server %q: want the broker's http(s) URL", server)
	}
	if u.Scheme == "https" || insecure {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); (err == nil && ip.IsLoopback()) || host == "localhost" {
		return nil
	}
	return fmt.Errorf("--server %s: refusing to send the admin key over plain http to a host that is not loopback; use https, or --insecure-http to send it anyway", server)
}
