package detect

import (
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apisessions/apisessions/internal/detect/crstransform"
)

// checkTriggers fails when a transformation changes an ASCII value that
// holds none of its triggers other than in letter case, or at all when it
// keeps case (caseKeeping): the screen skips such steps and scans such
// values for the chain's atoms as they are.
func checkTriggers(t *testing.T, v string) {
	t.Helper()
	if !isASCII(v) {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(triggers)) {
		if strings.ContainsAny(v, triggers[name]) {
			continue
		}
		f, ok := crstransform.Get(name)
		if !ok {
			t.Fatalf("%s: no such transformation", name)
		}
		out, changed, err := f(v)
		switch {
		case err != nil:
			t.Errorf("%s(%q): %v", name, v, err)
		case caseKeeping[name] && (out != v || changed):
			t.Errorf("%s(%q) = %q, %v: want it unchanged", name, v, out, changed)
		case !strings.EqualFold(out, v):
			t.Errorf("%s(%q) = %q: want it unchanged up to case", name, v, out)
		}
		if caseKeeping[name] != (actsOn(name) != nil) {
			t.Errorf("%s: caseKeeping %v but actsOn %v", name, caseKeeping[name], actsOn(name) != nil)
		}
	}
}

// triggerSeeds hold every byte some transformation acts on, and the
// sequences that decode.
var triggerSeeds = []string{
	"", "a", "a b", "a+b", "a%20b", "%u0041", "&amp;", "&#65;", "\\x41", "\\u0041", "\\41", "a\x00b", "a\tb\nc\rd\fe\vf",
	" a ", "/a/../b", "a\\b", "./a", "c:\\a", "a:b", "/*a*/", "a--b", "a#b", "<!--a-->", "a;b", "a,b", "a^b", "a(b", "'a'",
	"\"a\"", "ABC", "MiXeD", "a/b", "a.b", "http://x.test/a?b=c",
}

// TestTriggers checks the triggers on seeds and on random ASCII values.
func TestTriggers(t *testing.T) {
	for _, s := range triggerSeeds {
		checkTriggers(t, s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 0, 16)
	for range 20000 {
		b = b[:0]
		for range r.IntN(16) {
			b = append(b, byte(r.IntN(0x80)))
		}
		checkTriggers(t, string(b))
	}
}

// FuzzTriggers is TestTriggers's check on any value.
func FuzzTriggers(f *testing.F) {
	for _, s := range triggerSeeds {
		f.Add(s)
	}
	f.Fuzz(checkTriggers)
}
