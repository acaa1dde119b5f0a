package detect

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Literal atoms: for a regular expression, sets of strings such that every
// match contains at least one string of each set (an AND of ORs, the
// technique of trigram code search and RE2's FilteredRE2, on whole
// literals). Strings are case-folded with foldString, so they are checked
// against folded input.

const (
	// maxExact bounds the exact-string sets tracked per node; past it the
	// node's exact set is forgotten, which only makes the filter weaker.
	maxExact = 64
	// maxExactLen bounds the length of tracked exact strings.
	maxExactLen = 64
	// maxClass is the largest character class expanded into single
	// characters; a larger class requires nothing.
	maxClass = 40
	// maxClauses bounds the sets kept per node (and per rule): the most
	// selective ones.
	maxClauses = 3
)

// litInfo summarises a regexp node. exact (when hasExact) is every string
// the node can match; clauses are sets one string of each of which every
// match contains, the most selective first. An empty exact set means the
// node never matches.
type litInfo struct {
	exact    []string
	hasExact bool
	clauses  [][]string
}

// regexClauses returns up to maxClauses atom sets of a Go (RE2) pattern,
// the most selective first: every match contains a string of each. ok is
// false when the pattern requires no literal (or uses raw bytes, which
// Coraza matches with a binary matcher this analysis does not model).
func regexClauses(pattern string) ([][]string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false
	}
	if hasByteRunes(re) {
		return nil, false
	}
	// Simplify spells counted repeats out (x{2,3} is xx(x)?), which gives
	// longer literals than the repeat's own.
	cl := necessary(analyze(re.Simplify()))
	return cl, len(cl) > 0
}

// hasByteRunes reports runes in 0x80-0xFF: Coraza compiles such patterns
// with a byte-level matcher.
func hasByteRunes(re *syntax.Regexp) bool {
	for _, r := range re.Rune {
		if r >= 0x80 && r <= 0xFF {
			return true
		}
	}
	for _, s := range re.Sub {
		if hasByteRunes(s) {
			return true
		}
	}
	return false
}

func analyze(re *syntax.Regexp) litInfo {
	switch re.Op {
	case syntax.OpNoMatch:
		return litInfo{exact: []string{}, hasExact: true}
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return litInfo{exact: []string{""}, hasExact: true}
	case syntax.OpLiteral:
		return litInfo{exact: []string{foldString(string(re.Rune))}, hasExact: true}
	case syntax.OpCharClass:
		return classInfo(re)
	case syntax.OpCapture:
		return analyze(re.Sub[0])
	case syntax.OpQuest:
		c := analyze(re.Sub[0])
		if c.hasExact {
			return litInfo{exact: union(c.exact, []string{""}), hasExact: true}
		}
		return litInfo{}
	case syntax.OpStar:
		return litInfo{}
	case syntax.OpPlus:
		return litInfo{clauses: necessary(analyze(re.Sub[0]))}
	case syntax.OpRepeat:
		c := analyze(re.Sub[0])
		if re.Min == 0 {
			if re.Max == 1 && c.hasExact {
				return litInfo{exact: union(c.exact, []string{""}), hasExact: true}
			}
			return litInfo{}
		}
		info := litInfo{clauses: necessary(c)}
		if c.hasExact && re.Min == re.Max && re.Min <= 4 {
			e := []string{""}
			for i := 0; i < re.Min && e != nil; i++ {
				e = cross(e, c.exact)
			}
			if e != nil {
				info.exact, info.hasExact = e, true
			}
		}
		return info
	case syntax.OpAlternate:
		// A match matches one branch, so it holds a string of the k-th set
		// of that branch: the union over branches of each one's k-th set
		// (its last when it has fewer) is a set of the alternation.
		var info litInfo
		allExact, allClauses := true, true
		var ex []string
		subs := make([][][]string, len(re.Sub))
		for i, s := range re.Sub {
			c := analyze(s)
			if allExact && c.hasExact {
				ex = union(ex, c.exact)
				if len(ex) > maxExact {
					allExact = false
				}
			} else {
				allExact = false
			}
			subs[i] = necessary(c)
			if len(subs[i]) == 0 {
				allClauses = false
			}
		}
		if allExact {
			info.exact, info.hasExact = ex, true
		}
		if allClauses {
			var cands [][]string
			for k := range maxClauses {
				var u []string
				for _, n := range subs {
					u = union(u, n[min(k, len(n)-1)])
				}
				cands = append(cands, u)
			}
			// The k-th sets of the branches may mix words of one branch
			// with punctuation of another (941160: '<' or "on", then a
			// letter or '='). Each branch's first set of punctuation
			// atoms, where it has one, make a set text rarely holds.
			var u []string
			for _, n := range subs {
				i := slices.IndexFunc(n, punctSet)
				u = union(u, n[max(i, 0)])
			}
			cands = append(cands, u)
			info.clauses = selectClauses(cands)
		}
		return info
	case syntax.OpConcat:
		subs := make([]litInfo, len(re.Sub))
		for i, s := range re.Sub {
			subs[i] = analyze(s)
		}
		var info litInfo
		var cands [][]string
		// Runs of children with exact sets give longer literals.
		for i := 0; i < len(subs); {
			if !subs[i].hasExact {
				i++
				continue
			}
			e := []string{""}
			j := i
			for ; j < len(subs) && subs[j].hasExact; j++ {
				n := cross(e, subs[j].exact)
				if n == nil {
					// Too large: close this run and start a new one here.
					break
				}
				e = n
			}
			if j == i {
				// The single child is too large to cross with "": cannot happen,
				// but never loop forever.
				j = i + 1
			} else if i == 0 && j == len(subs) {
				info.exact, info.hasExact = e, true
			}
			cands = append(cands, necessary(litInfo{exact: e, hasExact: true})...)
			i = j
		}
		for _, c := range subs {
			cands = append(cands, necessary(c)...)
		}
		info.clauses = selectClauses(cands)
		return info
	}
	// AnyChar, AnyCharNotNL and anything unknown require nothing.
	return litInfo{}
}

// classInfo expands a small character class into its folded characters.
func classInfo(re *syntax.Regexp) litInfo {
	n := 0
	for i := 0; i+1 < len(re.Rune); i += 2 {
		n += int(re.Rune[i+1]-re.Rune[i]) + 1
		if n > maxClass {
			return litInfo{}
		}
	}
	var ex []string
	for i := 0; i+1 < len(re.Rune); i += 2 {
		for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
			s := foldString(string(r))
			if !slices.Contains(ex, s) {
				ex = append(ex, s)
			}
		}
	}
	if ex == nil {
		ex = []string{}
	}
	return litInfo{exact: ex, hasExact: true}
}

// necessary returns the sets of a node, the most selective first: its
// exact set when it cannot match the empty string, and its clauses.
func necessary(c litInfo) [][]string {
	cands := c.clauses
	if c.hasExact && !slices.Contains(c.exact, "") {
		cands = append([][]string{c.exact}, cands...)
	}
	return selectClauses(cands)
}

// selectClauses orders sets by selectivity and keeps up to maxClauses of
// them, leaving out repeats and a set implied by one kept before it (each
// string of which contains one of its strings).
func selectClauses(cands [][]string) [][]string {
	cands = slices.Clone(cands)
	slices.SortStableFunc(cands, func(a, b []string) int {
		switch {
		case better(a, b):
			return -1
		case better(b, a):
			return 1
		}
		return 0
	})
	var out [][]string
	for _, c := range cands {
		if !slices.ContainsFunc(out, func(k []string) bool { return implies(k, c) }) {
			out = append(out, c)
			if len(out) == maxClauses {
				break
			}
		}
	}
	return out
}

// implies reports whether every string of a contains a string of b: an
// input with a string of a then has one of b.
func implies(a, b []string) bool {
	for _, x := range a {
		if !slices.ContainsFunc(b, func(y string) bool { return strings.Contains(x, y) }) {
			return false
		}
	}
	return true
}

// better reports whether atom set a filters better than b: an empty set
// (never matches) beats all; then the longer shortest atom, then a set
// without an atom ordinary text is full of (commonAtom), then fewer atoms.
func better(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == 0 && len(b) != 0
	}
	ma, mb := minLen(a), minLen(b)
	if ma != mb {
		return ma > mb
	}
	if ca, cb := slices.ContainsFunc(a, commonAtom), slices.ContainsFunc(b, commonAtom); ca != cb {
		return cb
	}
	return len(a) < len(b)
}

// commonAtom reports an atom that ordinary text is full of: a letter, a
// digit, a space or the punctuation of prose and identifiers. A rule's
// first atom set is always kept, but a further set with such an atom would
// have the scan report at most bytes of most values, for little filtering.
// (On the API mix, leaving out sets with / ? : ! @ + as well made 12% more
// rule decisions on benign requests.)
func commonAtom(a string) bool {
	return len(a) == 1 && (a[0] >= 'A' && a[0] <= 'Z' || a[0] >= '0' && a[0] <= '9' || strings.IndexByte(whitespace+".,-_'\"", a[0]) >= 0)
}

// punctSet reports a set each atom of which holds a byte that is not a
// letter, a digit or a space.
func punctSet(atoms []string) bool {
	return !slices.ContainsFunc(atoms, func(a string) bool {
		return !strings.ContainsFunc(a, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsSpace(r)
		})
	})
}

func minLen(xs []string) int {
	m := -1
	for _, x := range xs {
		if m < 0 || len(x) < m {
			m = len(x)
		}
	}
	return m
}

// cross is every concatenation of a string of a with one of b, or nil when
// that is too many or too long.
func cross(a, b []string) []string {
	if len(a)*len(b) > maxExact {
		return nil
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			if len(x)+len(y) > maxExactLen {
				return nil
			}
			s := x + y
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, y := range b {
		if !slices.Contains(out, y) {
			out = append(out, y)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// foldString maps s to a case-folding canonical form: every rune becomes the
// smallest rune of its Unicode simple-folding orbit (so 'k', 'K' and the
// Kelvin sign all become 'K'), and invalid UTF-8 bytes become U+FFFD, as Go's
// regexp reads them. Two strings that a (?i) Go regexp literal equates fold
// to the same string, so a folded atom is found in any folded input the
// regexp could match.
func foldString(s string) string {
	return string(appendFold(make([]byte, 0, len(s)), s))
}

// appendFold appends the folded form of s to b.
func appendFold(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			for _, r := range s[i:] {
				if r == utf8.RuneError {
					// An invalid byte (base64Decode output is full of
					// them); U+FFFD folds to itself.
					b = append(b, "\uFFFD"...)
					continue
				}
				b = utf8.AppendRune(b, foldRune(r))
			}
			return b
		}
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

func foldRune(r rune) rune {
	if r < 0x80 {
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m {
			m = f
		}
	}
	return m
}

// foldSafe reports whether the case transformations the screen leaves out
// of its chains (scanChain) cannot change what a folded scan of s finds:
// s is valid UTF-8 and lowercasing or uppercasing any of its runes keeps
// it in its folding orbit. ASCII always does; İ (U+0130), which
// t:lowercase turns into i, does not.
func foldSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x80 {
			continue
		}
		if !utf8.ValidString(s[i:]) {
			return false
		}
		for _, r := range s[i:] {
			if r >= 0x80 {
				f := foldRune(r)
				if foldRune(unicode.ToLower(r)) != f || foldRune(unicode.ToUpper(r)) != f {
					return false
				}
			}
		}
		return true
	}
	return true
}
