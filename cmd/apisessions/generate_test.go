package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGenerate(t *testing.T) {
	out, errOut, code := runCommand(t, "", "generate", "--exchanges", "300", "--sessions", "10", "--seed", "7",
		"--attacks", "0.05", "--start", "2026-11-20T23:30:00Z")
	if code != 0 {
		t.Fatalf("generate: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 300 {
		t.Fatalf("%d lines, want 300", len(lines))
	}
	var first, last struct {
		ID   string    `json:"id"`
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 23, 30, 0, 0, time.UTC)
	if first.Time.Before(start) || !last.Time.Before(start.Add(time.Hour)) || first.ID == "" {
		t.Errorf("first %+v, last %+v: want times in the hour from %s", first, last, start)
	}
	again, _, _ := runCommand(t, "", "generate", "--exchanges", "300", "--sessions", "10", "--seed", "7",
		"--attacks", "0.05", "--start", "2026-11-20T23:30:00Z")
	if again != out {
		t.Error("the same flags gave another file")
	}
}

func TestGenerateToFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.jsonl")
	out, errOut, code := runCommand(t, "", "generate", "--exchanges", "50", "--start", "2026-11-20", "-o", path)
	if code != 0 || out != "" {
		t.Fatalf("generate -o: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); n++ {
		if !json.Valid(sc.Bytes()) {
			t.Fatalf("line %d is not JSON: %s", n+1, sc.Bytes())
		}
	}
	if n != 50 {
		t.Errorf("%d lines, want 50", n)
	}
}

func TestGenerateDefaultStartIsRecent(t *testing.T) {
	out, errOut, code := runCommand(t, "", "generate", "--exchanges", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var ex struct {
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal([]byte(out), &ex); err != nil {
		t.Fatal(err)
	}
	if age := time.Since(ex.Time); age < 0 || age > 3*time.Hour {
		t.Errorf("first exchange at %s, want within the last hours (inside retention)", ex.Time)
	}
}

func TestGenerateBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--sessions", "0"}, "sessions must be at least 1, not 0"},
		{[]string{"--attacks", "2"}, "attack ratio must be 0 to 1, not 2"},
		{[]string{"--exchanges", "-5"}, "exchanges must not be negative, not -5"},
		{[]string{"--start", "yesterday"}, `--start: bad time "yesterday"`},
		{[]string{"--duration", "0s"}, "duration must be positive, not 0s"},
		{[]string{"extra"}, `unexpected arguments ["extra"]`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := runCommand(t, "", append([]string{"generate"}, tt.args...)...)
			if code != 2 || out != "" || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stdout %d bytes, stderr %q; want exit 2 and %q", code, len(out), errOut, tt.want)
			}
		})
	}
}

// TestExampleConfigGroupsDemoTraffic imports generated traffic with
// examples/config.yaml and checks that the configuration does what it says:
// every logged-in user's requests, login included, form one session (the
// login response's sid, the cookie and the bearer token's sid are one
// value), and no session mixes two users.
func TestExampleConfigGroupsDemoTraffic(t *testing.T) {
	dir := t.TempDir()
	traffic := filepath.Join(dir, "traffic.jsonl")
	mustCLI(t, "generate", "--exchanges", "1500", "--sessions", "30", "--attacks", "0", "--seed", "3", "-o", traffic)
	data := filepath.Join(dir, "data")
	mustCLI(t, "import", "--config", filepath.Join("..", "..", "examples", "config.yaml"), "--data", data, "--detect", "off", traffic)
	out := mustCLI(t, "sessions", "list", "--data", data, "--limit", "0", "--json")

	sessionsOf := map[string]map[string]bool{} // user -> session IDs
	requests := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var s struct {
			ID           string `json:"id"`
			RequestCount int    `json:"request_count"`
			Users        []struct{ Name string }
			Statuses     []struct{ Status int }
		}
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatal(err)
		}
		requests += s.RequestCount
		if failedLogins(s.Statuses) {
			continue // a wrong password gets no token: its own IP + User-Agent session
		}
		if len(s.Users) > 1 {
			t.Errorf("session %s mixes users %v", s.ID, s.Users)
		}
		for _, u := range s.Users {
			if sessionsOf[u.Name] == nil {
				sessionsOf[u.Name] = map[string]bool{}
			}
			sessionsOf[u.Name][s.ID] = true
		}
	}
	if requests != 1500 {
		t.Errorf("sessions hold %d requests, want all 1500", requests)
	}
	if len(sessionsOf) < 15 {
		t.Errorf("%d logged-in users, want most of the 30 sessions", len(sessionsOf))
	}
	for u, ids := range sessionsOf {
		if len(ids) != 1 {
			t.Errorf("user %s split over %d sessions", u, len(ids))
		}
	}
}

// failedLogins reports whether every response of a session was a 401.
func failedLogins(statuses []struct{ Status int }) bool {
	for _, s := range statuses {
		if s.Status != 401 {
			return false
		}
	}
	return len(statuses) > 0
}
