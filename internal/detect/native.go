package detect

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apisessions/apisessions/internal/detect/crstransform"
	"github.com/corazawaf/coraza/v3/collection"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"
	"github.com/corazawaf/coraza/v3/types/variables"
	"rsc.io/binaryregexp"
)

// Natively decided rules. Many rules the atom screen cannot skip (negated
// operators, counts, byte ranges, patterns without literals such as ^$)
// read only request variables with constant operators. For those the hook
// evaluates the first link as Coraza would, on the transaction's own
// collections, and skips the rule when no value matches. Rule exclusions
// (!VAR:key) are ignored, which can only make the hook see more values and
// keep the rule; counts are decided only in rules without exclusions.

// nativeVariables are the collections a natively decided rule may read:
// fixed when the phase starts, and read by Coraza through FindAll and
// FindString.
var nativeVariables = map[string]bool{
	"ARGS": true, "ARGS_GET": true, "ARGS_POST": true, "ARGS_NAMES": true, "ARGS_GET_NAMES": true,
	"ARGS_POST_NAMES": true, "REQUEST_HEADERS": true, "REQUEST_HEADERS_NAMES": true,
	"REQUEST_COOKIES": true, "REQUEST_COOKIES_NAMES": true, "REQUEST_URI": true,
	"REQUEST_URI_RAW": true, "REQUEST_LINE": true, "REQUEST_FILENAME": true,
	"REQUEST_BASENAME": true, "REQUEST_METHOD": true, "REQUEST_PROTOCOL": true,
	"QUERY_STRING": true, "FILES": true, "FILES_NAMES": true, "REQUEST_BODY": true,
	// XML is read only when empty (no XML body); a rule reading an XML
	// value is kept (XPath keys are not evaluated here).
	"XML": true,
}

type nativeRule struct {
	id, phase int
	targets   []nativeTarget
	full      []crstransform.Func
	multi     bool
	negated   bool
	// op is the operator, before negation.
	op func(string) bool
	// need is a necessary condition for op to match some form of a
	// value: the value holds a byte of each set (none when empty).
	need []*[256]bool
}

type nativeTarget struct {
	variable variables.RuleVariable
	key      string // "" for the whole collection
	count    bool
	// name is the variable's name, and single says it is one of the
	// singleVariables: what the pre-decision's view asks on every request.
	name   string
	single bool
}

// newNativeTarget returns the target of v under key.
func newNativeTarget(v variables.RuleVariable, key string, count bool) nativeTarget {
	return nativeTarget{variable: v, key: key, count: count, name: v.Name(), single: singleVariables[v.Name()]}
}

// newNativeRule returns the native form of a rule, ok=false when the rule
// cannot be decided natively.
func newNativeRule(id int, r secRule) (*nativeRule, bool) {
	return newNativeRuleOver(id, r, nativeVariables)
}

// newNativeRuleOver is newNativeRule for rules reading only the allowed
// collections.
func newNativeRuleOver(id int, r secRule, allowed map[string]bool) (*nativeRule, bool) {
	if r.phase < 1 || r.phase > 2 || strings.Contains(r.argument, "%{") {
		return nil, false
	}
	n := &nativeRule{id: id, phase: r.phase, multi: r.multi, negated: r.negated}
	for i, name := range r.variables {
		if !allowed[name] {
			return nil, false
		}
		v, err := variables.Parse(name)
		if err != nil {
			return nil, false
		}
		// A regex or XPath key was read as "" (all keys): a superset.
		n.targets = append(n.targets, newNativeTarget(v, r.keys[i], false))
	}
	for i, name := range r.countVars {
		key := r.countKeys[i]
		if !allowed[name] || len(r.negations) > 0 || strings.HasPrefix(key, "/") {
			return nil, false
		}
		v, err := variables.Parse(name)
		if err != nil {
			return nil, false
		}
		n.targets = append(n.targets, newNativeTarget(v, key, true))
	}
	if len(n.targets) == 0 {
		return nil, false
	}
	full, err := chainFuncs(r.transform)
	if err != nil {
		return nil, false
	}
	n.full = full
	op, ok := nativeOperator(r.operator, r.argument)
	if !ok {
		return nil, false
	}
	n.op = op
	n.need = operatorNeeds(r)
	return n, true
}

// operatorNeeds returns byte sets the rule's operator needs a byte of each
// of in a value, before the transformations, to match any form of it (for
// @validateByteRange, a byte out of its ranges). When
// the value is ASCII and holds no trigger of the chain's transformations,
// each of them leaves it unchanged up to letter case (see triggers), so the
// operator sees the value up to case: it then needs the first byte, in
// either case, of some atom of each of its atom sets, or for a byte
// pattern whose every match holds a byte over 0x7f, a non-ASCII value.
// Each set therefore holds the chain's triggers and every byte over 0x7f.
// Nil when the chain has a transformation that may change any value, or
// the operator needs no literal.
func operatorNeeds(r secRule) []*[256]bool {
	triggered, ok := triggerSet(r.transform)
	if !ok {
		return nil
	}
	base := *triggered
	if r.operator == "validateByteRange" {
		// It matches a value holding a byte out of its ranges; letter
		// case may change a byte into its other case.
		valid, err := byteRanges(r.argument)
		if err != nil {
			return nil
		}
		set := base
		for c := range 256 {
			if !valid[c] {
				addBothCases(&set, byte(c))
			}
		}
		return []*[256]bool{&set}
	}
	var clauses [][]string
	if r.operator == "rx" && matchesArbitraryBytes(r.argument) {
		// A byte pattern: regexClauses refuses it, since its runes over
		// 0x7f are bytes. Its atoms still hold for their ASCII bytes, and
		// the sets hold every other byte.
		tree, err := syntax.Parse(r.argument, syntax.Perl)
		if err != nil {
			return nil
		}
		if needsHighByte(tree) {
			return []*[256]bool{&base}
		}
		clauses = necessary(analyze(tree.Simplify()))
	} else {
		var ok bool
		var err error
		if clauses, ok, err = operatorAtoms(r); !ok || err != nil {
			return nil
		}
	}
	var need []*[256]bool
	for _, atoms := range clauses {
		if slices.Contains(atoms, "") {
			continue // every value holds the empty atom
		}
		set := base
		for _, a := range atoms {
			addBothCases(&set, a[0])
		}
		need = append(need, &set)
	}
	return need
}

// addBothCases adds c to set, and its other case when it is an ASCII
// letter.
func addBothCases(set *[256]bool, c byte) {
	set[c] = true
	if l := c | 0x20; l >= 'a' && l <= 'z' {
		set[l], set[l&^0x20] = true, true
	}
}

// mayMatch reports whether the value holds a byte of each of n.need.
func (n *nativeRule) mayMatch(v string) bool {
	for _, set := range n.need {
		if !hasByteIn(v, set) {
			return false
		}
	}
	return true
}

// nativeOperator returns Coraza's operator as a function, for the
// operators whose code was read for this (internal/operators).
func nativeOperator(name, arg string) (op func(string) bool, ok bool) {
	switch name {
	case "rx":
		// Coraza compiles a pattern whose \x escapes spell bytes that are
		// not UTF-8 for a byte matcher, without (?sm); any other with (?sm)
		// for Go's regexp. The same choice gives the same answer on every
		// value.
		if matchesArbitraryBytes(arg) {
			re, err := binaryregexp.Compile(arg)
			if err != nil {
				return nil, false
			}
			if tree, err := syntax.Parse(arg, syntax.Perl); err == nil && needsHighByte(tree) {
				// Every match holds a byte over 0x7f: an ASCII value
				// cannot match.
				return func(v string) bool { return !isASCII(v) && re.MatchString(v) }, true
			}
			return re.MatchString, true
		}
		re, err := regexp.Compile("(?sm)" + arg)
		if err != nil {
			return nil, false
		}
		return dfaOrRegexp(re), true
	case "within":
		// Coraza: the argument contains the value.
		return func(v string) bool { return strings.Contains(arg, v) }, true
	case "streq":
		return func(v string) bool { return v == arg }, true
	case "validateByteRange":
		valid, err := byteRanges(arg)
		if err != nil {
			return nil, false
		}
		return func(v string) bool {
			if v == "" {
				return false
			}
			for i := 0; i < len(v); i++ {
				if !valid[v[i]] {
					return true
				}
			}
			return false
		}, true
	case "eq", "gt", "lt", "ge", "le":
		k, _ := strconv.Atoi(arg)
		cmp := map[string]func(v int) bool{
			"eq": func(v int) bool { return v == k },
			"gt": func(v int) bool { return v > k },
			"lt": func(v int) bool { return v < k },
			"ge": func(v int) bool { return v >= k },
			"le": func(v int) bool { return v <= k },
		}[name]
		return func(v string) bool { n, _ := strconv.Atoi(v); return cmp(n) }, true
	}
	return nil, false
}

// byteRanges parses a @validateByteRange argument as Coraza does.
func byteRanges(arg string) (valid [256]bool, err error) {
	if arg == "" {
		return valid, fmt.Errorf("empty byte range")
	}
	for _, br := range strings.Split(arg, ",") {
		start, end, isRange := strings.Cut(strings.TrimSpace(br), "-")
		s, err := strconv.Atoi(start)
		if err != nil || s < 0 || s > 255 {
			return valid, fmt.Errorf("bad byte range %q", br)
		}
		e := s
		if isRange {
			if e, err = strconv.Atoi(end); err != nil || e < 0 || e > 255 {
				return valid, fmt.Errorf("bad byte range %q", br)
			}
		}
		for i := s; i <= e; i++ {
			valid[i] = true
		}
	}
	return valid, nil
}

// matches reports whether the rule's first link may match the
// transaction's current variables.
func (n *nativeRule) matches(tx plugintypes.TransactionState) bool {
	for _, t := range n.targets {
		col := tx.Collection(t.variable)
		if col == nil {
			continue // Coraza reads no value, not even a count
		}
		if t.variable == variables.XML {
			if len(col.FindAll()) > 0 {
				return true
			}
			continue
		}
		var mds []types.MatchData
		switch c := col.(type) {
		case collection.Keyed:
			if t.key != "" {
				mds = c.FindString(t.key)
			} else {
				mds = c.FindAll()
			}
		default:
			if t.key != "" {
				return true
			}
			mds = col.FindAll()
		}
		if t.count {
			if n.test(strconv.Itoa(len(mds))) {
				return true
			}
			continue
		}
		for _, md := range mds {
			if n.test(md.Value()) {
				return true
			}
		}
	}
	return false
}

// test applies the rule's transformations and operator to one value as
// Coraza does: a failing transformation is skipped; under multiMatch the
// value and every changed form are tested.
func (n *nativeRule) test(v string) bool {
	if !n.mayMatch(v) {
		return n.negated // the operator matches no form of v
	}
	return n.testForms(v)
}

// testForms is test without the mayMatch short cut.
func (n *nativeRule) testForms(v string) bool {
	if n.multi && n.eval(v) {
		return true
	}
	for _, f := range n.full {
		out, changed, err := f(v)
		if err != nil {
			continue
		}
		if n.multi {
			if changed {
				v = out
				if n.eval(v) {
					return true
				}
			}
			continue
		}
		v = out
	}
	return !n.multi && n.eval(v)
}

func (n *nativeRule) eval(v string) bool {
	return n.op(v) != n.negated
}

func dfaOrRegexp(re *regexp.Regexp) func(string) bool {
	if d := newLazyDFA(re); d != nil {
		return d.MatchString
	}
	return re.MatchString
}

// needsHighByte reports whether every match of a pattern read as bytes
// (Latin-1 runes, as Coraza's byte matcher reads it) holds a byte over
// 0x7f. No such byte folds to ASCII, with (?i) or without.
func needsHighByte(re *syntax.Regexp) bool {
	high := func(r rune) bool { return r >= 0x80 && r <= 0xff }
	switch re.Op {
	case syntax.OpLiteral:
		return slices.ContainsFunc(re.Rune, high)
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if !high(re.Rune[i]) || !high(re.Rune[i+1]) {
				return false
			}
		}
		return len(re.Rune) > 0
	case syntax.OpCapture, syntax.OpPlus:
		return needsHighByte(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min > 0 && needsHighByte(re.Sub[0])
	case syntax.OpConcat:
		return slices.ContainsFunc(re.Sub, needsHighByte)
	case syntax.OpAlternate:
		return len(re.Sub) > 0 && !slices.ContainsFunc(re.Sub, func(s *syntax.Regexp) bool { return !needsHighByte(s) })
	}
	return false
}

// matchesArbitraryBytes is Coraza v3.8.1's test (internal/operators/rx.go)
// of whether an @rx pattern needs its byte matcher: its \x escapes,
// decoded, make the pattern invalid UTF-8.
func matchesArbitraryBytes(expr string) bool {
	decoded := make([]byte, 0, len(expr))
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		if c != '\\' {
			decoded = append(decoded, c)
			continue
		}
		if i+3 >= len(expr) {
			decoded = append(decoded, expr[i:]...)
			break
		}
		if expr[i+1] != 'x' {
			decoded = append(decoded, expr[i])
			continue
		}
		// A braced escape, \x{bc}, reads as \xbc.
		sub := expr[i:]
		advance := 3
		if len(sub) >= 6 && sub[2] == '{' {
			if end := strings.IndexByte(sub, '}'); end != -1 {
				sub = `\x` + sub[3:end]
				advance = end
			}
		}
		v, mb, _, err := strconv.UnquoteChar(sub, 0)
		if err != nil || mb {
			decoded = append(decoded, expr[i])
			continue
		}
		decoded = append(decoded, byte(v))
		i += advance
	}
	return !utf8.Valid(decoded)
}
