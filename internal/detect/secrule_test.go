package detect

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var secRuleCases = []struct {
	name, raw string
	want      secRule
	ok        bool
}{
	{"rx", `SecRule ARGS|REQUEST_HEADERS:User-Agent "@rx (?i)a\"b" "id:1,phase:2,t:none,t:lowercase,t:urlDecodeUni,msg:'x, y',multiMatch"`,
		secRule{variables: []string{"ARGS", "REQUEST_HEADERS"}, keys: []string{"", "User-Agent"}, operator: "rx", argument: `(?i)a"b`, phase: 2, transform: []string{"lowercase", "urlDecodeUni"}, multi: true}, true},
	{"negated", `SecRule REQUEST_LINE "!@rx ^GET" "id:2,phase:1,block"`,
		secRule{variables: []string{"REQUEST_LINE"}, keys: []string{""}, negated: true, operator: "rx", argument: "^GET", phase: 1}, true},
	{"count and exclusion", `SecRule &ARGS|!ARGS:foo|REQUEST_COOKIES:/^x/ "@gt 0" "id:3,skip:1"`,
		secRule{variables: []string{"REQUEST_COOKIES"}, keys: []string{""}, counts: true, operator: "gt", argument: "0", phase: 2, skip: 1}, true},
	{"implicit rx", `SecRule ARGS "foo" "id:4"`,
		secRule{variables: []string{"ARGS"}, keys: []string{""}, operator: "rx", argument: "foo", phase: 2}, true},
	{"marker", `SecMarker "END"`, secRule{}, false},
	{"unterminated", `SecRule ARGS "@rx a`, secRule{}, false},
	{"bad phase", `SecRule ARGS "@rx a" "phase:9"`, secRule{}, false},
}

func TestParseSecRule(t *testing.T) {
	for _, c := range secRuleCases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := parseSecRule(c.raw)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if !ok {
				return
			}
			if !slices.Equal(got.variables, c.want.variables) || !slices.Equal(got.keys, c.want.keys) ||
				got.operator != c.want.operator || got.argument != c.want.argument || got.negated != c.want.negated ||
				got.counts != c.want.counts || got.phase != c.want.phase || !slices.Equal(got.transform, c.want.transform) ||
				got.multi != c.want.multi || got.skip != c.want.skip {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func FuzzParseSecRule(f *testing.F) {
	for _, c := range secRuleCases {
		f.Add(c.raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, ok := parseSecRule(raw)
		if ok && len(r.variables) != len(r.keys) {
			t.Fatalf("%d variables, %d keys", len(r.variables), len(r.keys))
		}
	})
}

var atomCases = []struct {
	pattern string
	want    []string // nil: no atoms
}{
	{`(?i)union\s+select`, []string{"SELECT"}},
	{`sleep\s*\(`, []string{"SLEEP"}},
	{`(?:foo|bar)baz`, []string{"FOOBAZ", "BARBAZ"}},
	{`<script`, []string{"<SCRIPT"}},
	{`[ab]c`, []string{"AC", "BC"}},
	{`.*`, nil},
	{`a?`, nil},
	{`\x{e9}t\x{e9}`, nil}, // raw bytes: Coraza's binary matcher
	{`k`, []string{"K"}},
}

func TestRegexAtoms(t *testing.T) {
	for _, c := range atomCases {
		t.Run(c.pattern, func(t *testing.T) {
			var got []string
			cl, ok := regexClauses(c.pattern)
			if ok {
				got = cl[0] // the most selective set
			}
			if c.want == nil {
				if ok {
					t.Fatalf("atoms %q, want none", got)
				}
				return
			}
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !ok || !slices.Equal(got, want) {
				t.Errorf("atoms %q (ok %v), want %q", got, ok, want)
			}
		})
	}
}

// clauseCases are patterns with the atom sets they must give, each
// necessary: every match holds a string of each set.
var clauseCases = []struct {
	pattern string
	want    [][]string
}{
	{`(?i)union\s+select`, [][]string{{"SELECT"}, {"UNION"}, {"\t", "\n", "\f", "\r", " "}}},
	{`(?i)\b(?:ascii|concat)\W*\(`, [][]string{{"ASCII", "CONCAT"}, {"("}}},
	{`[/\\](?:\.|%2e){2}[/\\]`, [][]string{{ // the literals spelt out imply every other set
		"/../", "/..\\", "/.%2E/", "/.%2E\\", "/%2E./", "/%2E.\\", "/%2E%2E/", "/%2E%2E\\",
		"\\../", "\\..\\", "\\.%2E/", "\\.%2E\\", "\\%2E./", "\\%2E.\\", "\\%2E%2E/", "\\%2E%2E\\"}}},
	{`[/\\](?:\.|%2e)+[/\\]`, [][]string{{"/", "\\"}, {".", "%2E"}}},
	{`(?:a\d+b|c\d+d)`, [][]string{{"A", "C"}, {"B", "D"}, {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}},
	{`abc`, [][]string{{"ABC"}}}, // A, B and C are implied by ABC
	// Each branch's punctuation set: '<' of the first, '=' of the second.
	{`(?i)<\w*[sv]|[\s/]on[a-z]+\s*=`, [][]string{{"<", "="}, {"<", "\tON", "\nON", "\fON", "\rON", " ON", "/ON"}, {"S", "V", "="}}},
}

func TestRegexClauses(t *testing.T) {
	for _, c := range clauseCases {
		got, ok := regexClauses(c.pattern)
		if !ok {
			t.Errorf("%q: no atoms", c.pattern)
			continue
		}
		norm := func(cl [][]string) [][]string {
			out := make([][]string, len(cl))
			for i, set := range cl {
				out[i] = slices.Sorted(slices.Values(set))
			}
			slices.SortFunc(out, func(a, b []string) int { return slices.Compare(a, b) })
			return out
		}
		if g, w := norm(got), norm(c.want); !slices.EqualFunc(g, w, slices.Equal) {
			t.Errorf("%q: sets %q, want %q", c.pattern, got, c.want)
		}
	}
}

// FuzzRegexAtoms checks the soundness of the atoms: whenever the pattern
// matches an input, the folded input contains an atom of each set.
func FuzzRegexAtoms(f *testing.F) {
	for _, c := range atomCases {
		f.Add(c.pattern, "xx union  select 1 sleep( <ScRiPt")
	}
	for _, c := range clauseCases {
		f.Add(c.pattern, "x union\tselect ascii (/%2E./ a12b")
	}
	f.Add(`(?i)(?:a|b)+c{2}`, "ABACC")
	f.Fuzz(func(t *testing.T, pattern, input string) {
		re, err := regexp.Compile("(?sm)" + pattern)
		if err != nil {
			return
		}
		clauses, ok := regexClauses(pattern)
		if !ok || !re.MatchString(input) {
			return
		}
		folded := foldString(input)
		for _, atoms := range clauses {
			if !slices.ContainsFunc(atoms, func(a string) bool { return strings.Contains(folded, a) }) {
				t.Fatalf("pattern %q matches %q but no atom of %q is in it", pattern, input, atoms)
			}
		}
	})
}

// FuzzAppendFold checks appendFold, which folds both the atoms and the
// scanned values, against folding rune by rune, invalid bytes included.
func FuzzAppendFold(f *testing.F) {
	for _, s := range []string{"", "abc", "ſK", "İi", "M\xfcller", "\xff\xfe\xef\xbf\xbd", "Ǆ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := []byte("x")
		for _, r := range s { // invalid bytes arrive as utf8.RuneError
			want = utf8.AppendRune(want, foldRune(r))
		}
		if got := appendFold([]byte("x"), s); string(got) != string(want) {
			t.Fatalf("appendFold(%q) = %q, want %q", s, got, want)
		}
	})
}
