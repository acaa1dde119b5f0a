package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// cliResult is what one run of the command printed and returned.
type cliResult struct {
	stdout, stderr string
	code           int
}

// execCLI runs the command line as main does, with its own streams and an
// environment of env ("NAME=value" pairs) only.
func execCLI(t testing.TB, stdin string, env []string, args ...string) cliResult {
	t.Helper()
	getenv := func(name string) string {
		for _, kv := range env {
			if k, v, ok := strings.Cut(kv, "="); ok && k == name {
				return v
			}
		}
		return ""
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errOut)
	return cliResult{out.String(), errOut.String(), code}
}

// mustCLI runs the command line and fails the test unless it exits 0.
func mustCLI(t testing.TB, args ...string) string {
	t.Helper()
	r := execCLI(t, "", nil, args...)
	if r.code != 0 {
		t.Fatalf("apisessions %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}
