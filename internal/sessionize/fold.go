package sessionize

import (
	"bytes"
	"strings"
)

// Protected values are found in other text regardless of ASCII case: a host
// is written in any case, a hex token reads the same upper or lower case,
// and masking more than the exact bytes hides nothing that should stay.
// Lower-casing ASCII only keeps byte positions, so a match in the lowered
// text is replaced at the same place in the original.

// appendLower appends s with ASCII letters lowered.
func appendLower(dst []byte, s string) []byte {
	n := len(dst)
	dst = append(dst, s...)
	for i := n; i < len(dst); i++ {
		if c := dst[i]; c >= 'A' && c <= 'Z' {
			dst[i] = c + 'a' - 'A'
		}
	}
	return dst
}

// equalFoldASCII reports whether a and b are equal ignoring ASCII case.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] && lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// containsFold reports whether s holds sub, ignoring ASCII case.
func containsFold(s, sub string) bool {
	return indexFold(s, sub, 0) >= 0
}

// indexFold returns the first index at or after from where s holds sub,
// ignoring ASCII case, or -1.
func indexFold(s, sub string, from int) int {
	n := len(sub)
	if n == 0 {
		return from
	}
	// Candidates start with the first byte in either case: found with
	// IndexByte (fast), each kept until passed, so the walk stays linear.
	lo := lowerASCII(sub[0])
	up := lo
	if lo >= 'a' && lo <= 'z' {
		up = lo - 'a' + 'A'
	}
	next := func(c byte, i int) int {
		if k := strings.IndexByte(s[i:], c); k >= 0 {
			return i + k
		}
		return len(s)
	}
	nl, nu := next(lo, from), len(s)
	if up != lo {
		nu = next(up, from)
	}
	for {
		i := min(nl, nu)
		if i+n > len(s) {
			return -1
		}
		if equalFoldASCII(s[i:i+n], sub) {
			return i
		}
		if i == nl {
			nl = next(lo, i+1)
		} else {
			nu = next(up, i+1)
		}
	}
}

// replaceFold replaces in text every occurrence of lsub (lower-cased),
// ignoring ASCII case, with repl; lower is text lower-cased (appendLower).
func replaceFold(text string, lower, lsub []byte, repl string) string {
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for i := 0; ; {
		k := bytes.Index(lower[i:], lsub)
		if k < 0 {
			break
		}
		k += i
		b.WriteString(text[last:k])
		b.WriteString(repl)
		last = k + len(lsub)
		i = last
	}
	b.WriteString(text[last:])
	return b.String()
}

// replaceFoldString replaces in text every occurrence of sub, ignoring
// ASCII case, with repl.
func replaceFoldString(text, sub, repl string) string {
	if len(sub) == 0 {
		return text
	}
	var b strings.Builder
	last := 0
	for i := 0; ; {
		k := indexFold(text, sub, i)
		if k < 0 {
			break
		}
		b.WriteString(text[last:k])
		b.WriteString(repl)
		last = k + len(sub)
		i = last
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}
