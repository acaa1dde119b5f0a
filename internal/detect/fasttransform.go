package detect

import (
	"strings"
	"unicode/utf8"

	"github.com/apisessions/apisessions/internal/detect/crstransform"
)

// transformFunc returns the transformation named as in t:name, as the fast
// path runs it: Coraza's own (crstransform), or for a few that the fast
// path calls on most values, an equivalent that returns sooner when the
// value is left as it is (TestFastTransforms, FuzzFastTransforms).
func transformFunc(name string) (crstransform.Func, bool) {
	f, ok := crstransform.Get(name)
	if !ok {
		return nil, false
	}
	switch name {
	case "normalisePath", "normalizePath":
		return func(v string) (string, bool, error) {
			// filepath.Clean changes a value with no '/' only if it is
			// "." (which normalisePath makes empty).
			if strings.IndexByte(v, '/') < 0 && v != "." {
				return v, false, nil
			}
			return f(v)
		}, true
	case "normalisePathWin", "normalizePathWin":
		return func(v string) (string, bool, error) {
			// Past normalizePath, Coraza's strips a stream suffix (from
			// ':') and trailing dots and spaces: a value without '/', '\\'
			// or ':' that ends in neither, and is not ".", is left alone.
			if v == "" || v == "." || strings.ContainsAny(v, "/\\:") {
				return f(v)
			}
			if last := v[len(v)-1]; last == '.' || last == ' ' {
				return f(v)
			}
			return v, false, nil
		}, true
	case "removeWhitespace":
		return func(v string) (string, bool, error) {
			// Coraza's maps every rune through unicode.IsSpace (and rewrites
			// invalid UTF-8); on an ASCII value, white space is six bytes.
			spaces := 0
			for i := 0; i < len(v); i++ {
				c := v[i]
				if c >= utf8.RuneSelf {
					return f(v)
				}
				if asciiSpace(c) {
					spaces++
				}
			}
			if spaces == 0 {
				return v, false, nil
			}
			out := make([]byte, 0, len(v)-spaces)
			for i := 0; i < len(v); i++ {
				if c := v[i]; !asciiSpace(c) {
					out = append(out, c)
				}
			}
			return crstransform.WrapUnsafe(out), true, nil
		}, true
	case "utf8toUnicode":
		return func(v string) (string, bool, error) {
			// Coraza's looks for a rune at or past utf8.RuneSelf, decoding
			// each; a byte test finds the same first one.
			if !isASCII(v) {
				return f(v)
			}
			return v, false, nil
		}, true
	}
	return f, true
}

// asciiSpace reports whether c is an ASCII byte unicode.IsSpace accepts.
func asciiSpace(c byte) bool {
	return c == ' ' || '\t' <= c && c <= '\r'
}
