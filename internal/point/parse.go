package point

import (
	"fmt"
	"net/textproto"
	"strings"
	"unicode/utf8"

	"github.com/apisessions/apisessions/internal/jsonstring"
)

// MaxChain is the most decoders one point may chain. Parse refuses longer
// chains: each decoder can multiply the work and memory of the next (base64
// of gzip of base64 ...), so the chain is bounded where it is written.
const MaxChain = 8

// maxIndex bounds "[N]" so that an index is always a small int; no real
// array, path or header list is longer.
const maxIndex = 1_000_000

// SyntaxError is a point that does not parse. Its message names the 1-based
// column (in characters) where the point broke and what was expected there.
type SyntaxError struct {
	Point  string // the point as given
	Column int
	Msg    string // what was expected, e.g. "expected a name after '.'"
}

// Error returns "column N: what was expected".
func (e *SyntaxError) Error() string { return fmt.Sprintf("column %d: %s", e.Column, e.Msg) }

// MustParse is Parse that panics on error, for tests and built-in points.
func MustParse(s string) *Point {
	p, err := Parse(s)
	if err != nil {
		panic(fmt.Sprintf("point.MustParse(%q): %v", s, err))
	}
	return p
}

// parse states: what may follow at this position.
type state uint8

const (
	stText    state = iota // a plain value: only "|decoder" or the end
	stPath                 // request.path: "[N]", "|decoder" or the end
	stMulti                // repeated values: "[N]", "|decoder" or the end
	stDoc                  // json, jwt, xml: names, indexes, decoders, the end
	stOneName              // form, multipart, graphql args: a name must follow
	stGraphQL              // graphql: one of its fixed names must follow
)

// sources lists the sources of a side, in the order error messages name them.
func sources(response bool) []Source {
	if response {
		return []Source{SourceStatus, SourceHeader, SourceCookie, SourceBody}
	}
	return []Source{SourceMethod, SourceHost, SourcePath, SourceURL, SourceIP, SourceHeader, SourceCookie, SourceQuery, SourceBody}
}

// stateAfter is the state after decoder d; false for an unknown decoder.
func stateAfter(d Decoder) (state, bool) {
	switch d {
	case DecoderJSON, DecoderJWT, DecoderXML:
		return stDoc, true
	case DecoderForm, DecoderMultipart:
		return stOneName, true
	case DecoderGraphQL:
		return stGraphQL, true
	case DecoderBase64, DecoderURL, DecoderGzip:
		return stText, true
	}
	return 0, false
}

// GraphQL names after "|graphql" (see doc.go).
const (
	gqlOperation = "operation"
	gqlName      = "name"
	gqlFields    = "fields"
	gqlArgs      = "args"
	gqlVariables = "variables"
)

type parser struct {
	s string
	i int
}

func (ps *parser) fail(at int, format string, args ...any) error {
	if at > len(ps.s) {
		at = len(ps.s)
	}
	return &SyntaxError{Point: ps.s, Column: utf8.RuneCountInString(ps.s[:at]) + 1, Msg: fmt.Sprintf(format, args...)}
}

// word reads an IDENT at the cursor ("" when there is none).
func (ps *parser) word() string {
	j := ps.i
	for j < len(ps.s) && isIdentByte(ps.s[j]) {
		j++
	}
	w := ps.s[ps.i:j]
	ps.i = j
	return w
}

// Parse compiles a point of SPEC §3. Errors are *SyntaxError.
func Parse(s string) (*Point, error) {
	ps := &parser{s: s}
	p := &Point{}
	switch w := ps.word(); w {
	case "request":
	case "response":
		p.response = true
	default:
		return nil, ps.fail(0, "expected 'request' or 'response'")
	}
	if ps.i >= len(s) || s[ps.i] != '.' {
		return nil, ps.fail(ps.i, "expected '.' after '%s'", s[:ps.i])
	}
	ps.i++
	at := ps.i
	src := Source(ps.word())
	allowed := sources(p.response)
	ok := false
	for _, a := range allowed {
		ok = ok || a == src
	}
	if !ok {
		names := make([]string, len(allowed))
		for k, a := range allowed {
			names[k] = string(a)
		}
		side := "request"
		if p.response {
			side = "response"
		}
		return nil, ps.fail(at, "expected a %s source (%s)", side, strings.Join(names, ", "))
	}
	p.source = src
	st := stText
	switch src {
	case SourcePath:
		st = stPath
	case SourceHeader, SourceCookie, SourceQuery:
		at := ps.i
		name, err := ps.name(string(src) + " name")
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, ps.fail(at+1, "expected a non-empty %s name", src)
		}
		if src == SourceHeader {
			name = textproto.CanonicalMIMEHeaderKey(name)
		}
		p.name = name
		st = stMulti
	}
	chain := 0
	var last Decoder
	for ps.i < len(s) {
		at := ps.i
		c := s[ps.i]
		switch {
		case c == '|':
			ps.i++
			d := Decoder(ps.word())
			next, ok := stateAfter(d)
			if !ok {
				return nil, ps.fail(at+1, "expected a decoder (json, form, multipart, xml, base64, url, gzip, jwt, graphql) after '|'")
			}
			chain++
			if chain > MaxChain {
				return nil, ps.fail(at, "more than %d decoders in one point", MaxChain)
			}
			p.steps = append(p.steps, Step{Kind: StepDecode, Decoder: d})
			st, last = next, d
		case c == '[' && ps.i+1 < len(s) && s[ps.i+1] >= '0' && s[ps.i+1] <= '9':
			if st != stPath && st != stMulti && st != stDoc {
				return nil, ps.fail(at, "%s", expectation(st, last))
			}
			n, err := ps.index()
			if err != nil {
				return nil, err
			}
			p.steps = append(p.steps, Step{Kind: StepIndex, Index: n})
			if st != stDoc {
				st = stText
			}
		case c == '.' || c == '[':
			if st != stDoc && st != stOneName && st != stGraphQL {
				if c == '[' && (st == stPath || st == stMulti) {
					return nil, ps.fail(at+1, "expected an index after '['")
				}
				return nil, ps.fail(at, "%s", expectation(st, last))
			}
			name, err := ps.name("name")
			if err != nil {
				return nil, err
			}
			switch st {
			case stOneName:
				st = stMulti
			case stGraphQL:
				switch name {
				case gqlOperation, gqlName:
					st = stText
				case gqlFields:
					st = stMulti
				case gqlArgs:
					st = stOneName
				case gqlVariables:
					st = stDoc
				default:
					return nil, ps.fail(at+1, "%s", expectation(st, last))
				}
			}
			p.steps = append(p.steps, Step{Kind: StepName, Name: name})
		default:
			return nil, ps.fail(at, "%s", expectation(st, last))
		}
	}
	switch st {
	case stOneName, stGraphQL:
		return nil, ps.fail(len(s), "%s", expectation(st, last))
	}
	p.str = p.format()
	return p, nil
}

// expectation says what may come next in state st.
func expectation(st state, last Decoder) string {
	switch st {
	case stPath:
		return "expected '[' and a segment index, '|' and a decoder, or the end"
	case stMulti:
		return "expected '[' and an index, '|' and a decoder, or the end"
	case stDoc:
		return "expected '.', '[', '|' or the end"
	case stOneName:
		if last == DecoderGraphQL {
			return "expected an argument name ('.NAME' or '[\"NAME\"]') after 'args'"
		}
		return fmt.Sprintf("expected a field name ('.NAME' or '[\"NAME\"]') after '|%s'", last)
	case stGraphQL:
		return "expected .operation, .name, .fields, .args or .variables after '|graphql'"
	}
	return "expected '|' and a decoder, or the end"
}

// name reads ".IDENT" or `["JSON-STRING"]` at the cursor.
func (ps *parser) name(what string) (string, error) {
	s := ps.s
	if ps.i >= len(s) {
		return "", ps.fail(ps.i, "expected a %s ('.NAME' or '[\"NAME\"]')", what)
	}
	switch s[ps.i] {
	case '.':
		ps.i++
		at := ps.i
		w := ps.word()
		if w == "" {
			return "", ps.fail(at, "expected a name after '.'")
		}
		return w, nil
	case '[':
		ps.i++
		if ps.i >= len(s) || s[ps.i] != '"' {
			return "", ps.fail(ps.i, "expected a quoted name after '['")
		}
		v, end, msg := unquoteJSON(s, ps.i)
		if msg != "" {
			return "", ps.fail(end, "%s", msg)
		}
		ps.i = end
		if ps.i >= len(s) || s[ps.i] != ']' {
			return "", ps.fail(ps.i, "expected ']' after the quoted name")
		}
		ps.i++
		return v, nil
	}
	return "", ps.fail(ps.i, "expected a %s ('.NAME' or '[\"NAME\"]')", what)
}

// index reads "[N]" at the cursor.
func (ps *parser) index() (int, error) {
	s := ps.s
	ps.i++ // '['
	at := ps.i
	n := 0
	for ps.i < len(s) && s[ps.i] >= '0' && s[ps.i] <= '9' {
		n = n*10 + int(s[ps.i]-'0')
		if n > maxIndex {
			return 0, ps.fail(at, "index larger than %d", maxIndex)
		}
		ps.i++
	}
	if ps.i >= len(s) || s[ps.i] != ']' {
		return 0, ps.fail(ps.i, "expected ']' after the index")
	}
	ps.i++
	return n, nil
}

// unquoteJSON reads the JSON string that starts at s[i] == '"'. It returns
// the value, the index after the closing quote, and an error message ("" when
// it parsed; then end is where it broke). Bytes that are not valid UTF-8 are
// kept as they are; a lone surrogate escape becomes U+FFFD.
func unquoteJSON(s string, i int) (string, int, string) {
	j := i + 1
	// Fast path: no escapes.
	for j < len(s) && s[j] != '"' && s[j] != '\\' && s[j] >= 0x20 {
		j++
	}
	if j < len(s) && s[j] == '"' {
		return s[i+1 : j], j + 1, ""
	}
	b, end, p := jsonstring.Append(make([]byte, 0, j-i+8), s, i)
	switch p {
	case jsonstring.OK:
		return string(b), end, ""
	case jsonstring.ControlChar:
		return "", end, "control character in quoted name"
	case jsonstring.BadUnicode:
		return "", end, "bad \\u escape in quoted name"
	case jsonstring.BadEscape:
		return "", end, "bad escape in quoted name"
	}
	return "", end, "unterminated quoted name"
}
