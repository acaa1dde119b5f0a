package point

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/apisessions/apisessions"
)

// parseValid are points that parse, with their canonical form.
var parseValid = []struct {
	in, want string
}{
	// side "." source, every source of each side
	{"request.method", "request.method"},
	{"request.host", "request.host"},
	{"request.path", "request.path"},
	{"request.url", "request.url"},
	{"request.ip", "request.ip"},
	{"request.body", "request.body"},
	{"response.status", "response.status"},
	{"response.body", "response.body"},
	// header, cookie, query names: ".IDENT" and `["JSON-STRING"]`
	{"request.header.Authorization", "request.header.Authorization"},
	{"request.header.x-api-key", "request.header.X-Api-Key"},
	{`request.header["X-Bank-Session"]`, "request.header.X-Bank-Session"},
	{"response.header.Set-Cookie", "response.header.Set-Cookie"},
	{"request.cookie.PHPSESSID", "request.cookie.PHPSESSID"},
	{`request.cookie["connect.sid"]`, `request.cookie["connect.sid"]`},
	{`request.cookie["ASP.NET_SessionId"]`, `request.cookie["ASP.NET_SessionId"]`},
	{"response.cookie.sid", "response.cookie.sid"},
	{"request.query.token", "request.query.token"},
	{`request.query["a b"]`, `request.query["a b"]`},
	{`request.query["\u00e9t\u00e9"]`, `request.query["été"]`},
	{`request.query["q\"\\\/\n"]`, `request.query["q\"\\/\n"]`},
	// "[N]": path segments, repeated values, array elements
	{"request.path[1]", "request.path[1]"},
	{"request.path[01]", "request.path[1]"},
	{"request.query.a[2]", "request.query.a[2]"},
	{"request.header.X-Forwarded-For[1]", "request.header.X-Forwarded-For[1]"},
	{"request.body|json.items[0].sku", "request.body|json.items[0].sku"},
	{"request.body|json[0][1]", "request.body|json[0][1]"},
	// every decoder
	{"request.body|json", "request.body|json"},
	{"request.body|json.user.email", "request.body|json.user.email"},
	{`request.body|json["a.b"]["@type"]`, `request.body|json["a.b"].@type`},
	{"request.body|form.login", "request.body|form.login"},
	{"request.body|form.tags[1]", "request.body|form.tags[1]"},
	{"request.body|multipart.avatar", "request.body|multipart.avatar"},
	{"request.body|xml.order.item[1].sku", "request.body|xml.order.item[1].sku"},
	{`request.body|xml.order["@id"]`, "request.body|xml.order.@id"},
	{"request.cookie.state|base64|json.uid", "request.cookie.state|base64|json.uid"},
	{"request.query.next|url", "request.query.next|url"},
	{"response.body|gzip|json.token", "response.body|gzip|json.token"},
	{"request.header.Authorization|jwt.sub", "request.header.Authorization|jwt.sub"},
	{"request.header.Authorization|jwt", "request.header.Authorization|jwt"},
	{"request.body|graphql.operation", "request.body|graphql.operation"},
	{"request.body|graphql.name", "request.body|graphql.name"},
	{"request.body|graphql.fields", "request.body|graphql.fields"},
	{"request.body|graphql.fields[2]", "request.body|graphql.fields[2]"},
	{`request.body|graphql.args["user.id"]`, `request.body|graphql.args["user.id"]`},
	{"request.body|graphql.variables.input.email", "request.body|graphql.variables.input.email"},
	{"request.url|url", "request.url|url"},
	{"request.body|json|json|json|json|json|json|json|json", "request.body|json|json|json|json|json|json|json|json"},
	{`request.body|json.data|base64|gzip|xml.a`, `request.body|json.data|base64|gzip|xml.a`},
}

// parseInvalid are points that do not parse, with the exact error.
var parseInvalid = []struct {
	in, want string
}{
	{"", "column 1: expected 'request' or 'response'"},
	{"req.method", "column 1: expected 'request' or 'response'"},
	{"Request.method", "column 1: expected 'request' or 'response'"},
	{"request", "column 8: expected '.' after 'request'"},
	{"response|json", "column 9: expected '.' after 'response'"},
	{"request.", "column 9: expected a request source (method, host, path, url, ip, header, cookie, query, body)"},
	{"request.foo", "column 9: expected a request source (method, host, path, url, ip, header, cookie, query, body)"},
	{"request.status", "column 9: expected a request source (method, host, path, url, ip, header, cookie, query, body)"},
	{"response.method", "column 10: expected a response source (status, header, cookie, body)"},
	{"response.query.a", "column 10: expected a response source (status, header, cookie, body)"},
	{"request.header", `column 15: expected a header name ('.NAME' or '["NAME"]')`},
	{"request.cookie", `column 15: expected a cookie name ('.NAME' or '["NAME"]')`},
	{"request.header.", "column 16: expected a name after '.'"},
	{"request.header[", "column 16: expected a quoted name after '['"},
	{"request.header[x]", "column 16: expected a quoted name after '['"},
	{`request.header[""]`, "column 16: expected a non-empty header name"},
	{`request.header["a`, "column 18: unterminated quoted name"},
	{`request.header["a"`, `column 19: expected ']' after the quoted name`},
	{`request.query["\x"]`, "column 16: bad escape in quoted name"},
	{`request.query["\u12"]`, `column 16: bad \u escape in quoted name`},
	{"request.query[\"a\tb\"]", "column 17: control character in quoted name"},
	{"request.body|", "column 14: expected a decoder (json, form, multipart, xml, base64, url, gzip, jwt, graphql) after '|'"},
	{"request.body|yaml", "column 14: expected a decoder (json, form, multipart, xml, base64, url, gzip, jwt, graphql) after '|'"},
	{"request.path[", "column 14: expected an index after '['"},
	{"request.path[x]", "column 14: expected an index after '['"},
	{`request.path["a"]`, "column 14: expected an index after '['"},
	{"request.path[1", "column 15: expected ']' after the index"},
	{"request.path[9999999]", "column 14: index larger than 1000000"},
	{"request.path.x", "column 13: expected '[' and a segment index, '|' and a decoder, or the end"},
	{"request.method.x", "column 15: expected '|' and a decoder, or the end"},
	{"request.method[0]", "column 15: expected '|' and a decoder, or the end"},
	{"request.body.x", "column 13: expected '|' and a decoder, or the end"},
	{"request.query.a.b", "column 16: expected '[' and an index, '|' and a decoder, or the end"},
	{"request.query.a[1][2]", "column 19: expected '|' and a decoder, or the end"},
	{"request.cookie.a|base64.x", "column 24: expected '|' and a decoder, or the end"},
	{"request.body|form", `column 18: expected a field name ('.NAME' or '["NAME"]') after '|form'`},
	{"request.body|multipart[0]", `column 23: expected a field name ('.NAME' or '["NAME"]') after '|multipart'`},
	{"request.body|form.a.b", "column 20: expected '[' and an index, '|' and a decoder, or the end"},
	{"request.body|graphql", "column 21: expected .operation, .name, .fields, .args or .variables after '|graphql'"},
	{"request.body|graphql.query", "column 22: expected .operation, .name, .fields, .args or .variables after '|graphql'"},
	{"request.body|graphql.args", `column 26: expected an argument name ('.NAME' or '["NAME"]') after 'args'`},
	{"request.body|graphql.operation.x", "column 31: expected '|' and a decoder, or the end"},
	{"request.body|json.a.", "column 21: expected a name after '.'"},
	{"request.body|json..a", "column 19: expected a name after '.'"},
	{"request.body|json.a b", "column 20: expected '.', '[', '|' or the end"},
	{"request.body|json.é", "column 19: expected a name after '.'"},
	{"request.body|json.été.x", "column 19: expected a name after '.'"},
	{`request.body|json["é"].é`, "column 24: expected a name after '.'"},
	{"request.body|json|json|json|json|json|json|json|json|json", "column 53: more than 8 decoders in one point"},
}

func TestParseValid(t *testing.T) {
	for _, tc := range parseValid {
		t.Run(tc.in, func(t *testing.T) {
			p, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := p.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			q, err := Parse(p.String())
			if err != nil {
				t.Fatalf("Parse(String()) = %v", err)
			}
			if !reflect.DeepEqual(p, q) {
				t.Errorf("Parse(String()) = %#v, want %#v", q, p)
			}
			if !p.Covers(q) || !q.Covers(p) {
				t.Errorf("a point must cover its own round trip")
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range parseInvalid {
		t.Run(tc.in, func(t *testing.T) {
			p, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want error %q", tc.in, p, tc.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q\n             want %q", err.Error(), tc.want)
			}
			if se.Point != tc.in || !strings.HasPrefix(tc.want, "column ") {
				t.Errorf("SyntaxError.Point = %q, want %q", se.Point, tc.in)
			}
		})
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("MustParse of a bad point did not panic")
		}
	}()
	MustParse("request.nothing")
}

func TestPointAccessors(t *testing.T) {
	tests := []struct {
		in       string
		response bool
		source   Source
		name     string
		decoders []Decoder
		steps    int
	}{
		{"request.method", false, SourceMethod, "", nil, 0},
		{"response.status", true, SourceStatus, "", nil, 0},
		{"request.header.x-api-key", false, SourceHeader, "X-Api-Key", nil, 0},
		{`request.cookie["connect.sid"]`, false, SourceCookie, "connect.sid", nil, 0},
		{"response.cookie.sid", true, SourceCookie, "sid", nil, 0},
		{"request.query.token[1]", false, SourceQuery, "token", nil, 1},
		{"request.header.Authorization|jwt.sub", false, SourceHeader, "Authorization", []Decoder{DecoderJWT}, 2},
		{"request.cookie.state|base64|json.uid", false, SourceCookie, "state", []Decoder{DecoderBase64, DecoderJSON}, 3},
		{"response.body|gzip|json.items[0]", true, SourceBody, "", []Decoder{DecoderGzip, DecoderJSON}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			p := MustParse(tc.in)
			if p.Response() != tc.response || p.Source() != tc.source || p.Name() != tc.name {
				t.Errorf("got response=%v source=%q name=%q, want %v %q %q", p.Response(), p.Source(), p.Name(), tc.response, tc.source, tc.name)
			}
			if !reflect.DeepEqual(p.Decoders(), tc.decoders) {
				t.Errorf("Decoders() = %v, want %v", p.Decoders(), tc.decoders)
			}
			if len(p.Steps()) != tc.steps {
				t.Errorf("Steps() has %d steps, want %d", len(p.Steps()), tc.steps)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		p, q string
		want bool
	}{
		{"request.body|json.user", "request.body|json.user.email", true},
		{"request.body|json.user", "request.body|json.user", true},
		{"request.body|json.user.email", "request.body|json.user", false},
		{"request.body|json.user", "request.body|json.username", false},
		{"request.body|json", "request.body|json.password", true},
		{"request.body", "request.body|form.password", true},
		{"request.header.authorization", "request.header.Authorization|jwt.sub", true},
		{"request.cookie.sid", "response.cookie.sid", false},
		{"request.cookie.sid", "request.cookie.SID", false},
		{"request.query.token", "request.query.token[1]", true},
		{"request.query.token", "request.cookie.token", false},
	}
	for _, tc := range tests {
		t.Run(tc.p+" covers "+tc.q, func(t *testing.T) {
			if got := MustParse(tc.p).Covers(MustParse(tc.q)); got != tc.want {
				t.Errorf("Covers = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFormatName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"user", ".user"},
		{"X-Api-Key", ".X-Api-Key"},
		{"@type", ".@type"},
		{"connect.sid", `["connect.sid"]`},
		{"", `[""]`},
		{"a b", `["a b"]`},
		{"q\"\\\n\x01", `["q\"\\\n\u0001"]`},
		{"été", `["été"]`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := FormatName(tc.in)
			if got != tc.want {
				t.Fatalf("FormatName(%q) = %s, want %s", tc.in, got, tc.want)
			}
			p := MustParse("request.body|json" + got)
			if n := p.Steps()[1].Name; n != tc.in {
				t.Errorf("parsed name = %q, want %q", n, tc.in)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range parseValid {
		f.Add(tc.in)
	}
	for _, tc := range parseInvalid {
		f.Add(tc.in)
	}
	e := NewEvaluator(DefaultLimits())
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Column < 1 || se.Column > len([]rune(s))+1 {
				t.Fatalf("Parse(%q): bad error %v", s, err)
			}
			return
		}
		q, err := Parse(p.String())
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, p.String(), err)
		}
		if !reflect.DeepEqual(p, q) || q.String() != p.String() {
			t.Fatalf("round trip of %q: %q != %q", s, q.String(), p.String())
		}
		// Whatever parses evaluates without panicking, on exchanges that
		// hold something for every decoder.
		for _, ex := range fuzzExchanges() {
			e.Reset(ex)
			for _, v := range e.Values(p) {
				if v == "" {
					t.Fatalf("%s yielded an empty value", p)
				}
			}
		}
	})
}

// fuzzExchanges hold a value for every source and decoder.
func fuzzExchanges() []*apisessions.Exchange {
	var out []*apisessions.Exchange
	for _, tc := range listExchanges {
		out = append(out, tc.ex())
	}
	return out
}

// TestPrefix: a prefix is the point's source with its first steps, written
// canonically, and covers the point.
func TestPrefix(t *testing.T) {
	tests := []struct {
		p    string
		n    int
		want string
	}{
		{"request.header.authorization|jwt.sub", 0, "request.header.Authorization"},
		{"request.header.authorization|jwt.sub", 1, "request.header.Authorization|jwt"},
		{"request.body|json.data|base64|json.token", 2, "request.body|json.data"},
		{`request.cookie["connect.sid"]|base64|json.uid`, 1, `request.cookie["connect.sid"]|base64`},
		{"request.body|json.a", 5, "request.body|json.a"},
		{"request.body|json.a", -1, "request.body"},
	}
	for _, tc := range tests {
		t.Run(tc.p, func(t *testing.T) {
			p := MustParse(tc.p)
			q := p.Prefix(tc.n)
			if q.String() != tc.want {
				t.Errorf("Prefix(%d) = %q, want %q", tc.n, q.String(), tc.want)
			}
			if !q.Covers(p) {
				t.Errorf("Prefix(%d) does not cover the point", tc.n)
			}
			if r := MustParse(q.String()); !r.Covers(q) || !q.Covers(r) {
				t.Errorf("Prefix(%d) does not parse back to itself", tc.n)
			}
		})
	}
}

// TestUnescapeForm: form decoding as points read query values, lenient
// with a stray '%'.
func TestUnescapeForm(t *testing.T) {
	for in, want := range map[string]string{
		"a+b%40c": "a b@c", "100%": "100%", "%zz%41": "%zzA", "plain": "plain", "%7B%22x%22%7D": `{"x"}`,
	} {
		if got := UnescapeForm(in); got != want {
			t.Errorf("UnescapeForm(%q) = %q, want %q", in, got, want)
		}
	}
}
