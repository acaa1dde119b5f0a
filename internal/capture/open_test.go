package capture

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	jsonl := `{"id": "j1", "request": {"method": "GET", "url": "/"}}` + "\n"
	har := harFile(`{"request": {"method": "GET", "url": "/h"}}`)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		format  string
		stdin   string
		wantURL string // of the first exchange; "" when Open fails
		wantErr string
	}{
		{"jsonl by extension", write("a.jsonl", jsonl), "", "", "/", ""},
		{"ndjson by extension", write("a.NDJSON", jsonl), "", "", "/", ""},
		{"har by extension", write("a.har", har), "", "", "/h", ""},
		{".json holding JSON lines", write("a.json", jsonl), "", "", "/", ""},
		{".json holding HAR", write("b.json", har), "", "", "/h", ""},
		{"unknown extension sniffed", write("capture.txt", "\xEF\xBB\xBF\n  "+har), "", "", "/h", ""},
		{"format given wins", write("c.har", jsonl), "jsonl", "", "/", ""},
		{"stdin", "-", "", jsonl, "/", ""},
		{"stdin HAR", "-", "", har, "/h", ""},
		{"bad format", write("d.jsonl", jsonl), "csv", "", "", `invalid: unknown format "csv" (want jsonl or har)`},
		{"missing file", filepath.Join(dir, "nope.jsonl"), "", "", "", "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := DefaultOptions()
			opts.Stdin = strings.NewReader(tt.stdin)
			r, c, err := Open(tt.path, tt.format, opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ex, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if ex.Request.URL != tt.wantURL {
				t.Errorf("url %q, want %q", ex.Request.URL, tt.wantURL)
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("second Next: %v, want EOF", err)
			}
		})
	}
}
