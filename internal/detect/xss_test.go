package detect

import (
	"testing"

	"github.com/corazawaf/libinjection-go"
)

// xssSeeds are inputs libinjection flags and does not, with and without
// the bytes isXSS requires.
var xssSeeds = []string{
	"<script>alert(1)</script>", "x onerror=alert(1)", "javascript:alert(1)", "\"><img src=x>", "' style=x:expression(1)",
	"<!DOCTYPE html>", "<!--[if IE]>", "<?import x>", "`", "onerror", "hello world", "a=b", "x' onload='y", "\x00<\x00script",
	"Great product, arrived on time", "<a href=javascript:alert(1)>", "x href=javascript:alert(1)", "x\tstyle\t=\tx",
}

func TestIsXSS(t *testing.T) {
	checkShortCut(t, "isXSS", xssSeeds, isXSS, libinjection.IsXSS)
}

// checkShortCut fails where a libinjection short cut (name, got) answers
// otherwise than libinjection (want) on a seed, or when libinjection flags
// fewer than 5 seeds.
func checkShortCut(t *testing.T, name string, seeds []string, got, want func(string) bool) {
	t.Helper()
	flagged := 0
	for _, s := range seeds {
		w := want(s)
		if g := got(s); g != w {
			t.Errorf("%q: %s %v, libinjection %v", s, name, g, w)
		}
		if w {
			flagged++
		}
	}
	if flagged < 5 {
		t.Errorf("libinjection flags only %d seeds", flagged)
	}
}

// FuzzIsXSS checks that skipping libinjection on values without '<' and
// '=' never changes its answer.
func FuzzIsXSS(f *testing.F) {
	for _, s := range xssSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isXSS(s), libinjection.IsXSS(s); got != want {
			t.Fatalf("%q: isXSS %v, libinjection %v", s, got, want)
		}
	})
}
