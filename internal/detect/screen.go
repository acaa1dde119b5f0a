package detect

import (
	"bufio"
	"fmt"
	"io/fs"
	"strings"

	"github.com/apisessions/apisessions/internal/detect/crstransform"
	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3/collection"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"
	"github.com/corazawaf/coraza/v3/types/variables"
	ahocorasick "github.com/petar-dambovaliev/aho-corasick"
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

// screen is the per-engine screening data; read-only after newScreen.
type screen struct {
	rules  []screenRule
	groups []*chainGroup
	// raw finds atoms of every screened rule in untransformed values; for a
	// value its chain leaves unchanged the transformed form is the raw one.
	raw       ahocorasick.AhoCorasick
	rawRules  [][]int32 // pattern -> rule indexes
	phaseIDs  [6][]int  // screened rule IDs per phase, for "skip all"
	always    int       // rules that always run
	variables map[string]bool
}

type screenRule struct {
	id    int
	phase int
	group int
}

// chainGroup is the screened rules that share a transformation chain.
type chainGroup struct {
	names     []string
	fns       []crstransform.Func
	multi     bool
	ac        ahocorasick.AhoCorasick
	patRules  [][]int32
	variables map[string]bool // union of what its rules read
}

func newScreen(metas []types.RuleMetadata, opts Options) (*screen, error) {
	s := &screen{variables: map[string]bool{}}
	groupIdx := map[string]int{}
	type pat struct {
		atom string
		rule int32
	}
	var rawPats []pat
	groupPats := map[int][]pat{}
	// skipped[phase] counts the rules a skip:N action may step over next:
	// Coraza tests removal before it counts skips, so removing one of them
	// would make the skip land on another rule.
	var skipped [6]int
	for _, m := range metas {
		r, ok := parseSecRule(m.Raw())
		if ok && r.skip > 0 {
			skipped[r.phase] = max(skipped[r.phase], r.skip)
		} else if ok && skipped[r.phase] > 0 {
			skipped[r.phase]--
			s.always++
			continue
		}
		if !ok || !screenable(r) || r.phase > 2 {
			s.always++
			continue
		}
		atoms, ok, err := operatorAtoms(r)
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", m.ID(), err)
		}
		if !ok {
			s.always++
			continue
		}
		var fns []crstransform.Func
		for _, t := range r.transform {
			f, ok := crstransform.Get(t)
			if !ok {
				return nil, fmt.Errorf("rule %d: unknown transformation %q", m.ID(), t)
			}
			if t != "lowercase" && t != "uppercase" { // folding covers case
				fns = append(fns, f)
			}
		}
		key := fmt.Sprint(r.transform, r.multi)
		gi, ok := groupIdx[key]
		if !ok {
			gi = len(s.groups)
			groupIdx[key] = gi
			s.groups = append(s.groups, &chainGroup{names: r.transform, fns: fns, multi: r.multi, variables: map[string]bool{}})
		}
		g := s.groups[gi]
		for _, rv := range r.variables {
			for _, v := range expandVariable(rv) {
				g.variables[v] = true
				s.variables[v] = true
			}
		}
		ri := int32(len(s.rules))
		s.rules = append(s.rules, screenRule{id: m.ID(), phase: r.phase, group: gi})
		s.phaseIDs[r.phase] = append(s.phaseIDs[r.phase], m.ID())
		for _, a := range atoms {
			rawPats = append(rawPats, pat{a, ri})
			groupPats[gi] = append(groupPats[gi], pat{a, ri})
		}
	}
	build := func(ps []pat) (ahocorasick.AhoCorasick, [][]int32) {
		idx := map[string]int{}
		var patterns []string
		var rules [][]int32
		for _, p := range ps {
			i, ok := idx[p.atom]
			if !ok {
				i = len(patterns)
				idx[p.atom] = i
				patterns = append(patterns, p.atom)
				rules = append(rules, nil)
			}
			rules[i] = append(rules[i], p.rule)
		}
		b := ahocorasick.NewAhoCorasickBuilder(ahocorasick.Opts{MatchKind: ahocorasick.StandardMatch, DFA: true})
		return b.Build(patterns), rules
	}
	s.raw, s.rawRules = build(rawPats)
	for gi, g := range s.groups {
		g.ac, g.patRules = build(groupPats[gi])
	}
	return s, nil
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

// operatorAtoms returns the folded literals one of which the operator needs
// in its input, ok=false when it needs none.
func operatorAtoms(r secRule) ([]string, bool, error) {
	arg := r.argument
	if strings.Contains(arg, "%{") {
		return nil, false, nil // macros expand per transaction
	}
	switch r.operator {
	case "rx":
		a, ok := regexAtoms(arg)
		return a, ok, nil
	case "pm":
		var out []string
		for _, w := range strings.Fields(arg) {
			out = append(out, foldString(w))
		}
		return out, len(out) > 0, nil
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
		return out, len(out) > 0, nil
	case "contains", "containsWord", "beginsWith", "endsWith", "streq", "strmatch":
		if arg == "" {
			return nil, false, nil
		}
		return []string{foldString(arg)}, true, nil
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

// skippable returns the IDs of the screened rules of the phase that cannot
// match the transaction's current variables.
func (s *screen) skippable(tx plugintypes.TransactionState, phase int) []int {
	if len(s.phaseIDs[phase]) == 0 {
		return nil
	}
	type item struct {
		variable string
		value    string
	}
	var items []item
	seen := map[item]bool{}
	add := func(v, x string) {
		if x == "" {
			return
		}
		it := item{v, x}
		if !seen[it] {
			seen[it] = true
			items = append(items, it)
		}
	}
	tx.Variables().All(func(v variables.RuleVariable, col collection.Collection) bool {
		name := v.Name()
		if !s.variables[name] {
			return true
		}
		for _, md := range col.FindAll() {
			add(name, md.Key())
			add(name, md.Value())
		}
		return true
	})
	hit := make([]bool, len(s.rules))
	mark := func(ac ahocorasick.AhoCorasick, rules [][]int32, hay []byte) {
		it := ac.IterOverlappingByte(hay)
		for m := it.Next(); m != nil; m = it.Next() {
			for _, r := range rules[m.Pattern()] {
				hit[r] = true
			}
		}
	}
	// Untransformed values, each once.
	var buf []byte
	rawSeen := map[string]bool{}
	for _, it := range items {
		if rawSeen[it.value] {
			continue
		}
		rawSeen[it.value] = true
		buf = appendFold(buf, it.value)
		buf = append(buf, '\n')
	}
	mark(s.raw, s.rawRules, buf)
	// Values a rule's chain changes, in their transformed forms.
	for gi, g := range s.groups {
		if !s.groupInPhase(gi, phase) || len(g.fns) == 0 {
			continue
		}
		buf = buf[:0]
		failed := false
		for _, it := range items {
			if !g.variables[it.variable] {
				continue
			}
			cur, changedAny := it.value, false
			for _, f := range g.fns {
				out, changed, err := f(cur)
				if err != nil {
					failed = true
					break
				}
				if changed {
					cur, changedAny = out, true
					if g.multi {
						buf = appendFold(buf, cur)
						buf = append(buf, '\n')
					}
				}
			}
			if failed {
				break
			}
			if changedAny && !g.multi {
				buf = appendFold(buf, cur)
				buf = append(buf, '\n')
			}
		}
		if failed {
			// Coraza's handling of a failing transformation is not modelled:
			// run the group.
			for ri, r := range s.rules {
				if r.group == gi {
					hit[ri] = true
				}
			}
			continue
		}
		if len(buf) > 0 {
			mark(g.ac, g.patRules, buf)
		}
	}
	var skip []int
	for ri, r := range s.rules {
		if r.phase == phase && !hit[ri] {
			skip = append(skip, r.id)
		}
	}
	return skip
}

func (s *screen) groupInPhase(gi, phase int) bool {
	for _, r := range s.rules {
		if r.group == gi && r.phase == phase {
			return true
		}
	}
	return false
}
