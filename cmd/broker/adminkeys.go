package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/socialbroker/broker/internal/admin"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/server"
)

const adminKeysUsage = `usage:
  broker admin-keys create --config config.toml --name NAME --scope SCOPE [--scope SCOPE...] [--tenant ID]
  broker admin-keys list --config config.toml
  broker admin-keys revoke --config config.toml ID

scopes: ` + "tenants:read, tenants:write, connections:read, connections:write, users:read, users:write, audit:read, admin" + `
The key is printed once, alone on the last line; the broker keeps only its hash.
`

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// adminKeys runs `broker admin-keys`: on the database directly, so that
// the first key needs no key.
func adminKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, adminKeysUsage)
		if len(args) == 0 {
			return errors.New("admin-keys: name a subcommand")
		}
		return nil
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("broker admin-keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, adminKeysUsage) }
	path := fs.String("config", "config.toml", "path to config.toml")
	var name, tenant string
	var scopes listFlag
	if sub == "create" {
		fs.StringVar(&name, "name", "", "who or what the key is for")
		fs.StringVar(&tenant, "tenant", "", "restrict the key to this tenant")
		fs.Var(&scopes, "scope", "a scope (repeat for more)")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path, os.Getenv)
	if err != nil {
		return err
	}
	store, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "create":
		if fs.NArg() > 0 {
			return fmt.Errorf("admin-keys create: unexpected %q", fs.Arg(0))
		}
		key, k, err := admin.CreateKey(ctx, store, name, scopes, tenant, time.Now())
		if err != nil {
			return err
		}
		restriction := ""
		if k.Tenant != "" {
			restriction = ", restricted to tenant " + k.Tenant
		}
		fmt.Fprintf(stdout, "admin key %s (%s) with scopes %s%s; it is shown this once:\n%s\n", k.ID, k.Name, strings.Join(k.Scopes, " "), restriction, key)
		return nil
	case "list":
		keys, err := store.ListAdminKeys(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tSCOPES\tTENANT\tCREATED\tREVOKED")
		for _, k := range keys {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, strings.Join(k.Scopes, " "), dash(k.Tenant),
				k.CreatedAt.UTC().Format(time.RFC3339), dash(timeOrEmpty(k.RevokedAt)))
		}
		return w.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New("admin-keys revoke: give the key's id (broker admin-keys list shows it)")
		}
		if err := admin.RevokeKey(ctx, store, fs.Arg(0), time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "admin key %s revoked\n", fs.Arg(0))
		return nil
	}
	fmt.Fprint(stderr, adminKeysUsage)
	return fmt.Errorf("admin-keys: unknown subcommand %q", sub)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
