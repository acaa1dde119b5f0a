// Command apisessions groups HTTP API traffic into user sessions, detects
// attacks in it and lets analysts explore and block sessions.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// env is what a subcommand gets from the process: arguments, environment and
// standard streams. Tests run subcommands with their own.
type env struct {
	args   []string
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, e *env) error
}

// commands is the subcommand table.
var commands = map[string]command{
	"version":  {"print the version", runVersion},
	"config":   {"check a configuration file; pull or push a server's", runConfig},
	"server":   {"run the server: ingest from nodes, REST API, store", runServer},
	"tenant":   {"create a tenant on the server's store", runTenant},
	"user":     {"create a console user on the server's store", runUser},
	"token":    {"create or revoke an API or node token on the server's store", runToken},
	"generate": {"write generated demo traffic as JSON lines", runGenerate},
	"import":   {"read traffic files into sessions in the local store", runImport},
	"sessions": {"list and show sessions", runSessions},
	"points":   {"print every point and value of a traffic file (JSON lines or HAR)", runPoints},
}

// errUsage marks an error the user made in the command line; it exits 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs one subcommand and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "apisessions: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	e := &env{args: args[1:], getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if err := c.run(ctx, e); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "apisessions %s: %v\n", args[0], err)
			return 2
		}
		fmt.Fprintf(stderr, "apisessions %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: apisessions COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'apisessions COMMAND -h' for the flags of a command.")
}

// newFlags returns a flag set for a subcommand that writes its help to the
// command's stderr and returns errors instead of exiting.
func newFlags(e *env, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: apisessions %s [flags] %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// usageErrorf returns an error that makes the command exit 2.
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}
