package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/apisessions/apisessions"
)

// Administration on the server's store: tenants, users and tokens.

func runTenant(ctx context.Context, e *env) error {
	if len(e.args) == 0 || e.args[0] != "create" {
		return usageErrorf("want: tenant create NAME")
	}
	fs := newFlags(e, "tenant create", "NAME")
	sf := addStoreFlags(fs)
	if err := fs.Parse(e.args[1:]); err != nil {
		return err
	}
	name, err := oneArg(fs.Args(), "a tenant name")
	if err != nil {
		return err
	}
	if !validName(name) {
		return usageErrorf("a tenant name has 1 to 64 letters, digits, '-', '_' or '.'")
	}
	st, dir, err := sf.open(ctx, e, false)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := createTenant(ctx, st, name, dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created tenant %s\n", t.Name)
	return nil
}

func runUser(ctx context.Context, e *env) error {
	if len(e.args) == 0 || e.args[0] != "create" {
		return usageErrorf("want: user create --tenant NAME --role admin|analyst USER")
	}
	fs := newFlags(e, "user create", "USER")
	sf := addStoreFlags(fs)
	tenant := fs.String("tenant", apisessions.DefaultTenant, "tenant `name`")
	role := fs.String("role", "analyst", "admin or analyst")
	if err := fs.Parse(e.args[1:]); err != nil {
		return err
	}
	name, err := oneArg(fs.Args(), "a user name")
	if err != nil {
		return err
	}
	if !validName(name) {
		return usageErrorf("a user name has 1 to 64 letters, digits, '-', '_' or '.'")
	}
	r := apisessions.Role(*role)
	if r != apisessions.RoleAdmin && r != apisessions.RoleAnalyst {
		return usageErrorf("--role must be admin or analyst")
	}
	password, err := readPassword(e)
	if err != nil {
		return err
	}
	st, t, err := sf.openTenant(ctx, e, *tenant)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := createUser(ctx, st, t.ID, name, r, password); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created %s %s in tenant %s\n", r, name, t.Name)
	return nil
}

// readPassword reads a password at a prompt on a terminal, else the first
// line of standard input.
func readPassword(e *env) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(e.stderr, "Again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(b) != string(again) {
			return "", fmt.Errorf("the passwords differ")
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func runToken(ctx context.Context, e *env) error {
	if len(e.args) == 0 {
		return usageErrorf("want: token create|revoke")
	}
	switch e.args[0] {
	case "create":
		fs := newFlags(e, "token create", "")
		sf := addStoreFlags(fs)
		tenant := fs.String("tenant", apisessions.DefaultTenant, "tenant `name`")
		role := fs.String("role", "node", "admin, analyst or node")
		name := fs.String("name", "", "a `name` saying what the token is for")
		if err := fs.Parse(e.args[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return usageErrorf("unexpected argument %q", fs.Arg(0))
		}
		r := apisessions.Role(*role)
		if !r.Valid() {
			return usageErrorf("--role must be admin, analyst or node")
		}
		st, t, err := sf.openTenant(ctx, e, *tenant)
		if err != nil {
			return err
		}
		defer st.Close()
		tok, err := createToken(ctx, st, t.ID, *name, r, "")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "created %s token %s in tenant %s; its secret is shown once:\n", r, tok.ID, t.Name)
		fmt.Fprintln(e.stdout, tok.secret)
		return nil
	case "revoke":
		fs := newFlags(e, "token revoke", "ID")
		sf := addStoreFlags(fs)
		if err := fs.Parse(e.args[1:]); err != nil {
			return err
		}
		id, err := oneArg(fs.Args(), "a token ID")
		if err != nil {
			return err
		}
		st, _, err := sf.open(ctx, e, false)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.RevokeToken(ctx, "", id, time.Now().UTC()); err != nil {
			return fmt.Errorf("revoke %s: %w", id, err)
		}
		fmt.Fprintf(e.stdout, "revoked token %s\n", id)
		return nil
	}
	return usageErrorf("unknown subcommand %q: want create or revoke", e.args[0])
}

// openTenant opens the store and finds a tenant by name in it.
func (f storeFlags) openTenant(ctx context.Context, e *env, name string) (serverStore, apisessions.Tenant, error) {
	st, _, err := f.open(ctx, e, false)
	if err != nil {
		return nil, apisessions.Tenant{}, err
	}
	t, err := st.TenantByName(ctx, name)
	if err != nil {
		st.Close()
		return nil, t, fmt.Errorf("tenant %s: %w", name, err)
	}
	return st, t, nil
}

func oneArg(args []string, what string) (string, error) {
	if len(args) != 1 {
		return "", usageErrorf("want %s", what)
	}
	return args[0], nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
