package detect

import (
	"math/rand/v2"
	"testing"

	"github.com/apisessions/apisessions/internal/detect/crstransform"
)

// fastTransformNames are the transformations transformFunc replaces.
var fastTransformNames = []string{"normalisePath", "normalizePath", "normalisePathWin", "normalizePathWin", "removeWhitespace", "utf8toUnicode"}

// checkFastTransforms fails unless transformFunc's version of each
// transformation returns on v what Coraza's does.
func checkFastTransforms(t *testing.T, v string) {
	t.Helper()
	for _, name := range fastTransformNames {
		slow, ok := crstransform.Get(name)
		if !ok {
			t.Fatalf("%s: no such transformation", name)
		}
		fast, _ := transformFunc(name)
		out, changed, err := fast(v)
		wantOut, wantChanged, wantErr := slow(v)
		if out != wantOut || changed != wantChanged || (err == nil) != (wantErr == nil) {
			t.Errorf("%s(%q) = %q, %v, %v; Coraza's: %q, %v, %v", name, v, out, changed, err, wantOut, wantChanged, wantErr)
		}
	}
}

// fastTransformSeeds hold the values each short cut must not take.
var fastTransformSeeds = []string{
	"", ".", "..", "...", "a.", ".a", "a..b", "/", "//", "a/", "/a/./b/../c", "./", "a/.", "é", "a\xffb", "\xc3", "plain text", "1.5",
	"a ", "a. ", "c:", "c:x", "a:b", "x\\y", "..\\a", "a.b.", " ", "a b",
	"a\tb", "a\nb", "a\vb", "a\fb", "a\rb", "a\x1fb", "a\u0085b", "a\u00a0b", "a\u3000b", "a\x85b",
}

// TestFastTransforms checks transformFunc against Coraza's transformations
// on seeds, on random values of path bytes and some high ones, and on the
// values of the API mix.
func TestFastTransforms(t *testing.T) {
	for _, s := range append(fastTransformSeeds, triggerSeeds...) {
		checkFastTransforms(t, s)
	}
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("./\\a:b \t\n\v\f\r\x1c\x00\xc2\x85\xa0\xc3\xa9\xff")
	b := make([]byte, 0, 12)
	for range 50000 {
		b = b[:0]
		for range r.IntN(12) {
			b = append(b, alphabet[r.IntN(len(alphabet))])
		}
		checkFastTransforms(t, string(b))
	}
	exs, _ := newAPICorpus(7).mix(300)
	for _, ex := range exs {
		checkFastTransforms(t, ex.Request.URL)
		checkFastTransforms(t, string(ex.Request.Body))
		for _, h := range ex.Request.Headers {
			checkFastTransforms(t, h.Value)
		}
	}
}

// FuzzFastTransforms is TestFastTransforms's check on any value.
func FuzzFastTransforms(f *testing.F) {
	for _, s := range fastTransformSeeds {
		f.Add(s)
	}
	f.Fuzz(checkFastTransforms)
}
