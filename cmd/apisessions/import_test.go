package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

// listSessions runs sessions list --json and decodes its lines.
func listSessions(t *testing.T, args ...string) []apisessions.Session {
	t.Helper()
	out := mustCLI(t, append([]string{"sessions", "list", "--json"}, args...)...)
	var ss []apisessions.Session
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var s apisessions.Session
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		ss = append(ss, s)
	}
	return ss
}

func TestImportAndSessionsCLI(t *testing.T) {
	data := t.TempDir()
	// Retention is relative to now; the traffic is of a fixed day, so keep it.
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	base, err := os.ReadFile("testdata/e2e/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append([]byte("retention: 87600h\n"), base...), 0o600); err != nil {
		t.Fatal(err)
	}
	r := execCLI(t, "", nil, "import", "--config", cfg, "--data", data, "testdata/e2e/traffic.jsonl")
	if r.code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "traffic.jsonl: 6: skipped") {
		t.Errorf("the broken line is not reported with its number:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "read 8 exchanges: stored 8, already stored 0, out of scope 0, too old 0, malformed 1; 2 attacks; 4 session day parts touched") {
		t.Errorf("summary:\n%s", r.stdout)
	}

	all := listSessions(t, "--data", data)
	if len(all) != 4 {
		t.Fatalf("%d sessions, want 4: %+v", len(all), all)
	}
	// Newest first.
	for i := 1; i < len(all); i++ {
		if all[i].LastSeen.After(all[i-1].LastSeen) {
			t.Errorf("not newest first: %v after %v", all[i].LastSeen, all[i-1].LastSeen)
		}
	}
	byUser := map[string]apisessions.Session{}
	for _, s := range all {
		byUser[s.User] = s
	}
	alice, ok := byUser["alice"]
	if !ok {
		t.Fatalf("no session of alice: %+v", all)
	}
	// The login had no cookie: its Set-Cookie put it in the session the
	// cookie opens.
	if alice.RequestCount != 3 || alice.Role != "admin" || alice.Key.Point != "response.cookie.session" && alice.Key.Point != "request.cookie.session" {
		t.Errorf("alice: %d requests, role %q, key %+v", alice.RequestCount, alice.Role, alice.Key)
	}
	if alice.Key.Value == "c00kie-alice-4f9a1e" || strings.Contains(alice.Key.Value, "c00kie") {
		t.Errorf("a built-in cookie key is exported raw: %q", alice.Key.Value)
	}
	if !hasName(alice.Flows, "Checkout") || !hasName(alice.Flows, "Auth") {
		t.Errorf("alice flows %+v, want Auth and Checkout", alice.Flows)
	}

	attacks := listSessions(t, "--data", data, "--attacks")
	if len(attacks) != 1 || attacks[0].AttackCount != 2 || attacks[0].RequestCount != 2 {
		t.Fatalf("--attacks: %+v", attacks)
	}
	if got := listSessions(t, "--data", data, "--user", "alice"); len(got) != 1 || got[0].ID != alice.ID {
		t.Errorf("--user alice: %+v", got)
	}
	if got := listSessions(t, "--data", data, "--request", "r-005"); len(got) != 1 || got[0].RequestCount != 2 {
		t.Errorf("--request r-005 (bob, two tokens of one sid): %+v", got)
	}
	if got := listSessions(t, "--data", data, "--limit", "2"); len(got) != 2 {
		t.Errorf("--limit 2 gave %d", len(got))
	}

	// show: the attacker's session with findings in our point grammar.
	out := mustCLI(t, "sessions", "show", attacks[0].ID, "--data", data, "--json")
	var show struct {
		apisessions.Session
		Requests []apisessions.Record `json:"requests"`
	}
	if err := json.Unmarshal([]byte(out), &show); err != nil {
		t.Fatalf("show --json: %v\n%s", err, out)
	}
	if show.ID != attacks[0].ID || len(show.Requests) != 2 {
		t.Fatalf("show: %+v", show)
	}
	types := map[apisessions.AttackType]string{}
	for _, rq := range show.Requests {
		if strings.Contains(rq.Path, "?") {
			t.Errorf("path carries the query: %q", rq.Path)
		}
		for _, f := range rq.Findings {
			types[f.Type] = f.Point
		}
		if rq.Content == nil {
			t.Errorf("request %s is malicious but its content was not kept", rq.ID)
		}
	}
	if types[apisessions.AttackSQLi] != "request.query.q" || types[apisessions.AttackXSS] != "request.query.q" {
		t.Errorf("finding types and points: %v", types)
	}
	// The table form names the session too, also given the 16 digits the
	// list table shows.
	for _, id := range []string{attacks[0].ID, attacks[0].ID[:16]} {
		if txt := mustCLI(t, "sessions", "show", "--data", data, id); !strings.Contains(txt, attacks[0].ID) || !strings.Contains(txt, "sqli") {
			t.Errorf("show %s, table:\n%s", id, txt)
		}
	}
	if r := execCLI(t, "", nil, "sessions", "show", "--data", data, "ffffffffffffffff"); r.code != 1 || !strings.Contains(r.stderr, "no session") {
		t.Errorf("show of an unknown prefix: exit %d %s", r.code, r.stderr)
	}
	if txt := mustCLI(t, "sessions", "list", "--data", data); !strings.Contains(txt, "alice") || !strings.Contains(txt, "SESSION") {
		t.Errorf("list table:\n%s", txt)
	}

	// Importing the same file again changes nothing.
	r = execCLI(t, "", nil, "import", "--config", cfg, "--data", data, "testdata/e2e/traffic.jsonl")
	if r.code != 0 || !strings.Contains(r.stdout, "stored 0, already stored 8") {
		t.Errorf("re-import: exit %d\n%s", r.code, r.stdout)
	}
	again := listSessions(t, "--data", data)
	if len(again) != 4 || again[0].RequestCount != all[0].RequestCount {
		t.Errorf("re-import changed the sessions: %+v", again)
	}

	// No raw secret of the traffic reaches the data directory.
	secrets := []string{"alice-Secret-Pw1", "c00kie-alice-4f9a1e", "evil-c00kie-77", "alice@example.com", "sid-bob-1"}
	filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds the raw secret %q", path, s)
			}
		}
		return nil
	})
}

func TestImportUsage(t *testing.T) {
	data := t.TempDir()
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"import", "--data", data}, 2, "no traffic file given"},
		{[]string{"import", "--data", data, "--detect", "maybe", "testdata/e2e/traffic.jsonl"}, 2, "--detect must be full, fast or off"},
		{[]string{"import", "--data", data, "testdata/e2e/missing.jsonl"}, 1, "missing.jsonl"},
		{[]string{"sessions", "list", "--data", filepath.Join(data, "none")}, 1, "no store in"},
		{[]string{"sessions", "list", "--data", data, "--from", "yesterday"}, 2, "is not a time"},
		{[]string{"sessions", "show", "--data", data}, 2, "want a session ID"},
		{[]string{"sessions", "frobnicate"}, 2, "unknown subcommand"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := execCLI(t, "", nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d with %q", r.code, r.stderr, tt.code, tt.msg)
			}
		})
	}
}

func hasName(cs []apisessions.NameCount, name string) bool {
	for _, c := range cs {
		if c.Name == name {
			return true
		}
	}
	return false
}

func TestImportStartShiftsTimes(t *testing.T) {
	data := t.TempDir()
	// The traffic is of 2026-11-20; --start moves its first exchange to an
	// hour ago, inside the default 7-day retention whatever today is.
	out := mustCLI(t, "import", "--data", data, "--detect", "off", "--start", "1h", "testdata/e2e/traffic.jsonl")
	if !strings.Contains(out, "stored 8") || !strings.Contains(out, "too old 0") {
		t.Fatalf("summary: %s", out)
	}
	ss := listSessions(t, "--data", data)
	if len(ss) == 0 {
		t.Fatal("no sessions")
	}
	var first, last time.Time
	for _, s := range ss {
		if first.IsZero() || s.FirstSeen.Before(first) {
			first = s.FirstSeen
		}
		if s.LastSeen.After(last) {
			last = s.LastSeen
		}
	}
	if d := time.Since(first); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("first exchange %v ago, want an hour", d)
	}
	// The traffic spans three hours: the spacing is kept.
	if got := last.Sub(first); got != 3*time.Hour+2*time.Second {
		t.Errorf("span %v, want 3h0m2s", got)
	}
}

// importLine is a good JSON line of the import tests: request i of the
// session cookie sid, at t (no time when t is zero).
func importLine(i int, sid string, t time.Time) string {
	ts := ""
	if !t.IsZero() {
		ts = `"time": "` + t.Format(time.RFC3339Nano) + `", `
	}
	return fmt.Sprintf(`{"id": "r-%d", %s"client_ip": "203.0.113.7", "request": {"method": "GET", `+
		`"url": "https://shop.example.com/api/items/%d", "headers": [["Cookie", "session=%s"]]}, "response": {"status": 200}}`, i, ts, i, sid)
}

// TestImportReportsBadLinesInOrder imports a file of many chunks with bad
// lines spread through it: decoded on several workers, they are still
// reported in file order with their line numbers, and counted.
func TestImportReportsBadLinesInOrder(t *testing.T) {
	now := time.Now().UTC().Add(-time.Hour)
	var b strings.Builder
	var wantErr []string
	good, lineNo := 0, 0
	bad := []struct{ line, msg string }{
		{`{"request": `, "JSON breaks off"},
		{`{"request": {"method": "GE T", "url": "/"}}`, "request.method is not an HTTP token"},
		{`{"id": "x"}`, "request missing"},
	}
	for i := range 3 * chunkLines * 4 {
		lineNo++
		switch {
		case i%97 == 5:
			bl := bad[i%len(bad)]
			b.WriteString(bl.line + "\n")
			wantErr = append(wantErr, fmt.Sprintf("%d: skipped: %s", lineNo, bl.msg))
		case i%101 == 3:
			b.WriteString("\n") // blank: neither read nor bad
		default:
			b.WriteString(importLine(i, fmt.Sprint("s", i%7), now.Add(time.Duration(i)*time.Millisecond)) + "\n")
			good++
		}
	}
	file := filepath.Join(t.TempDir(), "traffic.jsonl")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path, stdin, prefix string
	}{
		{"file", file, "", file + ": "},
		{"stdin", "-", b.String(), "-: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := execCLI(t, tt.stdin, nil, "import", "--dry-run", "--detect", "off", "--data", t.TempDir(), tt.path)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			var got []string
			for l := range strings.Lines(r.stderr) {
				got = append(got, strings.TrimPrefix(strings.TrimSuffix(l, "\n"), tt.prefix))
			}
			if !slices.Equal(got, wantErr) {
				t.Errorf("reports:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantErr, "\n"))
			}
			want := fmt.Sprintf("read %d exchanges: stored %d, already stored 0, out of scope 0, too old 0, malformed %d;", good, good, len(wantErr))
			if !strings.Contains(r.stdout, want) {
				t.Errorf("summary %q, want %q", r.stdout, want)
			}
		})
	}
}

// TestImportStartAfterUntimedLines has more lines without a time than a
// chunk holds before the first with one: those take the current time, and
// the first timed line still sets the --start shift for all after it.
func TestImportStartAfterUntimedLines(t *testing.T) {
	var b strings.Builder
	for i := range chunkLines + 50 {
		b.WriteString(importLine(i, "untimed", time.Time{}) + "\n")
	}
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for i := range 10 {
		b.WriteString(importLine(1000+i, "timed", t0.Add(time.Duration(i)*time.Second)) + "\n")
	}
	data := t.TempDir()
	out := execCLI(t, b.String(), nil, "import", "--detect", "off", "--data", data, "--start", "2h", "-")
	if out.code != 0 || !strings.Contains(out.stdout, "stored 316") {
		t.Fatalf("exit %d\n%s\n%s", out.code, out.stdout, out.stderr)
	}
	ss := listSessions(t, "--data", data)
	if len(ss) != 2 {
		t.Fatalf("%d sessions, want 2: %+v", len(ss), ss)
	}
	for _, s := range ss {
		switch s.RequestCount {
		case chunkLines + 50: // untimed: read now
			if d := time.Since(s.FirstSeen); d < 0 || d > time.Minute {
				t.Errorf("untimed exchanges at %v, %v ago; want now", s.FirstSeen, d)
			}
		case 10:
			if d := time.Since(s.FirstSeen); d < 119*time.Minute || d > 121*time.Minute {
				t.Errorf("first timed exchange %v ago, want 2h", d)
			}
			if got := s.LastSeen.Sub(s.FirstSeen); got != 9*time.Second {
				t.Errorf("timed span %v, want 9s", got)
			}
		default:
			t.Errorf("session of %d requests", s.RequestCount)
		}
	}
}

func TestImportDryRunWritesNothing(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	out := mustCLI(t, "import", "--dry-run", "--detect", "off", "--data", data, "--start", "1h", "testdata/e2e/traffic.jsonl")
	if !strings.Contains(out, "read 8 exchanges: stored 8") {
		t.Errorf("summary: %s", out)
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a dry run created %s (%v)", data, err)
	}
}
