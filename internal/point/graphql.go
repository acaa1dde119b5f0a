package point

import (
	"strings"
)

// gqlDoc is the decoded GraphQL request of one exchange: the operation that
// runs (the one named by operationName, else the first), its fields and
// arguments, and the variables of a JSON envelope.
type gqlDoc struct {
	opType, opName string
	fields         []string // field paths, dot-joined, in document order
	argStart       int32    // arguments in Evaluator.pairs[argStart:argEnd]
	argEnd         int32
	vars           node
	hasVars        bool
}

// parseGraphQLRequest decodes a GraphQL request: a JSON envelope
// ({"query": ..., "operationName": ..., "variables": ...}, or a batch
// array whose first entry is used) or a bare document (application/graphql
// bodies, the query parameter of GET requests).
func (e *Evaluator) parseGraphQLRequest(in string, partial bool) (*gqlDoc, bool) {
	g := &gqlDoc{}
	query, opName := in, ""
	t := strings.TrimLeft(in, " \t\r\n")
	if isJSONEnvelope(t) {
		root, ok := e.decode(node{kind: nText, s: in, partial: partial}, DecoderJSON)
		if !ok {
			return nil, false
		}
		if e.toks[root.tok].kind == jArray {
			el := jsonElement(e.toks, root.tok, 0)
			if el < 0 {
				return nil, false
			}
			root.tok = el
		}
		if e.toks[root.tok].kind != jObject {
			return nil, false
		}
		q := jsonMember(e.toks, in, root.tok, "query")
		if q < 0 || e.toks[q].kind != jString {
			return nil, false
		}
		query = jsonString(in, &e.toks[q])
		if o := jsonMember(e.toks, in, root.tok, "operationName"); o >= 0 && e.toks[o].kind == jString {
			opName = jsonString(in, &e.toks[o])
		}
		if v := jsonMember(e.toks, in, root.tok, "variables"); v >= 0 && e.toks[v].kind == jObject {
			g.vars = node{kind: nJSON, s: in, tok: v}
			g.hasVars = true
		}
		partial = false // the query string itself is whole
	}
	g.argStart = int32(len(e.pairs))
	gp := &gqlParser{lex: gqlLexer{s: query}, lim: e.lim, want: opName, doc: g, pairs: e.pairs}
	ok := gp.document()
	e.pairs = gp.pairs
	g.argEnd = int32(len(e.pairs))
	if !ok && !(partial || gp.cut) || g.opType == "" {
		e.pairs = e.pairs[:g.argStart]
		return nil, gp.cut
	}
	return g, gp.cut || !ok
}

// isJSONEnvelope tells a JSON envelope from a document: "{" starts both,
// but only JSON follows it with a string or "}" ("{ user { id } }" is a
// query shorthand).
func isJSONEnvelope(t string) bool {
	if t == "" {
		return false
	}
	if t[0] == '[' {
		return true
	}
	if t[0] != '{' {
		return false
	}
	r := strings.TrimLeft(t[1:], " \t\r\n")
	return r == "" || r[0] == '"' || r[0] == '}'
}

// gqlName applies a name step to a GraphQL request.
func (e *Evaluator) gqlName(n node, name string, out []node) []node {
	g := e.gqls[n.doc]
	switch name {
	case gqlOperation:
		return append(out, node{kind: nText, s: g.opType})
	case gqlName:
		return append(out, node{kind: nText, s: g.opName})
	case gqlFields:
		for _, f := range g.fields {
			out = append(out, node{kind: nText, s: f})
		}
	case gqlArgs:
		out = append(out, node{kind: nPairs, doc: g.argStart, tok: g.argEnd})
	case gqlVariables:
		if g.hasVars {
			out = append(out, g.vars)
		}
	}
	return out
}

// GraphQL token kinds.
const (
	gEOF = iota
	gPunct
	gName
	gNumber
	gString
	gBad
)

type gqlToken struct {
	kind int
	text string // punctuator, name, number as written; string unquoted
	raw  string // the token as written
}

type gqlLexer struct {
	s string
	i int
}

func (l *gqlLexer) next() gqlToken {
	s := l.s
	for l.i < len(s) {
		c := s[l.i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == 0xef && strings.HasPrefix(s[l.i:], "\ufeff") {
			if c == 0xef {
				l.i += 3
			} else {
				l.i++
			}
			continue
		}
		if c == '#' {
			for l.i < len(s) && s[l.i] != '\n' && s[l.i] != '\r' {
				l.i++
			}
			continue
		}
		break
	}
	if l.i >= len(s) {
		return gqlToken{kind: gEOF}
	}
	start := l.i
	c := s[l.i]
	switch {
	case strings.HasPrefix(s[l.i:], "..."):
		l.i += 3
		return gqlToken{kind: gPunct, text: "...", raw: "..."}
	case strings.IndexByte("!$&()[]{}:=@|", c) >= 0:
		l.i++
		return gqlToken{kind: gPunct, text: s[start:l.i], raw: s[start:l.i]}
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		for l.i < len(s) && (s[l.i] == '_' || s[l.i] >= 'a' && s[l.i] <= 'z' || s[l.i] >= 'A' && s[l.i] <= 'Z' || s[l.i] >= '0' && s[l.i] <= '9') {
			l.i++
		}
		return gqlToken{kind: gName, text: s[start:l.i], raw: s[start:l.i]}
	case c == '-' || c >= '0' && c <= '9':
		l.i++
		for l.i < len(s) && (s[l.i] >= '0' && s[l.i] <= '9' || s[l.i] == '.' || s[l.i] == 'e' || s[l.i] == 'E' || s[l.i] == '+' || s[l.i] == '-') {
			l.i++
		}
		return gqlToken{kind: gNumber, text: s[start:l.i], raw: s[start:l.i]}
	case strings.HasPrefix(s[l.i:], `"""`):
		end := strings.Index(s[l.i+3:], `"""`)
		if end < 0 {
			l.i = len(s)
			return gqlToken{kind: gBad}
		}
		l.i += 3 + end + 3
		return gqlToken{kind: gString, text: strings.TrimSpace(s[start+3 : l.i-3]), raw: s[start:l.i]}
	case c == '"':
		// GraphQL string escapes are JSON's.
		v, end, msg := unquoteJSON(s, l.i)
		if msg != "" {
			l.i = len(s)
			return gqlToken{kind: gBad}
		}
		l.i = end
		return gqlToken{kind: gString, text: v, raw: s[start:end]}
	}
	l.i = len(s)
	return gqlToken{kind: gBad}
}

// gqlParser reads a GraphQL document for the parts points address. It is a
// recursive descent parser bounded by MaxDepth (selection and value
// nesting) and MaxElements (tokens).
type gqlParser struct {
	lex    gqlLexer
	tok    gqlToken
	tokens int
	lim    Limits
	want   string // operationName, "" for the first operation
	doc    *gqlDoc
	pairs  []pair
	record bool // inside the chosen operation
	cut    bool
	failed bool
}

func (p *gqlParser) advance() {
	p.tokens++
	if p.tokens > p.lim.MaxElements {
		p.cut = true
		p.tok = gqlToken{kind: gEOF}
		return
	}
	p.tok = p.lex.next()
	if p.tok.kind == gBad {
		p.failed = true
		p.tok = gqlToken{kind: gEOF}
	}
}

func (p *gqlParser) is(text string) bool {
	return (p.tok.kind == gPunct || p.tok.kind == gName) && p.tok.text == text
}

func (p *gqlParser) expect(text string) bool {
	if !p.is(text) {
		p.failed = true
		return false
	}
	p.advance()
	return true
}

// document parses definitions until the end; false when it broke.
func (p *gqlParser) document() bool {
	p.advance()
	for p.tok.kind != gEOF && !p.failed {
		switch {
		case p.is("{"):
			p.operation("query", "")
		case p.is("query") || p.is("mutation") || p.is("subscription"):
			typ := p.tok.text
			p.advance()
			name := ""
			if p.tok.kind == gName {
				name = p.tok.text
				p.advance()
			}
			if p.is("(") {
				p.skipGroup("(", ")", 0)
			}
			p.directives(0)
			p.operation(typ, name)
		case p.is("fragment"):
			// Fragment definitions are parsed for syntax only: their
			// fields are not attributed to the operation.
			p.advance()
			for p.tok.kind != gEOF && !p.is("{") && !p.failed {
				p.advance()
			}
			rec := p.record
			p.record = false
			p.selectionSet("", 0)
			p.record = rec
		default:
			p.failed = true
		}
	}
	return !p.failed && !p.cut
}

func (p *gqlParser) operation(typ, name string) {
	chosen := p.doc.opType == "" && (p.want == "" || p.want == name)
	if chosen {
		p.doc.opType, p.doc.opName = typ, name
	}
	p.record = chosen
	p.selectionSet("", 0)
	p.record = false
}

func (p *gqlParser) selectionSet(prefix string, depth int) {
	if depth >= p.lim.MaxDepth {
		p.cut = true
		p.tok = gqlToken{kind: gEOF}
		return
	}
	if !p.expect("{") {
		return
	}
	for !p.is("}") && p.tok.kind != gEOF && !p.failed {
		if p.is("...") {
			p.advance()
			if p.is("on") {
				p.advance()
				p.advance() // type condition
			} else if p.tok.kind == gName && !p.is("@") {
				p.advance() // fragment spread: not expanded
				p.directives(depth)
				continue
			}
			p.directives(depth)
			if p.is("{") {
				p.selectionSet(prefix, depth+1)
			}
			continue
		}
		if p.tok.kind != gName {
			p.failed = true
			return
		}
		field := p.tok.text
		p.advance()
		if p.is(":") { // alias: the field name follows
			p.advance()
			if p.tok.kind != gName {
				p.failed = true
				return
			}
			field = p.tok.text
			p.advance()
		}
		path := field
		if prefix != "" {
			path = prefix + "." + field
		}
		if p.record {
			p.doc.fields = append(p.doc.fields, path)
		}
		if p.is("(") {
			p.arguments(path, depth)
		}
		p.directives(depth)
		if p.is("{") {
			p.selectionSet(path, depth+1)
		}
	}
	p.expect("}")
}

// arguments records "path.arg" = value for each argument; object values
// are flattened ("path.arg.key").
func (p *gqlParser) arguments(path string, depth int) {
	p.advance() // (
	p.namedValues(path, ")", depth)
}

// namedValues records each "name: value" up to the closing token (of
// arguments or of an object value) under "path.name".
func (p *gqlParser) namedValues(path, closing string, depth int) {
	for !p.is(closing) && p.tok.kind != gEOF && !p.failed {
		if p.tok.kind != gName {
			p.failed = true
			return
		}
		name := path + "." + p.tok.text
		p.advance()
		if !p.expect(":") {
			return
		}
		p.value(name, depth+1)
	}
	p.expect(closing)
}

// value parses a value; scalars (and lists, as their text) are recorded
// under name, objects are flattened.
func (p *gqlParser) value(name string, depth int) {
	if depth >= p.lim.MaxDepth {
		p.cut = true
		p.tok = gqlToken{kind: gEOF}
		return
	}
	switch {
	case p.is("$"):
		p.advance()
		if p.tok.kind != gName {
			p.failed = true
			return
		}
		p.put(name, "$"+p.tok.text)
		p.advance()
	case p.is("{"):
		p.advance()
		p.namedValues(name, "}", depth)
	case p.is("["):
		start := p.lex.i - 1
		end := p.skipGroup("[", "]", depth)
		if end > start {
			p.put(name, p.lex.s[start:end])
		}
	case p.tok.kind == gString || p.tok.kind == gNumber || p.tok.kind == gName:
		p.put(name, p.tok.text)
		p.advance()
	default:
		p.failed = true
	}
}

func (p *gqlParser) put(name, value string) {
	if p.record {
		p.pairs = append(p.pairs, pair{name: name, value: value})
	}
}

// skipGroup skips a balanced open...close group and returns the offset
// after its closing token (0 when it did not close).
func (p *gqlParser) skipGroup(open, close string, depth int) int {
	level := 0
	for p.tok.kind != gEOF && !p.failed {
		if p.is(open) {
			level++
			if depth+level > p.lim.MaxDepth {
				p.cut = true
				p.tok = gqlToken{kind: gEOF}
				return 0
			}
		} else if p.is(close) {
			level--
			if level == 0 {
				end := p.lex.i
				p.advance()
				return end
			}
		}
		p.advance()
	}
	return 0
}

// directives skips "@name(args)" directives.
func (p *gqlParser) directives(depth int) {
	for p.is("@") && !p.failed {
		p.advance()
		p.advance() // the directive name
		if p.is("(") {
			p.skipGroup("(", ")", depth)
		}
	}
}
