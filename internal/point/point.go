package point

import (
	"strconv"
	"strings"
)

// Source is where in an exchange a point starts.
type Source string

// Sources of SPEC §3. Request points may use every source but status;
// response points use status, header, cookie and body.
const (
	SourceMethod Source = "method"
	SourceHost   Source = "host"
	SourcePath   Source = "path"
	SourceURL    Source = "url"
	SourceIP     Source = "ip"
	SourceStatus Source = "status"
	SourceBody   Source = "body"
	SourceHeader Source = "header"
	SourceCookie Source = "cookie"
	SourceQuery  Source = "query"
)

// Decoder names a decoding step ("|json").
type Decoder string

// Decoders of SPEC §3.
const (
	DecoderJSON      Decoder = "json"
	DecoderForm      Decoder = "form"
	DecoderMultipart Decoder = "multipart"
	DecoderXML       Decoder = "xml"
	DecoderBase64    Decoder = "base64"
	DecoderURL       Decoder = "url"
	DecoderGzip      Decoder = "gzip"
	DecoderJWT       Decoder = "jwt"
	DecoderGraphQL   Decoder = "graphql"
)

// StepKind says what a step does.
type StepKind uint8

// Step kinds.
const (
	// StepName selects a member by name (".user", `["connect.sid"]`).
	StepName StepKind = iota + 1
	// StepIndex selects an array element, a path segment or the N-th of
	// repeated values ("[2]").
	StepIndex
	// StepDecode decodes the current value ("|json").
	StepDecode
)

// Step is one step of a point after its source.
type Step struct {
	Kind    StepKind
	Name    string  // StepName
	Index   int     // StepIndex
	Decoder Decoder // StepDecode
}

// Point is a compiled point. It is immutable and safe to share between
// goroutines; evaluate it with an Evaluator.
type Point struct {
	response bool
	source   Source
	// name is the header, cookie or query name; header names are kept in
	// canonical MIME form since they match case-insensitively.
	name  string
	steps []Step
	str   string
}

// Response reports whether the point reads the response side.
func (p *Point) Response() bool { return p.response }

// Source returns where the point starts.
func (p *Point) Source() Source { return p.source }

// Name returns the header, cookie or query name of the point, "" for other
// sources.
func (p *Point) Name() string { return p.name }

// Steps returns a copy of the steps after the source (and its name).
func (p *Point) Steps() []Step { return append([]Step(nil), p.steps...) }

// Decoders returns the decoders of the point in order.
func (p *Point) Decoders() []Decoder {
	var ds []Decoder
	for _, s := range p.steps {
		if s.Kind == StepDecode {
			ds = append(ds, s.Decoder)
		}
	}
	return ds
}

// Prefix returns the point made of p's source and its first n steps (n
// from 0 to the number of steps): the value p steps into, such as the
// input of one of its decoders ("request.header.X|jwt.sub" has prefix 0
// "request.header.X").
func (p *Point) Prefix(n int) *Point {
	n = max(0, min(n, len(p.steps)))
	q := &Point{response: p.response, source: p.source, name: p.name, steps: p.steps[:n:n]}
	q.str = q.format()
	return q
}

// String returns the canonical form of the point: Parse(p.String()) yields
// an equal point. Names that are not identifiers are written `["..."]` and
// header names in canonical MIME case.
func (p *Point) String() string { return p.str }

// Covers reports whether q is p or lies inside p: same side, source and
// name, and p's steps are a prefix of q's. A mask rule covers the points it
// hides ("request.body|json.user" covers "request.body|json.user.email").
func (p *Point) Covers(q *Point) bool {
	if p.response != q.response || p.source != q.source || len(p.steps) > len(q.steps) {
		return false
	}
	if p.source == SourceHeader {
		if !headerNameIs(p.name, q.name) {
			return false
		}
	} else if p.name != q.name {
		return false
	}
	for i, s := range p.steps {
		if s != q.steps[i] {
			return false
		}
	}
	return true
}

// format writes the canonical string of a point.
func (p *Point) format() string {
	var b strings.Builder
	if p.response {
		b.WriteString("response.")
	} else {
		b.WriteString("request.")
	}
	b.WriteString(string(p.source))
	switch p.source {
	case SourceHeader, SourceCookie, SourceQuery:
		b.WriteString(FormatName(p.name))
	}
	for _, s := range p.steps {
		writeStep(&b, s)
	}
	return b.String()
}

func writeStep(b *strings.Builder, s Step) {
	switch s.Kind {
	case StepName:
		b.WriteString(FormatName(s.Name))
	case StepIndex:
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(s.Index))
		b.WriteByte(']')
	case StepDecode:
		b.WriteByte('|')
		b.WriteString(string(s.Decoder))
	}
}

// FormatName returns a name step in canonical form: ".name" when name is an
// identifier (letters, digits, '_', '-', '$', '@'), else `["name"]` with
// JSON string escaping. Use it to build point strings from observed names.
func FormatName(name string) string {
	if isIdent(name) {
		return "." + name
	}
	return "[" + quoteName(name) + "]"
}

// isIdentByte reports whether c may appear in an IDENT.
func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '$' || c == '@'
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdentByte(s[i]) {
			return false
		}
	}
	return true
}

// quoteName writes s as a JSON string. Bytes that are not valid UTF-8 are
// kept as they are (the parser accepts them back), so every name round-trips.
func quoteName(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// headerNameIs compares header names ASCII case-insensitively, as HTTP
// does: unlike strings.EqualFold it does not fold non-ASCII letters, so a
// name matches exactly the names headerKey maps to the same key.
func headerNameIs(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// headerKey is a header name with ASCII letters lowercased.
func headerKey(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lowerASCII(b[j])
			}
			return string(b)
		}
	}
	return s
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
