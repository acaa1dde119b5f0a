package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The -update flag rewrites the golden files. It is registered in init, and
// only when no other test file of the package registered it first
// (package variables are initialised before init functions run).
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if updateGolden() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/apisessions -run Points -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// samplesDir holds the sample traffic, at the repository root.
const samplesDir = "../../testdata"

// pointSamples are the sample traffic files of the points command: one per
// case of issue 2, the cases together (all.jsonl) and a HAR file. Other
// files in samplesDir belong to other tests.
var pointSamples = []string{
	"login.jsonl", "form-post.jsonl", "multipart-upload.jsonl", "graphql.jsonl",
	"jwt-bearer.jsonl", "gzip-response.jsonl", "set-cookie.jsonl", "all.jsonl", "shop.har",
}

// TestPointsGolden lists the points of every sample traffic file with
// --json, running the command from the repository root exactly as the
// README shows it.
func TestPointsGolden(t *testing.T) {
	golden, err := filepath.Abs("testdata/points")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir("../..")
	for _, s := range pointSamples {
		file := filepath.Join("testdata", s)
		name := strings.TrimSuffix(s, filepath.Ext(s))
		t.Run(name, func(t *testing.T) {
			args := []string{"points", "--json", file}
			if strings.HasSuffix(file, ".har") {
				args = append(args, "--client-ip", "203.0.113.9")
			}
			stdout, stderr, code := runCommand(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if strings.Contains(stderr, "skipped") || strings.Contains(stderr, "limit") {
				t.Errorf("sample has problems: %s", stderr)
			}
			checkGolden(t, filepath.Join(golden, name+".golden"), stdout)
			checkJSONRows(t, stdout)
		})
	}
	t.Run("table", func(t *testing.T) {
		// What a newcomer types first.
		stdout, stderr, code := runCommand(t, "", "points", "testdata/login.jsonl")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if want := "testdata/login.jsonl: 1 exchange, "; !strings.HasPrefix(stderr, want) {
			t.Errorf("stderr %q, want a summary starting %q", stderr, want)
		}
		checkGolden(t, filepath.Join(golden, "login.table.golden"), stdout)
	})
}

// checkJSONRows checks that every line is one object with exactly the
// three documented keys.
func checkJSONRows(t *testing.T, out string) {
	t.Helper()
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		for _, k := range []string{"exchange", "point", "value"} {
			if _, ok := row[k].(string); !ok || len(row) != 3 {
				t.Fatalf("line %d: %s: want string fields exchange, point, value", i+1, line)
			}
		}
	}
}

// TestSamplesCombined checks that all.jsonl is the case files together, so
// that it stays in step when a case changes.
func TestSamplesCombined(t *testing.T) {
	all, err := os.ReadFile(filepath.Join(samplesDir, "all.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range pointSamples {
		if c == "all.jsonl" || !strings.HasSuffix(c, ".jsonl") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(samplesDir, c))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(all, b) {
			t.Errorf("all.jsonl does not hold %s", c)
		}
		n += bytes.Count(b, []byte("\n"))
	}
	if got := bytes.Count(all, []byte("\n")); got != n || n < 7 {
		t.Errorf("all.jsonl has %d lines, the case files %d", got, n)
	}
}

type pointRowT struct{ Exchange, Point, Value string }

func parseRows(t *testing.T, out string) []pointRowT {
	t.Helper()
	var rows []pointRowT
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r pointRowT
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		rows = append(rows, r)
	}
	return rows
}

// TestPointsOnePoint checks --point against the full listing: for every
// point listed, evaluating it alone gives back the listed value, first.
func TestPointsOnePoint(t *testing.T) {
	file := filepath.Join(samplesDir, "all.jsonl")
	stdout, stderr, code := runCommand(t, "", "points", "--json", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	all := parseRows(t, stdout)
	if len(all) < 100 {
		t.Fatalf("only %d points listed", len(all))
	}
	byPoint := map[string][]pointRowT{}
	for _, r := range all {
		byPoint[r.Point] = append(byPoint[r.Point], r)
	}
	for p, listed := range byPoint {
		stdout, stderr, code := runCommand(t, "", "points", file, "--json", "--point", p)
		if code != 0 {
			t.Fatalf("--point %s: exit %d: %s", p, code, stderr)
		}
		got := parseRows(t, stdout)
		firsts := map[string]string{}
		for _, r := range got {
			if r.Point != p {
				t.Fatalf("--point %s printed point %s", p, r.Point)
			}
			if _, ok := firsts[r.Exchange]; !ok {
				firsts[r.Exchange] = r.Value
			}
		}
		for _, l := range listed {
			if firsts[l.Exchange] != l.Value {
				t.Errorf("--point %s on %s: first value %q, listed %q", p, l.Exchange, firsts[l.Exchange], l.Value)
			}
		}
	}
}

func TestPointsInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := `{"request": {"method": "GET", "url": "/a?x=1"}}`
	mixed := write("mixed.jsonl", good+"\n{\"request\": \n"+good+"\n")
	allBad := write("bad.jsonl", "not json\nnor this\n")
	har := `{"log": {"entries": [{"request": {"method": "GET", "url": "https://h/b"}, "response": {"status": 204}}]}}`
	badHAR := write("bad.har", `{"log": {"entries": [{"request": {"method": "GET", "url": "/1"}}, {"request": {"method": "GET"}}, {"request": {"method": "GET", "url": "/3"}}]}}`)
	// A body past the point package's 1 MiB parse limit.
	big := write("big.jsonl", `{"id": "big", "request": {"method": "POST", "url": "/", "headers": [["Content-Type", "application/json"]], "body": "{\"a\": \"`+
		strings.Repeat("x", 2<<20)+`\"}"}}`+"\n")
	tests := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantOut    []string // substrings of stdout
		wantErr    []string // substrings of stderr
		notWantOut []string
	}{
		{
			name:     "bad line reported, the rest read, ids from line numbers",
			args:     []string{"points", "--json", mixed},
			wantOut:  []string{`{"exchange":"1","point":"request.query.x","value":"1"}`, `{"exchange":"3","point":"request.query.x","value":"1"}`},
			wantErr:  []string{"mixed.jsonl: line 2: JSON breaks off (skipped)", "2 exchanges, ", "1 bad line skipped"},
			wantCode: 0,
		},
		{
			name:     "nothing readable",
			args:     []string{"points", allBad},
			wantErr:  []string{"line 1: invalid JSON", "line 2: invalid JSON", "0 exchanges, 0 points, 2 bad lines skipped", "no exchange could be read"},
			wantCode: 1,
		},
		{
			name:     "HAR on stdin with flags after the file",
			stdin:    har,
			args:     []string{"points", "-", "--format", "har", "--json", "--client-ip", "2001:db8::7"},
			wantOut:  []string{`{"exchange":"1","point":"request.ip","value":"2001:db8::7"}`, `"point":"response.status","value":"204"`},
			wantCode: 0,
		},
		{
			name:       "one point",
			args:       []string{"points", "--point", "request.query.x", mixed},
			wantOut:    []string{"EXCHANGE", "request.query.x"},
			notWantOut: []string{"request.method"},
			wantCode:   0,
		},
		{
			name:     "bad point names the column",
			args:     []string{"points", "--point", "request.body|jsn.user", mixed},
			wantErr:  []string{"--point request.body|jsn.user: column 14: "},
			wantCode: 2,
		},
		{
			name:     "bad HAR entry reported by number",
			args:     []string{"points", "--json", badHAR},
			wantOut:  []string{`{"exchange":"1","point":"request.path","value":"/1"}`, `{"exchange":"3","point":"request.path","value":"/3"}`},
			wantErr:  []string{"bad.har: entry 2: request.url missing (skipped)", "2 exchanges, ", "1 bad entry skipped"},
			wantCode: 0,
		},
		{
			name:     "limit hit",
			args:     []string{"points", "--json", big},
			wantOut:  []string{`"point":"request.method","value":"POST"`},
			wantErr:  []string{"big.jsonl: line 1: a limit was hit; points of this exchange are incomplete", "1 truncated at a limit"},
			wantCode: 0,
		},
		{"no file", "", []string{"points"}, 2, nil, []string{"want one FILE, got 0 arguments"}, nil},
		{"two files", "", []string{"points", mixed, mixed}, 2, nil, []string{"want one FILE, got 2 arguments"}, nil},
		{"bad format", "", []string{"points", "--format", "csv", mixed}, 2, nil, []string{"--format csv: want jsonl or har"}, nil},
		{"bad client ip", "", []string{"points", "--client-ip", "laptop", mixed}, 2, nil, []string{"--client-ip laptop: not an IP address"}, nil},
		{"unknown flag", "", []string{"points", "--jsn", mixed}, 2, nil, []string{"flag provided but not defined: -jsn"}, nil},
		{"missing file", "", []string{"points", filepath.Join(dir, "nope.jsonl")}, 1, nil, []string{"no such file"}, nil},
		{"help", "", []string{"points", "-h"}, 0, nil, []string{"usage: apisessions points [flags] FILE", "-client-ip"}, nil},
		{"file after --", "", []string{"points", "--json", "--", mixed}, 0, []string{`"exchange":"3"`}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runCommand(t, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.notWantOut {
				if strings.Contains(stdout, w) {
					t.Errorf("stdout has %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestTableCell(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "alice", 60, "alice"},
		{"controls", "a\tb\nc\rd\x00e\x1b[31m\x7f", 60, `a\tb\nc\rd\x00e\x1b[31m\x7f`},
		{"backslash", `C:\temp`, 60, `C:\\temp`},
		{"bidi override and zero width", "user\u202Etxt.exe\u200B", 60, `user\u202etxt.exe\u200b`},
		{"invalid UTF-8", "ok\xff\xfe", 60, `ok\xff\xfe`},
		{"unicode kept", "Zoë 東京", 60, "Zoë 東京"},
		{"cut", strings.Repeat("x", 70), 60, strings.Repeat("x", 60) + "…(+10 bytes)"},
		{"cut counts bytes left", "0123456789" + "ééé", 10, "0123456789…(+6 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tableCell(tt.in, tt.max); got != tt.want {
				t.Errorf("tableCell(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzTableCell checks that no input gets a control or non-printing
// character, or an invalid byte, through to the terminal.
func FuzzTableCell(f *testing.F) {
	for _, s := range []string{"alice", "a\tb\n\x1b[2J", "user\u202Etxt", "ok\xff", strings.Repeat("é", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := tableCell(s, 60)
		if !utf8.ValidString(got) {
			t.Fatalf("tableCell(%q) = %q: invalid UTF-8", s, got)
		}
		for _, r := range got {
			if r != ' ' && !unicode.IsPrint(r) {
				t.Fatalf("tableCell(%q) = %q: has %U", s, got, r)
			}
		}
		// The last character may start past the width: at most an escape
		// of \u and six hex digits.
		if utf8.RuneCountInString(got) > 60+10+len("…(+99999999 bytes)") {
			t.Fatalf("tableCell(%q) is %d characters", s, utf8.RuneCountInString(got))
		}
	})
}

// TestPointsCancelled checks that an interrupt (a cancelled context) stops
// the command with an error instead of reading on.
func TestPointsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"points", filepath.Join(samplesDir, "all.jsonl")}, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "context canceled") || out.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 on context canceled and no output", code, out.String(), errOut.String())
	}
}
