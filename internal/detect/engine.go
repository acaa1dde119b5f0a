// Package detect runs OWASP CRS v4 on Coraza over exchanges and turns what
// matched into findings and a verdict.
//
// Two modes give the same verdicts. ModeFull runs every CRS rule on every
// request. ModeFast first builds the request's variables itself, as Coraza
// would hold them (view.go), and when it can prove that no rule matches them
// answers clean without a Coraza transaction (prejudge.go); that is most
// benign API traffic. Any other request runs a Coraza transaction that first
// screens it (screen.go) and skips, for this transaction only, the rules that
// provably cannot match it.
package detect

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/apisessions/apisessions"
	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/collection"
	"github.com/corazawaf/coraza/v3/experimental"
	"github.com/corazawaf/coraza/v3/experimental/plugins"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"
	"github.com/corazawaf/coraza/v3/types/variables"
)

// Engine is a Coraza WAF loaded with CRS. One Engine serves all goroutines.
type Engine struct {
	opts   Options
	log    *slog.Logger
	waf    coraza.WAF
	screen *screen   // nil in ModeFull
	pre    *prejudge // nil in ModeFull, or when the rules cannot be pre-decided
	rules  map[int]ruleInfo
}

var _ apisessions.Detector = (*Engine)(nil)

// ruleInfo is what findings need to know of a CRS rule.
type ruleInfo struct {
	typ   apisessions.AttackType
	score int
}

// New loads CRS into a Coraza WAF with the options. It fails on bad options
// or when the rule set does not load.
func New(opts Options) (*Engine, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{opts: opts, log: log, rules: map[int]ruleInfo{}}
	var metas []types.RuleMetadata
	directives := opts.directivesFor()
	hook := &screenHook{}
	if opts.Mode == ModeFast {
		// The hook operator is registered under a name unique to this engine
		// (Coraza's operator registry is global and keeps it for the life of
		// the process: one small entry per engine).
		name := fmt.Sprintf("apisessionsScreen%p", hook)
		plugins.RegisterOperator(name, hook.operator)
		directives = strings.Replace(directives, crsInclude, fmt.Sprintf(
			"SecRule REQUEST_METHOD \"@%[1]s 1\" \"id:%[2]d,phase:1,pass,nolog,t:none\"\n"+
				"SecRule REQUEST_METHOD \"@%[1]s 2\" \"id:%[3]d,phase:2,pass,nolog,t:none\"\n", name, ruleHook1, ruleHook2)+crsInclude, 1)
	}
	cfg := coraza.NewWAFConfig().WithRootFS(coreruleset.FS).WithDirectives(directives)
	cfg = experimental.WAFConfigWithRuleObserver(cfg, func(r types.RuleMetadata) { metas = append(metas, r) })
	waf, err := coraza.NewWAF(cfg)
	if err != nil {
		return nil, fmt.Errorf("load CRS: %w", err)
	}
	e.waf = waf
	for _, m := range metas {
		score := severityScore(m.Severity())
		if m.ID() < 900000 {
			score = 0 // Coraza's own rules add nothing to the CRS anomaly score
		}
		e.rules[m.ID()] = ruleInfo{typ: attackType(m.ID(), m.Tags()), score: score}
	}
	if opts.Mode == ModeFast {
		s, err := newScreen(metas, opts)
		if err != nil {
			return nil, fmt.Errorf("build screen: %w", err)
		}
		snap, err := txSnapshot(waf)
		if err != nil {
			return nil, fmt.Errorf("read CRS configuration: %w", err)
		}
		pre, residue, err := newPrejudge(metas, s, &e.opts, snap)
		if err != nil {
			return nil, fmt.Errorf("build pre-decision: %w", err)
		}
		e.pre = pre
		if pre == nil {
			log.Debug("detect: no pre-decision", "undecided_rules", residue)
			s.compile(nil)
		} else {
			// Rules the paranoia level skips never run: deciding them in
			// each transaction would be wasted (942420's pattern alone
			// cost attacks more than the rest of the hook), and so would
			// scanning for their atoms.
			s.keepNatives(pre.active)
			s.compile(pre.active)
		}
		e.screen = s
		hook.s = s
		log.Debug("detect: screen built", "rules", len(metas), "screened", len(s.rules), "always", s.always,
			"native", len(s.natives[1])+len(s.natives[2]))
	}
	return e, nil
}

// Detect inspects the exchange. The error is non-nil only when ctx is done
// or Coraza fails internally; bad requests are inspected as they are.
func (e *Engine) Detect(ctx context.Context, ex *apisessions.Exchange) (apisessions.Detection, error) {
	if err := ctx.Err(); err != nil {
		return apisessions.Detection{}, err
	}
	clean, _, plan := e.pre.judge(ex, "HTTP/1.1", true)
	if clean {
		return apisessions.Detection{Verdict: apisessions.VerdictClean}, nil
	}
	r, err := e.runPlanned(ex, "HTTP/1.1", nil, plan)
	if err != nil {
		return apisessions.Detection{}, err
	}
	return e.detection(ex, r), nil
}

// result is what one Coraza transaction left.
type result struct {
	matched []types.MatchedRule
	// raw holds the untransformed value of each matched variable:key
	// (MatchData.Value is the value after the rule's transformations).
	raw     map[string]string
	score   int
	partial bool
}

// ruleRemover is the method of Coraza's transaction that skips a rule for
// that transaction only (what ctl:ruleRemoveById does).
type ruleRemover interface{ RemoveRuleByID(id int) }

// run feeds the exchange to a Coraza transaction, skipping the given rules.
// proto is the HTTP version of the request line; exchanges do not keep it,
// the CRS regression cases do.
func (e *Engine) run(ex *apisessions.Exchange, proto string, skip []int) (result, error) {
	return e.runPlanned(ex, proto, skip, nil)
}

// planSeq numbers the transactions that run with a screen plan.
var planSeq atomic.Uint64

// runPlanned is run; with a plan (ModeFast), the screen hook takes its
// answers from the plan instead of screening the transaction.
func (e *Engine) runPlanned(ex *apisessions.Exchange, proto string, skip []int, plan *screenPlan) (result, error) {
	var tx types.Transaction
	if plan != nil && e.screen != nil {
		id := "p" + strconv.FormatUint(planSeq.Add(1), 36)
		tx = e.waf.NewTransactionWithID(id)
		e.screen.plans.Store(id, plan)
		defer e.screen.plans.Delete(id)
	} else {
		tx = e.waf.NewTransaction()
	}
	defer tx.Close()
	if len(skip) > 0 {
		rr, ok := tx.(ruleRemover)
		if !ok {
			return result{}, fmt.Errorf("coraza transaction cannot skip rules")
		}
		for _, id := range skip {
			rr.RemoveRuleByID(id)
		}
	}
	var res result
	body, err := e.feedRequest(tx, ex, proto, &res)
	if err != nil {
		return result{}, err
	}
	if e.opts.Responses && ex.Response != nil {
		resp := ex.Response
		for _, h := range resp.Headers {
			tx.AddResponseHeader(h.Name, h.Value)
		}
		status := resp.Status
		if status == 0 {
			status = 200
		}
		tx.ProcessResponseHeaders(status, "HTTP/1.1")
		rb := resp.Body
		if len(rb) > e.opts.BodyLimit {
			rb = rb[:e.opts.BodyLimit]
			res.partial = true
		}
		if len(rb) > 0 && tx.IsResponseBodyAccessible() {
			if _, _, err := tx.WriteResponseBody(rb); err != nil {
				return result{}, fmt.Errorf("coraza response body: %w", err)
			}
		}
		if _, err := tx.ProcessResponseBody(); err != nil {
			return result{}, fmt.Errorf("coraza response body: %w", err)
		}
	}
	res.matched = tx.MatchedRules()
	if st, ok := tx.(plugintypes.TransactionState); ok {
		res.raw = rawValues(st, res.matched)
		vars := st.Variables()
		if v := vars.TX().Get("blocking_inbound_anomaly_score"); len(v) > 0 {
			res.score, _ = strconv.Atoi(v[0])
		}
		if vars.ArgumentsLimitReached().Get() == "1" {
			res.partial = true
		}
		if vars.RequestBodyError().Get() == "1" && jsonDeeper(body, e.opts.MaxJSONDepth) {
			// Coraza stops parsing at the depth limit and reports a body
			// error; that is our limit, not a malformed request.
			res.partial = true
		}
	}
	return res, nil
}

// corazaHeaders appends to dst the request headers Coraza is given: the
// exchange's (without nameless ones, which Coraza drops), then the framing
// and Host headers a capture may have lost.
func corazaHeaders(dst []apisessions.Header, ex *apisessions.Exchange) []apisessions.Header {
	req := &ex.Request
	hasHost, hasLength := false, false
	for _, h := range req.Headers {
		switch {
		case strings.EqualFold(h.Name, "Host"):
			hasHost = true
		case strings.EqualFold(h.Name, "Content-Length"), strings.EqualFold(h.Name, "Transfer-Encoding"):
			hasLength = true
		}
		if h.Name != "" {
			dst = append(dst, h)
		}
	}
	if !hasLength && len(req.Body) > 0 {
		// A body on the wire had framing; captures often drop these headers,
		// and CRS 920180 would otherwise flag every such POST.
		dst = append(dst, apisessions.Header{Name: "Content-Length", Value: strconv.Itoa(len(req.Body))})
	}
	if host := ex.Host(); host != "" && !hasHost {
		// Absolute-form requests carry the host in the URL only; HTTP/1.1
		// servers see it as Host, and CRS checks Host.
		dst = append(dst, apisessions.Header{Name: "Host", Value: host})
	}
	return dst
}

// feedRequest gives the exchange's request to the transaction, through
// the request body phase, and returns the body bytes inspected.
func (e *Engine) feedRequest(tx types.Transaction, ex *apisessions.Exchange, proto string, res *result) ([]byte, error) {
	req := &ex.Request
	ip := ex.ClientIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	tx.ProcessConnection(ip, 0, "", 0)
	method := req.Method
	if method == "" {
		method = "GET"
	}
	tx.ProcessURI(targetOf(ex), method, proto)
	for _, h := range corazaHeaders(nil, ex) {
		tx.AddRequestHeader(h.Name, h.Value)
	}
	if host := ex.Host(); host != "" {
		tx.SetServerName(hostOnly(host))
	}
	tx.ProcessRequestHeaders()
	body := req.Body
	if len(body) > e.opts.BodyLimit {
		body = body[:e.opts.BodyLimit]
		res.partial = true
	}
	if len(body) > 0 {
		if _, _, err := tx.WriteRequestBody(body); err != nil {
			return nil, fmt.Errorf("coraza request body: %w", err)
		}
	}
	if _, err := tx.ProcessRequestBody(); err != nil {
		return nil, fmt.Errorf("coraza request body: %w", err)
	}
	return body, nil
}

// detection turns matched rules into grouped findings and a verdict.
func (e *Engine) detection(ex *apisessions.Exchange, r result) apisessions.Detection {
	d := apisessions.Detection{Score: r.score, Partial: r.partial}
	src := newExchangeArgs(ex)
	type key struct {
		typ   apisessions.AttackType
		point string
	}
	idx := map[key]int{}
	for _, m := range r.matched {
		id := m.Rule().ID()
		info, ok := e.rules[id]
		if !ok {
			info = ruleInfo{typ: attackType(id, m.Rule().Tags()), score: severityScore(m.Rule().Severity())}
		}
		if !isFinding(id, info.score) {
			continue
		}
		if r.partial && id == ruleBodyParseError {
			// A body cut at the limit rarely parses; that error is ours.
			continue
		}
		point, payload := "", ""
		for _, md := range m.MatchedDatas() {
			p := pointOf(md.Variable().Name(), md.Key(), src)
			if p == "" {
				continue
			}
			point, payload = p, md.Value()
			if v, ok := r.raw[md.Variable().Name()+"\x00"+md.Key()]; ok {
				payload = v
			}
			break
		}
		if point == "" {
			point = "request.url"
		}
		k := key{info.typ, point}
		i, ok := idx[k]
		if !ok {
			i = len(d.Findings)
			idx[k] = i
			d.Findings = append(d.Findings, apisessions.Finding{Type: info.typ, Point: point, Payload: boundPayload(payload)})
		}
		f := &d.Findings[i]
		if !containsInt(f.RuleIDs, id) {
			f.RuleIDs = append(f.RuleIDs, id)
			f.Score += info.score
		}
	}
	switch {
	case d.Score >= e.opts.AnomalyThreshold:
		d.Verdict = apisessions.VerdictAttack
	case len(d.Findings) > 0:
		d.Verdict = apisessions.VerdictSuspicious
	default:
		d.Verdict = apisessions.VerdictClean
	}
	return d
}

// rawValues looks up, while the transaction lives, the untransformed value
// of every variable a finding rule matched: analysts want the request as
// sent, not "cat/etc/passwd" after t:cmdLine.
func rawValues(st plugintypes.TransactionState, matched []types.MatchedRule) map[string]string {
	var raw map[string]string
	for _, m := range matched {
		if !isFinding(m.Rule().ID(), severityScore(m.Rule().Severity())) {
			continue
		}
		for _, md := range m.MatchedDatas() {
			k := md.Variable().Name() + "\x00" + md.Key()
			if _, ok := raw[k]; ok {
				continue
			}
			var v string
			switch c := st.Collection(md.Variable()).(type) {
			case collection.Keyed:
				vs := c.Get(md.Key())
				if len(vs) == 0 {
					continue
				}
				v = vs[0]
			case collection.Single:
				v = c.Get()
			default:
				continue
			}
			if raw == nil {
				raw = map[string]string{}
			}
			raw[k] = v
		}
	}
	return raw
}

// jsonDeeper reports whether the JSON text nests arrays and objects deeper
// than limit (strings skipped; malformed text is scanned as it is).
func jsonDeeper[T string | []byte](b T, limit int) bool {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > limit {
				return true
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return false
}

// Coraza's own rules from coraza.conf-recommended that report bad bodies.
const (
	ruleBodyParseError = 200002
)

// IDs of the fast path's hook rules, which run first in phases 1 and 2.
const (
	ruleHook1 = 100001
	ruleHook2 = 100002
)

// crsInclude is the directive that loads the CRS rules.
const crsInclude = "Include @owasp_crs/*.conf\n"

// screenHook is the operator of the hook rules: it screens the transaction
// and removes, for this transaction only, the rules that cannot match.
type screenHook struct {
	s *screen // set once New has built it, before any transaction
}

func (h *screenHook) operator(o plugintypes.OperatorOptions) (plugintypes.Operator, error) {
	switch o.Arguments {
	case "1":
		return hookOp{h, 1}, nil
	case "2":
		return hookOp{h, 2}, nil
	}
	return nil, fmt.Errorf("screen hook: bad phase %q", o.Arguments)
}

type hookOp struct {
	h     *screenHook
	phase int
}

// Evaluate screens and never matches.
func (o hookOp) Evaluate(tx plugintypes.TransactionState, _ string) bool {
	if o.h.s == nil {
		return false
	}
	rr, ok := tx.(ruleRemover)
	if !ok {
		return false // nothing skipped: full evaluation, still correct
	}
	var skip []int
	var cuts []targetCut
	if pl, ok := o.h.s.plans.Load(tx.ID()); ok {
		skip, cuts = o.h.s.planned(pl.(*screenPlan), tx, o.phase)
	} else {
		skip, cuts = o.h.s.skippable(tx, o.phase)
	}
	for _, id := range skip {
		rr.RemoveRuleByID(id)
	}
	for _, id := range o.h.s.nativeSkips(tx, o.phase) {
		rr.RemoveRuleByID(id)
	}
	if tr, ok := tx.(targetRemover); ok {
		for _, c := range cuts {
			tr.RemoveRuleTargetByID(c.id, c.variable, c.key, nil)
		}
	}
	return false
}

// targetRemover is the method of Coraza's transaction that takes a target
// out of a rule for that transaction only (ctl:ruleRemoveTargetById).
type targetRemover interface {
	RemoveRuleTargetByID(id int, variable variables.RuleVariable, key string, keyRx *regexp.Regexp)
}

// isFinding reports whether a matched rule is a detection rather than CRS
// bookkeeping (initialisation, paranoia skips, exclusion helpers, the
// 949/959/980 scoring): CRS detections are the rules that add to the
// anomaly score, which is what their severity does.
func isFinding(id, score int) bool {
	switch {
	case id >= 200002 && id <= 200005:
		return true
	case id >= 911000 && id < 949000, id >= 950000 && id < 959000:
		return score > 0
	}
	return false
}

// attackType classifies a CRS rule by its file (the thousands of its ID) and
// tags.
func attackType(id int, tags []string) apisessions.AttackType {
	has := func(t string) bool {
		for _, x := range tags {
			if x == t {
				return true
			}
		}
		return false
	}
	switch {
	case id == 930100 || id == 930110:
		return apisessions.AttackPathTraversal
	case has("attack-ssrf"):
		return apisessions.AttackSSRF
	case id >= 200002 && id <= 200005:
		return apisessions.AttackProtocol
	}
	switch id / 1000 {
	case 911, 920, 921:
		return apisessions.AttackProtocol
	case 913:
		return apisessions.AttackScanner
	case 922:
		return apisessions.AttackMultipart
	case 930:
		return apisessions.AttackLFI
	case 931:
		return apisessions.AttackRFI
	case 932:
		return apisessions.AttackRCE
	case 933:
		return apisessions.AttackPHPInjection
	case 934:
		if has("platform-nodejs") || has("language-javascript") {
			return apisessions.AttackNodeJSInjection
		}
		return apisessions.AttackGeneric
	case 941:
		return apisessions.AttackXSS
	case 942:
		return apisessions.AttackSQLi
	case 943:
		return apisessions.AttackSessionFixation
	case 944:
		return apisessions.AttackJavaInjection
	}
	return apisessions.AttackGeneric
}

// severityScore is what CRS adds to the anomaly score for a rule of that
// severity (tx.critical_anomaly_score and friends in crs-setup).
func severityScore(s types.RuleSeverity) int {
	switch s {
	case types.RuleSeverityEmergency, types.RuleSeverityAlert, types.RuleSeverityCritical:
		return 5
	case types.RuleSeverityError:
		return 4
	case types.RuleSeverityWarning:
		return 3
	case types.RuleSeverityNotice:
		return 2
	}
	return 0
}

// maxPayload bounds the matched value kept in a finding.
const maxPayload = 256

// boundPayload cuts s to maxPayload bytes on a UTF-8 boundary.
func boundPayload(s string) string {
	if len(s) <= maxPayload {
		return s
	}
	cut := maxPayload
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut]
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// hostOnly strips the port from a Host value.
func hostOnly(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		return h[:i]
	}
	return h
}

// exchangeArgs answers pointOf's questions about one exchange.
type exchangeArgs struct {
	query   string
	decoder string
}

func newExchangeArgs(ex *apisessions.Exchange) *exchangeArgs {
	ct, _ := ex.Request.Headers.Get("Content-Type")
	q := ""
	if _, after, ok := strings.Cut(targetOf(ex), "?"); ok {
		q = after
	}
	return &exchangeArgs{query: q, decoder: bodyDecoderOf(ct)}
}

func (a *exchangeArgs) inQuery(name string) bool {
	for part := range strings.SplitSeq(a.query, "&") {
		k, _, _ := strings.Cut(part, "=")
		if k == name {
			return true
		}
		if strings.ContainsAny(k, "%+") && decodeQueryComponent(k) == name {
			return true
		}
	}
	return false
}

func (a *exchangeArgs) bodyDecoder() string { return a.decoder }

// bodyDecoderOf names the point decoder for a Content-Type, as Coraza picks
// its body processor.
func bodyDecoderOf(ct string) string {
	ct = strings.ToLower(strings.TrimSpace(ct))
	switch {
	case strings.HasPrefix(ct, "application/json"), strings.HasPrefix(ct, "application/") && strings.Contains(ct, "+json"):
		return "json"
	case strings.HasPrefix(ct, "multipart/form-data"):
		return "multipart"
	case strings.HasPrefix(ct, "application/xml"), strings.HasPrefix(ct, "text/xml"), strings.HasPrefix(ct, "application/soap+xml"):
		return "xml"
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		return "form"
	}
	return ""
}

// decodeQueryComponent decodes %XX and '+' leniently, as Coraza does for
// arguments: bad escapes stay as they are.
func decodeQueryComponent(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// targetOf is the origin-form request target; "/" when the exchange has
// none (or the asterisk form).
func targetOf(ex *apisessions.Exchange) string {
	if t := ex.Target(); t != "" && t != "*" {
		return t
	}
	return "/"
}
