package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCommand runs one command line through run, as main does, and returns
// what it printed and its exit code.
func runCommand(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	r := execCLI(t, stdin, nil, args...)
	return r.stdout, r.stderr, r.code
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		wantOut  string
		wantCode int
	}{
		{"ok", "retention: 72h\nparameters:\n  - {name: User, point: request.body|json.username, type: user}\n", "ok\n", 0},
		{"empty file", "", "ok\n", 0},
		{"problems, one per line", "hash_algorithm: sha1\nparameters:\n  - {name: Login, point: request.body|json.password, group: true}\nmask: [request.body|json.password]\n",
			"hash_algorithm: unknown hash algorithm \"sha1\": want md5 or hmac-sha256\n" +
				"parameters[0].point: grouping key \"Login\" is masked by mask[0] \"request.body|json.password\": a masked value cannot group sessions; remove the mask rule or group: true\n", 1},
		{"unknown field", "retention: 1h\nretension: 2h\n", "line 2: retension: unknown field\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTemp(t, "c.yaml", tt.file)
			out, errOut, code := runCommand(t, "", "config", "check", path)
			if out != tt.wantOut || code != tt.wantCode {
				t.Errorf("config check = exit %d\n%s\nwant exit %d\n%s\nstderr: %s", code, out, tt.wantCode, tt.wantOut, errOut)
			}
			if code != 0 && !strings.Contains(errOut, path) {
				t.Errorf("stderr %q does not name the file", errOut)
			}
		})
	}
}

func TestConfigCheckStdin(t *testing.T) {
	out, _, code := runCommand(t, "day_timezone: Mars/Olympus\n", "config", "check", "-")
	if code != 1 || out != "day_timezone: unknown timezone \"Mars/Olympus\": want an IANA zone such as UTC or Europe/Paris\n" {
		t.Errorf("config check - = exit %d, %q", code, out)
	}
}

func TestConfigUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no subcommand", []string{"config"}, 2, "no subcommand given"},
		{"unknown subcommand", []string{"config", "frob"}, 2, `unknown subcommand "frob"`},
		{"no file", []string{"config", "check"}, 2, "want one configuration file, got 0 arguments"},
		{"two files", []string{"config", "check", "a", "b"}, 2, "want one configuration file, got 2 arguments"},
		{"missing file", []string{"config", "check", "/nonexistent/c.yaml"}, 1, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runCommand(t, "", tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.wantCode, tt.wantErr)
			}
		})
	}
}

// TestExampleConfig checks that the example configuration shipped at the
// repository root passes config check.
func TestExampleConfig(t *testing.T) {
	out, errOut, code := runCommand(t, "", "config", "check", filepath.Join("..", "..", "examples", "config.yaml"))
	if code != 0 || out != "ok\n" {
		t.Fatalf("config check examples/config.yaml = exit %d\n%s%s", code, out, errOut)
	}
}
