package point

import (
	"mime"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/apisessions/apisessions"
)

// List calls fn with every point present in ex and its value, in a stable
// order: the request, then the response; on each side method, host, path,
// path segments, url, ip (request) or status (response), query, headers,
// cookies, then the body decoded by Content-Encoding (gzip, deflate) and
// Content-Type (JSON, form, multipart, XML, GraphQL). Values that hold a JWT
// are listed as their claims too ("request.header.Authorization|jwt.sub"),
// and values that hold JSON as its members. Each listed point parses and
// evaluates back to its value: a repeated name is listed bare for its first
// value and with "[N]" for the N-th. fn returning false stops the listing.
// truncated reports that a limit (MaxPoints among them) cut the listing.
func List(ex *apisessions.Exchange, lim Limits, fn func(point, value string) bool) (truncated bool) {
	e := NewEvaluator(lim)
	e.Reset(ex)
	return e.List(fn)
}

// List lists the points of the current exchange as the function List does,
// reusing the evaluator's caches. Call Reset first.
func (e *Evaluator) List(fn func(point, value string) bool) (truncated bool) {
	if e.ex == nil {
		return false
	}
	l := &lister{e: e, fn: fn}
	l.side(false)
	if e.ex.Response != nil {
		l.side(true)
	}
	return e.truncated
}

type lister struct {
	e       *Evaluator
	fn      func(point, value string) bool
	n       int
	stopped bool
}

// emit lists one point unless its value is empty.
func (l *lister) emit(point, value string) {
	if l.stopped || value == "" {
		return
	}
	if l.n >= l.e.lim.MaxPoints {
		l.e.truncated = true
		l.stopped = true
		return
	}
	l.n++
	if !l.fn(point, l.e.own(value)) {
		l.stopped = true
	}
}

func (l *lister) side(response bool) {
	e, ex := l.e, l.e.ex
	prefix := "request."
	if response {
		prefix = "response."
		if ex.Response.Status > 0 {
			l.emit(prefix+"status", strconv.Itoa(ex.Response.Status))
		}
	} else {
		l.emit(prefix+"method", ex.Request.Method)
		l.emit(prefix+"host", ex.Host())
		path := ex.Path()
		l.emit(prefix+"path", path)
		for i := 0; ; i++ {
			seg, ok := pathSegment(path, i)
			if !ok {
				break
			}
			l.emit(prefix+"path["+strconv.Itoa(i)+"]", seg)
		}
		l.emit(prefix+"url", ex.Target())
		l.emit(prefix+"ip", ex.ClientIP)
		l.pairs(prefix+"query", e.query(), 0)
	}
	hdrs := e.headers(response)
	total := make(map[string]int, len(hdrs))
	for _, h := range hdrs {
		total[headerKey(h.Name)]++
	}
	seen := make(map[string]int, len(hdrs))
	for _, h := range hdrs {
		if h.Name == "" || l.stopped {
			continue
		}
		name := textproto.CanonicalMIMEHeaderKey(h.Name)
		key := headerKey(h.Name)
		k := seen[key]
		seen[key] = k + 1
		point, inner := repeated(prefix+"header"+FormatName(name), k, total[key])
		l.value(point, inner, h.Value, 0)
	}
	l.pairs(prefix+"cookie", e.cookies(response), 0)
	l.body(response)
}

func indexSuffix(k int) string {
	if k == 0 {
		return ""
	}
	return "[" + strconv.Itoa(k) + "]"
}

// repeated returns the point of the k-th of n values of a name (bare for
// the first), and the prefix for what is listed inside that value: there
// the first of several is "[0]" too, because after a decoder an index
// would select inside a single JSON array rather than among the values.
func repeated(base string, k, n int) (point, inner string) {
	point = base + indexSuffix(k)
	if k == 0 && n > 1 {
		return point, base + "[0]"
	}
	return point, point
}

// pairs lists name/value pairs under prefix: the first value of a name
// bare, the N-th with "[N]".
func (l *lister) pairs(prefix string, ps []pair, chain int) {
	total := make(map[string]int, len(ps))
	for _, p := range ps {
		total[p.name]++
	}
	seen := make(map[string]int, len(ps))
	for _, p := range ps {
		if l.stopped {
			return
		}
		k := seen[p.name]
		seen[p.name] = k + 1
		if p.name == "" {
			continue
		}
		point, inner := repeated(prefix+FormatName(p.name), k, total[p.name])
		if p.file {
			l.emit(point, p.value)
			continue
		}
		l.value(point, inner, p.value, chain)
	}
}

// value lists a value and, when it holds a JWT or JSON, what it holds.
// inner is the prefix of what is listed inside v (see repeated).
func (l *lister) value(point, inner, v string, chain int) {
	l.emit(point, v)
	if l.stopped || chain >= l.e.lim.MaxChain {
		return
	}
	switch {
	case looksJWT(v):
		if n, ok := l.e.decode(node{kind: nText, s: v}, DecoderJWT); ok {
			l.json(inner+"|jwt", n, chain+1)
		}
	case len(v) > 1 && (v[0] == '{' || v[0] == '['):
		if n, ok := l.e.decode(node{kind: nText, s: v}, DecoderJSON); ok {
			l.json(inner+"|json", n, chain+1)
		}
	}
}

// looksJWT reports a compact JWS ("eyJ...x.y.z"), optionally "Bearer ".
func looksJWT(v string) bool {
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		v = strings.TrimSpace(v[7:])
	}
	return strings.HasPrefix(v, "eyJ") && strings.Count(v, ".") == 2
}

// json lists the scalar leaves of a JSON value.
func (l *lister) json(prefix string, n node, chain int) {
	if l.stopped {
		return
	}
	t := l.e.toks
	tk := &t[n.tok]
	switch tk.kind {
	case jObject:
		end := tk.next
		members := 0
		for k := n.tok + 1; k+1 < end; k = t[k+1].next {
			members++
		}
		// A duplicate key evaluates to its first occurrence, so only that
		// one is listed; big objects use a set to stay linear.
		var seen map[string]bool
		if members > 32 {
			seen = make(map[string]bool, members)
		}
		for k := n.tok + 1; k+1 < end && !l.stopped; k = t[k+1].next {
			v := k + 1
			key := jsonString(n.s, &t[k])
			if seen != nil {
				if seen[key] {
					continue
				}
				seen[key] = true
			} else if jsonMember(t, n.s, n.tok, key) != v {
				continue
			}
			l.json(prefix+FormatName(key), node{kind: nJSON, s: n.s, tok: v, partial: n.partial}, chain)
		}
	case jArray:
		i := 0
		for k := n.tok + 1; k < tk.next && !l.stopped; k = t[k].next {
			l.json(prefix+"["+strconv.Itoa(i)+"]", node{kind: nJSON, s: n.s, tok: k, partial: n.partial}, chain)
			i++
		}
	case jString:
		l.value(prefix, prefix, jsonString(n.s, tk), chain)
	default:
		l.emit(prefix, jsonText(n.s, tk))
	}
}

// body lists a body by its Content-Encoding and Content-Type; a body no
// decoder accepts is listed whole.
func (l *lister) body(response bool) {
	e := l.e
	b, partial := e.body(response)
	if b == "" || l.stopped {
		return
	}
	prefix := "request.body"
	if response {
		prefix = "response.body"
	}
	n := node{kind: nText, s: b, partial: partial}
	hdrs := e.headers(response)
	// A compressed body is listed with an explicit "|gzip": the point says
	// what was decoded (it evaluates the same as without it, see content).
	if ce, _ := hdrs.Get("Content-Encoding"); compressed(ce) {
		if z, ok := e.decode(n, DecoderGzip); ok {
			n, prefix = z, prefix+"|gzip"
		}
	}
	ct, _ := hdrs.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if mt == "" {
		mt = strings.ToLower(strings.TrimSpace(ct))
	}
	trimmed := strings.TrimLeft(n.s, " \t\r\n")
	graphqlPath := !response && strings.Contains(strings.ToLower(e.ex.Path()), "graphql")
	listed := false
	switch {
	case mt == "application/graphql" || mt == "application/graphql+json" && !strings.HasPrefix(trimmed, "{\""):
		listed = l.graphql(prefix, n)
	case mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		(mt == "" || mt == "text/plain") && trimmed != "" && (trimmed[0] == '{' || trimmed[0] == '['):
		if j, ok := e.decode(n, DecoderJSON); ok {
			listed = true
			l.json(prefix+"|json", j, 1)
			if graphqlPath || mt == "application/graphql+json" {
				l.graphql(prefix, n)
			}
		}
	case mt == "application/x-www-form-urlencoded":
		if f, ok := e.decode(n, DecoderForm); ok {
			listed = true
			l.pairs(prefix+"|form", e.pairs[f.doc:f.tok], 1)
		}
	case strings.HasPrefix(mt, "multipart/"):
		if m, ok := e.decode(n, DecoderMultipart); ok {
			listed = true
			l.pairs(prefix+"|multipart", e.pairs[m.doc:m.tok], 1)
		}
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml") ||
		(mt == "" || mt == "text/plain") && strings.HasPrefix(trimmed, "<"):
		if x, ok := e.decode(n, DecoderXML); ok {
			listed = true
			l.xml(prefix+"|xml", x)
		}
	}
	if !listed {
		l.emit(prefix, n.s)
	}
}

// graphql lists a GraphQL request: operation, name, fields, args, variables.
func (l *lister) graphql(prefix string, n node) bool {
	g, ok := l.e.decode(n, DecoderGraphQL)
	if !ok {
		return false
	}
	d := l.e.gqls[g.doc]
	prefix += "|graphql"
	l.emit(prefix+".operation", d.opType)
	l.emit(prefix+".name", d.opName)
	for i, f := range d.fields {
		l.emit(prefix+".fields"+indexSuffix(i), f)
	}
	l.pairs(prefix+".args", l.e.pairs[d.argStart:d.argEnd], 2)
	if d.hasVars {
		l.json(prefix+".variables", d.vars, 2)
	}
	return true
}

// xml lists element texts and attributes, elements addressed by name from
// the root element, with "[N]" for the N-th of a name.
func (l *lister) xml(prefix string, n node) {
	x := l.e.xmls[n.doc]
	var walk func(prefix string, id int32)
	walk = func(prefix string, id int32) {
		el := &x.elems[id]
		if id != 0 {
			l.emit(prefix, x.text(node{tok: id}))
			for i, a := range el.attrs {
				name := "@" + xmlQualified(a.Name.Space, a.Name.Local)
				if !firstXMLAttr(el.attrs[:i], name[1:]) {
					continue
				}
				l.emit(prefix+FormatName(name), a.Value)
			}
		}
		for i, c := range el.children {
			if l.stopped {
				return
			}
			ce := &x.elems[c]
			name := xmlQualified(ce.space, ce.local)
			k := 0
			for _, s := range el.children[:i] {
				if xmlNameIs(x.elems[s].space, x.elems[s].local, name) {
					k++
				}
			}
			walk(prefix+FormatName(name)+indexSuffix(k), c)
		}
	}
	walk(prefix, 0)
}

func xmlQualified(space, local string) string {
	if space == "" {
		return local
	}
	return space + ":" + local
}

// firstXMLAttr reports that no earlier attribute answers to name.
func firstXMLAttr(before []xmlAttr, name string) bool {
	for _, a := range before {
		if xmlNameIs(a.Name.Space, a.Name.Local, name) {
			return false
		}
	}
	return true
}
