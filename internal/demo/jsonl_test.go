package demo

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apisessions/apisessions"
)

var update = flag.Bool("update", false, "rewrite golden files")

// line is the JSON-lines import format of SPEC §2, decoded independently
// of the encoder under test.
type line struct {
	ID       *string `json:"id"`
	Time     string  `json:"time"`
	ClientIP *string `json:"client_ip"`
	Request  struct {
		Method     string      `json:"method"`
		URL        string      `json:"url"`
		Headers    [][2]string `json:"headers"`
		Body       *string     `json:"body"`
		BodyBase64 bool        `json:"body_base64"`
	} `json:"request"`
	Response *struct {
		Status     int         `json:"status"`
		Headers    [][2]string `json:"headers"`
		Body       *string     `json:"body"`
		BodyBase64 bool        `json:"body_base64"`
		DurationMS float64     `json:"duration_ms"`
	} `json:"response"`
}

func decodeLine(t testing.TB, b []byte) line {
	t.Helper()
	var l line
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		t.Fatalf("line does not decode: %v\n%s", err, b)
	}
	return l
}

func TestAppendJSONL(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 123e6, time.UTC)
	tests := []struct {
		name string
		ex   apisessions.Exchange
		want string
	}{
		{
			name: "spec example",
			ex: apisessions.Exchange{ID: "r-0001", Time: at, ClientIP: "203.0.113.7",
				Request: apisessions.Request{Method: "POST", URL: "https://shop.example.com/api/login?next=%2F",
					Headers: apisessions.Headers{{Name: "Content-Type", Value: "application/json"}, {Name: "User-Agent", Value: "curl/8.5"}},
					Body:    []byte(`{"username":"alice","password":"s3cret"}`)},
				Response: &apisessions.Response{Status: 200, Headers: apisessions.Headers{{Name: "Set-Cookie", Value: "PHPSESSID=ab12; Path=/"}},
					Body: []byte(`{"role":"admin"}`), Duration: 12500 * time.Microsecond}},
			want: `{"id":"r-0001","time":"2026-11-20T10:00:00.123Z","client_ip":"203.0.113.7","request":{"method":"POST","url":"https://shop.example.com/api/login?next=%2F","headers":[["Content-Type","application/json"],["User-Agent","curl/8.5"]],"body":"{\"username\":\"alice\",\"password\":\"s3cret\"}"},"response":{"status":200,"headers":[["Set-Cookie","PHPSESSID=ab12; Path=/"]],"body":"{\"role\":\"admin\"}","duration_ms":12.5}}` + "\n",
		},
		{
			name: "no response, no id, no ip, time in another zone",
			ex: apisessions.Exchange{Time: at.In(time.FixedZone("X", 3600)),
				Request: apisessions.Request{Method: "GET", URL: "/a"}},
			want: `{"time":"2026-11-20T10:00:00.123Z","request":{"method":"GET","url":"/a","headers":[]}}` + "\n",
		},
		{
			name: "escapes and repeated headers",
			ex: apisessions.Exchange{Time: at, Request: apisessions.Request{Method: "GET", URL: "/q?x=\"<\\>\"",
				Headers: apisessions.Headers{{Name: "X", Value: "a\tb\nc\x01"}, {Name: "X", Value: "é€"}}}},
			want: `{"time":"2026-11-20T10:00:00.123Z","request":{"method":"GET","url":"/q?x=\"<\\>\"","headers":[["X","a\tb\nc\u0001"],["X","é€"]]}}` + "\n",
		},
		{
			name: "binary body is base64",
			ex: apisessions.Exchange{Time: at, Request: apisessions.Request{Method: "PUT", URL: "/f", Body: []byte{0xff, 0x00, 0x10}},
				Response: &apisessions.Response{Status: 204}},
			want: `{"time":"2026-11-20T10:00:00.123Z","request":{"method":"PUT","url":"/f","headers":[],"body":"/wAQ","body_base64":true},"response":{"status":204,"headers":[],"duration_ms":0}}` + "\n",
		},
		{
			name: "invalid UTF-8 in a header becomes U+FFFD",
			ex:   apisessions.Exchange{Time: at, Request: apisessions.Request{Method: "GET", URL: "/", Headers: apisessions.Headers{{Name: "X", Value: "a\xffb"}}}},
			want: `{"time":"2026-11-20T10:00:00.123Z","request":{"method":"GET","url":"/","headers":[["X","a\ufffdb"]]}}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendJSONL(nil, &tt.ex))
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			decodeLine(t, []byte(got))
		})
	}
}

func TestAppendTime(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 20, 10, 0, 0, 123456789, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("X", -7*3600)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(1795165251, 5e6),
	} {
		want := tm.UTC().Format(timeLayout)
		if got := string(appendTime(nil, tm)); got != want {
			t.Errorf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

// FuzzAppendJSONL checks that any exchange encodes to one line of valid JSON
// that decodes back to the same values.
func FuzzAppendJSONL(f *testing.F) {
	f.Add("r-1", "203.0.113.7", "POST", "https://shop.example.com/api/login", "User-Agent", "curl/8.5", []byte(`{"a":"b"}`), 200, []byte("ok"), int64(1795165251005))
	f.Add("", "", "GET", "/q?x=\"<\\>\"", "X", "a\tb\nc\x01", []byte{0xff, 0}, 0, []byte(nil), int64(0))
	f.Add("\u2028", "::1", "\x00", "\xff", "\xc3", "é€", []byte("\xed\xa0\x80"), -1, []byte("\x7f"), int64(-62135596800000))
	f.Fuzz(func(t *testing.T, id, ip, method, url, hname, hvalue string, body []byte, status int, rbody []byte, ms int64) {
		ex := apisessions.Exchange{ID: id, ClientIP: ip, Time: time.UnixMilli(ms),
			Request:  apisessions.Request{Method: method, URL: url, Headers: apisessions.Headers{{Name: hname, Value: hvalue}}, Body: body},
			Response: &apisessions.Response{Status: status, Body: rbody, Duration: 1500 * time.Microsecond}}
		out := AppendJSONL(nil, &ex)
		if bytes.Count(out, []byte("\n")) != 1 || out[len(out)-1] != '\n' {
			t.Fatalf("not one line: %q", out)
		}
		l := decodeLine(t, out)
		str := validUTF8
		if want := ex.Time.UTC().Format(timeLayout); l.Time != want {
			t.Errorf("time %q, want %q", l.Time, want)
		}
		if (l.ID == nil) != (id == "") || (l.ID != nil && *l.ID != str(id)) {
			t.Errorf("id %q, want %q", deref(l.ID), id)
		}
		if l.Request.Method != str(method) || l.Request.URL != str(url) {
			t.Errorf("method/url %q %q, want %q %q", l.Request.Method, l.Request.URL, method, url)
		}
		if h := l.Request.Headers; len(h) != 1 || h[0][0] != str(hname) || h[0][1] != str(hvalue) {
			t.Errorf("headers %q", h)
		}
		checkBody(t, l.Request.Body, l.Request.BodyBase64, body)
		if l.Response == nil || l.Response.Status != status || l.Response.DurationMS != 1.5 {
			t.Fatalf("response %+v", l.Response)
		}
		checkBody(t, l.Response.Body, l.Response.BodyBase64, rbody)
	})
}

// validUTF8 replaces each byte of s that is not part of valid UTF-8 with
// U+FFFD, as encoding/json does.
func validUTF8(s string) string {
	var b strings.Builder
	for _, r := range s { // ranging yields U+FFFD for each bad byte
		b.WriteRune(r)
	}
	return b.String()
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func checkBody(t *testing.T, got *string, b64 bool, want []byte) {
	t.Helper()
	if len(want) == 0 {
		if got != nil {
			t.Errorf("body %q, want none", *got)
		}
		return
	}
	if got == nil {
		t.Fatalf("body missing, want %q", want)
	}
	if b64 != !utf8.Valid(want) {
		t.Errorf("body_base64 %v for %q", b64, want)
	}
	g := []byte(*got)
	if b64 {
		var err error
		if g, err = base64.StdEncoding.DecodeString(*got); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(g, want) {
		t.Errorf("body %q, want %q", g, want)
	}
}

// TestWriteJSONLGolden pins the generated traffic of a small run: a change to
// the generator shows up as a diff of this file (go test -update rewrites it).
func TestWriteJSONLGolden(t *testing.T) {
	o := DefaultTrafficOptions()
	o.Exchanges, o.Sessions, o.AttackRatio = 30, 6, 0.1
	var buf bytes.Buffer
	n, err := WriteJSONL(&buf, o)
	if err != nil || n != 30 {
		t.Fatalf("WriteJSONL = %d, %v", n, err)
	}
	path := filepath.Join("testdata", "traffic.golden.jsonl")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("generated traffic differs from %s (run go test -update after checking the change)", path)
	}
}

// sampleTraffic is how testdata/sample-traffic.jsonl at the repository root,
// which the README examples import, was made:
//
//	apisessions generate --exchanges 2000 --sessions 40 --seed 1 --attacks 0.02 \
//	    --start 2026-11-25T23:30:00Z -o testdata/sample-traffic.jsonl
func sampleTraffic() TrafficOptions {
	return TrafficOptions{Exchanges: 2000, Sessions: 40, Seed: 1, AttackRatio: 0.02,
		Start: time.Date(2026, 11, 25, 23, 30, 0, 0, time.UTC), Duration: time.Hour}
}

// TestSampleTrafficUpToDate checks that the shipped sample is what the
// generator makes, so that the README and the generator cannot drift apart
// (go test -update rewrites it).
func TestSampleTrafficUpToDate(t *testing.T) {
	var buf bytes.Buffer
	if _, err := WriteJSONL(&buf, sampleTraffic()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "testdata", "sample-traffic.jsonl")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s is not what the generator makes now (go test -update rewrites it)", path)
	}
	if len(want) > 2<<20 {
		t.Errorf("%s is %d bytes, want under 2 MB", path, len(want))
	}
}
