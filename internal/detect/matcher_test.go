package detect

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// naiveOccurrences lists, for every end position in s, the rules of the
// patterns that end there, as the automaton must report them.
func naiveOccurrences(patterns []string, rules [][]int32, s string) map[int][]int32 {
	occ := map[int][]int32{}
	for pi, p := range patterns {
		for i := 0; i+len(p) <= len(s); i++ {
			if s[i:i+len(p)] == p {
				for _, r := range rules[pi] {
					if !slices.Contains(occ[i+len(p)], r) {
						occ[i+len(p)] = append(occ[i+len(p)], r)
					}
				}
			}
		}
	}
	return occ
}

// scanOccurrences runs the automaton over s and lists what it reports by
// end position. The callback is not told the position: a report at the
// last byte of a prefix is one more report than its shorter prefix had.
func scanOccurrences(m *acMatcher, s string) map[int][]int32 {
	count := func(prefix string) (n int, last []int32) {
		vs := valueSet{buf: []byte(prefix), ends: []int{len(prefix)}}
		m.scan(&vs, func(_ int, rules []int32) { n++; last = rules })
		return n, last
	}
	occ := map[int][]int32{}
	prev := 0
	for end := 1; end <= len(s); end++ {
		n, last := count(s[:end])
		if n > prev {
			for _, r := range last {
				if !slices.Contains(occ[end], r) {
					occ[end] = append(occ[end], r)
				}
			}
		}
		prev = n
	}
	return occ
}

func sameOccurrences(a, b map[int][]int32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y := slices.Clone(b[k])
		x = slices.Clone(x)
		slices.Sort(x)
		slices.Sort(y)
		if !slices.Equal(x, y) {
			return false
		}
	}
	return true
}

var matcherPatterns = []string{"A", "AB", "BC", "ABCD", "CD", "SELECT", "ELECT", "UNION", "/ETC/PASSWD", "ETC", "<SCRIPT", "SCR", "\x00", "É"}

func matcherRules() [][]int32 {
	rules := make([][]int32, len(matcherPatterns))
	for i := range rules {
		rules[i] = []int32{int32(i), int32(100 + i%3)}
	}
	return rules
}

// TestACMatcher checks the automaton against a naive search: every
// occurrence of every pattern, overlapping ones included, with its rules.
func TestACMatcher(t *testing.T) {
	rules := matcherRules()
	m := newACMatcher(matcherPatterns, rules)
	// Each value is scanned from the start state: "BC" spans two values.
	vs := valueSet{buf: []byte("XABCDY"), ends: []int{3, 6}}
	var seen []int
	m.scan(&vs, func(vi int, rules []int32) {
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
	for _, in := range inputs {
		want := naiveOccurrences(matcherPatterns, rules, in)
		got := scanOccurrences(m, in)
		if !sameOccurrences(want, got) {
			t.Fatalf("%q: automaton %v, naive %v", in, got, want)
		}
	}
}

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
		if want, got := naiveOccurrences(matcherPatterns, rules, in), scanOccurrences(m, in); !sameOccurrences(want, got) {
			t.Fatalf("%q: automaton %v, naive %v", in, got, want)
		}
	})
}
