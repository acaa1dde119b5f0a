package detect

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

// TestLazyDFAAssertions checks the DFA against Go's regexp on patterns
// built to exercise what CRS's own patterns may not: case folding to
// non-ASCII runes (K, ſ), word and line assertions, flags switched off
// inside the pattern, empty patterns and NUL bytes.
func TestLazyDFAAssertions(t *testing.T) {
	pats := []string{``, `^`, `$`, `^$`, `\A`, `\z`, `\b`, `\B`, `^\B$`, `(?i)k`, `(?i)\x{212A}`, `(?i)[\x{212A}]x`,
		`(?i)ſ`, `(?i)s$`, `(?i)[k-s]+\b`, `(?-s:a.b)`, `(?-m:^a$)`, `(?-m)a$`, `(?U)a+?b`, `\x00`, `[^\n]z`,
		`\bx\B`, `(?m:$)\n`, `a\b\n`, `(?i)\bSELECT\b`, `[[:^alpha:]]q`, `\pLx`, `\PL{2}$`, `(?:a|\b)c`, `x*`,
		`(?i)é|k`, `_\b`, `\b_`, `(?m)^\s*$`, `a{2,4}?\z`}
	r := rand.New(rand.NewPCG(9, 10))
	const alphabet = "aAkKsSxXqQbBcCzZ_0 \n\t\x00-."
	for _, p := range pats {
		re := regexp.MustCompile("(?sm)" + p)
		d := newLazyDFA(re)
		if d == nil {
			t.Fatalf("no DFA for %s", p)
		}
		for range 3000 {
			b := make([]byte, r.IntN(12))
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			if got, want := d.MatchString(string(b)), re.MatchString(string(b)); got != want {
				t.Fatalf("%s on %q: DFA %v, regexp %v", p, b, got, want)
			}
		}
	}
}
