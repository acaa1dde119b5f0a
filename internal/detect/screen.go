package detect

import (
	"bufio"
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/apisessions/apisessions/internal/detect/crstransform"
	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3/collection"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"
	"github.com/corazawaf/coraza/v3/types/variables"
	"github.com/corazawaf/libinjection-go"
)

// The fast path. A hook rule placed before CRS in phases 1 and 2 reads the
// transaction's request variables exactly as the CRS rules will (Coraza has
// parsed them: arguments, JSON and XML bodies, cookies, headers) and tells
// the transaction to skip every screened rule that cannot match.
//
// A rule is screened when its first link is a positive @rx, @pm,
// @pmFromFile, @contains, @beginsWith, @endsWith, @streq, @containsWord or
// @strmatch over request variables, and its operator requires some literal
// (atoms.go). Such a rule (and so its chain) can only match a value whose
// transformed form (the rule's exact t: chain, Coraza's own code in
// crstransform; every intermediate form under multiMatch) contains one of
// its atoms, case-folded. The screen looks for all atoms at once with
// Aho-Corasick, over every value of every request variable: a rule whose
// atoms are all absent cannot fire, so skipping it changes nothing (skipped
// rules would have set no variable either). Every other rule (negated
// operators, counts, TX, @detectSQLi, @validateByteRange, ...) always runs.

// screenedVariables are the request variables whose values are fixed when
// the phase starts; screened rules read only these.
var screenedVariables = map[string]bool{
	"ARGS": true, "ARGS_GET": true, "ARGS_POST": true, "ARGS_NAMES": true, "ARGS_GET_NAMES": true,
	"ARGS_POST_NAMES": true, "REQUEST_HEADERS": true, "REQUEST_HEADERS_NAMES": true,
	"REQUEST_COOKIES": true, "REQUEST_COOKIES_NAMES": true, "REQUEST_URI": true,
	"REQUEST_URI_RAW": true, "REQUEST_LINE": true, "REQUEST_FILENAME": true,
	"REQUEST_BASENAME": true, "REQUEST_METHOD": true, "REQUEST_PROTOCOL": true,
	"QUERY_STRING": true, "REQUEST_BODY": true, "XML": true, "FILES": true, "FILES_NAMES": true,
	"MULTIPART_PART_HEADERS": true,
}

// screen is the per-engine screening data, read-only after newScreen.
type screen struct {
	rules  []screenRule
	groups []*chainGroup
	// steps are the groups' chains as a tree of shared prefixes.
	steps []chainStep
	nfn   int // distinct transformations of steps
	// ac finds the atoms of every screened rule that can run (compile);
	// patterns and patRules are its atoms and their codes (atomCode) until
	// then.
	ac       *acMatcher
	patterns []string
	patRules [][]int32
	// off marks the screened rules the paranoia level skips: Coraza never
	// runs them, and the screen neither scans for them nor decides them.
	off       []bool
	phaseIDs  [6][]int // screened rule IDs per phase
	every     []int32  // rules decided on every value they read
	always    int      // rules that always run
	variables map[string]bool
	// varBit numbers the screened collections (fewer than 64).
	varBit map[string]uint64
	// plans holds the plans of the transactions that have one, by
	// transaction ID.
	plans sync.Map
	// natives are the rules that always run but that the hook can decide
	// natively, per phase (native.go).
	natives [6][]*nativeRule
}

// addNative records the rule as natively decided when it can be.
func (s *screen) addNative(id int, r secRule) {
	if n, ok := newNativeRule(id, r); ok {
		s.natives[n.phase] = append(s.natives[n.phase], n)
	}
}

// keepNatives drops the natively decided rules not in active.
func (s *screen) keepNatives(active map[int]bool) {
	for ph := range s.natives {
		s.natives[ph] = slices.DeleteFunc(s.natives[ph], func(n *nativeRule) bool { return !active[n.id] })
	}
}

// compile builds the atom automaton for the screened rules in active, all
// of them when active is nil. The rules left out are marked off: only
// rules Coraza never runs (those the paranoia level skips) may be left
// out, since the screen then finds no value for them.
func (s *screen) compile(active map[int]bool) {
	s.off = make([]bool, len(s.rules))
	for ri := range s.rules {
		s.off[ri] = active != nil && !active[s.rules[ri].id]
	}
	var patterns []string
	var patRules [][]int32
	for pi, p := range s.patterns {
		codes := slices.DeleteFunc(s.patRules[pi], func(c int32) bool { return s.off[c>>2] })
		if len(codes) > 0 {
			patterns = append(patterns, p)
			patRules = append(patRules, codes)
		}
	}
	s.every = slices.DeleteFunc(s.every, func(ri int32) bool { return s.off[ri] })
	// A rule needs, in one form, an atom of each set: at least as many
	// bytes as the longest of its sets' shortest atoms.
	shortest := map[int32]int{} // atom code -> its shortest atom
	for pi, codes := range patRules {
		for _, c := range codes {
			if n, ok := shortest[c]; !ok || len(patterns[pi]) < n {
				shortest[c] = len(patterns[pi])
			}
		}
	}
	need := make([]int, len(s.rules))
	for c, n := range shortest {
		need[c>>2] = max(need[c>>2], n)
	}
	for _, g := range s.groups {
		g.minForm = 0
		first := true
		for _, ri := range g.rules {
			if need[ri] > 0 && (first || need[ri] < g.minForm) {
				g.minForm, first = need[ri], false
			}
		}
	}
	for pi, codes := range patRules {
		for _, c := range codes {
			g := s.groups[s.rules[c>>2].group]
			for i := 0; i < len(patterns[pi]); i++ {
				g.atomBytes[patterns[pi][i]] = true
			}
		}
	}
	s.ac = newACMatcher(patterns, patRules)
	s.patterns, s.patRules = nil, nil
}

// nativeSkips returns the natively decided rules of the phase whose first
// link matches no value of the transaction.
func (s *screen) nativeSkips(tx plugintypes.TransactionState, phase int) []int {
	var skip []int
	for _, n := range s.natives[phase] {
		if !n.matches(tx) {
			skip = append(skip, n.id)
		}
	}
	return skip
}

type screenRule struct {
	id    int
	phase int
	group int
	// targets maps a collection to the keys the rule reads in it; an
	// empty key means all of them.
	targets map[string][]string
	// full is the rule's whole transformation chain, multi its multiMatch.
	full  []crstransform.Func
	multi bool
	// match evaluates the first link's operator on a transformed value
	// exactly as Coraza does; nil when only Coraza can (then a value with
	// an atom makes the rule run).
	match func(string) bool
	// cut lists the collections the rule reads whole whose keys without a
	// value that can match are taken out of the rule's targets for the
	// transaction when the rule runs (see cuttable).
	cut []variables.RuleVariable
	// clauses is the number of the rule's atom sets: a form of a value
	// can match only when it holds an atom of each.
	clauses uint8
	// reads has the bits (screen.varBit) of the collections in targets,
	// readsAll those of the collections the rule reads whole.
	reads, readsAll uint64
}

// cuttableVariables are the collections whose keys the screen may take
// out of a rule's targets: keyed collections it sees whole.
var cuttableVariables = map[string]bool{
	"ARGS": true, "ARGS_GET": true, "ARGS_POST": true, "ARGS_NAMES": true, "ARGS_GET_NAMES": true,
	"ARGS_POST_NAMES": true, "REQUEST_COOKIES": true, "REQUEST_COOKIES_NAMES": true,
	"REQUEST_HEADERS": true, "REQUEST_HEADERS_NAMES": true,
}

// maxCutKeys bounds the keys of a collection the screen takes out of one
// rule: Coraza checks every value against every exception, so beyond a few
// hundred the check costs more than the regex it saves.
const maxCutKeys = 256

// cuttable returns the collections of r whose keys may be taken out of its
// targets: read whole (no key selected), with at most two exclusions
// (Coraza appends a transaction's exceptions to the rule's own slice; up to
// two it is full and the append copies it, so concurrent transactions do
// not share what they add), and not read by the chain's later links, which
// the exceptions reach too.
func cuttable(r secRule, id int, chains map[int]map[string]bool) []variables.RuleVariable {
	var chainReads map[string]bool
	if r.chain {
		var ok bool
		if chainReads, ok = chains[id]; !ok {
			return nil
		}
	}
	var out []variables.RuleVariable
	for i, name := range r.variables {
		if r.keys[i] != "" || !cuttableVariables[name] || r.negations[name] > 2 {
			continue
		}
		shared := false
		for _, v := range expandVariable(name) {
			if chainReads[v] {
				shared = true
			}
		}
		if shared || chainReads[name] {
			continue
		}
		v, err := variables.Parse(name)
		if err != nil {
			continue
		}
		out = append(out, v)
	}
	return out
}

// targetCut is a target of a rule the transaction leaves out.
type targetCut struct {
	id       int
	variable variables.RuleVariable
	key      string // lower case, never empty
}

// readsKey reports whether the rule may read the value at variable:key.
func (r *screenRule) readsKey(variable, key string) bool {
	keys, ok := r.targets[variable]
	if !ok {
		return false
	}
	for _, k := range keys {
		if k == "" || strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// readsAny reports whether the rule may read a value seen at those places.
func (r *screenRule) readsAny(owners []owner) bool {
	for _, o := range owners {
		switch {
		case r.reads&o.bit == 0:
		case r.readsAll&o.bit != 0 || r.readsKey(o.variable, o.key):
			return true
		}
	}
	return false
}

// eval reports whether the first link's operator matches value after the
// rule's transformations, as Coraza evaluates it: on the final form, or on
// every form under multiMatch. A failing transformation counts as a match.
func (r *screenRule) eval(value string) bool {
	if r.match == nil {
		return true
	}
	if r.multi && r.match(value) {
		return true
	}
	cur := value
	for _, f := range r.full {
		out, changed, err := f(cur)
		if err != nil {
			return true
		}
		if r.multi && !changed {
			// Coraza evaluates only the forms a transformation changed.
			continue
		}
		cur = out
		if r.multi && r.match(cur) {
			return true
		}
	}
	return !r.multi && r.match(cur)
}

// chainGroup is the screened rules whose transformation chains have the
// same case-blind part: the atoms of all of them are looked for in the
// values that part changes.
type chainGroup struct {
	fns   []crstransform.Func
	path  []int // fns as steps of screen.steps
	multi bool
	// trigger holds the bytes without which the chain leaves a value
	// unchanged up to case (triggerSet); always is set instead when some
	// transformation changes anything (base64Decode, length, ...).
	trigger   byteSet
	always    bool
	variables map[string]bool // union of what its rules read
	mask      uint64          // the same as varBit bits
	phases    [6]bool
	rules     []int32 // the screened rules of the group
	// minForm is the length of the shortest folded form in which some
	// rule of the group can find an atom of each of its sets, and
	// atomBytes the bytes of the atoms of its rules: a form without a run
	// of minForm such bytes (an atom is such a run) is not scanned for the
	// group. That leaves out most base64Decode output.
	minForm   int
	atomBytes [256]bool
}

// caseBlind are the transformations whose output folds the same whatever
// the case of their input, so a t:lowercase before them can be left out
// of the scan (folding covers it).
var caseBlind = map[string]bool{
	"lowercase": true, "uppercase": true, "none": true, "removeNulls": true, "replaceNulls": true,
	"removeWhitespace": true, "compressWhitespace": true, "trim": true, "trimLeft": true,
	"trimRight": true, "cmdLine": true, "normalizePath": true, "normalisePath": true,
	"normalizePathWin": true, "normalisePathWin": true, "removeCommentsChar": true,
	"replaceComments": true, "removeComments": true, "length": true,
}

// triggers are, per transformation, the ASCII bytes without which it
// returns its input unchanged up to letter case (Coraza's code in
// crstransform, read for this). Transformations not listed may change any
// value.
var triggers = map[string]string{
	"none": "", "lowercase": "", "uppercase": "", "utf8toUnicode": "",
	"urlDecode": "%+", "urlDecodeUni": "%+",
	"htmlEntityDecode": "&",
	"jsDecode":         "\\", "cssDecode": "\\", "escapeSeqDecode": "\\",
	"removeNulls": "\x00", "replaceNulls": "\x00",
	"removeWhitespace": whitespace, "compressWhitespace": whitespace,
	"trim": whitespace, "trimLeft": whitespace, "trimRight": whitespace,
	"cmdLine":       "\\\"'^,;/(" + whitespace,
	"normalizePath": "/\\.", "normalisePath": "/\\.",
	"normalizePathWin": "/\\.:" + whitespace, "normalisePathWin": "/\\.:" + whitespace,
	"removeComments": "/*-#<", "replaceComments": "/*-#<", "removeCommentsChar": "/*-#<",
}

// whitespace is every byte a Coraza transformation treats as space.
const whitespace = " \t\n\r\f\v"

// scanChain drops the case transformations that only case-blind ones follow.
func scanChain(names []string) []string {
	var out []string
	for i, n := range names {
		if n == "lowercase" || n == "uppercase" {
			blind := true
			for _, m := range names[i+1:] {
				if !caseBlind[m] {
					blind = false
					break
				}
			}
			if blind {
				continue
			}
		}
		out = append(out, n)
	}
	return out
}

func newScreen(metas []types.RuleMetadata, opts Options) (*screen, error) {
	s := &screen{variables: map[string]bool{}}
	groupIdx := map[string]int{}
	stepIdx, fnIdx := map[string]int{}, map[string]int{}
	atomIdx := map[string]int{}
	var patterns []string
	var patRules [][]int32
	// skipped[phase] counts the rules a skip:N action may step over next:
	// Coraza tests removal before it counts skips, so removing one of them
	// would make the skip land on another rule.
	var skipped [6]int
	chains, err := chainReads()
	if err != nil {
		return nil, err
	}
	updates, err := updatedTargets()
	if err != nil {
		return nil, err
	}
	for _, m := range metas {
		r, ok := parseSecRule(m.Raw())
		if u := updates[m.ID()]; ok && u != nil {
			// The rule reads what its text and the updates say.
			if u[""] > 0 {
				ok = false
			}
			if r.negations == nil {
				r.negations = map[string]int{}
			}
			for v, n := range u {
				r.negations[v] += n
			}
		}
		if ok && r.skip > 0 {
			skipped[r.phase] = max(skipped[r.phase], r.skip)
		} else if ok && skipped[r.phase] > 0 {
			skipped[r.phase]--
			s.always++
			continue
		}
		if !ok || !screenable(r) || r.phase > 2 {
			s.always++
			if ok {
				s.addNative(m.ID(), r)
			}
			continue
		}
		clauses, ok, err := operatorAtoms(r)
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", m.ID(), err)
		}
		// libinjection operators need no literal, but the screen can run
		// them exactly as Coraza does, on every value the rule reads.
		var match func(string) bool
		every := false
		switch r.operator {
		case "detectSQLi":
			match = isSQLi
			every, ok = true, true
		case "detectXSS":
			match = isXSS
			every, ok = true, true
		}
		if !ok {
			s.always++
			s.addNative(m.ID(), r)
			continue
		}
		full, err := chainFuncs(r.transform)
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", m.ID(), err)
		}
		scanNames := scanChain(r.transform)
		key := fmt.Sprint(scanNames, r.multi)
		gi, ok := groupIdx[key]
		if !ok {
			fns, _ := chainFuncs(scanNames)
			gi = len(s.groups)
			groupIdx[key] = gi
			g := &chainGroup{fns: fns, multi: r.multi, variables: map[string]bool{}}
			s.steps, g.path = addChainSteps(s.steps, stepIdx, fnIdx, scanNames)
			if trigger, ok := triggerSet(scanNames); ok {
				g.trigger = setOf(trigger)
			} else {
				g.always = true
			}
			s.groups = append(s.groups, g)
		}
		g := s.groups[gi]
		g.phases[r.phase] = true
		targets := map[string][]string{}
		for i, rv := range r.variables {
			for _, v := range expandVariable(rv) {
				g.variables[v] = true
				s.variables[v] = true
				targets[v] = append(targets[v], r.keys[i])
			}
		}
		if r.operator == "rx" {
			// As Coraza compiles @rx (dot matches newline, multi-line anchors).
			// The lazy DFA gives the regexp's answer, at a table lookup
			// a byte once warm.
			if re, err := regexp.Compile("(?sm)" + r.argument); err == nil {
				match = re.MatchString
				if d := newLazyDFA(re); d != nil {
					match = d.MatchString
				}
			}
		}
		ri := int32(len(s.rules))
		s.rules = append(s.rules, screenRule{id: m.ID(), phase: r.phase, group: gi, targets: targets, full: full, multi: r.multi, match: match,
			cut: cuttable(r, m.ID(), chains)})
		g.rules = append(g.rules, ri)
		if every {
			s.every = append(s.every, ri)
		}
		s.phaseIDs[r.phase] = append(s.phaseIDs[r.phase], m.ID())
		if len(clauses) > 1 {
			kept := [][]string{clauses[0]}
			for _, atoms := range clauses[1:] {
				if !slices.ContainsFunc(atoms, commonAtom) {
					kept = append(kept, atoms)
				}
			}
			clauses = kept
		}
		s.rules[ri].clauses = uint8(len(clauses))
		for ci, atoms := range clauses {
			for _, a := range atoms {
				pi, ok := atomIdx[a]
				if !ok {
					pi = len(patterns)
					atomIdx[a] = pi
					patterns = append(patterns, a)
					patRules = append(patRules, nil)
				}
				patRules[pi] = append(patRules[pi], atomCode(ri, ci))
			}
		}
	}
	s.patterns, s.patRules = patterns, patRules
	s.nfn = len(fnIdx)
	names := slices.Sorted(maps.Keys(s.variables))
	if len(names) > 64 {
		return nil, fmt.Errorf("%d screened collections: at most 64", len(names))
	}
	s.varBit = map[string]uint64{}
	for i, n := range names {
		s.varBit[n] = 1 << i
	}
	for _, g := range s.groups {
		for v := range g.variables {
			g.mask |= s.varBit[v]
		}
	}
	for ri := range s.rules {
		r := &s.rules[ri]
		for v, keys := range r.targets {
			r.reads |= s.varBit[v]
			if slices.Contains(keys, "") {
				r.readsAll |= s.varBit[v]
			}
		}
	}
	return s, nil
}

func chainFuncs(names []string) ([]crstransform.Func, error) {
	var fns []crstransform.Func
	for _, t := range names {
		f, ok := transformFunc(t)
		if !ok {
			return nil, fmt.Errorf("unknown transformation %q", t)
		}
		fns = append(fns, f)
	}
	return fns, nil
}

// expandVariable lists the collections whose keys and values may hold what
// a rule reads through variable v: ARGS is ARGS_GET and ARGS_POST, and a
// _NAMES collection holds the keys of its base collection. Over-inclusion
// only costs time.
func expandVariable(v string) []string {
	switch v {
	case "ARGS", "ARGS_NAMES":
		return []string{"ARGS", "ARGS_NAMES", "ARGS_GET", "ARGS_POST", "ARGS_GET_NAMES", "ARGS_POST_NAMES"}
	case "ARGS_GET_NAMES":
		return []string{v, "ARGS_GET", "ARGS", "ARGS_NAMES"}
	case "ARGS_POST_NAMES":
		return []string{v, "ARGS_POST", "ARGS", "ARGS_NAMES"}
	case "ARGS_GET", "ARGS_POST":
		return []string{v, v + "_NAMES", "ARGS", "ARGS_NAMES"}
	case "REQUEST_HEADERS_NAMES":
		return []string{v, "REQUEST_HEADERS"}
	case "REQUEST_COOKIES_NAMES":
		return []string{v, "REQUEST_COOKIES"}
	case "FILES_NAMES":
		return []string{v, "FILES"}
	}
	return []string{v}
}

// screenable reports whether a rule's first link can be screened by atoms.
func screenable(r secRule) bool {
	if r.negated || r.counts || len(r.variables) == 0 {
		return false
	}
	for _, v := range r.variables {
		if !screenedVariables[v] {
			return false
		}
	}
	return true
}

// isXSS is libinjection's @detectXSS. Its HTML5 tokenizer flags only a
// doctype, a tag or comment opening, which need '<', and an attribute
// value after a dangerous attribute name, which needs '=': a value with
// neither is clean without running it (five tokenizer passes).
func isXSS(v string) bool {
	return strings.ContainsAny(v, "<=") && libinjection.IsXSS(v)
}

// atomCode is how the screen's automaton names a rule's atom set: the rule
// index and the set's (below maxClauses).
func atomCode(ri int32, clause int) int32 { return ri<<2 | int32(clause) }

// operatorAtoms returns sets of folded literals the operator needs one
// string of each of in its input, ok=false when it needs none.
func operatorAtoms(r secRule) ([][]string, bool, error) {
	arg := r.argument
	if strings.Contains(arg, "%{") {
		return nil, false, nil // macros expand per transaction
	}
	one := func(a []string, ok bool, err error) ([][]string, bool, error) {
		if !ok || err != nil {
			return nil, false, err
		}
		return [][]string{a}, true, nil
	}
	switch r.operator {
	case "rx":
		cl, ok := regexClauses(arg)
		return cl, ok, nil
	case "pm":
		var out []string
		for _, w := range strings.Fields(arg) {
			out = append(out, foldString(w))
		}
		return one(out, len(out) > 0, nil)
	case "pmFromFile", "pmf":
		var out []string
		for _, f := range strings.Fields(arg) {
			words, err := readDataFile(f)
			if err != nil {
				return nil, false, err
			}
			out = append(out, words...)
		}
		for _, w := range out {
			if w == "" {
				return nil, false, nil
			}
		}
		return one(out, len(out) > 0, nil)
	case "contains", "containsWord", "beginsWith", "endsWith", "streq", "strmatch":
		if arg == "" {
			return nil, false, nil
		}
		return one([]string{foldString(arg)}, true, nil)
	}
	return nil, false, nil
}

// readDataFile reads a CRS .data file: one phrase a line, # comments.
func readDataFile(name string) ([]string, error) {
	b, err := fs.ReadFile(coreruleset.FS, "@owasp_crs/"+name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, foldString(l))
	}
	return out, sc.Err()
}

// owner is a place a value was seen: a collection and a key.
type owner struct {
	variable, key string
	bit           uint64 // the variable's screen.varBit
}

// valueSet is distinct values with where each was seen, laid out in one
// folded buffer so that one Aho-Corasick pass covers them all.
type valueSet struct {
	raws   []int    // the untransformed values, as indexes in the table
	groups []uint64 // per entry, the chain groups (groupBit) it is a form for
	buf    []byte
	ends   []int // end offset in buf of each value
	owners [][]owner
}

// reset empties the set, keeping its memory.
func (vs *valueSet) reset() {
	vs.raws, vs.groups, vs.buf, vs.ends, vs.owners = vs.raws[:0], vs.groups[:0], vs.buf[:0], vs.ends[:0], vs.owners[:0]
}

// add appends the folded form of a transformed value of the table's value
// raw, a form for the chain groups in groups. When an entry from first on
// already holds the same folded form (another chain gave the value the
// same form), it adds the groups to that entry instead. A form for a
// single chain group g without a run of g.minForm of its atom bytes is left
// out: no rule of the group could find an atom of each of its sets in it.
func (vs *valueSet) add(transformed string, raw int, owners []owner, groups uint64, first int, g *chainGroup) {
	start := 0
	if n := len(vs.ends); n > 0 {
		start = vs.ends[n-1]
	}
	vs.buf = appendFold(vs.buf, transformed)
	form := vs.buf[start:]
	if g != nil && !hasRun(form, &g.atomBytes, g.minForm) {
		vs.buf = vs.buf[:start]
		return
	}
	prev := 0
	if first > 0 {
		prev = vs.ends[first-1]
	}
	for e := first; e < len(vs.ends); e++ {
		if string(vs.buf[prev:vs.ends[e]]) == string(form) {
			vs.buf = vs.buf[:start]
			vs.groups[e] |= groups
			return
		}
		prev = vs.ends[e]
	}
	vs.ends = append(vs.ends, len(vs.buf))
	vs.owners = append(vs.owners, owners)
	vs.raws = append(vs.raws, raw)
	vs.groups = append(vs.groups, groups)
}

// valueTable is the distinct values (and keys: _NAMES collections hold
// keys) of a request's screened collections, each with every place it was
// seen.
type valueTable struct {
	idx    map[string]int
	values []string
	owners [][]owner
	masks  []uint64 // per value, the collections it was seen in
	// recent are the last strings add looked up, by address: a request's
	// variables hold the same string many times in a row (an argument's
	// key is in ARGS, ARGS_GET and both _NAMES collections, as key and as
	// value), and comparing two words spares hashing it again.
	recent [4]recentValue
	next   int // the entry of recent to replace
}

// recentValue is a string of the table by address and length, and its
// index.
type recentValue struct {
	data *byte
	n, i int
}

// reset empties the table, keeping its memory.
func (t *valueTable) reset() {
	clear(t.idx)
	t.recent = [4]recentValue{}
	t.values = t.values[:0]
	t.owners = t.owners[:0]
	t.masks = t.masks[:0]
}

// push appends x, a value the table does not hold, seen in the
// collections vars at no place yet, and returns its index.
func (t *valueTable) push(x string, vars uint64) int {
	i := len(t.values)
	t.values = append(t.values, x)
	if len(t.owners) < cap(t.owners) {
		t.owners = t.owners[:i+1]
		t.owners[i] = t.owners[i][:0]
	} else {
		t.owners = append(t.owners, nil)
	}
	t.masks = append(t.masks, vars)
	return i
}

// add records x seen in collection v (whose screen.varBit is bit) under
// key.
func (t *valueTable) add(v, key, x string, bit uint64) {
	if x == "" {
		return
	}
	i, found := -1, false
	data := unsafe.StringData(x)
	for _, r := range t.recent {
		if r.data == data && r.n == len(x) {
			i, found = r.i, true
			break
		}
	}
	if !found {
		if t.idx == nil {
			t.idx = map[string]int{}
		}
		var ok bool
		if i, ok = t.idx[x]; !ok {
			i = t.push(x, 0)
			t.idx[x] = i
		}
		t.recent[t.next] = recentValue{data, len(x), i}
		t.next = (t.next + 1) % len(t.recent)
	}
	own := owner{v, key, bit}
	if os := t.owners[i]; len(os) > 0 && os[len(os)-1] == own {
		// The same place again: a _NAMES collection's key and value.
		return
	}
	t.owners[i] = append(t.owners[i], own)
	t.masks[i] |= bit
}

// skippable returns the IDs of the screened rules of the phase that cannot
// match the transaction's current variables, and for the rules that run,
// the targets whose values cannot match.
func (s *screen) skippable(tx plugintypes.TransactionState, phase int) ([]int, []targetCut) {
	if len(s.phaseIDs[phase]) == 0 {
		return nil, nil
	}
	sc := getScratch()
	defer putScratch(sc)
	t := &sc.table
	tx.Variables().All(func(v variables.RuleVariable, col collection.Collection) bool {
		name := v.Name()
		bit, ok := s.varBit[name] // the screened collections
		if !ok {
			return true
		}
		for _, md := range col.FindAll() {
			t.add(name, md.Key(), md.Key(), bit)
			t.add(name, md.Key(), md.Value(), bit)
		}
		return true
	})
	want := resize(sc.want, len(s.rules))
	for ri := range s.rules {
		want[ri] = s.rules[ri].phase == phase && !s.off[ri]
	}
	sc.want = want
	hit, hitOwners := s.decide(sc, want, false, nil)
	var skip []int
	var cuts []targetCut
	for ri := range s.rules {
		r := &s.rules[ri]
		switch {
		case r.phase != phase:
		case !hit[ri]:
			skip = append(skip, r.id)
		case len(r.cut) > 0:
			cuts = r.appendCuts(cuts, tx, hitOwners[ri])
		}
	}
	return skip, cuts
}

// screenPlan is the screen's answer on a request's view (prejudge.go):
// which screened rules it decided (the pre-decision leaves out rules that
// do not run at the paranoia level, rules that only set variables, and
// chains whose later links cannot match), whether some value can match
// each, and for a rule with cuttable targets, where. The view holds every
// value Coraza holds for the request, in both phases (phase 1 holds a part
// of them), so a decided rule the plan finds no value for cannot match in
// the transaction, and the hook skips it without screening Coraza's
// collections again. Rules the plan did not decide run as in ModeFull.
type screenPlan struct {
	decided []bool
	hit     []bool
	owners  [][]owner
}

// plan copies the results of decide (on a view's table, for the rules
// want selects) into a plan.
func (s *screen) plan(want, hit []bool, owners [][]owner) *screenPlan {
	pl := &screenPlan{decided: slices.Clone(want), hit: slices.Clone(hit), owners: make([][]owner, len(hit))}
	for ri, own := range owners {
		if hit[ri] && len(own) > 0 {
			pl.owners[ri] = slices.Clone(own)
		}
	}
	return pl
}

// planned is skippable from a plan made for the transaction's request.
func (s *screen) planned(pl *screenPlan, tx plugintypes.TransactionState, phase int) ([]int, []targetCut) {
	if len(s.phaseIDs[phase]) == 0 {
		return nil, nil
	}
	var skip []int
	var cuts []targetCut
	for ri := range s.rules {
		r := &s.rules[ri]
		switch {
		case r.phase != phase || !pl.decided[ri]:
		case !pl.hit[ri]:
			skip = append(skip, r.id)
		case len(r.cut) > 0:
			cuts = r.appendCuts(cuts, tx, pl.owners[ri])
		}
	}
	return skip, cuts
}

// decide runs the screen over the table's values for the rules want
// selects: hit tells which of them match some value, and hitOwners, for a
// rule with cuttable targets, where. With stop set it returns at the first
// match (hit then tells only that one).
//
// The values are sc.table's; the results live in sc.
func (s *screen) decide(sc *scratch, want []bool, stop bool, vm *valueMemo) (hit []bool, hitOwners [][]owner) {
	t := &sc.table
	values, owners, masks := t.values, t.owners, t.masks
	n := len(s.rules)
	hit = resize(sc.hit, n)
	clear(hit)
	sc.hit = hit
	// hitOwners holds, for a rule with cuttable targets, the places of
	// every value it matched; such a rule is decided on all values.
	hitOwners = resize(sc.hitOwners, n)
	for i := range hitOwners {
		hitOwners[i] = hitOwners[i][:0]
	}
	sc.hitOwners = hitOwners
	stopped := false
	done := func(ri int32) bool { return stopped || hit[ri] && (stop || len(s.rules[ri].cut) == 0) }
	checked := resize(sc.checked, n) // stamp of the last value checked
	clear(checked)
	sc.checked = checked
	stamp := int32(0)
	// seen marks the (rule, value) pairs already decided: a value's raw
	// and transformed forms often hold the same atom, and the verdict
	// depends on the rule and the untransformed value only.
	// Past maxSeenBits (a request with very many values) pairs are
	// decided again instead.
	var seen []uint64
	if bits := n * len(values); bits <= maxSeenBits {
		seen = resize(sc.seen, (bits+63)/64)
		clear(seen)
		sc.seen = seen
	}
	// matched records that rule ri matches a value seen at own.
	matched := func(ri int32, own []owner) {
		hit[ri] = true
		if stop {
			stopped = true
		}
		if len(s.rules[ri].cut) > 0 {
			hitOwners[ri] = append(hitOwners[ri], own...)
		}
	}
	// consider decides a rule on a value it has an atom in.
	consider := func(ri int32, i int, own []owner) {
		if seen != nil {
			bit := int(ri)*len(values) + i
			if seen[bit>>6]&(1<<(bit&63)) != 0 {
				return
			}
			seen[bit>>6] |= 1 << (bit & 63)
		}
		r := &s.rules[ri]
		if sc.anyPlace {
			if r.reads&masks[i] == 0 {
				return
			}
		} else if !r.readsAny(own) {
			return
		}
		switch {
		case !r.eval(values[i]):
		case sc.anyPlace:
			sc.pairs = append(sc.pairs, rulePair{ri, int32(i)})
		default:
			matched(ri, own)
		}
	}
	// A rule of several atom sets is decided on a form once the form has
	// shown an atom of each: found marks the sets seen, for the form
	// foundAt names.
	found := resize(sc.found, n)
	sc.found = found
	foundAt := resize(sc.foundAt, n)
	clear(foundAt)
	sc.foundAt = foundAt
	pass := func(vs *valueSet) {
		base := stamp
		stamp += int32(len(vs.ends)) + 1
		s.ac.scan(vs, &sc.marks, func(vi int, codes []int32) {
			st := base + int32(vi) + 1
			for _, code := range codes {
				ri := code >> 2
				r := &s.rules[ri]
				if checked[ri] == st || vs.groups[vi]&groupBit(r.group) == 0 || !want[ri] || done(ri) {
					continue
				}
				if r.clauses > 1 {
					if foundAt[ri] != st {
						foundAt[ri], found[ri] = st, 0
					}
					found[ri] |= 1 << (code & 3)
					if found[ri] != 1<<r.clauses-1 {
						continue
					}
				}
				checked[ri] = st
				consider(ri, vs.raws[vi], vs.owners[vi])
			}
		})
	}
	// Values the memo holds are decided from it, or once together and
	// then remembered; the passes below skip them. hitsOf holds the
	// memo's answer for each.
	memoized := resize(sc.memoized, len(values))
	clear(memoized)
	sc.memoized = memoized
	hitsOf := resize(sc.hitsOf, len(values))
	clear(hitsOf)
	sc.hitsOf = hitsOf
	var missed []int
	for i, v := range values {
		if !vm.holds(v) {
			continue
		}
		// The memo holds only fold-safe values (see the raw pass).
		if hits, ok := vm.lookup(v, masks[i]); ok {
			memoized[i], hitsOf[i] = true, hits
		} else if foldSafe(v) {
			memoized[i] = true
			missed = append(missed, i)
		}
	}
	if len(missed) > 0 {
		for k, hits := range s.valueHits(values, masks, missed, vm) {
			vm.store(values[missed[k]], masks[missed[k]], hits)
			hitsOf[missed[k]] = hits
		}
	}
	// In the order of the values, whatever the memo held: with stop set,
	// the rule found first does not depend on it.
	for i := range values {
		for _, ri := range hitsOf[i] {
			if !done(ri) && want[ri] && s.rules[ri].readsAny(owners[i]) {
				matched(ri, owners[i])
			}
		}
		if stopped {
			return hit, hitOwners
		}
	}
	// Untransformed values: for a value a rule's chain leaves unchanged
	// this is the transformed form too.
	raw := &sc.raw
	raw.reset()
	for i, v := range values {
		if memoized[i] {
			continue
		}
		raw.add(v, i, owners[i], ^uint64(0), len(raw.ends), nil)
		if !foldSafe(v) {
			// The case transformations the scan leaves out would change
			// what it finds: decide every rule that reads the value
			// directly.
			for ri := range s.rules {
				if !done(int32(ri)) && want[ri] {
					consider(int32(ri), i, owners[i])
				}
			}
		}
	}
	if stopped {
		return hit, hitOwners
	}
	pass(raw)
	for _, ri := range s.every {
		if !want[ri] {
			continue
		}
		for i := range values {
			if done(ri) {
				break
			}
			if !memoized[i] {
				consider(ri, i, owners[i])
			}
		}
	}
	// Values a rule's chain changes, in their transformed forms (every
	// changed intermediate form under multiMatch). A form that several
	// chains give a value is scanned once, for the rules of all of them.
	active := sc.groups[:0]
	for gi, g := range s.groups {
		if len(g.fns) > 0 && slices.ContainsFunc(g.rules, func(ri int32) bool { return want[ri] }) {
			active = append(active, gi)
		}
	}
	sc.groups = active
	vs := &sc.changed
	vs.reset()
	memo := &sc.memo
	memo.reset(len(s.steps), s.nfn)
	for i, v := range values {
		if stopped {
			return hit, hitOwners
		}
		if memoized[i] {
			continue
		}
		memo.next()
		own := owners[i]
		first := len(vs.ends)
		present := bytesIn(v)
		for _, gi := range active {
			g := s.groups[gi]
			if masks[i]&g.mask == 0 || !g.mayChange(&present) {
				continue
			}
			cur, changedAny, failed := v, false, false
			for _, node := range g.path {
				st := memo.step(s.steps, node, v, &present)
				if st.failed {
					failed = true
					break
				}
				if st.changed {
					cur, changedAny = st.out, true
					if g.multi {
						vs.add(cur, i, own, groupBit(gi), first, g)
					}
				}
			}
			if failed {
				// Decide the group's rules on this value directly.
				for _, ri := range g.rules {
					if !done(ri) && want[ri] {
						consider(ri, i, own)
					}
				}
				continue
			}
			if changedAny && !g.multi {
				vs.add(cur, i, own, groupBit(gi), first, g)
			}
		}
	}
	if !stopped && len(vs.ends) > 0 {
		pass(vs)
	}
	return hit, hitOwners
}

// valueHits returns, for each value of which (indexes in values, seen in
// the collections masks), the rules of vm.want whose first link matches
// it wherever in those collections: decide on a table of these values,
// each seen at no place in particular, with the rules' targets checked by
// collection only (the memo's user checks them on the places it saw the
// value at), and every rule decided on every value.
func (s *screen) valueHits(values []string, masks []uint64, which []int, vm *valueMemo) [][]int32 {
	sc := getScratch()
	defer putScratch(sc)
	sc.table.reset()
	for _, i := range which {
		sc.table.push(values[i], masks[i])
	}
	sc.anyPlace = true
	sc.pairs = sc.pairs[:0]
	s.decide(sc, vm.want, false, nil)
	out := make([][]int32, len(which))
	for _, p := range sc.pairs {
		out[p.value] = append(out[p.value], p.rule)
	}
	for i, hits := range out {
		// Past maxSeenBits a pair may be decided more than once.
		slices.Sort(hits)
		out[i] = slices.Compact(hits)
	}
	return out
}

// rulePair is a rule that matches a value of the table (valueHits).
type rulePair struct{ rule, value int32 }

// chainStep is a node of the tree of the chain groups' transformation
// chains: the chain prefix of its parent followed by transformation fn.
// Groups whose chains begin alike share their first steps, and a step
// whose input another step already transformed the same way (the steps
// before them left the value unchanged) reuses that result, so a value is
// transformed once per distinct (form, transformation).
type chainStep struct {
	parent int // -1 for a first step
	fn     crstransform.Func
	fi     int // fn's index among the distinct transformations
	// acts holds the bytes fn may change a value for (its triggers and
	// every byte over 0x7f): a value without any it returns unchanged.
	// Nil when fn may change any value.
	acts *[256]bool
	// actsBits is acts as a bitmap.
	actsBits byteSet
}

// caseKeeping are the transformations with triggers that never change
// letter case: on an ASCII value without their triggers they return the
// value itself, not just the same up to case.
var caseKeeping = map[string]bool{
	"urlDecode": true, "urlDecodeUni": true, "htmlEntityDecode": true, "jsDecode": true, "cssDecode": true,
	"escapeSeqDecode": true, "removeNulls": true, "replaceNulls": true, "removeWhitespace": true,
	"compressWhitespace": true, "trim": true, "trimLeft": true, "trimRight": true, "normalizePath": true,
	"normalisePath": true, "normalizePathWin": true, "normalisePathWin": true, "removeComments": true,
	"replaceComments": true, "removeCommentsChar": true,
}

// actsOn returns chainStep.acts for the transformation name.
func actsOn(name string) *[256]bool {
	if !caseKeeping[name] {
		return nil
	}
	acts, _ := triggerSet([]string{name})
	return acts
}

// addChainSteps returns the path of steps of the chain names (one per
// transformation), adding to steps the prefixes not in it yet; fnIdx
// numbers the distinct transformations.
func addChainSteps(steps []chainStep, idx, fnIdx map[string]int, names []string) ([]chainStep, []int) {
	path := make([]int, 0, len(names))
	parent := -1
	for k, name := range names {
		key := strings.Join(names[:k+1], ",")
		id, ok := idx[key]
		if !ok {
			f, _ := transformFunc(name)
			fi, ok := fnIdx[name]
			if !ok {
				fi = len(fnIdx)
				fnIdx[name] = fi
			}
			id = len(steps)
			idx[key] = id
			st := chainStep{parent: parent, fn: f, fi: fi, acts: actsOn(name)}
			if st.acts != nil {
				st.actsBits = setOf(st.acts)
			}
			steps = append(steps, st)
		}
		path = append(path, id)
		parent = id
	}
	return steps, path
}

// stepResult is a step's outcome on one value: the form after the step
// (the previous form when the step changed nothing), whether the step
// changed it, and whether this step or an earlier one failed. src names
// the form: -1 for the value itself, else the step that produced it.
type stepResult struct {
	out     string
	changed bool
	failed  bool
	src     int
}

// stepMemo holds the steps' results on the value being screened, by step
// and by (input form, transformation).
type stepMemo struct {
	stamp   []int32
	results []stepResult
	// byInput is indexed by (input form's src+1)*nfn + transformation.
	inStamp []int32
	byInput []stepResult
	nfn     int
	cur     int32
}

// reset sizes the memo for n steps of nfn distinct transformations and
// forgets every result.
func (m *stepMemo) reset(n, nfn int) {
	m.stamp = resize(m.stamp, n)
	clear(m.stamp)
	m.results = resize(m.results, n)
	m.nfn = nfn
	m.inStamp = resize(m.inStamp, (n+1)*nfn)
	clear(m.inStamp)
	m.byInput = resize(m.byInput, (n+1)*nfn)
	m.cur = 0
}

// next starts a new value.
func (m *stepMemo) next() { m.cur++ }

// step returns the result of step id on v, the current value, computing
// it (and its parents) once per value.
func (m *stepMemo) step(steps []chainStep, id int, v string, present *byteSet) stepResult {
	if m.stamp[id] == m.cur {
		return m.results[id]
	}
	in, src := v, -1
	if p := steps[id].parent; p >= 0 {
		pr := m.step(steps, p, v, present)
		if pr.failed {
			m.stamp[id], m.results[id] = m.cur, stepResult{failed: true}
			return m.results[id]
		}
		in, src = pr.out, pr.src
	}
	key := (src+1)*m.nfn + steps[id].fi
	if m.inStamp[key] == m.cur {
		m.stamp[id], m.results[id] = m.cur, m.byInput[key]
		return m.results[id]
	}
	r := stepResult{out: in, src: src}
	var out string
	var changed bool
	var err error
	// A transformation returns unchanged an input without the bytes it
	// acts on; present holds those of v, which the input is when the
	// steps before left it alone.
	idle := false
	switch st := &steps[id]; {
	case st.acts == nil:
	case src < 0:
		idle = !present.meets(&st.actsBits)
	default:
		idle = !hasByteIn(in, st.acts)
	}
	if !idle {
		out, changed, err = steps[id].fn(in)
	}
	switch {
	case err != nil:
		r = stepResult{failed: true}
	case changed:
		r.out, r.changed, r.src = out, true, id
	}
	m.stamp[id], m.results[id] = m.cur, r
	m.inStamp[key], m.byInput[key] = m.cur, r
	return r
}

// maxSeenBits bounds the (rule, value) pairs decide remembers per
// request: 1<<22 bits are 512 KiB.
const maxSeenBits = 1 << 22

// groupBit is the bit of chain group gi in a valueSet entry's groups; the
// groups past 63 share every bit, which only makes the screen consider
// more rules.
func groupBit(gi int) uint64 {
	if gi >= 64 {
		return ^uint64(0)
	}
	return 1 << gi
}

// appendCuts appends the keys of the rule's cuttable collections that no
// matching value was seen at.
func (r *screenRule) appendCuts(cuts []targetCut, tx plugintypes.TransactionState, hits []owner) []targetCut {
	keep := make(map[string]bool, len(hits))
	for _, o := range hits {
		keep[strings.ToLower(o.key)] = true
	}
	for _, v := range r.cut {
		col := tx.Collection(v)
		if col == nil {
			continue
		}
		mds := col.FindAll()
		if len(mds) > maxCutKeys {
			continue
		}
		seen := make(map[string]bool, len(mds))
		for _, md := range mds {
			k := strings.ToLower(md.Key())
			// An empty key would take out the whole collection.
			if k == "" || keep[k] || seen[k] {
				continue
			}
			seen[k] = true
			cuts = append(cuts, targetCut{id: r.id, variable: v, key: k})
		}
	}
	return cuts
}

// mayChange reports whether the group's chain may change a value whose
// bytes are present beyond case.
func (g *chainGroup) mayChange(present *byteSet) bool {
	return g.always || present.meets(&g.trigger)
}

// byteSet is a set of bytes as a bitmap: the bytes of a value, computed
// once, meet each group's and step's triggers in four word operations
// instead of a pass over the value each.
type byteSet [4]uint64

// bytesIn returns the set of the bytes of v.
func bytesIn(v string) (s byteSet) {
	for i := 0; i < len(v); i++ {
		s[v[i]>>6] |= 1 << (v[i] & 63)
	}
	return s
}

// setOf returns set as a byteSet.
func setOf(set *[256]bool) (s byteSet) {
	for b, in := range set {
		if in {
			s[b>>6] |= 1 << (b & 63)
		}
	}
	return s
}

// meets reports whether the sets share a byte.
func (s *byteSet) meets(o *byteSet) bool {
	return s[0]&o[0]|s[1]&o[1]|s[2]&o[2]|s[3]&o[3] != 0
}

// triggerSet returns the bytes without which the transformations leave a
// value unchanged up to letter case: their triggers and every byte over
// 0x7f. ok is false when one of them may change any value.
func triggerSet(names []string) (set *[256]bool, ok bool) {
	set = new([256]bool)
	for c := 0x80; c < 0x100; c++ {
		set[c] = true
	}
	for _, name := range names {
		t, ok := triggers[name]
		if !ok {
			return nil, false
		}
		for i := 0; i < len(t); i++ {
			set[t[i]] = true
		}
	}
	return set, true
}

// hasByteIn reports whether v holds a byte of set.
func hasByteIn(v string, set *[256]bool) bool {
	for i := 0; i < len(v); i++ {
		if set[v[i]] {
			return true
		}
	}
	return false
}

// hasRun reports whether b holds n bytes of set in a row.
func hasRun(b []byte, set *[256]bool, n int) bool {
	if n <= 0 {
		return true
	}
	run := 0
	for _, c := range b {
		if !set[c] {
			run = 0
		} else if run++; run >= n {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// scratch is the per-request memory of the screen and the pre-decision,
// reused through a pool.
type scratch struct {
	view      reqView
	table     valueTable
	hit       []bool
	hitOwners [][]owner
	checked   []int32
	found     []uint8
	foundAt   []int32
	marks     acMarks
	seen      []uint64
	memo      stepMemo
	want      []bool
	raw       valueSet
	changed   valueSet
	groups    []int
	memoized  []bool
	hitsOf    [][]int32
	// anyPlace is set while the table holds values for valueHits: each
	// stands for a value seen anywhere in its collections, and pairs
	// collects what matches what.
	anyPlace bool
	pairs    []rulePair
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

// putScratch returns sc to the pool; scratch grown past a large request
// is dropped, so the pool does not keep the largest request's memory.
func putScratch(sc *scratch) {
	if cap(sc.table.values) > 4096 || cap(sc.raw.buf) > 1<<20 || cap(sc.view.entries) > 16384 {
		return
	}
	sc.table.reset()
	sc.anyPlace = false
	scratchPool.Put(sc)
}

// resize returns xs with length n, reusing its memory when it can.
func resize[T any](xs []T, n int) []T {
	if cap(xs) >= n {
		return xs[:n]
	}
	return make([]T, n)
}
