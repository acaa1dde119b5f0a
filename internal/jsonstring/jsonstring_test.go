package jsonstring

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

var cases = []struct {
	name, in, want string
	end            int // index after the closing quote, or where it broke
	problem        Problem
}{
	{"plain", `"abc" tail`, "abc", 5, OK},
	{"empty", `""`, "", 2, OK},
	{"every short escape", `"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t", 18, OK},
	{"unicode", `"caf\u00e9 \u4E2D"`, "café 中", 18, OK},
	{"nul", `"\u0000"`, "\x00", 8, OK},
	{"surrogate pair", `"\ud83d\ude00"`, "😀", 14, OK},
	{"lone high surrogate", `"\ud83dx"`, "\uFFFDx", 9, OK},
	{"high surrogate then an escape", `"\ud83d\u0041"`, "\uFFFDA", 14, OK},
	{"lone low surrogate", `"\ude00"`, "\uFFFD", 8, OK},
	{"raw UTF-8", `"日本語"`, "日本語", 11, OK},
	{"invalid UTF-8 kept", "\"a\xffb\"", "a\xffb", 5, OK},
	{"control character", "\"a\x01\"", "a", 2, ControlChar},
	{"bad escape", `"a\x"`, "a", 2, BadEscape},
	{"short unicode escape", `"\u12"`, "", 1, BadUnicode},
	{"bad unicode digit", `"\u12g4"`, "", 1, BadUnicode},
	{"unterminated", `"abc`, "abc", 4, Unterminated},
	{"backslash at the end", `"abc\`, "abc", 5, Unterminated},
}

func TestAppend(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, end, p := Append([]byte("pre:"), tc.in, 0)
			if p != tc.problem || end != tc.end {
				t.Fatalf("Append = (%q, %d, %v), want end %d, %v", got, end, p, tc.end, tc.problem)
			}
			if p == OK && string(got) != "pre:"+tc.want {
				t.Errorf("value %q, want %q", got[4:], tc.want)
			}
			// The same from bytes, at an offset.
			got2, end2, p2 := Append(nil, []byte("xx"+tc.in), 2)
			if p2 != p || end2 != end+2 || (p == OK && string(got2) != tc.want) {
				t.Errorf("from bytes at 2: (%q, %d, %v)", got2, end2, p2)
			}
		})
	}
}

// FuzzAppend: on valid UTF-8, Append reads a literal exactly when
// encoding/json does, to the same value; on any input it never panics and
// ends inside the input.
func FuzzAppend(f *testing.F) {
	for _, tc := range cases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s := `"` + in
		got, end, p := Append(nil, s, 0)
		if end < 1 || end > len(s) {
			t.Fatalf("end %d outside the input (%d bytes)", end, len(s))
		}
		if !utf8.ValidString(s) {
			return // encoding/json replaces invalid bytes; Append keeps them
		}
		lit := s
		if p == OK {
			lit = s[:end]
		}
		var want string
		err := json.Unmarshal([]byte(lit), &want)
		switch {
		case p == OK && err != nil:
			t.Fatalf("Append read %q as %q; encoding/json: %v", lit, got, err)
		case p == OK && string(got) != want:
			t.Fatalf("Append read %q as %q, encoding/json as %q", lit, got, want)
		case p != OK && err == nil:
			t.Fatalf("Append refused %q (%v at %d), encoding/json read it as %q", lit, p, end, want)
		}
	})
}
