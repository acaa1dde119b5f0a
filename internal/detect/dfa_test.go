package detect

import (
	"math/rand/v2"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/experimental"
	"github.com/corazawaf/coraza/v3/types"
)

// crsPatterns returns the @rx patterns of CRS's first links, compiled as
// Coraza compiles them.
func crsPatterns(tb testing.TB) []*regexp.Regexp {
	tb.Helper()
	o := DefaultOptions()
	o.ParanoiaLevel = 4
	var metas []types.RuleMetadata
	cfg := coraza.NewWAFConfig().WithRootFS(coreruleset.FS).WithDirectives(o.directivesFor())
	cfg = experimental.WAFConfigWithRuleObserver(cfg, func(r types.RuleMetadata) { metas = append(metas, r) })
	if _, err := coraza.NewWAF(cfg); err != nil {
		tb.Fatal(err)
	}
	var out []*regexp.Regexp
	for _, m := range metas {
		r, ok := parseSecRule(m.Raw())
		if !ok || r.operator != "rx" || strings.Contains(r.argument, "%{") {
			continue
		}
		re, err := regexp.Compile("(?sm)" + r.argument)
		if err != nil {
			continue // a byte pattern Coraza matches otherwise
		}
		out = append(out, re)
	}
	if len(out) < 100 {
		tb.Fatalf("only %d CRS patterns", len(out))
	}
	return out
}

// dfaInputs are values that exercise the assertions and the attack
// vocabularies, plus generated traffic and random bytes.
func dfaInputs() []string {
	in := []string{"", "\n", "a", " ", "\n\n", "a\nb", "^$", "a b", "_", "1' OR '1'='1", "<script>alert(1)</script>",
		"; cat /etc/passwd", "../../etc/passwd", "\nselect * from users\n", "union select", "javascript:alert(1)",
		"${jndi:ldap://x}", "eval(", "<?php", "sleep(5)", "a=1&b=2", "..;/", "\\x00", "&#x3c;", "%3Cscript%3E",
		"/bin/sh -c id", "cmd.exe /c dir", "file:///etc/passwd", "http://169.254.169.254/", "O:8:\"stdClass\"", "\r\n"}
	in = append(in, sqli...)
	in = append(in, xss...)
	in = append(in, rce...)
	in = append(in, trav...)
	g := newCorpus(3)
	for range 300 {
		in = append(in, g.value(), g.sentence(3+g.r.IntN(8)))
	}
	for _, ex := range g.mix(50) {
		in = append(in, ex.Request.URL, string(ex.Request.Body))
		if u, err := url.QueryUnescape(ex.Request.URL); err == nil {
			in = append(in, u)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "aAzZ09_ \n\t;|&$(){}[]<>'\"/\\.:=-+*%#!?@`~,^"
	for range 400 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		in = append(in, string(b))
	}
	return append(in, "é select", "\xff<script>")
}

// TestLazyDFA checks the DFA against Go's regexp on every CRS pattern.
func TestLazyDFA(t *testing.T) {
	pats := crsPatterns(t)
	inputs := dfaInputs()
	if testing.Short() || sampleEvery > 1 {
		inputs = inputs[:200]
	}
	matches := 0
	for _, re := range pats {
		d := newLazyDFA(re)
		if d == nil {
			t.Fatalf("no DFA for %s", re)
		}
		for round := range 2 { // cold, then through the cached states
			for _, s := range inputs {
				want := re.MatchString(s)
				if got := d.MatchString(s); got != want {
					t.Fatalf("round %d: %.80s on %q: DFA %v, regexp %v", round, re, s, got, want)
				}
				if want && round == 0 {
					matches++
				}
			}
		}
	}
	t.Logf("%d patterns x %d inputs, %d matches", len(pats), len(inputs), matches)
	if matches == 0 {
		t.Fatal("no input matched any pattern")
	}
}

// TestLazyDFAReset checks answers stay right when the state cache starts
// over.
func TestLazyDFAReset(t *testing.T) {
	re := regexp.MustCompile(`(?sm)a[a-z]{0,12}b$`)
	d := newLazyDFA(re)
	r := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		b := make([]byte, 1+r.IntN(30))
		for i := range b {
			b[i] = "abcxyz\n"[r.IntN(7)]
		}
		if got, want := d.MatchString(string(b)), re.MatchString(string(b)); got != want {
			t.Fatalf("%q: DFA %v, regexp %v", b, got, want)
		}
	}
	if d.resets.Load() == 0 {
		t.Fatal("the state cache never filled: the test does not cover resets")
	}
}

// TestLazyDFAConcurrentReset matches from several goroutines while the
// state cache fills and starts over: answers stay regexp's and the shared
// states are accessed without data races (run with -race).
func TestLazyDFAConcurrentReset(t *testing.T) {
	re := regexp.MustCompile(`(?sm)a[a-z]{0,12}b$`)
	d := newLazyDFA(re)
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range 3000 {
				b := make([]byte, 1+r.IntN(30))
				for i := range b {
					b[i] = "abcxyz\n"[r.IntN(7)]
				}
				if got, want := d.MatchString(string(b)), re.MatchString(string(b)); got != want {
					errs <- string(b)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Errorf("%q: DFA differs from regexp", s)
	}
	if d.resets.Load() == 0 {
		t.Fatal("the state cache never filled: the test does not cover resets")
	}
}

func FuzzLazyDFA(f *testing.F) {
	pats := []string{`(?i)\bunion\b.{1,100}?\bselect\b`, `^$`, `(?m)^abc$`, `\Bx\b`, `(?i)(?:^|=)\s*cat\s`, `a\z`, `(?:^|[/;\\])\.{2,3}[/;\\]`}
	for _, s := range []string{"", "union select", "abc\nabc", "ax x", "=cat /", "../"} {
		for i := range pats {
			f.Add(i, s)
		}
	}
	res := make([]*regexp.Regexp, len(pats))
	dfas := make([]*lazyDFA, len(pats))
	for i, p := range pats {
		res[i] = regexp.MustCompile("(?sm)" + p)
		dfas[i] = newLazyDFA(res[i])
	}
	f.Fuzz(func(t *testing.T, i int, s string) {
		if i < 0 {
			i = -i
		}
		i %= len(pats)
		if got, want := dfas[i].MatchString(s), res[i].MatchString(s); got != want {
			t.Fatalf("%s on %q: DFA %v, regexp %v", pats[i], s, got, want)
		}
	})
}
