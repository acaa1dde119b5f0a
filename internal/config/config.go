// Package config reads, checks and writes the configuration of a tenant
// (apisessions.Config): the YAML file of `apisessions config check`, the body
// of the server's configuration API and what the console edits.
//
// Parse only decodes (unknown fields are refused there, with the line);
// Validate checks the meaning and returns every problem at once, each naming
// the field by its path ("parameters[2].point"), so that a user fixes a file
// in one pass.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Limits on the document, checked before the YAML library sees it: its
// parser takes time quadratic in the nesting depth (10,000 open brackets
// take seconds), and the configuration API must not be a way to stall the
// server. A real configuration is a few kilobytes, three levels deep.
const (
	// MaxFileBytes is the largest configuration accepted; it also keeps a
	// wrong file (a traffic capture passed by mistake) out of memory.
	MaxFileBytes = 256 << 10
	// MaxDepth is the deepest nesting of flow collections ([ and {) and of
	// block indentation, in levels of one character.
	MaxDepth = 64
	// MaxAliases bounds YAML aliases (*name): each is decoded again in
	// full, which is the way to make a small document cost a lot. Real
	// configurations use none.
	MaxAliases = 100
)

// ParseError is a configuration that cannot be decoded: bad YAML, an unknown
// field or a value of the wrong type. It names the line and the field.
type ParseError struct {
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Field is the path of the field ("parameters[0].bogus"); empty when
	// the error is not about one field (bad syntax at the top level).
	Field string
	// Message says what is wrong.
	Message string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Parse decodes a YAML (or JSON, which is YAML) configuration. Unknown fields,
// duplicate keys, values of the wrong type and unparsable durations are
// refused with a *ParseError. Parse does not check the meaning: run Validate.
// An empty document is the zero configuration.
func Parse(data []byte) (apisessions.Config, error) {
	var c apisessions.Config
	if len(data) > MaxFileBytes {
		return c, &ParseError{Message: fmt.Sprintf("configuration is %d bytes, more than the %d allowed", len(data), MaxFileBytes)}
	}
	if err := checkShape(data); err != nil {
		return c, err
	}
	f, err := parseYAML(data)
	if err != nil {
		return c, toParseError(nil, err)
	}
	var body ast.Node
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if body != nil {
			return c, &ParseError{Line: line(d.Body.GetToken()), Message: "more than one YAML document: a configuration is one document"}
		}
		body = d.Body
	}
	if body == nil {
		return c, nil
	}
	if _, ok := body.(*ast.NullNode); ok {
		return c, nil
	}
	// Durations are decoded by apisessions.Duration.UnmarshalText, whose
	// error the YAML library returns without a position: check them first
	// so that the error names its line too.
	if err := checkDurations(body); err != nil {
		return c, err
	}
	if err := checkIntegers(body); err != nil {
		return c, err
	}
	if err := decode(body, &c); err != nil {
		return apisessions.Config{}, toParseError(body, err)
	}
	return c, nil
}

// errLibraryPanic stands for a panic of the YAML library: some malformed
// documents crash it (fuzzing found tags on sequences), and a bad file must
// give an error, never bring the process down.
var errLibraryPanic = errors.New("the YAML library could not read this document (unsupported tag or structure)")

func parseYAML(data []byte) (f *ast.File, err error) {
	defer func() {
		if recover() != nil {
			f, err = nil, errLibraryPanic
		}
	}()
	return parser.ParseBytes(data, 0)
}

func decode(body ast.Node, c *apisessions.Config) (err error) {
	defer func() {
		if recover() != nil {
			err = errLibraryPanic
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(nil), yaml.DisallowUnknownField())
	return dec.DecodeFromNode(body, c)
}

// checkShape refuses documents nested deeper than MaxDepth (open flow
// brackets, or a line indented by more than MaxDepth*4 columns of spaces and
// "- ") or with more than MaxAliases aliases. Comments are skipped; quotes
// are not tracked, so a bracket or " *x" inside a quoted string counts,
// which no real configuration comes near.
func checkShape(data []byte) error {
	depth, line, lineStart, indent, aliases := 0, 1, true, 0, 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		if lineStart {
			if c == ' ' || c == '-' && (i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n') {
				indent++
				if indent > MaxDepth*4 {
					return &ParseError{Line: line, Message: fmt.Sprintf("nested more than %d columns deep", MaxDepth*4)}
				}
				continue
			}
			lineStart, indent = false, 0
		}
		switch c {
		case '\n':
			line++
			lineStart, indent = true, 0
		case '#':
			if i == 0 || data[i-1] == ' ' || data[i-1] == '\t' || data[i-1] == '\n' {
				for i+1 < len(data) && data[i+1] != '\n' {
					i++
				}
			}
		case '[', '{':
			depth++
			if depth > MaxDepth {
				return &ParseError{Line: line, Message: fmt.Sprintf("brackets nested more than %d deep", MaxDepth)}
			}
		case ']', '}':
			depth = max(depth-1, 0)
		case '*':
			if i > 0 && strings.IndexByte(" \t[{,", data[i-1]) >= 0 && i+1 < len(data) && strings.IndexByte(" \t\n,]}", data[i+1]) < 0 {
				aliases++
				if aliases > MaxAliases {
					return &ParseError{Line: line, Message: fmt.Sprintf("more than %d aliases (*name)", MaxAliases)}
				}
			}
		}
	}
	return nil
}

// checkDurations parses the duration fields of the top-level mapping.
func checkDurations(body ast.Node) error {
	m, ok := body.(*ast.MappingNode)
	if !ok {
		return nil
	}
	for _, mv := range m.Values {
		if mv.Key == nil || mv.Key.GetToken() == nil || mv.Key.GetToken().Value != "retention" {
			continue
		}
		s, ok := mv.Value.(*ast.StringNode)
		if !ok {
			continue // the decoder reports the type
		}
		var d apisessions.Duration
		if err := d.UnmarshalText([]byte(s.Value)); err != nil {
			return &ParseError{Line: line(s.GetToken()), Column: column(s.GetToken()), Field: "retention", Message: err.Error()}
		}
		if d == 0 {
			// Zero is how the struct says "default": an explicit zero
			// would silently mean 168h.
			return &ParseError{Line: line(s.GetToken()), Column: column(s.GetToken()), Field: "retention",
				Message: "must be positive, not 0 (leave it out for the default, 168h)"}
		}
	}
	return nil
}

// intField matches the paths of the integer fields of the schema.
var intField = regexp.MustCompile(`^(applications\[\d+\]\.id|analyze\.applications\[\d+\]|detection\.(paranoia_level|anomaly_threshold|body_limit|exclude_rules\[\d+\]))$`)

// checkIntegers refuses numbers with a fraction where the schema wants an
// integer: the YAML library would truncate "id: 1.5" to 1 without a word.
func checkIntegers(body ast.Node) error {
	var err error
	ast.Walk(visitFunc(func(n ast.Node) bool {
		f, ok := n.(*ast.FloatNode)
		if !ok || err != nil {
			return err == nil
		}
		path := strings.TrimPrefix(strings.TrimPrefix(f.GetPath(), "$"), ".")
		if intField.MatchString(path) {
			err = &ParseError{Line: line(f.GetToken()), Column: column(f.GetToken()), Field: path,
				Message: fmt.Sprintf("want an integer, not %s", f.GetToken().Value)}
		}
		return true
	}), body)
	return err
}

// visitFunc adapts a function to ast.Visitor; it returns whether to go on
// into the children.
type visitFunc func(ast.Node) bool

func (f visitFunc) Visit(n ast.Node) ast.Visitor {
	if n == nil || !f(n) {
		return nil
	}
	return f
}

// toParseError turns an error of the YAML library into a *ParseError, finding
// the path of the field at the error's position in the document.
func toParseError(body ast.Node, err error) error {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return &ParseError{Message: err.Error()}
	}
	tk := ye.GetToken()
	pe := &ParseError{Line: line(tk), Column: column(tk), Message: ye.GetMessage()}
	var ue *yaml.UnknownFieldError
	if errors.As(err, &ue) {
		pe.Message = "unknown field"
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && te.SrcType != nil && te.DstType != nil {
		pe.Message = fmt.Sprintf("want %s, not %s", kindName(te.DstType.String()), kindName(te.SrcType.String()))
	}
	var ne *yaml.UnexpectedNodeTypeError
	if errors.As(err, &ne) {
		pe.Message = fmt.Sprintf("want %s, not %s", nodeName(ne.Expected), nodeName(ne.Actual))
	}
	var oe *yaml.OverflowError
	if errors.As(err, &oe) {
		pe.Message = fmt.Sprintf("number %s is too large", oe.SrcNum)
	}
	if body != nil && tk != nil {
		pe.Field = pathAt(body, tk)
	}
	return pe
}

// nodeName names a YAML node type the way kindName names Go types.
func nodeName(t ast.NodeType) string {
	switch t {
	case ast.SequenceType:
		return "a list"
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.StringType, ast.LiteralType:
		return "a string"
	case ast.IntegerType:
		return "an integer"
	case ast.FloatType:
		return "a number"
	case ast.BoolType:
		return "true or false"
	case ast.NullType:
		return "null"
	}
	return t.YAMLName()
}

// kindName names a Go type the way a YAML author thinks of it.
func kindName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map"), strings.HasPrefix(t, "apisessions."):
		return "a mapping"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	}
	return t
}

// pathAt returns the path ("parameters[0].point") of the node whose token is
// tk, or "" when none is.
func pathAt(body ast.Node, tk *token.Token) string {
	f := &nodeFinder{pos: tk.Position}
	ast.Walk(f, body)
	if f.found == nil {
		return ""
	}
	p := f.found.GetPath()
	p = strings.TrimPrefix(p, "$")
	p = strings.TrimPrefix(p, ".")
	return p
}

// nodeFinder finds the first node at a position.
type nodeFinder struct {
	pos   *token.Position
	found ast.Node
}

func (f *nodeFinder) Visit(n ast.Node) ast.Visitor {
	if f.found != nil || n == nil {
		return nil
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil && f.pos != nil &&
		tk.Position.Line == f.pos.Line && tk.Position.Column == f.pos.Column {
		if _, ok := n.(*ast.MappingValueNode); !ok {
			f.found = n
			return nil
		}
	}
	return f
}

func line(tk *token.Token) int {
	if tk == nil || tk.Position == nil {
		return 0
	}
	return tk.Position.Line
}

func column(tk *token.Token) int {
	if tk == nil || tk.Position == nil {
		return 0
	}
	return tk.Position.Column
}

// Load reads, parses and validates the configuration file at path. A file
// that cannot be read or parsed is an error; a parsed file's problems are
// returned with the configuration, its defaults filled in.
func Load(path string) (apisessions.Config, []Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return apisessions.Config{}, nil, fmt.Errorf("read configuration: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return apisessions.Config{}, nil, fmt.Errorf("read configuration: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return apisessions.Config{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	return WithDefaults(c), Validate(c), nil
}

// Marshal writes the configuration as YAML that Parse reads back to the same
// value. Zero fields are left out.
func Marshal(c apisessions.Config) ([]byte, error) {
	b, err := yaml.MarshalWithOptions(c, yaml.Indent(2), yaml.IndentSequence(true),
		yaml.CustomMarshaler[apisessions.Duration](func(d apisessions.Duration) ([]byte, error) {
			return []byte(formatDuration(time.Duration(d))), nil
		}))
	if err != nil {
		return nil, fmt.Errorf("marshal configuration: %w", err)
	}
	return b, nil
}

// formatDuration writes d as people do: "168h", "1h30m", "90s", where
// time.Duration.String writes "168h0m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// WithDefaults returns c with every unset field at its default: retention
// 168h, day timezone UTC, hash algorithm md5, application mode monitoring,
// paranoia level 1, anomaly threshold 5, body limit 128 KiB. It does not
// modify c.
func WithDefaults(c apisessions.Config) apisessions.Config {
	if c.Retention == 0 {
		c.Retention = apisessions.Duration(apisessions.DefaultRetention)
	}
	if c.DayTimezone == "" {
		c.DayTimezone = apisessions.DefaultDayTimezone
	}
	if c.HashAlgorithm == "" {
		c.HashAlgorithm = apisessions.DefaultHashAlgorithm
	}
	if len(c.Applications) > 0 {
		apps := make([]apisessions.Application, len(c.Applications))
		copy(apps, c.Applications)
		for i := range apps {
			if apps[i].Mode == "" {
				apps[i].Mode = apisessions.ModeMonitoring
			}
		}
		c.Applications = apps
	}
	if c.Detection.ParanoiaLevel == 0 {
		c.Detection.ParanoiaLevel = DefaultParanoiaLevel
	}
	if c.Detection.AnomalyThreshold == 0 {
		c.Detection.AnomalyThreshold = DefaultAnomalyThreshold
	}
	if c.Detection.BodyLimit == 0 {
		c.Detection.BodyLimit = DefaultBodyLimit
	}
	return c
}

// Detection defaults. They live here rather than in the root package because
// only the configuration fills them in; detect reads the filled values.
const (
	DefaultParanoiaLevel    = 1
	DefaultAnomalyThreshold = 5
	// DefaultBodyLimit is the request body bytes detection inspects.
	DefaultBodyLimit = 128 << 10
)
