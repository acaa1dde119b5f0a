package detect

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/apisessions/apisessions"
	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"
)

// The pre-decision. Most API requests are clean, and for most of them no
// rule can match: ModeFast then answers without a Coraza transaction. The
// engine builds the request's variables itself (view.go) and proves that no
// rule that can add a finding or change how Coraza reads the request can
// match them:
//
//   - the rules active at the configured paranoia level are found by
//     walking CRS's own paranoia skips (TX:DETECTION_PARANOIA_LEVEL "@lt N"
//     with skipAfter); every other skip is ignored, so more rules are
//     checked than Coraza runs, never fewer;
//   - a rule the screen handles is decided by the screen on the view;
//   - a rule with a constant operator over request variables is decided
//     natively (native.go), with %{tx.*} arguments expanded from the
//     configuration when only configuration rules set them;
//   - a rule whose first link reads only such configuration variables is
//     decided once, when the engine is built;
//   - a few CRS rules whose chains decide (911100's friends 920180, 920420,
//     920440, 920450) are written out below;
//   - the body processor selection (coraza.conf-recommended 200000,
//     200001, 200006, CRS 901340) and body errors are mirrored by the view,
//     which refuses what it does not mirror.
//
// When a rule fits none of these the engine has no pre-decision at all
// (every request goes to Coraza), and says so in its debug log. A request
// the pre-decision does not clear runs the screened Coraza transaction as
// before; the pre-decision only ever says "clean", and only when the full
// engine would find nothing.

// prejudge is the engine's pre-decision; nil when it has none.
type prejudge struct {
	s *screen
	o *Options
	// want selects the screened rules to decide, and slinks holds the
	// deciders of their chains' later links.
	want   []bool
	slinks [][]func(v *reqView) bool
	// memo remembers the screen's answers on values seen before.
	memo    *valueMemo
	natives []*nativeRule
	// links holds, per native, deciders of its chain's later links: the
	// rule can match only if each of them may.
	links [][]func(v *reqView) bool
	// checks are the rules written out: true when the rule may match.
	checks   []func(v *reqView) bool
	checkIDs []int
	// active holds the phase 1 and 2 rules that run at the paranoia level,
	// exclusions taken out.
	active map[int]bool
}

// decide is clean, with the ID of a rule that may match when not clean
// (-1 when the view refused the request).
func (p *prejudge) decide(ex *apisessions.Exchange, proto string) (clean bool, rule int) {
	clean, rule, _ = p.judge(ex, proto, false)
	return clean, rule
}

// judge is decide; with withPlan set, a request that is not clean but
// whose view was built also gets the screen's answer on that view for the
// screened rules the pre-decision decides, for its Coraza transaction
// (screenPlan).
func (p *prejudge) judge(ex *apisessions.Exchange, proto string, withPlan bool) (clean bool, rule int, plan *screenPlan) {
	if p == nil || p.o.Responses && ex.Response != nil {
		return false, -1, nil
	}
	sc := getScratch()
	defer putScratch(sc)
	v := &sc.view
	if !v.build(ex, proto, p.o) {
		return false, -1, nil
	}
	// screened decides the screened rules (all of them when stop is not
	// set), returning the index of one that may match, or -1.
	screened := func(stop bool) (int, []bool, [][]owner) {
		t := &sc.table
		t.reset()
		// Entries come in runs of one variable: look it up once a run.
		var (
			variable string
			keep     bool
			bit      uint64
		)
		for i := range v.entries {
			e := &v.entries[i]
			if i == 0 || e.variable != variable {
				// varBit holds exactly the screened collections.
				variable = e.variable
				bit, keep = p.s.varBit[variable]
			}
			if keep {
				t.add(e.variable, e.key, e.key, bit)
				t.add(e.variable, e.key, e.value, bit)
			}
		}
		// A screened rule whose later links cannot all match is left out.
		want := resize(sc.want, len(p.want))
		copy(want, p.want)
		sc.want = want
		for ri, links := range p.slinks {
			if !p.want[ri] {
				continue
			}
			for _, l := range links {
				if !l(v) {
					want[ri] = false
					break
				}
			}
		}
		hit, owners := p.s.decide(sc, want, stop, p.memo)
		return slices.Index(hit, true), hit, owners
	}
	dirty := func(id int) (bool, int, *screenPlan) {
		if !withPlan {
			return false, id, nil
		}
		_, hit, owners := screened(false)
		return false, id, p.s.plan(sc.want, hit, owners)
	}
	for i, c := range p.checks {
		if c(v) {
			return dirty(p.checkIDs[i])
		}
	}
natives:
	for i, n := range p.natives {
		if !n.matchesView(v) {
			continue
		}
		for _, l := range p.links[i] {
			if !l(v) {
				continue natives
			}
		}
		return dirty(n.id)
	}
	// Without a plan to make, the first rule that may match ends it; for
	// a clean request both ways decide every rule.
	ri, hit, owners := screened(!withPlan)
	if ri < 0 {
		return true, 0, nil
	}
	if withPlan {
		plan = p.s.plan(sc.want, hit, owners)
	}
	return false, p.s.rules[ri].id, plan
}

// matchesView is matches on a view.
func (n *nativeRule) matchesView(v *reqView) bool {
	for _, t := range n.targets {
		name := t.name
		if t.single {
			if t.key != "" {
				return true
			}
			for _, i := range v.byVariable(name) {
				value := v.entries[i].value
				if t.count {
					value = "1"
				}
				if n.test(value) {
					return true
				}
			}
			continue
		}
		if t.count {
			if n.test(strconv.Itoa(v.count(name, t.key))) {
				return true
			}
			continue
		}
		for _, i := range v.byVariable(name) {
			e := &v.entries[i]
			if (t.key == "" || strings.EqualFold(e.key, t.key)) && n.test(e.value) {
				return true
			}
		}
	}
	return false
}

// Rules whose effect the view mirrors: the body processor selection, and
// the body and multipart error flags (the view refuses bodies Coraza would
// fail on, and multipart ones).
var mirroredRules = map[int]bool{200000: true, 200001: true, 200006: true, 901340: true, 200002: true, 200003: true}

var (
	reXMLType     = regexp.MustCompile(`^(?:application(?:/soap\+|/)|text/)xml`)
	reJSONSubtype = regexp.MustCompile(`^application/[a-z0-9.-]+[+]json`)
)

// newPrejudge classifies every rule that runs at the configuration's
// paranoia level; residue lists the rules it could not decide, in which
// case p is nil.
func newPrejudge(metas []types.RuleMetadata, s *screen, o *Options, snap map[string][]string) (p *prejudge, residue []int, err error) {
	setters, err := scanSetters(o)
	if err != nil {
		return nil, nil, err
	}
	constTX := func(name string) bool { return setters.constant(strings.ToLower(name)) }
	pl, _ := strconv.Atoi(first(snap["detection_paranoia_level"]))
	if pl < 1 || !constTX("detection_paranoia_level") {
		return nil, []int{0}, nil
	}
	excluded := map[int]bool{}
	for _, id := range o.ExcludeRules {
		excluded[id] = true
	}
	screened := map[int]int32{}
	for ri := range s.rules {
		screened[s.rules[ri].id] = int32(ri)
	}
	p = &prejudge{s: s, o: o, want: make([]bool, len(s.rules)), slinks: make([][]func(v *reqView) bool, len(s.rules)), active: map[int]bool{}}
	chains, err := chainLinks()
	if err != nil {
		return nil, nil, err
	}
	updates, err := updatedTargets()
	if err != nil {
		return nil, nil, err
	}
	var skipUntil [6]string
	for _, m := range metas {
		raw := strings.TrimSpace(m.Raw())
		if name, ok := strings.CutPrefix(raw, "SecMarker "); ok {
			name = strings.Trim(strings.TrimSpace(name), `"'`)
			for ph := range skipUntil {
				if skipUntil[ph] == name {
					skipUntil[ph] = ""
				}
			}
			continue
		}
		id := m.ID()
		r, ok := parseSecRule(raw)
		phase := r.phase
		if !ok {
			phase = actionPhase(raw)
		}
		if phase < 1 || phase > 2 || skipUntil[phase] != "" {
			continue
		}
		if excluded[id] && !mirroredRules[id] {
			continue // removed: it matches nothing and skips nothing
		}
		p.active[id] = true
		if ok && len(r.variables) == 1 && r.variables[0] == "TX" && strings.EqualFold(r.keys[0], "detection_paranoia_level") &&
			r.operator == "lt" && !r.negated {
			n, err := strconv.Atoi(r.argument)
			if marker := skipAfterOf(raw); err == nil && marker != "" {
				if pl < n {
					skipUntil[phase] = marker
				}
				continue
			}
		}
		if id == ruleHook1 || id == ruleHook2 || id == 0 {
			continue
		}
		if mirroredRules[id] {
			if excluded[id] {
				return nil, []int{id}, nil // the view would mirror a rule that does not run
			}
			continue
		}
		if !isFinding(id, severityScore(m.Severity())) && !setters.ctl[id] {
			continue // bookkeeping: sets variables only configuration rules may read
		}
		if updates[id][""] > 0 {
			// SecRuleUpdateTargetById gave the rule targets its text does
			// not show.
			residue = append(residue, id)
			continue
		}
		if c, found := writtenOut[id]; found {
			check, err := c(snap, constTX)
			if err == nil {
				if check != nil {
					p.checks = append(p.checks, check)
					p.checkIDs = append(p.checkIDs, id)
				}
				continue
			}
		}
		if !ok {
			residue = append(residue, id)
			continue
		}
		if ri, ok := screened[id]; ok {
			links, never := linkDeciders(chains[id], snap, constTX)
			if !never {
				p.want[ri] = true
				p.slinks[ri] = links
			}
			continue
		}
		if len(r.variables) > 0 && len(r.countVars) == 0 && !slices.ContainsFunc(r.variables, func(v string) bool { return v != "XML" }) {
			continue // reads XML only, and the view has no XML body
		}
		if expanded, ok := expandTX(withoutXML(r), snap, constTX); ok {
			if n, ok := newNativeRuleOver(id, expanded, viewNativeVariables); ok {
				links, never := linkDeciders(chains[id], snap, constTX)
				if never {
					continue
				}
				p.natives = append(p.natives, n)
				p.links = append(p.links, links)
				continue
			}
			if never, ok := decideTX(expanded, snap, constTX); ok && never {
				continue
			}
		}
		residue = append(residue, id)
	}
	if len(residue) > 0 {
		return nil, residue, nil
	}
	p.memo = newValueMemo(o.CacheEntries, p.want)
	return p, nil, nil
}

// linkDeciders returns deciders for the later links of a chain: each
// reports whether its link may match a view. A link that reads anything
// else (captures, MATCHED_VAR, request macros) has none, as if it always
// matched. never reports a link that cannot match any request.
func linkDeciders(links []string, snap map[string][]string, constTX func(string) bool) (out []func(v *reqView) bool, never bool) {
	for _, l := range links {
		r, ok := parseSecRule(l)
		if !ok {
			continue
		}
		if expanded, ok := expandTX(withoutXML(r), snap, constTX); ok {
			if n, ok := newNativeRuleOver(0, expanded, viewNativeVariables); ok {
				out = append(out, n.matchesView)
				continue
			}
			if nv, ok := decideTX(expanded, snap, constTX); ok && nv {
				return nil, true
			}
		}
	}
	return out, false
}

// chainLinks maps the ID of every chained CRS rule to the text of its
// later links, in order.
func chainLinks() (map[int][]string, error) {
	files, err := fs.Glob(coreruleset.FS, "@owasp_crs/*.conf")
	if err != nil {
		return nil, fmt.Errorf("list CRS rules: %w", err)
	}
	out := map[int][]string{}
	for _, name := range files {
		b, err := fs.ReadFile(coreruleset.FS, name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		parent := 0
		for _, d := range directives(string(b)) {
			if !strings.HasPrefix(d, "SecRule ") {
				parent = 0
				continue
			}
			r, _ := parseSecRule(d)
			if parent != 0 {
				out[parent] = append(out[parent], d)
				if !r.chain {
					parent = 0
				}
				continue
			}
			if r.chain {
				id := 0
				if m := reID.FindStringSubmatch(d); m != nil {
					id, _ = strconv.Atoi(m[1])
				}
				parent = id
				if id == 0 {
					parent = -1
				}
			}
		}
	}
	return out, nil
}

var reID = regexp.MustCompile(`id:'?([0-9]+)`)

// viewNativeVariables are the collections a rule decided natively on a
// view may read.
var viewNativeVariables = func() map[string]bool {
	m := map[string]bool{"REQUEST_BODY": true}
	for v := range nativeVariables {
		m[v] = true
	}
	return m
}()

// withoutXML returns r without its XML targets: a view never has an XML
// body, so they hold no value.
func withoutXML(r secRule) secRule {
	out := r
	out.variables, out.keys = nil, nil
	for i, v := range r.variables {
		if v != "XML" {
			out.variables = append(out.variables, v)
			out.keys = append(out.keys, r.keys[i])
		}
	}
	return out
}

func first(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[0]
}

var (
	rePhase     = regexp.MustCompile(`phase:'?([0-9a-z_]+)`)
	reSkipAfter = regexp.MustCompile(`skipAfter:'?([^,'"]+)`)
	reMacro     = regexp.MustCompile(`%\{(?i:tx)\.([^}]+)\}`)
)

// actionPhase is the phase of a SecAction (2, Coraza's default, when not
// given).
func actionPhase(raw string) int {
	m := rePhase.FindStringSubmatch(raw)
	if m == nil {
		return 2
	}
	switch m[1] {
	case "1", "request_headers":
		return 1
	case "2", "request":
		return 2
	}
	return 5
}

func skipAfterOf(raw string) string {
	if m := reSkipAfter.FindStringSubmatch(raw); m != nil {
		return strings.TrimSpace(m[1])
	}
	return ""
}

// expandTX returns the rule with the %{tx.name} macros of its argument
// replaced by their configured values; ok is false when a macro reads
// something else or a variable a request may change.
func expandTX(r secRule, snap map[string][]string, constTX func(string) bool) (secRule, bool) {
	if !strings.Contains(r.argument, "%{") {
		return r, true
	}
	bad := false
	arg := reMacro.ReplaceAllStringFunc(r.argument, func(m string) string {
		name := strings.ToLower(reMacro.FindStringSubmatch(m)[1])
		if !constTX(name) {
			bad = true
		}
		return first(snap[name])
	})
	if bad || strings.Contains(arg, "%{") {
		return r, false
	}
	r.argument = arg
	return r, true
}

// decideTX evaluates, once, a first link that reads configuration
// variables only; ok is false for any other link. never reports that it
// cannot match.
func decideTX(r secRule, snap map[string][]string, constTX func(string) bool) (never, ok bool) {
	if len(r.variables)+len(r.countVars) == 0 || len(r.negations) > 0 {
		return false, false
	}
	op, ok := nativeOperator(r.operator, r.argument)
	if !ok {
		return false, false
	}
	full, err := chainFuncs(r.transform)
	if err != nil {
		return false, false
	}
	n := &nativeRule{full: full, multi: r.multi, negated: r.negated, op: op}
	for i, v := range r.variables {
		k := strings.ToLower(r.keys[i])
		if v != "TX" || k == "" || !constTX(k) {
			return false, false
		}
		for _, x := range snap[k] {
			if n.test(x) {
				return false, true
			}
		}
	}
	for i, v := range r.countVars {
		k := strings.ToLower(r.countKeys[i])
		if v != "TX" || k == "" || strings.HasPrefix(k, "/") || !constTX(k) {
			return false, false
		}
		if n.test(strconv.Itoa(len(snap[k]))) {
			return false, true
		}
	}
	return true, true
}

// txSnapshot runs a minimal request through the WAF and returns its TX
// variables: the configuration CRS's initialisation rules leave.
func txSnapshot(waf coraza.WAF) (map[string][]string, error) {
	tx := waf.NewTransaction()
	defer tx.Close()
	tx.ProcessConnection("0.0.0.0", 0, "", 0)
	tx.ProcessURI("/", "GET", "HTTP/1.1")
	tx.AddRequestHeader("Host", "localhost")
	tx.ProcessRequestHeaders()
	if _, err := tx.ProcessRequestBody(); err != nil {
		return nil, err
	}
	st, ok := tx.(plugintypes.TransactionState)
	if !ok {
		return nil, fmt.Errorf("coraza transaction state not readable")
	}
	out := map[string][]string{}
	for _, md := range st.Variables().TX().FindAll() {
		k := strings.ToLower(md.Key())
		out[k] = append(out[k], md.Value())
	}
	return out, nil
}

// setters is what the loaded rule text sets.
type setters struct {
	// dynamic are the TX variables some rule sets depending on the
	// request; prefixes the names set with a macro in the name.
	dynamic  map[string]bool
	prefixes []string
	// ctl are the rules with a ctl action (in any link) other than the
	// ruleRemove ones, which only take rules or targets away.
	ctl map[int]bool
}

// ctlHarmless reports whether a ctl action cannot make a rule match: it
// takes rules or targets away, or changes logging only.
func ctlHarmless(val string) bool {
	v := strings.ToLower(val)
	for _, p := range []string{"ruleremove", "auditengine", "auditlogparts", "debugloglevel"} {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

func (s *setters) constant(name string) bool {
	if _, err := strconv.Atoi(name); err == nil {
		return false // a capture
	}
	if s.dynamic[name] {
		return false
	}
	for _, p := range s.prefixes {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	return true
}

// scanSetters reads every setvar and ctl of the configuration and the
// files it includes.
func scanSetters(o *Options) (*setters, error) {
	st := &setters{dynamic: map[string]bool{}, ctl: map[int]bool{}}
	texts := []string{o.directivesFor()}
	for _, pat := range []string{"@coraza.conf-recommended", "@crs-setup.conf.example", "@owasp_crs/*.conf"} {
		files, err := fs.Glob(coreruleset.FS, pat)
		if err != nil {
			return nil, fmt.Errorf("list rules: %w", err)
		}
		for _, f := range files {
			b, err := fs.ReadFile(coreruleset.FS, f)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", f, err)
			}
			texts = append(texts, string(b))
		}
	}
	for _, text := range texts {
		var chain [][2]string // variables and actions per link
		flush := func() {
			if len(chain) == 0 {
				return
			}
			constant, id := true, 0
			var names []string
			for _, link := range chain {
				for _, v := range strings.Split(link[0], "|") {
					n, _, _ := strings.Cut(strings.TrimLeft(strings.TrimSpace(v), "!&"), ":")
					if n != "" && !strings.EqualFold(n, "TX") {
						constant = false
					}
				}
				for _, a := range splitActions(link[1]) {
					k, val, _ := strings.Cut(strings.TrimSpace(a), ":")
					val = strings.Trim(strings.TrimSpace(val), "'")
					switch strings.TrimSpace(k) {
					case "id":
						if id == 0 {
							id, _ = strconv.Atoi(val)
						}
					case "setvar":
						name, value, _ := strings.Cut(strings.TrimPrefix(val, "!"), "=")
						name = strings.ToLower(strings.TrimSpace(name))
						col, name, _ := strings.Cut(name, ".")
						if col != "tx" {
							continue
						}
						if i := strings.Index(name, "%{"); i >= 0 {
							st.prefixes = append(st.prefixes, name[:i])
							continue
						}
						for _, m := range regexp.MustCompile(`%\{([^}]*)\}`).FindAllStringSubmatch(value, -1) {
							if !strings.HasPrefix(strings.ToLower(m[1]), "tx.") {
								constant = false
							}
						}
						names = append(names, name)
					case "ctl":
						if !ctlHarmless(val) {
							st.ctl[id] = true
						}
					}
				}
			}
			if !constant {
				for _, n := range names {
					st.dynamic[n] = true
				}
			}
			chain = nil
		}
		for _, d := range directives(text) {
			switch {
			case strings.HasPrefix(d, "SecAction "):
				flush()
				actions, _, _ := nextToken(strings.TrimPrefix(d, "SecAction "))
				chain = append(chain, [2]string{"", actions})
				flush()
			case strings.HasPrefix(d, "SecRule "):
				vars, rest, ok1 := nextToken(strings.TrimPrefix(d, "SecRule "))
				_, rest, ok2 := nextToken(rest)
				actions, _, _ := nextToken(rest)
				if !ok1 || !ok2 {
					return nil, fmt.Errorf("unreadable rule %q", d)
				}
				chain = append(chain, [2]string{vars, actions})
				chained := false
				for _, a := range splitActions(actions) {
					if strings.TrimSpace(a) == "chain" {
						chained = true
					}
				}
				if !chained {
					flush()
				}
			default:
				flush()
			}
		}
		flush()
	}
	return st, nil
}

// writtenOut are the rules whose chain decides and that are evaluated by
// hand, built from the configuration: nil check when the rule cannot
// match any request, an error when the configuration is not the one the
// code was written for (the rule then needs another way).
var writtenOut = map[int]func(snap map[string][]string, constTX func(string) bool) (func(v *reqView) bool, error){
	// REQUEST_PROTOCOL "!@within HTTP/2 HTTP/2.0 HTTP/3 HTTP/3.0", chain
	// REQUEST_METHOD "@streq POST", &REQUEST_HEADERS:Content-Length "@eq 0",
	// &REQUEST_HEADERS:Transfer-Encoding "@eq 0".
	920180: func(map[string][]string, func(string) bool) (func(v *reqView) bool, error) {
		return func(v *reqView) bool {
			return !strings.Contains("HTTP/2 HTTP/2.0 HTTP/3 HTTP/3.0", v.proto) && v.method == "POST" &&
				v.count("REQUEST_HEADERS", "Content-Length") == 0 && v.count("REQUEST_HEADERS", "Transfer-Encoding") == 0
		}, nil
	},
	// REQUEST_HEADERS:Content-Type "@rx ^[^;\s]+" capture,
	// setvar:'tx.content_type=|%{tx.0}|', chain TX:content_type
	// "!@within %{tx.allowed_request_content_type}" t:lowercase.
	920420: func(snap map[string][]string, constTX func(string) bool) (func(v *reqView) bool, error) {
		if !constTX("allowed_request_content_type") {
			return nil, fmt.Errorf("allowed_request_content_type varies")
		}
		allowed := first(snap["allowed_request_content_type"])
		return func(v *reqView) bool {
			for _, h := range v.headers {
				if !strings.EqualFold(h.Name, "Content-Type") {
					continue
				}
				if strings.ContainsAny(h.Value, "\n") {
					return true // the anchor sees lines
				}
				end := strings.IndexAny(h.Value, "; \t\n\f\r")
				if end < 0 {
					end = len(h.Value)
				}
				if end > 0 && (!isASCII(h.Value[:end]) || !strings.Contains(allowed, lowerASCII("|"+h.Value[:end]+"|"))) {
					return true
				}
			}
			return false
		}, nil
	},
	// REQUEST_BASENAME "@rx \.([^.]+)$" t:urlDecodeUni capture,
	// setvar:'tx.extension=.%{tx.1}/', chain TX:EXTENSION
	// "@within %{tx.restricted_extensions}" t:lowercase.
	920440: func(snap map[string][]string, constTX func(string) bool) (func(v *reqView) bool, error) {
		if !constTX("restricted_extensions") {
			return nil, fmt.Errorf("restricted_extensions varies")
		}
		restricted := first(snap["restricted_extensions"])
		return func(v *reqView) bool {
			b := v.basename
			if strings.ContainsAny(b, "%+") {
				f, _ := chainFuncs([]string{"urlDecodeUni"})
				out, _, err := f[0](b)
				if err != nil {
					return true
				}
				b = out
			}
			if strings.ContainsAny(b, "\n") || !isASCII(b) {
				return true
			}
			i := strings.LastIndexByte(b, '.')
			if i < 0 || i == len(b)-1 {
				return false
			}
			return strings.Contains(restricted, lowerASCII(b[i:]+"/"))
		}, nil
	},
	// REQUEST_HEADERS_NAMES "@rx ^.*$" t:lowercase capture,
	// setvar:'tx.header_name_920450_%{tx.0}=/%{tx.0}/', chain
	// TX:/^header_name_920450_/ "@within %{tx.restricted_headers_basic}".
	920450: restrictedHeaders("restricted_headers_basic"),
	// The same at paranoia level 2 (920451) with
	// tx.restricted_headers_extended.
	920451: restrictedHeaders("restricted_headers_extended"),
	// &MULTIPART_PART_HEADERS:_charset_ "!@eq 0": the view refuses
	// multipart bodies, so there is no part header.
	922100: func(map[string][]string, func(string) bool) (func(v *reqView) bool, error) {
		return nil, nil
	},
	// TX:/MULTIPART_HEADERS_CONTENT_TYPES_*/, which only 922140's chain sets,
	// on a multipart part header.
	922110: func(map[string][]string, func(string) bool) (func(v *reqView) bool, error) {
		return nil, nil
	},
	// TX:allow_method_override_parameter "@eq 0", chain REQUEST_METHOD
	// "!@streq %{ARGS._method}", chain ARGS:_method "@rx ^[a-z]{3,10}$":
	// kept for any _method argument.
	920650: func(snap map[string][]string, constTX func(string) bool) (func(v *reqView) bool, error) {
		if !constTX("allow_method_override_parameter") {
			return nil, fmt.Errorf("allow_method_override_parameter varies")
		}
		if first(snap["allow_method_override_parameter"]) != "0" {
			return nil, nil
		}
		return func(v *reqView) bool { return v.count("ARGS", "_method") > 0 }, nil
	},
	// TX:/paramcounter_.*/ "@gt 1", counted by 921170 for each argument
	// name: kept for any name seen twice.
	921180: func(map[string][]string, func(string) bool) (func(v *reqView) bool, error) {
		return func(v *reqView) bool {
			seen := map[string]bool{}
			for _, i := range v.byVariable("ARGS_NAMES") {
				k := strings.ToLower(v.entries[i].key)
				if seen[k] {
					return true
				}
				seen[k] = true
			}
			return false
		}, nil
	},
	// REQUEST_COOKIES:/\x22?\x24Version/ "@streq 1" t:lowercase: kept for a
	// cookie named like $Version (any case) whose value is 1.
	921250: func(map[string][]string, func(string) bool) (func(v *reqView) bool, error) {
		return func(v *reqView) bool {
			for _, i := range v.byVariable("REQUEST_COOKIES") {
				e := &v.entries[i]
				if strings.Contains(strings.ToLower(e.key), "$version") && strings.ToLower(e.value) == "1" {
					return true
				}
			}
			return false
		}, nil
	},
	// REQUEST_BODY_LENGTH "@gt 0", chain &REQUEST_HEADERS:Content-Type
	// "@eq 0": the view refuses a body without a Content-Type.
	920640: func(map[string][]string, func(string) bool) (func(v *reqView) bool, error) {
		return nil, nil
	},
}

// restrictedHeaders is the check of 920450 and 920451: kept for a header
// whose lower-cased name, between slashes, is in the list.
func restrictedHeaders(list string) func(map[string][]string, func(string) bool) (func(v *reqView) bool, error) {
	return func(snap map[string][]string, constTX func(string) bool) (func(v *reqView) bool, error) {
		if !constTX(list) {
			return nil, fmt.Errorf("%s varies", list)
		}
		restricted := first(snap[list])
		// The names between slashes, when all are ASCII without upper
		// case: a name without a slash is in the list exactly when it
		// equals one of them, case aside.
		var names []string
		if pieces := strings.Split(restricted, "/"); len(pieces) > 2 {
			names = pieces[1 : len(pieces)-1]
		}
		for _, n := range names {
			if !isASCII(n) || lowerASCII(n) != n {
				names = nil
				break
			}
		}
		return func(v *reqView) bool {
			for _, h := range v.headers {
				if !isASCII(h.Name) {
					return true
				}
				if names == nil || strings.IndexByte(h.Name, '/') >= 0 {
					if strings.Contains(restricted, "/"+lowerASCII(h.Name)+"/") {
						return true
					}
					continue
				}
				for _, n := range names {
					if strings.EqualFold(h.Name, n) {
						return true
					}
				}
			}
			return false
		}, nil
	}
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
