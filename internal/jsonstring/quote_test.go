package jsonstring

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apisessions/apisessions/internal/cputime"
)

var quoteCases = []struct {
	name, in, want string
}{
	{"empty", "", `""`},
	{"plain", "abc /?x=1", `"abc /?x=1"`},
	{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
	{"short escapes", "\b\f\n\r\t", `"\b\f\n\r\t"`},
	{"other control bytes", "\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f\""},
	{"HTML stays", "<a href='x'>&</a>", `"<a href='x'>&</a>"`},
	{"multibyte", "café 中 😀", `"café 中 😀"`},
	{"line and paragraph separators", "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
	{"invalid byte", "a\xffb", `"a\ufffdb"`},
	{"each invalid byte", "\xff\xfe", `"\ufffd\ufffd"`},
	{"truncated rune at the end", "é\xc3", `"é\ufffd"`},
	{"encoded surrogate", "\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
	{"overlong encoding", "\xc0\xaf", `"\ufffd\ufffd"`},
	{"escapes between runs", "ab\ncd\"ef", `"ab\ncd\"ef"`},
}

func TestAppendQuote(t *testing.T) {
	for _, tt := range quoteCases {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendQuote([]byte("x"), tt.in)); got != "x"+tt.want {
				t.Errorf("AppendQuote(%q) = %s, want %s", tt.in, got[1:], tt.want)
			}
			if got := string(AppendQuote(nil, []byte(tt.in))); got != tt.want {
				t.Errorf("AppendQuote([]byte(%q)) = %s, want %s", tt.in, got, tt.want)
			}
			checkQuote(t, tt.in)
		})
	}
}

// FuzzAppendQuote checks that any string quotes to one valid JSON string,
// written as encoding/json writes it without HTML escaping, that decodes
// back to the input with each invalid byte as U+FFFD, and that the reading
// side (Append) reads it back the same way.
func FuzzAppendQuote(f *testing.F) {
	for _, tt := range quoteCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkQuote(t, s)
	})
}

func checkQuote(t *testing.T, s string) {
	t.Helper()
	out := AppendQuote(nil, s)
	if !json.Valid(out) {
		t.Fatalf("AppendQuote(%q) = %s: not valid JSON", s, out)
	}
	want := replaceInvalid(s)
	var dec string
	if err := json.Unmarshal(out, &dec); err != nil {
		t.Fatalf("AppendQuote(%q) = %s: %v", s, out, err)
	}
	if dec != want {
		t.Errorf("AppendQuote(%q) = %s decodes to %q, want %q", s, out, dec, want)
	}
	var std bytes.Buffer
	enc := json.NewEncoder(&std)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	if got, std := string(out), strings.TrimSuffix(std.String(), "\n"); got != std {
		t.Errorf("AppendQuote(%q) = %s, encoding/json writes %s", s, got, std)
	}
	back, end, p := Append(nil, out, 0)
	if p != OK || end != len(out) || string(back) != want {
		t.Errorf("Append(%s) = %q, %d, %v; want %q, %d, ok", out, back, end, p, want, len(out))
	}
	if bytes.ContainsAny(out, "\n\r") || !utf8.Valid(out) {
		t.Errorf("AppendQuote(%q) = %q: a line break or invalid UTF-8", s, out)
	}
}

// replaceInvalid replaces each byte of s that is not part of valid UTF-8
// with U+FFFD, as encoding/json does.
func replaceInvalid(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// BenchmarkAppendQuote quotes the values of a typical exchange: method, URL,
// user agent, a JSON body, text with multibyte runes and escapes. One op is
// the whole set.
func BenchmarkAppendQuote(b *testing.B) {
	in := []string{
		"GET", "https://shop.example.com/api/products/7791?q=red%20shoes",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15",
		`{"username":"alice","password":"s3cret","note":"leave at the door"}`,
		"café crème — 中文 😀", "line\nbreak\tand \"quotes\"",
	}
	n := 0
	for _, s := range in {
		n += len(s)
	}
	b.SetBytes(int64(n))
	var dst []byte
	cpu0 := cputime.Process()
	for b.Loop() {
		for _, s := range in {
			dst = AppendQuote(dst[:0], s)
		}
	}
	if cpu := cputime.Process() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
