package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader on two
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs `apisessions server` on a free port of the loopback with
// the environment env, and returns its URL and what it printed.
func startServer(t *testing.T, data string, env []string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	getenv := func(name string) string {
		for _, kv := range env {
			if k, v, ok := strings.Cut(kv, "="); ok && k == name {
				return v
			}
		}
		return ""
	}
	go func() {
		done <- run(ctx, []string{"server", "--data", data, "--listen", "127.0.0.1:0"}, getenv, strings.NewReader(""), out, errOut)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("server exited %d: %s", code, errOut.String())
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not stop")
		}
	})
	re := regexp.MustCompile(`listening on (http://\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1], out
		}
		select {
		case code := <-done:
			t.Fatalf("server exited %d:\n%s\n%s", code, out.String(), errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("server did not start:\n%s\n%s", out.String(), errOut.String())
	return "", nil
}

func TestServerEndToEnd(t *testing.T) {
	data := t.TempDir()
	const token = "e2e-admin-token-0123456789"
	url, out := startServer(t, data, []string{"APISESSIONS_BOOTSTRAP_TOKEN=" + token})
	if !strings.Contains(out.String(), "admin API token: "+token) || !strings.Contains(out.String(), "console login:   tenant default, user admin, password ") {
		t.Fatalf("bootstrap credentials not shown:\n%s", out.String())
	}
	remote := []string{"--server", url, "--token", token}

	// Configuration goes up, is validated, versioned, and comes back.
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	body, err := os.ReadFile("testdata/e2e/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append([]byte("retention: 87600h\n"), body...), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := mustCLI(t, append([]string{"config", "push"}, append(remote, cfg)...)...); !strings.Contains(got, "saved configuration version 1") {
		t.Errorf("config push: %s", got)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("hash_algorithm: sha1\n"), 0o600)
	if r := execCLI(t, "", nil, append([]string{"config", "push"}, append(remote, bad)...)...); r.code == 0 || !strings.Contains(r.stderr, "hash_algorithm") {
		t.Errorf("a bad configuration was accepted or its problem not named: exit %d %s", r.code, r.stderr)
	}
	if got := mustCLI(t, append([]string{"config", "pull"}, remote...)...); !strings.Contains(got, "request.body|json.username") {
		t.Errorf("config pull:\n%s", got)
	}

	// Traffic sent through the import pipeline to the server lands in the
	// same sessions as a local import.
	r := execCLI(t, "", nil, append([]string{"import"}, append(remote, "testdata/e2e/traffic.jsonl")...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "stored 8") {
		t.Fatalf("import --server: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	remoteList := listSessions(t, remote...)
	if len(remoteList) != 4 {
		t.Fatalf("sessions list --server: %d sessions", len(remoteList))
	}
	attacks := listSessions(t, append(remote, "--attacks")...)
	if len(attacks) != 1 || attacks[0].AttackCount != 2 {
		t.Fatalf("--attacks over the server: %+v", attacks)
	}
	show := mustCLI(t, append([]string{"sessions", "show", attacks[0].ID[:16], "--json"}, remote...)...)
	if !strings.Contains(show, `"type":"sqli"`) || !strings.Contains(show, `"point":"request.query.q"`) {
		t.Errorf("show over the server lacks the finding:\n%s", show)
	}

	// While the server writes the data directory, a local import may not
	// (parts are written behind); reading it stays possible.
	if r := execCLI(t, "", nil, "import", "--data", data, "testdata/e2e/traffic.jsonl"); r.code != 1 || !strings.Contains(r.stderr, "is in use by another apisessions process") {
		t.Errorf("a second writer was let in: exit %d %s", r.code, r.stderr)
	}
	if got := listSessions(t, "--data", data); len(got) != 4 {
		t.Errorf("sessions list --data beside the server: %d sessions", len(got))
	}

	// A node token can send but not read sessions; once revoked, nothing.
	nodeTok := strings.TrimSpace(mustCLI(t, "token", "create", "--data", data, "--role", "node", "--name", "edge-1"))
	if r := execCLI(t, "", nil, "sessions", "list", "--server", url, "--token", nodeTok); r.code == 0 || !strings.Contains(r.stderr, "forbidden") {
		t.Errorf("a node token read sessions: exit %d %s", r.code, r.stderr)
	}
	if r := execCLI(t, "", nil, "sessions", "list", "--server", url, "--token", "not-a-token-at-all"); r.code == 0 || !strings.Contains(r.stderr, "unauthorized") {
		t.Errorf("a wrong token was let in: exit %d %s", r.code, r.stderr)
	}
}

func TestAdminCommands(t *testing.T) {
	data := t.TempDir()
	if got := mustCLI(t, "tenant", "create", "--data", data, "acme"); !strings.Contains(got, "created tenant acme") {
		t.Errorf("tenant create: %s", got)
	}
	if r := execCLI(t, "", nil, "tenant", "create", "--data", data, "acme"); r.code == 0 {
		t.Error("a tenant was created twice")
	}
	r := execCLI(t, "s3cret-password\n", nil, "user", "create", "--data", data, "--tenant", "acme", "--role", "analyst", "ana")
	if r.code != 0 || !strings.Contains(r.stdout, "created analyst ana in tenant acme") {
		t.Errorf("user create: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := execCLI(t, "short\n", nil, "user", "create", "--data", data, "--tenant", "acme", "bob"); r.code == 0 {
		t.Error("a short password was accepted")
	}
	if r := execCLI(t, "s3cret-password\n", nil, "user", "create", "--data", data, "--tenant", "nope", "bob"); r.code == 0 || !strings.Contains(r.stderr, "tenant nope") {
		t.Errorf("user in a missing tenant: exit %d %s", r.code, r.stderr)
	}
	r = execCLI(t, "", nil, "token", "create", "--data", data, "--tenant", "acme", "--role", "analyst", "--name", "ci")
	if r.code != 0 || len(strings.TrimSpace(r.stdout)) < 32 {
		t.Fatalf("token create: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	id := regexp.MustCompile(`token (\S+) in tenant`).FindStringSubmatch(r.stderr)
	if id == nil {
		t.Fatalf("token create does not name the token ID: %s", r.stderr)
	}
	if got := mustCLI(t, "token", "revoke", "--data", data, id[1]); !strings.Contains(got, "revoked token "+id[1]) {
		t.Errorf("token revoke: %s", got)
	}
	if r := execCLI(t, "", nil, "token", "revoke", "--data", data, "no-such-token"); r.code == 0 {
		t.Error("revoking a missing token succeeded")
	}
	if r := execCLI(t, "", nil, "token", "create", "--data", data, "--role", "root"); r.code != 2 {
		t.Errorf("bad role: exit %d", r.code)
	}
}
