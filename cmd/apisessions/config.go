package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apisessions/apisessions/internal/config"
)

// configCommands are the subcommands of `apisessions config`.
var configCommands = map[string]func(ctx context.Context, e *env) error{
	"check": runConfigCheck,
	"pull":  runConfigPull,
	"push":  runConfigPush,
}

// runConfig dispatches `apisessions config SUBCOMMAND`.
func runConfig(ctx context.Context, e *env) error {
	if len(e.args) == 0 || e.args[0] == "-h" || e.args[0] == "--help" || e.args[0] == "help" {
		fmt.Fprintln(e.stderr, "usage: apisessions config check|pull|push [flags] [FILE]")
		fmt.Fprintln(e.stderr, "  check  print each problem of a configuration file as PATH: REASON, or ok")
		fmt.Fprintln(e.stderr, "  pull   print a server's configuration (--server URL --token T), or write it to FILE")
		fmt.Fprintln(e.stderr, "  push   replace a server's configuration with FILE (or standard input)")
		if len(e.args) == 0 {
			return usageErrorf("no subcommand given")
		}
		return nil
	}
	run, ok := configCommands[e.args[0]]
	if !ok {
		return usageErrorf("unknown subcommand %q (want check, pull or push)", e.args[0])
	}
	sub := *e
	sub.args = e.args[1:]
	return run(ctx, &sub)
}

// runConfigCheck prints every problem of a configuration file, one
// "PATH: REASON" per line, or "ok". A file that does not parse prints its
// parse error (line and field) the same way. It exits 1 when there is any.
func runConfigCheck(ctx context.Context, e *env) error {
	fs := newFlags(e, "config check", "FILE (- for standard input)")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("want one configuration file, got %d arguments", fs.NArg())
	}
	path := fs.Arg(0)
	data, err := readConfigFile(path, e.stdin)
	if err != nil {
		return err
	}
	c, err := config.Parse(data)
	if err != nil {
		var pe *config.ParseError
		if !errors.As(err, &pe) {
			return err
		}
		fmt.Fprintln(e.stdout, pe.Error())
		return fmt.Errorf("%s does not parse", path)
	}
	problems := config.Validate(c)
	if len(problems) == 0 {
		fmt.Fprintln(e.stdout, "ok")
		return nil
	}
	for _, p := range problems {
		fmt.Fprintln(e.stdout, p.String())
	}
	return fmt.Errorf("%s has %d problem(s)", path, len(problems))
}

// readConfigFile reads a configuration file, or standard input for "-",
// refusing more than config.MaxFileBytes without reading them all.
func readConfigFile(path string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, config.MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}
