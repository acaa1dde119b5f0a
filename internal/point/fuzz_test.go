package point

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apisessions/apisessions"
)

// Native fuzz tests, one per decoder and one for List, seeded from the
// table cases. Every target checks the round trip of List on what it
// builds: listed points parse and evaluate back to their values.

// seedBodies are the bodies, header and query values of the table cases.
func seedBodies() []string {
	var out []string
	add := func(ex *apisessions.Exchange) {
		out = append(out, string(ex.Request.Body), ex.RawQuery())
		for _, h := range ex.Request.Headers {
			out = append(out, h.Value)
		}
		if ex.Response != nil {
			out = append(out, string(ex.Response.Body))
		}
	}
	for _, tc := range evalCases {
		add(tc.ex())
	}
	for _, tc := range listExchanges {
		add(tc.ex())
	}
	return out
}

func FuzzJSON(f *testing.F) {
	for _, s := range seedBodies() {
		f.Add(s)
	}
	f.Add(`"a\u00e9\ud83d\ude00"`)
	f.Add(`[1,{"a":[true,false,null,-1.5e3]}]`)
	f.Fuzz(func(t *testing.T, s string) {
		ex := reqEx("POST", "/", hdrs("Content-Type", "application/json"), s)
		e := NewEvaluator(DefaultLimits())
		e.Reset(ex)
		whole, ok := e.First(MustParse("request.body|json"))
		if json.Valid([]byte(s)) && !e.Truncated() {
			var v any
			json.Unmarshal([]byte(s), &v)
			if str, isStr := v.(string); isStr && utf8.ValidString(s) {
				if str != whole && !(str == "" && !ok) {
					t.Fatalf("JSON string %q: got %q, encoding/json %q", s, whole, str)
				}
			} else if v != nil && !ok {
				t.Fatalf("valid JSON %q not decoded", s)
			}
		}
		checkListRoundTrip(t, ex, DefaultLimits())
	})
}

func FuzzForm(f *testing.F) {
	for _, s := range seedBodies() {
		f.Add(s, "k", "v")
	}
	f.Add("a=1&a=2&b", "a b", "c&d=e")
	f.Fuzz(func(t *testing.T, body, k, v string) {
		ex := reqEx("POST", "/?"+body, hdrs("Content-Type", "application/x-www-form-urlencoded"), body)
		checkListRoundTrip(t, ex, DefaultLimits())
		if k == "" || v == "" {
			return
		}
		enc := url.QueryEscape(k) + "=" + url.QueryEscape(v)
		ex = reqEx("POST", "/?"+enc, nil, enc)
		e := NewEvaluator(DefaultLimits())
		e.Reset(ex)
		for _, p := range []string{"request.body|form" + FormatName(k), "request.query" + FormatName(k)} {
			if got, _ := e.First(MustParse(p)); got != v {
				t.Fatalf("%s of %q = %q, want %q", p, enc, got, v)
			}
		}
	})
}

func FuzzMultipart(f *testing.F) {
	f.Add(multipartBody, "field", "value", "")
	f.Add("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--", "f", "v", "file.txt")
	f.Fuzz(func(t *testing.T, body, name, value, filename string) {
		ex := reqEx("POST", "/", hdrs("Content-Type", "multipart/form-data"), body)
		checkListRoundTrip(t, ex, DefaultLimits())
		// Content-Disposition cannot carry control characters (Go's
		// writer does not escape them and its reader then drops the name).
		if name == "" || value == "" || strings.IndexFunc(name+filename, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '"' || r == '\\' }) >= 0 {
			return
		}
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		want := value
		if filename != "" {
			fw, _ := w.CreateFormFile(name, filename)
			fw.Write([]byte(value))
			want = filename
		} else {
			w.WriteField(name, value)
		}
		w.Close()
		ex = reqEx("POST", "/", nil, b.String())
		e := NewEvaluator(DefaultLimits())
		e.Reset(ex)
		p := MustParse("request.body|multipart" + FormatName(name))
		if got, _ := e.First(p); got != want && !(filename != "" && got == "") {
			t.Fatalf("%s = %q, want %q", p, got, want)
		}
	})
}

func FuzzXML(f *testing.F) {
	f.Add(xmlBody, "text")
	f.Add(`<a x="1"><b>2</b><b>3</b></a>`, "a<b")
	f.Fuzz(func(t *testing.T, body, text string) {
		ex := reqEx("POST", "/", hdrs("Content-Type", "application/xml"), body)
		checkListRoundTrip(t, ex, DefaultLimits())
		if !utf8.ValidString(text) || strings.TrimSpace(text) == "" {
			return
		}
		var esc strings.Builder
		for _, r := range text {
			if r < 0x20 && r != '\t' && r != '\n' || r == 0xfffd || r >= 0xd800 && r < 0xe000 || r > 0x10ffff || r == 0xfffe || r == 0xffff {
				return // not an XML character
			}
		}
		if err := escapeXML(&esc, text); err != nil {
			return
		}
		ex = reqEx("POST", "/", nil, `<r a="`+esc.String()+`">`+esc.String()+`</r>`)
		e := NewEvaluator(DefaultLimits())
		e.Reset(ex)
		want := strings.TrimSpace(strings.ReplaceAll(text, "\r", "\n"))
		if got, _ := e.First(MustParse("request.body|xml.r")); got != want && !strings.Contains(text, "\r") {
			t.Fatalf("text of %q = %q, want %q", esc.String(), got, want)
		}
	})
}

func FuzzBase64(f *testing.F) {
	for _, s := range seedBodies() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		var scratch []byte
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			s := enc.EncodeToString(data)
			got, ok := decodeBase64(s, &scratch)
			if !ok || got != string(data) {
				t.Fatalf("decodeBase64(%q) = %q, %v; want %q", s, got, ok, data)
			}
		}
		// Arbitrary text: never a panic, and agreement with the standard
		// decoder where it accepts the input.
		s := string(data)
		got, ok := decodeBase64(s, &scratch)
		if want, err := base64.StdEncoding.DecodeString(s); err == nil && len(want) > 0 && (!ok || got != string(want)) {
			t.Fatalf("decodeBase64(%q) = %q, %v; encoding/base64 %q", s, got, ok, want)
		}
		ex := reqEx("GET", "/", hdrs("Cookie", "state="+s), "")
		e := NewEvaluator(DefaultLimits())
		e.Reset(ex)
		e.Values(MustParse("request.cookie.state|base64|json.uid"))
	})
}

func FuzzURL(f *testing.F) {
	for _, s := range seedBodies() {
		f.Add(s)
	}
	f.Add("%zz%2F%2f+%")
	f.Fuzz(func(t *testing.T, s string) {
		got := percentDecode(s, false)
		if want, err := url.PathUnescape(s); err == nil && got != want {
			t.Fatalf("percentDecode(%q) = %q, url.PathUnescape %q", s, got, want)
		}
		if want, err := url.QueryUnescape(s); err == nil && percentDecode(s, true) != want {
			t.Fatalf("percentDecode(%q, plus) = %q, url.QueryUnescape %q", s, percentDecode(s, true), want)
		}
		checkListRoundTrip(t, reqEx("GET", "/"+s+"?"+s, nil, ""), DefaultLimits())
	})
}

func FuzzGzip(f *testing.F) {
	f.Add([]byte(`{"token":"t"}`), false)
	f.Add([]byte(gzipped("x")), true)
	f.Add([]byte(deflated("a=1")), true)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		lim := DefaultLimits()
		lim.DecompressedBytes = 1 << 16
		if raw {
			// Arbitrary compressed input: bounded output, no panic.
			if out, _, _ := gunzip(string(data), lim.DecompressedBytes); len(out) > lim.DecompressedBytes {
				t.Fatalf("%d bytes out, over the limit", len(out))
			}
			ex := withResp(reqEx("GET", "/", nil, ""), 200, hdrs("Content-Encoding", "gzip", "Content-Type", "application/json"), string(data))
			checkListRoundTrip(t, ex, lim)
			return
		}
		for _, z := range []string{gzipped(string(data)), zlibbed(string(data)), deflated(string(data))} {
			out, cut, ok := gunzip(z, lim.DecompressedBytes)
			if len(data) <= lim.DecompressedBytes && (!ok && len(data) > 0 || cut || out != string(data)) {
				t.Fatalf("round trip of %d bytes: got %d bytes, cut=%v ok=%v", len(data), len(out), cut, ok)
			}
		}
	})
}

func FuzzJWT(f *testing.F) {
	f.Add(`{"sub":"alice","sid":"s-1"}`, "Bearer ")
	f.Add(`{"n":1}`, "")
	f.Add(`not json`, "bearer ")
	f.Fuzz(func(t *testing.T, claims, prefix string) {
		ex := reqEx("GET", "/", hdrs("Authorization", prefix+jwtOf(claims)), "")
		checkListRoundTrip(t, ex, DefaultLimits())
		ex = reqEx("GET", "/", hdrs("Authorization", claims), "")
		checkListRoundTrip(t, ex, DefaultLimits())
		e := NewEvaluator(DefaultLimits())
		e.Reset(reqEx("GET", "/", hdrs("Authorization", "Bearer "+jwtOf(claims)), ""))
		var m map[string]any
		if json.Unmarshal([]byte(claims), &m) == nil && utf8.ValidString(claims) {
			if sub, ok := m["sub"].(string); ok && sub != "" {
				if got, _ := e.First(MustParse("request.header.Authorization|jwt.sub")); got != sub && !strings.Contains(claims, `"sub"`+"") {
					t.Fatalf("sub of %s = %q, want %q", claims, got, sub)
				}
			}
		}
	})
}

func FuzzGraphQL(f *testing.F) {
	f.Add(graphqlEnvelope)
	f.Add(`mutation Login { u: login(user: "al\"ice", pass: """pw""") @skip(if: false) { ...F ... on T { token } } } fragment F on T { secret }`)
	f.Add(`{ items(ids: [1, 2, 3], n: 4) { id } }`)
	f.Add(`[{"query":"query One { a }"},{"query":"query Two { b }"}]`)
	f.Fuzz(func(t *testing.T, s string) {
		ex := reqEx("POST", "/graphql", hdrs("Content-Type", "application/graphql"), s)
		checkListRoundTrip(t, ex, DefaultLimits())
		ex = reqEx("POST", "/graphql", hdrs("Content-Type", "application/json"), s)
		checkListRoundTrip(t, ex, DefaultLimits())
	})
}

func FuzzList(f *testing.F) {
	for _, tc := range listExchanges {
		ex := tc.ex()
		ct, _ := ex.Request.Headers.Get("Content-Type")
		f.Add(ex.Request.Method, ex.Request.URL, "Cookie", "a=1; b=2", ct, string(ex.Request.Body))
	}
	f.Fuzz(func(t *testing.T, method, target, name, value, ct, body string) {
		ex := reqEx(method, target, hdrs(name, value, "Content-Type", ct, "Set-Cookie", value), body)
		withResp(ex, 200, hdrs(name, value, "Set-Cookie", value, "Content-Type", ct), body)
		checkListRoundTrip(t, ex, DefaultLimits())
	})
}

// escapeXML escapes text for an attribute and element content.
func escapeXML(b *strings.Builder, s string) error {
	var buf bytes.Buffer
	if err := xml.EscapeText(&buf, []byte(s)); err != nil {
		return err
	}
	b.WriteString(buf.String())
	return nil
}
