package sessionize

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	// Day parts follow a configured IANA zone; embedding the database keeps
	// that working on hosts (containers) that ship no zoneinfo.
	_ "time/tzdata"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/point"
)

// Outcome says what Process did with an exchange.
type Outcome int

// Outcomes of Process.
const (
	// Stored: the record is filled and is to be stored and exported.
	Stored Outcome = iota
	// OutOfScope: the exchange is outside the analyze scope, or its
	// application's mode is off. It is neither sessionized nor stored.
	OutOfScope
	// TooOld: the exchange is older than the retention window ending at
	// Now. It is not stored.
	TooOld
)

// String names the outcome for summaries and logs.
func (o Outcome) String() string {
	switch o {
	case Stored:
		return "stored"
	case OutOfScope:
		return "out_of_scope"
	case TooOld:
		return "too_old"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// DefaultContentBodyLimit bounds the stored body of a malicious request: large
// enough for any API payload an analyst reads, small enough that an attack
// flood cannot fill the store with uploads.
const DefaultContentBodyLimit = 64 << 10

// Options configure a Sessionizer.
type Options struct {
	// Config is the tenant configuration, already validated by
	// internal/config. New still refuses what it cannot work with.
	Config apisessions.Config
	// Secret is the tenant session secret: it keys session IDs, derived
	// request IDs and hmac-sha256 parameter hashes. At least 16 bytes.
	Secret []byte
	// Limits bound point evaluation (decoded sizes, JSON depth, ...).
	Limits point.Limits
	// Now is the clock retention is measured against.
	Now func() time.Time
	// ContentBodyLimit bounds the body bytes kept in the content of a
	// malicious request; longer bodies are cut and marked Truncated.
	ContentBodyLimit int
	// Logger receives debug notes only; never a parameter value.
	Logger *slog.Logger
}

// DefaultOptions returns options with the default limits, the system clock
// and an empty configuration. Secret must still be set.
func DefaultOptions() Options {
	return Options{
		Limits:           point.DefaultLimits(),
		Now:              time.Now,
		ContentBodyLimit: DefaultContentBodyLimit,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// minSecretLen is the shortest session secret accepted: below 128 bits the
// session IDs could be brute-forced back to low-entropy values.
const minSecretLen = 16

// param is a configured parameter with its parsed point.
type param struct {
	apisessions.Parameter
	pt *point.Point
	// masked: a mask rule covers the point, so the value leaves as "***".
	masked bool
	// shield indexes s.shields when the parameter is hashed and read
	// through a container, else -1.
	shield int
	// on lists the shields (of other points) whose path the parameter's
	// point lies on: its value holds their protected value.
	on []int
	// cred: the point reads where requests carry credentials (see
	// credentialPoint); unhashed, its value leaves as "***" when it is or
	// holds one, and as a key it leaves hashed.
	cred bool
	// secretName: the point reads a field whose name says it is a secret
	// (password, token ...): unhashed, its value leaves as "***", and as a
	// key it leaves hashed.
	secretName bool
}

// Sessionizer turns exchanges into records. It is safe for concurrent use:
// per-call state (point evaluators, hashers) comes from a pool.
type Sessionizer struct {
	now          func() time.Time
	log          *slog.Logger
	secret       []byte
	loc          *time.Location
	retention    time.Duration
	hmacParams   bool
	bodyLimit    int
	params       []param
	groupIdx     []int // indexes into params of group: true, in order
	masks        []*point.Point
	maskStrs     []string
	proxies      []netip.Prefix
	apps         []app
	analyzeHosts []hostPattern
	analyzeApps  map[int]bool
	flowRules    []flowRule
	keywords     []keywordRule
	mask         *masker
	// shields are the protected points read through containers (see
	// protect.go); maskShield gives, by mask rule, its shield or -1.
	shields    []shield
	maskShield []int
	// bodyPts are the protected points (mask rules, hashed parameters)
	// that read the request body: verifyBody reads them back from the
	// stored content.
	bodyPts []*point.Point
	limits  point.Limits
	// Points of the built-in set, parsed once.
	authSID, authSub                            *point.Point
	headerPoints, cookiePoints, setCookiePoints []string
	pool                                        sync.Pool // *worker
}

// worker is the per-call state taken from the pool.
type worker struct {
	ev  *point.Evaluator
	mac hash.Hash // HMAC-SHA256 under the session secret
	sum []byte
	buf []byte
	ex  apisessions.Exchange // copy with the resolved client IP
	raw []string             // raw parameter values, by parameter
	// Scratch lists of one Process call.
	maskVals, hashedRaw, contVals []string
	// creds are the credentials of the request (credentials), made once
	// per call when a parameter needs them.
	creds     []string
	credsDone bool
	present   []bool // by shield: its point yielded a value
	// check reads protected points back from stored content (verifyBody);
	// made on first use.
	check *point.Evaluator
	// The last day seen: most exchanges fall on the day before them.
	dayStart, dayEnd time.Time
	day              string
}

// New checks the options and prepares a Sessionizer.
func New(opts Options) (*Sessionizer, error) {
	def := DefaultOptions()
	if opts.Now == nil {
		opts.Now = def.Now
	}
	if opts.Logger == nil {
		opts.Logger = def.Logger
	}
	if opts.ContentBodyLimit <= 0 {
		opts.ContentBodyLimit = def.ContentBodyLimit
	}
	if len(opts.Secret) < minSecretLen {
		return nil, fmt.Errorf("session secret: %d bytes, want at least %d", len(opts.Secret), minSecretLen)
	}
	cfg := opts.Config
	s := &Sessionizer{
		now:       opts.Now,
		log:       opts.Logger,
		secret:    append([]byte(nil), opts.Secret...),
		retention: time.Duration(cfg.Retention),
		bodyLimit: opts.ContentBodyLimit,
		keywords:  defaultKeywordRules(),
		mask:      newMasker(),
	}
	if s.retention <= 0 {
		s.retention = apisessions.DefaultRetention
	}
	tz := cfg.DayTimezone
	if tz == "" {
		tz = apisessions.DefaultDayTimezone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("day_timezone: %w", err)
	}
	s.loc = loc
	switch cfg.HashAlgorithm {
	case "", apisessions.HashMD5:
	case apisessions.HashHMACSHA256:
		s.hmacParams = true
	default:
		return nil, fmt.Errorf("hash_algorithm: %q is not md5 or hmac-sha256", cfg.HashAlgorithm)
	}
	for i, m := range cfg.Mask {
		p, err := point.Parse(m)
		if err != nil {
			return nil, fmt.Errorf("mask[%d]: %w", i, err)
		}
		if metadataOnly(p) {
			return nil, fmt.Errorf("mask[%d]: %s cannot be masked: it is metadata every record keeps, with too few values to hide", i, p.String())
		}
		s.masks = append(s.masks, p)
		s.maskStrs = append(s.maskStrs, p.String())
		s.maskShield = append(s.maskShield, s.addShield(p))
		s.addBodyPoint(p)
	}
	if len(cfg.Parameters) > apisessions.MaxParameters {
		return nil, fmt.Errorf("parameters: %d, at most %d", len(cfg.Parameters), apisessions.MaxParameters)
	}
	for i, cp := range cfg.Parameters {
		p, err := point.Parse(cp.Point)
		if err != nil {
			return nil, fmt.Errorf("parameters[%d].point: %w", i, err)
		}
		if cp.Hash && metadataOnly(p) {
			return nil, fmt.Errorf("parameters[%d].point: %s cannot be hashed: it is metadata every record keeps, with too few values for a hash to hide", i, p.String())
		}
		m := s.maskedBy(p)
		pr := param{Parameter: cp, pt: p, masked: m >= 0, shield: -1, cred: credentialPoint(p), secretName: s.secretPoint(p)}
		if pr.Group && m >= 0 {
			return nil, fmt.Errorf("parameters[%d]: grouping key %s is masked by mask[%d] %s", i, p.String(), m, s.maskStrs[m])
		}
		if pr.Group {
			s.groupIdx = append(s.groupIdx, len(s.params))
		}
		if pr.Hash && !pr.masked {
			pr.shield = s.addShield(p)
			s.addBodyPoint(p)
		}
		s.params = append(s.params, pr)
	}
	for i := range s.params {
		p := &s.params[i]
		for j := range s.shields {
			if j != p.shield && s.shields[j].on(p.pt) {
				p.on = append(p.on, j)
			}
		}
	}
	for i, c := range cfg.TrustedProxies {
		p, err := parsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies[%d]: %w", i, err)
		}
		s.proxies = append(s.proxies, p)
	}
	if s.apps, err = compileApps(cfg.Applications); err != nil {
		return nil, err
	}
	for i, h := range cfg.Analyze.Hosts {
		hp, err := compileHostPattern(h)
		if err != nil {
			return nil, fmt.Errorf("analyze.hosts[%d]: %w", i, err)
		}
		s.analyzeHosts = append(s.analyzeHosts, hp)
	}
	if len(cfg.Analyze.Applications) > 0 {
		s.analyzeApps = make(map[int]bool, len(cfg.Analyze.Applications))
		for _, id := range cfg.Analyze.Applications {
			s.analyzeApps[id] = true
		}
	}
	for i, fr := range cfg.Flows {
		r, err := compileFlowRule(fr)
		if err != nil {
			return nil, fmt.Errorf("flows[%d]: %w", i, err)
		}
		s.flowRules = append(s.flowRules, r)
	}
	s.authSID = point.MustParse(authSIDPoint)
	s.authSub = point.MustParse(authSubPoint)
	for _, h := range sessionHeaders {
		s.headerPoints = append(s.headerPoints, "request.header"+point.FormatName(h))
	}
	for _, c := range sessionCookies {
		s.cookiePoints = append(s.cookiePoints, cookiePoint("request", c))
		s.setCookiePoints = append(s.setCookiePoints, cookiePoint("response", c))
	}
	lim := opts.Limits
	s.limits = lim
	s.pool.New = func() any {
		return &worker{
			ev:      point.NewEvaluator(lim),
			mac:     hmac.New(sha256.New, s.secret),
			sum:     make([]byte, 0, sha256.Size),
			raw:     make([]string, len(s.params)),
			present: make([]bool, len(s.shields)),
		}
	}
	return s, nil
}

// addShield adds the shield of a protected point and returns its index, or
// -1 when the point reads no container.
func (s *Sessionizer) addShield(p *point.Point) int {
	sh, ok := newShield(p)
	if !ok {
		return -1
	}
	s.shields = append(s.shields, sh)
	return len(s.shields) - 1
}

// addBodyPoint adds a protected point to bodyPts when it reads into the
// request body, and notes the JSON path or header name it reads
// for masking by structure.
func (s *Sessionizer) addBodyPoint(p *point.Point) {
	if !p.Response() && p.Source() == point.SourceBody && len(p.Steps()) > 0 {
		s.bodyPts = append(s.bodyPts, p)
	}
	s.mask.paths = append(s.mask.paths, bodyJSONPaths(p)...)
	if !p.Response() && p.Source() == point.SourceHeader {
		s.mask.headers = append(s.mask.headers, p.Name())
	}
}

// maskedBy returns the index of the first mask rule that covers p (the same
// point, or one it steps into: request.body|json.user covers
// request.body|json.user.password), or -1.
func (s *Sessionizer) maskedBy(p *point.Point) int {
	for i, m := range s.masks {
		if m.Covers(p) {
			return i
		}
	}
	return -1
}

// maskedText reports whether a point that does not parse (a finding's,
// written as text) lies under a mask rule, compared as a string prefix, so
// an odd point still cannot leak a masked value.
func (s *Sessionizer) maskedText(pt string) bool {
	for _, m := range s.maskStrs {
		if strings.HasPrefix(pt, m) {
			return true
		}
	}
	return false
}

// Scope is where an exchange falls before any work on its content.
type Scope struct {
	// Outcome is Stored when Process would sessionize the exchange,
	// else OutOfScope or TooOld.
	Outcome Outcome
	// Application is the ID of the first application whose hosts match,
	// 0 for none.
	Application int
	// Mode is the application's filtration mode (monitoring by default).
	Mode string
}

// Scope tells, from the host and time alone, whether Process would
// sessionize ex and in which application and mode: callers skip detection
// of exchanges that will not be stored, and a proxy learns whether to block.
func (s *Sessionizer) Scope(ex *apisessions.Exchange) Scope {
	host := stripPort(strings.ToLower(ex.Host()))
	sc := Scope{Mode: apisessions.ModeMonitoring}
	if ap := s.appFor(host); ap != nil {
		sc.Application = ap.id
		if ap.mode != "" {
			sc.Mode = ap.mode
		}
	}
	switch {
	case sc.Mode == apisessions.ModeOff || !s.inScope(host, sc.Application):
		sc.Outcome = OutOfScope
	case ex.Time.Before(s.now().Add(-s.retention)):
		sc.Outcome = TooOld
	}
	return sc
}

// ErrNilExchange is returned by Process for a nil exchange or record.
var ErrNilExchange = errors.New("sessionize: nil exchange or record")

// Process sessionizes ex with its detection result into rec, which it
// overwrites. rec is filled only when the outcome is Stored.
func (s *Sessionizer) Process(ex *apisessions.Exchange, det apisessions.Detection, rec *apisessions.Record) (Outcome, error) {
	if ex == nil || rec == nil {
		return 0, ErrNilExchange
	}
	*rec = apisessions.Record{}
	sc := s.Scope(ex)
	if sc.Outcome != Stored {
		return sc.Outcome, nil
	}
	host := strings.ToLower(ex.Host())
	appID, mode := sc.Application, sc.Mode

	w := s.pool.Get().(*worker)
	defer func() {
		// Drop the exchange so a pooled worker does not pin its bodies.
		w.ex = apisessions.Exchange{}
		w.ev.Reset(&w.ex)
		clear(w.raw)
		clear(w.maskVals[:cap(w.maskVals)])
		clear(w.hashedRaw[:cap(w.hashedRaw)])
		clear(w.contVals[:cap(w.contVals)])
		clear(w.creds[:cap(w.creds)])
		w.creds, w.credsDone = w.creds[:0], false
		s.pool.Put(w)
	}()
	w.ex = *ex
	w.ex.ClientIP = s.clientIP(ex)
	w.ev.Reset(&w.ex)

	rec.ID = ex.ID
	if rec.ID == "" {
		rec.ID = s.derivedID(w, ex)
	}
	rec.Time = ex.Time.UTC()
	rec.Day = s.dayOf(w, ex.Time)
	rec.Method = ex.Request.Method
	uaRaw, _ := ex.Request.Headers.Get("User-Agent")
	rec.Application = appID
	rec.Mode = mode
	if r := ex.Response; r != nil {
		rec.Status = r.Status
		rec.DurationMS = float64(r.Duration) / float64(time.Millisecond)
		rec.ResponseSize = responseSize(r)
	}

	// Masked values: what mask rules select in this exchange, so that no
	// parameter, payload or content carries them out under another point.
	present := w.present[:len(s.shields)]
	clear(present)
	maskVals := w.maskVals[:0]
	for i, m := range s.masks {
		n := len(maskVals)
		for _, v := range w.ev.Values(m) {
			if v != "" {
				maskVals = append(maskVals, v)
			}
		}
		if sh := s.maskShield[i]; sh >= 0 && len(maskVals) > n {
			present[sh] = true
		}
	}

	// Raw values of the parameters: they group, and are exported below.
	raw := w.raw[:len(s.params)]
	clear(raw)
	hashedRaw := w.hashedRaw[:0] // raw values of hashed parameters: never to leave
	for i := range s.params {
		p := &s.params[i]
		if v, ok := w.ev.First(p.pt); ok && v != "" {
			raw[i] = v
		}
		if p.Hash && !p.masked && raw[i] != "" {
			// Every value, not only the first: a repeated header or query
			// name must not leave its later values raw in stored content.
			for _, v := range w.ev.Values(p.pt) {
				hashedRaw = append(hashedRaw, v)
			}
			if p.shield >= 0 {
				present[p.shield] = true
			}
		}
	}
	// What protected points read through decoders were read out of.
	contVals, bodyMasked := s.containerValues(w, present, w.contVals[:0])
	if len(s.masks)+len(hashedRaw) > 0 {
		if path := ex.Path(); (&protected{masked: maskVals, hashed: hashedRaw}).pathOf(path) {
			contVals = append(contVals, path)
		}
	}
	prot := protected{masked: maskVals, hashed: hashedRaw, conts: contVals}

	// Grouping: custom keys in order, then the built-in set.
	var keyRaw string
	keyHashed := false
	for _, i := range s.groupIdx {
		if raw[i] == "" {
			continue
		}
		p := &s.params[i]
		keyRaw = raw[i]
		rec.Key.Point = p.pt.String()
		// An unhashed key that is or holds a protected value (the JWT a
		// hashed claim is read from) leaves hashed: it still names the
		// session, and reveals nothing.
		if p.Hash || s.onPresent(p.pt, present) || prot.holds(keyRaw) || p.secretName ||
			(p.cred && matchesSecret(keyRaw, s.credentials(w, ex))) {
			rec.Key.Value = s.hashParam(w, keyRaw)
			keyHashed = true
		} else {
			rec.Key.Value = keyRaw
		}
		break
	}
	if keyRaw == "" {
		var bk builtinKey
		if s.builtinToken(w, ex, &bk) {
			keyRaw = bk.value
			rec.Key.Point = bk.point
			rec.Key.Value = s.hashParam(w, keyRaw)
			keyHashed = true
			if !bk.identity {
				// A credential: it must not leave raw through a parameter.
				hashedRaw = append(hashedRaw, keyRaw)
				prot.hashed = hashedRaw
			}
		} else {
			keyRaw = w.ex.ClientIP
			rec.Key.Point = fallbackIPPoint
			if uaRaw != "" {
				keyRaw += " " + uaRaw
				rec.Key.Point = fallbackIPUAPoint
			}
			// Exported as is, unless the IP or User-Agent is protected.
			if s.meta(w, w.ex.ClientIP, &prot) != w.ex.ClientIP || s.meta(w, uaRaw, &prot) != uaRaw {
				rec.Key.Value = s.hashParam(w, keyRaw)
				keyHashed = true
			} else {
				rec.Key.Value = keyRaw
			}
		}
	}
	rec.SessionID = s.sessionID(w, keyRaw)
	w.maskVals, w.hashedRaw, w.contVals = maskVals, hashedRaw, contVals // keep grown buffers

	// Metadata shows what protected points may select (request.ip,
	// request.host, request.path ...): it follows their protection.
	rec.ClientIP = s.meta(w, w.ex.ClientIP, &prot)
	rec.UserAgent = s.meta(w, uaRaw, &prot)
	rec.Host = host
	if h := ex.Host(); h != "" {
		if m := s.meta(w, h, &prot); m != h {
			rec.Host = m
		}
	}
	// Path segments that protected points select (request.path[N]) leave
	// as "***".
	rec.Path = s.protectPath(w, ex.Path(), &prot)
	rec.Endpoint = Endpoint(rec.Method, rec.Path)

	// Parameters: every configured one present, exported. A value that is,
	// or holds, a masked value is "***"; so is an unhashed one holding the
	// raw value of a hashed parameter or credential key (a parameter on the
	// whole Cookie header must not carry the session cookie out), or a
	// container of a protected point.
	rec.Params = []apisessions.Param{}
	var flows []string
	for i := range s.params {
		v := raw[i]
		if v == "" {
			continue
		}
		p := &s.params[i]
		out := apisessions.Param{Name: p.Name, Point: p.pt.String(), Type: p.Type}
		switch {
		case p.masked || matchesSecret(v, maskVals):
			out.Value = maskedValue
		case p.Hash:
			out.Value = s.hashParam(w, v)
			out.Hashed = true
		case matchesSecret(v, hashedRaw) || matchesSecret(v, contVals) || onAny(p.on, present):
			out.Value = maskedValue
		case p.secretName || (p.cred && matchesSecret(v, s.credentials(w, ex))):
			// A credential configured as a parameter, not hashed: it must
			// not leave raw (a key on it leaves hashed).
			out.Value = maskedValue
		default:
			// Safe to keep: point.Evaluator.First copies what lies in
			// bodies or its own buffers.
			out.Value = v
		}
		if len(rec.Params) == 0 {
			rec.Params = make([]apisessions.Param, 0, len(s.params)-i)
		}
		rec.Params = append(rec.Params, out)
		if p.Context {
			flows = addFlow(flows, p.Name)
		}
	}
	for _, p := range rec.Params {
		switch {
		case p.Type == apisessions.ParamUser && rec.User == "":
			rec.User = p.Value
		case p.Type == apisessions.ParamRole && rec.Role == "":
			rec.Role = p.Value
		}
	}

	flows = s.ruleFlows(flows, rec.Method, rec.Path)
	rec.Flows = keywordFlows(s.keywords, flows, rec.Path)
	if rec.Flows == nil {
		rec.Flows = []string{} // a list in JSON, never null
	}

	// Detection, with payloads masked.
	rec.Verdict = det.Verdict
	rec.Score = det.Score
	// Partial too when a point limit cut what parameters could see.
	rec.Partial = det.Partial || w.ev.Truncated()
	rec.Findings = []apisessions.Finding{}
	malicious := det.Malicious()
	if len(det.Findings) > 0 || malicious {
		sec := s.secretsOf(ex, &prot, keyRaw, keyHashed)
		var maskedBody []byte
		if bodyMasked {
			maskedBody = ex.Request.Body
		}
		if len(det.Findings) > 0 {
			rec.Findings = make([]apisessions.Finding, len(det.Findings))
			for i, f := range det.Findings {
				f.RuleIDs = append([]int(nil), f.RuleIDs...)
				f.Payload = s.maskPayload(f.Point, f.Payload, sec, present, maskedBody)
				if f.Payload != maskedValue {
					f.Payload = s.mask.maskJSONPayload(f.Payload, sec, f.Point == bodyPoint)
				}
				if f.Point == bodyPoint && f.Payload != maskedValue {
					f.Payload = s.maskBodyPayload(w, ex, f.Payload, sec, &prot)
				}
				// The point names where the payload lay: a protected value
				// used as a name there (a JSON key, a query name) is masked.
				f.Point = sec.scrub(f.Point)
				rec.Findings[i] = f
			}
		}
		if malicious {
			rec.Content = s.content(ex, sec, bodyMasked)
			s.verifyBody(w, ex, rec.Content, &prot)
		}
	}
	return Stored, nil
}

// bodyPoint is the point of a finding on the whole request body.
const bodyPoint = "request.body"

// maskedValue replaces every masked value.
const maskedValue = "***"

// hashParam exports a hashed value: lowercase hex MD5 by default (an analyst
// can search md5("alice")), or HMAC-SHA256 under the session secret.
func (s *Sessionizer) hashParam(w *worker, v string) string {
	if s.hmacParams {
		return s.sessionID(w, v)
	}
	sum := md5.Sum([]byte(v))
	return hex.EncodeToString(sum[:])
}

// sessionID is the lowercase hex HMAC-SHA256 of the raw key value.
func (s *Sessionizer) sessionID(w *worker, v string) string {
	w.mac.Reset()
	// Through a reused buffer: hmac has no WriteString, and converting
	// would allocate per request.
	w.buf = append(w.buf[:0], v...)
	w.mac.Write(w.buf)
	w.sum = w.mac.Sum(w.sum[:0])
	return hex.EncodeToString(w.sum)
}

// dayOf returns the calendar day of t in the day timezone, reusing the last
// day's text while t stays inside it.
func (s *Sessionizer) dayOf(w *worker, t time.Time) string {
	if w.day != "" && !t.Before(w.dayStart) && t.Before(w.dayEnd) {
		return w.day
	}
	lt := t.In(s.loc)
	y, m, d := lt.Date()
	w.dayStart = time.Date(y, m, d, 0, 0, 0, 0, s.loc)
	w.dayEnd = time.Date(y, m, d+1, 0, 0, 0, 0, s.loc)
	w.day = lt.Format(time.DateOnly)
	return w.day
}

// derivedID gives an exchange without an ID a stable one, so re-importing a
// file stores each request once. It is keyed by the session secret: a plain
// hash over a login body could be brute-forced back to its password.
//
// The ID starts with the exchange time (16 hex digits of Unix nanoseconds)
// and ends with 64 bits of the MAC. Traffic comes roughly in time order, so
// stores that index requests by ID append to that index rather than insert
// all over it: with random IDs, every batch of an import rewrote pages
// across the whole index, and a HAR file (whose entries have no ID) took
// twice as long to import as the same traffic with IDs. Two exchanges
// collide only if they share the nanosecond and 64 bits of MAC.
func (s *Sessionizer) derivedID(w *worker, ex *apisessions.Exchange) string {
	w.mac.Reset()
	var n [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		w.mac.Write(n[:])
		w.mac.Write(b)
	}
	fieldS := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		w.mac.Write(n[:])
		w.buf = append(w.buf[:0], s...)
		w.mac.Write(w.buf)
	}
	fieldS("apisessions request id v2")
	binary.BigEndian.PutUint64(n[:], uint64(ex.Time.UnixNano()))
	w.mac.Write(n[:])
	fieldS(ex.ClientIP)
	fieldS(ex.Request.Method)
	fieldS(ex.Request.URL)
	for _, h := range ex.Request.Headers {
		fieldS(h.Name)
		fieldS(h.Value)
	}
	field(ex.Request.Body)
	w.sum = w.mac.Sum(w.sum[:0])
	var id [16]byte
	binary.BigEndian.PutUint64(id[:8], uint64(ex.Time.UnixNano()))
	copy(id[8:], w.sum[:8])
	return hex.EncodeToString(id[:])
}

// responseSize is the body length seen, else the declared Content-Length
// (a capture may drop bodies it does not need).
func responseSize(r *apisessions.Response) int64 {
	if len(r.Body) > 0 {
		return int64(len(r.Body))
	}
	if v, ok := r.Headers.Get("Content-Length"); ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n >= 0 {
			return n
		}
	}
	return 0
}

// matchesSecret reports whether v is, or contains, one of the secrets, in
// any ASCII case (see fold.go), as it is or percent-decoded.
// Containment counts only for secrets long enough to mean something (see
// minSubstring), so a masked "1" does not mask every number.
func matchesSecret(v string, secrets []string) bool {
	if holdsSecret(v, secrets) {
		return true
	}
	// A value may hold a secret percent-encoded: a Referer or a request.url
	// parameter carrying "email=bob%40example.com".
	if strings.ContainsAny(v, "%+") {
		if d := point.UnescapeForm(v); d != v {
			return holdsSecret(d, secrets)
		}
	}
	return false
}

// holdsSecret is matchesSecret on v as it is.
func holdsSecret(v string, secrets []string) bool {
	for _, m := range secrets {
		if v == m || equalFoldASCII(v, m) || (len(m) >= minSubstring && containsFold(v, m)) {
			return true
		}
	}
	return false
}

// scrubPath replaces the path segments that are, or contain, one of the
// secrets of either list with "***".
func scrubPath(path string, lists ...[]string) string {
	// The common case: no value is anywhere in the path (a segment that is
	// or holds one holds it), so nothing to split.
	found := false
	for _, l := range lists {
		for _, v := range l {
			if v != "" && len(v) <= len(path) && containsFold(path, v) {
				found = true
				break
			}
		}
	}
	// A segment may hold a value percent-encoded ("bob%20smith").
	if !found && !strings.Contains(path, "%") {
		return path
	}
	segs := strings.Split(path, "/")
	changed := false
	for i, seg := range segs {
		if seg == "" {
			continue
		}
		dec := seg
		if strings.Contains(seg, "%") {
			if d, err := url.PathUnescape(seg); err == nil {
				dec = d
			}
		}
		for _, l := range lists {
			if matchesSecret(seg, l) || (dec != seg && matchesSecret(dec, l)) {
				segs[i], changed = maskedValue, true
				break
			}
		}
	}
	if changed {
		path = strings.Join(segs, "/")
	}
	// A value spanning segments ("users/alice") is in no one segment.
	for _, l := range lists {
		for _, v := range l {
			if len(v) >= minSubstring && strings.Contains(v, "/") && containsFold(path, v) {
				path = replaceFoldString(path, v, maskedValue)
			}
		}
	}
	return path
}

// minSubstring is the shortest secret replaced where it appears inside a
// longer text; shorter secrets are masked only where they are a whole value.
const minSubstring = 4

// RequestSessionID returns the session ID of ex from its request line and
// headers alone, before any body is read: what a proxy checks against the
// session denylist (SPEC §8). It follows Process's key order but skips
// configured keys on the response or on the request body, and the response
// Set-Cookie, so where such a key decides a session (a login response) the
// ID here falls back to a later key. Requests that carry their session's
// token, as the ones after a login do, get the ID Process gives them.
func (s *Sessionizer) RequestSessionID(ex *apisessions.Exchange) string {
	w := s.pool.Get().(*worker)
	defer func() {
		w.ex = apisessions.Exchange{}
		w.ev.Reset(&w.ex)
		s.pool.Put(w)
	}()
	w.ex = *ex
	w.ex.ClientIP = s.clientIP(ex)
	// Nothing of bodies or the response may be read.
	w.ex.Request.Body = nil
	w.ex.Response = nil
	w.ev.Reset(&w.ex)
	for _, i := range s.groupIdx {
		p := s.params[i].pt
		if p.Response() || p.Source() == point.SourceBody {
			continue
		}
		if v, ok := w.ev.First(p); ok && v != "" {
			return s.sessionID(w, v)
		}
	}
	var bk builtinKey
	if s.builtinToken(w, &w.ex, &bk) {
		return s.sessionID(w, bk.value)
	}
	key := w.ex.ClientIP
	if ua, _ := ex.Request.Headers.Get("User-Agent"); ua != "" {
		key += " " + ua
	}
	return s.sessionID(w, key)
}
