package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeCommands runs the commands of the README's first screen, as a
// newcomer would from the repository root, in a fresh data directory.
func TestReadmeCommands(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)## Two commands\n\n```sh\n(.*?)```").FindSubmatch(readme)
	if block == nil {
		t.Fatal("README has no code block under '## Two commands'")
	}
	var cmds [][]string
	for _, line := range strings.Split(string(block[1]), "\n") {
		if rest, ok := strings.CutPrefix(line, "go run ./cmd/apisessions "); ok {
			cmds = append(cmds, strings.Fields(rest))
		}
	}
	if len(cmds) != 2 || cmds[0][0] != "import" || cmds[1][0] != "sessions" {
		t.Fatalf("the README's run commands changed; update this test: %q", cmds)
	}
	t.Chdir("../..")
	env := []string{"APISESSIONS_DATA=" + filepath.Join(t.TempDir(), "data")}
	r := execCLI(t, "", env, cmds[0]...)
	if r.code != 0 || !strings.Contains(r.stdout, "read 2000 exchanges: stored 2000") || !strings.Contains(r.stdout, "too old 0") {
		t.Fatalf("%q: exit %d\n%s\n%s", cmds[0], r.code, r.stdout, r.stderr)
	}
	r = execCLI(t, "", env, cmds[1]...)
	if r.code != 0 || !strings.Contains(r.stdout, "ATTACKS") || strings.Count(r.stdout, "\n") < 2 {
		t.Fatalf("%q: exit %d\n%s\n%s", cmds[1], r.code, r.stdout, r.stderr)
	}
	// Then, as the README's example goes on, show a session by the ID the
	// table prints.
	row := strings.Fields(strings.Split(r.stdout, "\n")[1])
	if len(row) < 4 || len(row[3]) != 16 {
		t.Fatalf("no session ID in the fourth column of %q", row)
	}
	r = execCLI(t, "", env, "sessions", "show", row[3])
	if r.code != 0 || !strings.Contains(r.stdout, "Session      "+row[3]) {
		t.Fatalf("sessions show %s: exit %d\n%s\n%s", row[3], r.code, r.stdout, r.stderr)
	}
}
