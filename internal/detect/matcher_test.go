package detect

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// naiveRules lists the rules of the patterns that occur in s.
func naiveRules(patterns []string, rules [][]int32, s string) []int32 {
	var out []int32
	for pi, p := range patterns {
		if strings.Contains(s, p) {
			out = append(out, rules[pi]...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// scanRules lists the rules the automaton reports on s, and how many
// reports it made.
func scanRules(m *acMatcher, marks *acMarks, s string) (rules []int32, reports int) {
	vs := valueSet{buf: []byte(s), ends: []int{len(s)}}
	m.scan(&vs, marks, func(_ int, rs []int32) {
		reports++
		rules = append(rules, rs...)
	})
	slices.Sort(rules)
	return slices.Compact(rules), reports
}

var matcherPatterns = []string{"A", "AB", "BC", "ABCD", "CD", "SELECT", "ELECT", "UNION", "/ETC/PASSWD", "ETC", "<SCRIPT", "SCR", "\x00", "É"}

func matcherRules() [][]int32 {
	rules := make([][]int32, len(matcherPatterns))
	for i := range rules {
		rules[i] = []int32{int32(i), int32(100 + i%3)}
	}
	return rules
}

// TestACMatcher checks the automaton against a naive search: the rules of
// every pattern in a value, overlapping ones included, each state's rules
// reported once a value.
func TestACMatcher(t *testing.T) {
	rules := matcherRules()
	m := newACMatcher(matcherPatterns, rules)
	// Each value is scanned from the start state: "BC" spans two values.
	vs := valueSet{buf: []byte("XABCDY"), ends: []int{3, 6}}
	var seen []int
	m.scan(&vs, &acMarks{}, func(vi int, rules []int32) {
		for _, r := range rules {
			if r < 100 {
				seen = append(seen, vi*100+int(r))
			}
		}
	})
	slices.Sort(seen)
	if want := []int{0, 1, 104}; !slices.Equal(seen, want) { // A, AB in "XAB"; CD in "CDY"
		t.Errorf("two values: reports %v, want %v", seen, want)
	}
	inputs := []string{"", "A", "ABCD", "XABCDX", "SELECT UNION", "ELECTSELECT", "CAT /ETC/PASSWD;", "<SCRIPT>", "\x00AB\x00", "ÉÉA", "AAAA"}
	rnd := rand.New(rand.NewPCG(1, 2))
	alphabet := "ABCDELSTUNIO/<>P\x00É "
	for range 300 {
		var b strings.Builder
		for range rnd.IntN(40) {
			b.WriteByte(alphabet[rnd.IntN(len(alphabet))])
		}
		inputs = append(inputs, b.String())
	}
	// One set of marks across scans, as a scratch reuses them.
	marks := &acMarks{}
	for _, in := range inputs {
		want := naiveRules(matcherPatterns, rules, in)
		if got := must(scanRules(m, marks, in)); !slices.Equal(want, got) {
			t.Fatalf("%q: automaton %v, naive %v", in, got, want)
		}
	}
	// "AAAA" reaches the state of A four times: one report.
	if _, n := scanRules(m, marks, "AAAA"); n != 1 {
		t.Errorf("AAAA: %d reports, want 1", n)
	}
	// The marks start over when their generation wraps.
	marks.gen = ^uint32(0) - 1
	for _, in := range inputs[:20] {
		if want, got := naiveRules(matcherPatterns, rules, in), must(scanRules(m, marks, in)); !slices.Equal(want, got) {
			t.Fatalf("%q after the wrap: automaton %v, naive %v", in, got, want)
		}
	}
}

func must[T any](v T, _ int) T { return v }

func FuzzACMatcher(f *testing.F) {
	for _, s := range []string{"ABCD", "SELECT UNION", "/ETC/PASSWD", "É\x00"} {
		f.Add(s)
	}
	rules := matcherRules()
	m := newACMatcher(matcherPatterns, rules)
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 256 {
			in = in[:256]
		}
		if want, got := naiveRules(matcherPatterns, rules, in), must(scanRules(m, &acMarks{}, in)); !slices.Equal(want, got) {
			t.Fatalf("%q: automaton %v, naive %v", in, got, want)
		}
	})
}
