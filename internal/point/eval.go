package point

import (
	"strconv"
	"strings"
	"unsafe"

	"github.com/apisessions/apisessions"
)

// nodeKind is the kind of an intermediate value while a point is evaluated.
type nodeKind uint8

const (
	nText  nodeKind = iota // a plain value
	nPath                  // request.path: a value whose [N] is a segment
	nJSON                  // a JSON value: s is the document, tok its token
	nPairs                 // name/value pairs (form, multipart, query, cookies): e.pairs[doc:tok]
	nXML                   // an XML element: e.xmls[doc], element tok
	nGQL                   // a GraphQL request: e.gqls[doc]
)

// node is one intermediate value. It is small and copied by value so that
// evaluation does not allocate.
type node struct {
	kind    nodeKind
	partial bool // the text was cut by a limit: decoders accept a broken end
	s       string
	doc     int32
	tok     int32
}

// pair is one name/value of a form, multipart body, query or cookie list.
type pair struct {
	name, value string
	// file marks a multipart file part: value is its file name, never its
	// content.
	file bool
}

// memoEntry remembers one decoder applied to one input, so that every
// decoding happens at most once per exchange however many points use it.
type memoEntry struct {
	in  string
	dec Decoder
	out node
	ok  bool
}

// sideState caches what was read of one side of the exchange.
type sideState struct {
	hdrDone     bool
	hdrs        apisessions.Headers // within Limits.HeaderBytes
	cookiesDone bool
	cookieStart int32
	cookieEnd   int32
	bodyDone    bool
	body        string // shares the exchange's memory: see own
	bodyPartial bool
	// content is the body with its Content-Encoding undone (the body
	// itself when it has none or it does not decode).
	contentDone    bool
	content        string
	contentPartial bool
}

// Evaluator evaluates points on one exchange at a time. It caches what it
// decoded (bodies, cookies, query, JWTs ...) until the next Reset and reuses
// its buffers across exchanges, so keep one per goroutine (or in a
// sync.Pool): it is not safe for concurrent use.
type Evaluator struct {
	lim       Limits
	ex        *apisessions.Exchange
	truncated bool
	inflated  int // bytes decompressed during this exchange

	side       [2]sideState
	queryDone  bool
	queryStart int32
	queryEnd   int32
	statusDone bool
	status     string

	toks    []jsonTok
	stack   []int32
	pairs   []pair
	xmls    []*xmlDoc
	gqls    []*gqlDoc
	memo    []memoEntry
	a, b    []node
	out     []string
	scratch []byte
	// arena holds decoded bytes (base64, JWT payloads) of the current
	// exchange; it is reused after Reset, so values in it are copied when
	// they leave the evaluator (see own).
	arena []byte
}

// NewEvaluator returns an evaluator with the given limits (zero fields take
// their defaults). Call Reset before evaluating.
func NewEvaluator(lim Limits) *Evaluator {
	return &Evaluator{lim: lim.normalized()}
}

// Reset starts a new exchange: everything cached from the previous one is
// dropped (buffers are kept) and Truncated is cleared. ex must not change
// until the next Reset.
func (e *Evaluator) Reset(ex *apisessions.Exchange) {
	e.ex = ex
	e.truncated = false
	e.inflated = 0
	e.side = [2]sideState{}
	e.queryDone, e.statusDone = false, false
	e.status = ""
	e.toks = e.toks[:0]
	e.pairs = e.pairs[:0]
	clear(e.xmls)
	e.xmls = e.xmls[:0]
	clear(e.gqls)
	e.gqls = e.gqls[:0]
	clear(e.memo)
	e.memo = e.memo[:0]
	clear(e.out)
	e.out = e.out[:0]
	e.arena = e.arena[:0]
}

// Truncated reports whether a limit was hit during this exchange: some
// value was cut or ignored, so a point may have yielded less than the
// exchange holds.
func (e *Evaluator) Truncated() bool { return e.truncated }

// Values returns every non-empty value of p in the current exchange, in
// exchange order (repeated headers, query names, cookies, form fields, XML
// elements). The slice is reused by the next call to Values or First and by
// Reset: copy the slice to keep it (the strings in it are the caller's to
// keep). An absent, empty or undecodable point yields nothing.
func (e *Evaluator) Values(p *Point) []string {
	nodes := e.eval(p)
	e.out = e.out[:0]
	for _, n := range nodes {
		if v := e.text(n); v != "" {
			e.out = append(e.out, e.own(v))
		}
	}
	return e.out
}

// First returns the first non-empty value of p: the value grouping and
// context parameters use. Values read from a body or a decoded token are
// copied out of the exchange, so they stay valid after it changes.
func (e *Evaluator) First(p *Point) (string, bool) {
	for _, n := range e.eval(p) {
		if v := e.text(n); v != "" {
			return e.own(v), true
		}
	}
	return "", false
}

// eval runs the steps of p. The result is valid until the next eval.
func (e *Evaluator) eval(p *Point) []node {
	if e.ex == nil {
		return nil
	}
	cur := e.source(p, e.a[:0])
	next := e.b[:0]
	chain := 0
	for _, st := range p.steps {
		if len(cur) == 0 {
			break
		}
		next = next[:0]
		switch st.Kind {
		case StepName:
			for _, n := range cur {
				next = e.name(n, st.Name, next)
			}
		case StepIndex:
			next = e.index(cur, st.Index, next)
		case StepDecode:
			chain++
			if chain > e.lim.MaxChain {
				e.truncated = true
				cur = cur[:0]
				break
			}
			for _, n := range cur {
				if out, ok := e.decode(n, st.Decoder); ok {
					next = append(next, out)
				}
			}
		}
		cur, next = next, cur
	}
	e.a, e.b = cur[:0], next[:0]
	return cur
}

func sideIndex(response bool) int {
	if response {
		return 1
	}
	return 0
}

// headers returns the headers of a side within Limits.HeaderBytes.
func (e *Evaluator) headers(response bool) apisessions.Headers {
	s := &e.side[sideIndex(response)]
	if s.hdrDone {
		return s.hdrs
	}
	s.hdrDone = true
	var hs apisessions.Headers
	if response {
		if e.ex.Response == nil {
			return nil
		}
		hs = e.ex.Response.Headers
	} else {
		hs = e.ex.Request.Headers
	}
	total := 0
	for i, h := range hs {
		total += len(h.Name) + len(h.Value)
		if total > e.lim.HeaderBytes {
			e.truncated = true
			hs = hs[:i]
			break
		}
	}
	s.hdrs = hs
	return hs
}

// body returns a side's body as a string, cut at Limits.BodyBytes, read
// once per exchange; every value found in it is a substring of it.
func (e *Evaluator) body(response bool) (string, bool) {
	s := &e.side[sideIndex(response)]
	if s.bodyDone {
		return s.body, s.bodyPartial
	}
	s.bodyDone = true
	var b []byte
	if response {
		if e.ex.Response == nil {
			return "", false
		}
		b = e.ex.Response.Body
	} else {
		b = e.ex.Request.Body
	}
	if len(b) > e.lim.BodyBytes {
		b = b[:e.lim.BodyBytes]
		s.bodyPartial = true
		e.truncated = true
	}
	// The body is read in place, not copied (the exchange does not change
	// until the next Reset); a value found in it is copied when it leaves
	// the evaluator, by own.
	s.body = unsafe.String(unsafe.SliceData(b), len(b))
	return s.body, s.bodyPartial
}

// keep stores decoded bytes in the arena and returns them as a string.
// A full arena is replaced, not grown in place, so that strings into the
// old one stay valid.
func (e *Evaluator) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(e.arena)-len(e.arena) < len(b) {
		e.arena = make([]byte, 0, max(2*cap(e.arena), len(b), 512))
	}
	start := len(e.arena)
	e.arena = append(e.arena, b...)
	return unsafe.String(&e.arena[start], len(b))
}

// own returns v safe to keep after the next Reset: a copy when it lies in
// the memory of the exchange's bodies or of the arena, v itself otherwise
// (header values, decoded strings).
func (e *Evaluator) own(v string) string {
	if v == "" {
		return v
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(v)))
	within := func(base unsafe.Pointer, n int) bool {
		b := uintptr(base)
		return n > 0 && p >= b && p < b+uintptr(n)
	}
	for i := range e.side {
		if b := e.side[i].body; within(unsafe.Pointer(unsafe.StringData(b)), len(b)) {
			return strings.Clone(v)
		}
	}
	if within(unsafe.Pointer(unsafe.SliceData(e.arena)), cap(e.arena)) {
		return strings.Clone(v)
	}
	return v
}

// content returns a side's body with a gzip or deflate Content-Encoding
// undone, within Limits.DecompressedBytes; the body as sent when it has no
// such encoding or does not decompress.
func (e *Evaluator) content(response bool) (string, bool) {
	s := &e.side[sideIndex(response)]
	if s.contentDone {
		return s.content, s.contentPartial
	}
	s.contentDone = true
	b, partial := e.body(response)
	s.content, s.contentPartial = b, partial
	if b == "" {
		return b, partial
	}
	if ce, _ := e.headers(response).Get("Content-Encoding"); compressed(ce) {
		if n, ok := e.decode(node{kind: nText, s: b, partial: partial}, DecoderGzip); ok {
			s.content, s.contentPartial = n.s, n.partial
		}
	}
	return s.content, s.contentPartial
}

// compressed reports a Content-Encoding the gzip decoder undoes.
func compressed(contentEncoding string) bool {
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "gzip", "x-gzip", "deflate":
		return true
	}
	return false
}

// cookies returns the cookie pairs of a side: the Cookie header of the
// request, the Set-Cookie headers of the response.
func (e *Evaluator) cookies(response bool) []pair {
	s := &e.side[sideIndex(response)]
	if !s.cookiesDone {
		s.cookiesDone = true
		s.cookieStart = int32(len(e.pairs))
		for _, h := range e.headers(response) {
			if response && headerNameIs(h.Name, "Set-Cookie") {
				e.pairs = appendSetCookie(e.pairs, h.Value)
			} else if !response && headerNameIs(h.Name, "Cookie") {
				e.pairs = appendCookies(e.pairs, h.Value)
			}
		}
		s.cookieEnd = int32(len(e.pairs))
	}
	return e.pairs[s.cookieStart:s.cookieEnd]
}

// query returns the query pairs of the request, decoded.
func (e *Evaluator) query() []pair {
	if !e.queryDone {
		e.queryDone = true
		e.queryStart = int32(len(e.pairs))
		e.pairs = appendForm(e.pairs, e.ex.RawQuery())
		e.queryEnd = int32(len(e.pairs))
	}
	return e.pairs[e.queryStart:e.queryEnd]
}

// source appends the nodes of p's source.
func (e *Evaluator) source(p *Point, out []node) []node {
	ex := e.ex
	if p.response && ex.Response == nil {
		return out
	}
	text := func(s string) []node { return append(out, node{kind: nText, s: s}) }
	switch p.source {
	case SourceMethod:
		return text(ex.Request.Method)
	case SourceHost:
		return text(ex.Host())
	case SourcePath:
		return append(out, node{kind: nPath, s: ex.Path()})
	case SourceURL:
		return text(ex.Target())
	case SourceIP:
		return text(ex.ClientIP)
	case SourceStatus:
		if !e.statusDone {
			e.statusDone = true
			if ex.Response.Status > 0 {
				e.status = strconv.Itoa(ex.Response.Status)
			}
		}
		return text(e.status)
	case SourceBody:
		// The body is read as content (Content-Encoding undone), except by
		// a point that decompresses it itself.
		var b string
		var partial bool
		if len(p.steps) > 0 && p.steps[0].Kind == StepDecode && p.steps[0].Decoder == DecoderGzip {
			b, partial = e.body(p.response)
		} else {
			b, partial = e.content(p.response)
		}
		return append(out, node{kind: nText, s: b, partial: partial})
	case SourceHeader:
		for _, h := range e.headers(p.response) {
			if headerNameIs(h.Name, p.name) {
				out = append(out, node{kind: nText, s: h.Value})
			}
		}
	case SourceCookie:
		for _, c := range e.cookies(p.response) {
			if c.name == p.name {
				out = append(out, node{kind: nText, s: c.value})
			}
		}
	case SourceQuery:
		for _, c := range e.query() {
			if c.name == p.name {
				out = append(out, node{kind: nText, s: c.value})
			}
		}
	}
	return out
}

// name appends what a name step selects in n.
func (e *Evaluator) name(n node, name string, out []node) []node {
	switch n.kind {
	case nJSON:
		if e.toks[n.tok].kind == jObject {
			if v := jsonMember(e.toks, n.s, n.tok, name); v >= 0 {
				out = append(out, node{kind: nJSON, s: n.s, tok: v})
			}
		}
	case nPairs:
		for _, p := range e.pairs[n.doc:n.tok] {
			if p.name == name {
				out = append(out, node{kind: nText, s: p.value, partial: n.partial})
			}
		}
	case nXML:
		out = e.xmls[n.doc].selectName(n, name, out)
	case nGQL:
		out = e.gqlName(n, name, out)
	}
	return out
}

// index applies "[N]": a segment of request.path, an element of a JSON
// array, else the N-th of the current values.
func (e *Evaluator) index(cur []node, i int, out []node) []node {
	if len(cur) == 1 {
		n := cur[0]
		switch {
		case n.kind == nPath:
			if seg, ok := pathSegment(n.s, i); ok {
				out = append(out, node{kind: nText, s: seg})
			}
			return out
		case n.kind == nJSON && e.toks[n.tok].kind == jArray:
			if v := jsonElement(e.toks, n.tok, i); v >= 0 {
				out = append(out, node{kind: nJSON, s: n.s, tok: v})
			}
			return out
		}
	}
	if i < len(cur) {
		out = append(out, cur[i])
	}
	return out
}

// pathSegment returns the i-th segment of a path ("/a/b" has "a" and "b").
func pathSegment(path string, i int) (string, bool) {
	path = strings.TrimPrefix(path, "/")
	for ; i > 0; i-- {
		k := strings.IndexByte(path, '/')
		if k < 0 {
			return "", false
		}
		path = path[k+1:]
	}
	if k := strings.IndexByte(path, '/'); k >= 0 {
		path = path[:k]
	}
	return path, true
}

// text returns the value of a node as a point yields it.
func (e *Evaluator) text(n node) string {
	switch n.kind {
	case nText, nPath:
		return n.s
	case nJSON:
		return jsonText(n.s, &e.toks[n.tok])
	case nXML:
		return e.xmls[n.doc].text(n)
	}
	return ""
}

// decode applies decoder d to the text of n, once per exchange per input.
func (e *Evaluator) decode(n node, d Decoder) (node, bool) {
	var in string
	switch n.kind {
	case nText, nPath, nJSON, nXML:
		in = e.text(n)
	default:
		return node{}, false
	}
	if in == "" {
		return node{}, false
	}
	for i := range e.memo {
		if m := &e.memo[i]; m.dec == d && m.in == in {
			return m.out, m.ok
		}
	}
	out, ok := e.decodeNew(in, n.partial, d)
	e.memo = append(e.memo, memoEntry{in: in, dec: d, out: out, ok: ok})
	return out, ok
}

func (e *Evaluator) decodeNew(in string, partial bool, d Decoder) (node, bool) {
	switch d {
	case DecoderJSON:
		return e.decodeJSON(in, partial)
	case DecoderJWT:
		payload, ok := jwtPayload(in, &e.scratch)
		if !ok {
			return node{}, false
		}
		return e.decodeJSON(e.keep(payload), false)
	case DecoderBase64:
		v, ok := decodeBase64Bytes(in, &e.scratch)
		return node{kind: nText, s: e.keep(v), partial: partial}, ok
	case DecoderURL:
		return node{kind: nText, s: percentDecode(in, false), partial: partial}, true
	case DecoderGzip:
		// The limit is a budget for the whole exchange, so that chained or
		// repeated decompressions cannot add up past it.
		budget := e.lim.DecompressedBytes - e.inflated
		if budget <= 0 {
			e.truncated = true
			return node{}, false
		}
		v, cut, ok := gunzip(in, budget)
		e.inflated += len(v)
		if cut {
			e.truncated = true
		}
		return node{kind: nText, s: v, partial: partial || cut}, ok
	case DecoderForm:
		start := int32(len(e.pairs))
		e.pairs = appendForm(e.pairs, in)
		return node{kind: nPairs, doc: start, tok: int32(len(e.pairs)), partial: partial}, true
	case DecoderMultipart:
		start := int32(len(e.pairs))
		var cut bool
		e.pairs, cut = appendMultipart(e.pairs, in, e.lim)
		if cut {
			e.truncated = true
		}
		return node{kind: nPairs, doc: start, tok: int32(len(e.pairs)), partial: partial}, len(e.pairs) > int(start)
	case DecoderXML:
		x, cut := parseXML(in, partial, e.lim)
		if cut {
			e.truncated = true
		}
		if x == nil {
			return node{}, false
		}
		e.xmls = append(e.xmls, x)
		return node{kind: nXML, doc: int32(len(e.xmls) - 1), tok: 0}, true
	case DecoderGraphQL:
		g, cut := e.parseGraphQLRequest(in, partial)
		if cut {
			e.truncated = true
		}
		if g == nil {
			return node{}, false
		}
		e.gqls = append(e.gqls, g)
		return node{kind: nGQL, doc: int32(len(e.gqls) - 1)}, true
	}
	return node{}, false
}

func (e *Evaluator) decodeJSON(in string, partial bool) (node, bool) {
	base := int32(len(e.toks))
	r := buildJSON(&e.toks, &e.stack, in, partial, e.lim)
	if r.truncated {
		e.truncated = true
	}
	if !r.ok {
		return node{}, false
	}
	return node{kind: nJSON, s: in, tok: base}, true
}
