package capture

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

// badRecord is one OnError call.
type badRecord struct {
	Pos int64
	Err string
}

// result is everything a reader produced from one input.
type result struct {
	Exchanges []*apisessions.Exchange
	Positions []int64
	Bad       []badRecord
	Malformed int
	Err       error
}

// readAll reads every exchange of input with the reader newReader makes.
func readAll(tb testing.TB, input string, opts Options, newReader func(io.Reader, Options) Reader) result {
	tb.Helper()
	var res result
	opts.OnError = func(pos int64, err error) {
		res.Bad = append(res.Bad, badRecord{pos, err.Error()})
	}
	r := newReader(strings.NewReader(input), opts)
	for i := 0; ; i++ {
		if i > len(input)+1 {
			tb.Fatalf("reader returned more exchanges than the input has bytes")
		}
		ex, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			res.Err = err
			if _, err2 := r.Next(); err2 == nil || err2.Error() != err.Error() {
				tb.Errorf("after error %v, Next returned %v; want the same error again", err, err2)
			}
			break
		}
		res.Exchanges = append(res.Exchanges, ex)
		res.Positions = append(res.Positions, r.Pos())
	}
	res.Malformed = r.Malformed()
	if res.Malformed != len(res.Bad) {
		tb.Errorf("Malformed() = %d, OnError called %d times", res.Malformed, len(res.Bad))
	}
	return res
}

func newJSONL(r io.Reader, o Options) Reader { return NewJSONLReader(r, o) }

// specLine is the example of SPEC §2, on one line.
const specLine = `{"id": "r-0001", "time": "2026-11-20T10:00:00.123Z", "client_ip": "203.0.113.7", ` +
	`"request":  {"method": "POST", "url": "https://shop.example.com/api/login?next=%2F", ` +
	`"headers": [["Content-Type", "application/json"], ["User-Agent", "curl/8.5"]], ` +
	`"body": "{\"username\":\"alice\",\"password\":\"s3cret\"}"}, ` +
	`"response": {"status": 200, "headers": [["Set-Cookie", "PHPSESSID=ab12; Path=/"]], ` +
	`"body": "{\"role\":\"admin\"}", "duration_ms": 12.5}}`

func TestJSONLFields(t *testing.T) {
	tests := []struct {
		name string
		line string
		want *apisessions.Exchange
	}{
		{
			name: "spec example",
			line: specLine,
			want: &apisessions.Exchange{
				ID:       "r-0001",
				Time:     time.Date(2026, 11, 20, 10, 0, 0, 123e6, time.UTC),
				ClientIP: "203.0.113.7",
				Request: apisessions.Request{
					Method: "POST",
					URL:    "https://shop.example.com/api/login?next=%2F",
					Headers: apisessions.Headers{
						{Name: "Content-Type", Value: "application/json"},
						{Name: "User-Agent", Value: "curl/8.5"},
					},
					Body: []byte(`{"username":"alice","password":"s3cret"}`),
				},
				Response: &apisessions.Response{
					Status:   200,
					Headers:  apisessions.Headers{{Name: "Set-Cookie", Value: "PHPSESSID=ab12; Path=/"}},
					Body:     []byte(`{"role":"admin"}`),
					Duration: 12500 * time.Microsecond,
				},
			},
		},
		{
			name: "minimal: no id, time, ip or response",
			line: `{"request": {"method": "GET", "url": "/health"}}`,
			want: &apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/health"}},
		},
		{
			name: "numeric id and time with offset",
			line: `{"id": 42, "time": "2026-11-20T11:00:00+01:00", "request": {"method": "GET", "url": "/"}}`,
			want: &apisessions.Exchange{
				ID:      "42",
				Time:    time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
				Request: apisessions.Request{Method: "GET", URL: "/"},
			},
		},
		{
			name: "repeated headers keep order",
			line: `{"request": {"method": "GET", "url": "/", "headers": [["Cookie", "a=1"], ["X", ""], ["cookie", "b=2"]]}}`,
			want: &apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/", Headers: apisessions.Headers{
				{Name: "Cookie", Value: "a=1"}, {Name: "X", Value: ""}, {Name: "cookie", Value: "b=2"},
			}}},
		},
		{
			name: "base64 bodies on both sides",
			line: `{"request": {"method": "PUT", "url": "/f", "body": "AAEC/w==", "body_base64": true}, ` +
				`"response": {"status": 204, "body": "H4sIAAAAAAAA_w", "body_base64": true}}`,
			want: &apisessions.Exchange{
				Request:  apisessions.Request{Method: "PUT", URL: "/f", Body: []byte{0, 1, 2, 0xff}},
				Response: &apisessions.Response{Status: 204, Body: []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}},
			},
		},
		{
			name: "ip with port, IPv6 canonical, unknown fields ignored",
			line: `{"client_ip": "[2001:DB8::1]:443", "extra": {"x": [1]}, "request": {"method": "GET", "url": "/", "http_version": "2"}, "response": null}`,
			want: &apisessions.Exchange{ClientIP: "2001:db8::1", Request: apisessions.Request{Method: "GET", URL: "/"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readAll(t, tt.line+"\n", DefaultOptions(), newJSONL)
			if res.Err != nil || len(res.Bad) != 0 {
				t.Fatalf("err %v, bad %v", res.Err, res.Bad)
			}
			if len(res.Exchanges) != 1 {
				t.Fatalf("got %d exchanges, want 1", len(res.Exchanges))
			}
			if got := res.Exchanges[0]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
				if got.Response != nil && tt.want.Response != nil {
					t.Errorf("response got %+v want %+v", *got.Response, *tt.want.Response)
				}
			}
		})
	}
}

func TestJSONLBadLines(t *testing.T) {
	ok := `{"request": {"method": "GET", "url": "/ok"}}`
	tests := []struct {
		name string
		line string
		want string // the error OnError gets
	}{
		{"not JSON", `{"request": `, "JSON breaks off"},
		{"garbage", `hello`, "invalid JSON at byte 1"},
		{"array", `[1, 2]`, "want an object, got array"},
		{"no request", `{"id": "x"}`, "request missing"},
		{"no method", `{"request": {"url": "/"}}`, "request.method missing"},
		{"method not a token", `{"request": {"method": "GE T", "url": "/"}}`, "request.method is not an HTTP token"},
		{"no url", `{"request": {"method": "GET"}}`, "request.url missing"},
		{"headers not pairs", `{"request": {"method": "GET", "url": "/", "headers": [["a"]]}}`, "request.headers[0]: want a [name, value] pair"},
		{"headers as object", `{"request": {"method": "GET", "url": "/", "headers": {"a": "b"}}}`, "request.headers: want an array, got object"},
		{"header value number", `{"request": {"method": "GET", "url": "/", "headers": [["a", 1]]}}`, "request.headers: want a string, got number"},
		{"empty header name", `{"request": {"method": "GET", "url": "/", "headers": [["", "v"]]}}`, "request.headers[0]: empty header name"},
		{"bad base64", `{"request": {"method": "GET", "url": "/", "body": "%%%", "body_base64": true}}`, "request.body: body_base64 is set but the body is not base64"},
		{"bad time", `{"time": "yesterday", "request": {"method": "GET", "url": "/"}}`, "time: want an RFC 3339 time such as 2026-11-20T10:00:00Z"},
		{"bad ip", `{"client_ip": "my-laptop", "request": {"method": "GET", "url": "/"}}`, "client_ip: not an IP address"},
		{"bad id", `{"id": {"a": 1}, "request": {"method": "GET", "url": "/"}}`, "id: want a string or a number"},
		{"status zero", `{"request": {"method": "GET", "url": "/"}, "response": {"headers": []}}`, "response.status: want a status code from 100 to 999"},
		{"status string", `{"request": {"method": "GET", "url": "/"}, "response": {"status": "200"}}`, "response.status: want a number, got string"},
		{"negative duration", `{"request": {"method": "GET", "url": "/"}, "response": {"status": 200, "duration_ms": -1}}`, "response.duration_ms: want a positive number of milliseconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The bad line sits between good ones: it is line 3 (line 2 is blank).
			input := ok + "\n\n" + tt.line + "\n" + ok + "\n"
			res := readAll(t, input, DefaultOptions(), newJSONL)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			want := []badRecord{{3, tt.want}}
			if !reflect.DeepEqual(res.Bad, want) {
				t.Errorf("bad = %v, want %v", res.Bad, want)
			}
			if !reflect.DeepEqual(res.Positions, []int64{1, 4}) {
				t.Errorf("positions = %v, want [1 4]", res.Positions)
			}
			if strings.Contains(res.Bad[0].Err, "yesterday") || strings.Contains(res.Bad[0].Err, "my-laptop") {
				t.Errorf("error quotes the input: %q", res.Bad[0].Err)
			}
		})
	}
}

func TestJSONLLines(t *testing.T) {
	line := func(id string) string {
		return fmt.Sprintf(`{"id": %q, "request": {"method": "GET", "url": "/"}}`, id)
	}
	long := `{"id": "long", "request": {"method": "GET", "url": "/", "body": "` + strings.Repeat("x", 300) + `"}}`
	tests := []struct {
		name    string
		input   string
		max     int
		wantIDs []string
		wantPos []int64
		wantBad []badRecord
	}{
		{"CRLF and no final newline", line("a") + "\r\n" + line("b"), 0, []string{"a", "b"}, []int64{1, 2}, nil},
		{"BOM", "\xEF\xBB\xBF" + line("a") + "\n", 0, []string{"a"}, []int64{1}, nil},
		{"blank lines", "\n  \n" + line("a") + "\n\n", 0, []string{"a"}, []int64{3}, nil},
		{"empty input", "", 0, nil, nil, nil},
		{"line over the limit", line("a") + "\n" + long + "\n" + line("b") + "\n", 200, []string{"a", "b"}, []int64{1, 3},
			[]badRecord{{2, "line longer than the 200-byte limit (MaxRecordBytes)"}}},
		{"last line over the limit", line("a") + "\n" + long, 200, []string{"a"}, []int64{1},
			[]badRecord{{2, "line longer than the 200-byte limit (MaxRecordBytes)"}}},
		{"line exactly at the limit", line("abc") + "\r\n", len(line("abc")), []string{"abc"}, []int64{1}, nil},
		{"line one past the limit", line("abc") + "\r\n", len(line("abc")) - 1, nil, nil,
			[]badRecord{{1, fmt.Sprintf("line longer than the %d-byte limit (MaxRecordBytes)", len(line("abc"))-1)}}},
	}
	readers := []struct {
		name string
		new  func(io.Reader, Options) Reader
	}{
		{"", newJSONL},
		// Lines cross the read buffer everywhere.
		{"/16-byte buffer", func(r io.Reader, o Options) Reader { return newJSONLReaderSize(r, o, 16) }},
	}
	for _, rd := range readers {
		for _, tt := range tests {
			t.Run(tt.name+rd.name, func(t *testing.T) {
				res := readAll(t, tt.input, Options{MaxRecordBytes: tt.max}, rd.new)
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				var ids []string
				for _, ex := range res.Exchanges {
					ids = append(ids, ex.ID)
				}
				if !reflect.DeepEqual(ids, tt.wantIDs) || !reflect.DeepEqual(res.Positions, tt.wantPos) || !reflect.DeepEqual(res.Bad, tt.wantBad) {
					t.Errorf("ids %v pos %v bad %v; want %v %v %v", ids, res.Positions, res.Bad, tt.wantIDs, tt.wantPos, tt.wantBad)
				}
			})
		}
	}
}

// TestJSONLLongLinesAcrossBuffers reads lines longer than the read buffer,
// which take the copying path, mixed with short ones.
func TestJSONLLongLinesAcrossBuffers(t *testing.T) {
	var b strings.Builder
	var want []int
	for i, n := range []int{10, 3 * jsonlBufSize, 5, jsonlBufSize - 40, jsonlBufSize + 1, 100} {
		fmt.Fprintf(&b, `{"id": "%d", "request": {"method": "POST", "url": "/", "body": "%s"}}`+"\n", i, strings.Repeat("b", n))
		want = append(want, n)
	}
	res := readAll(t, b.String(), DefaultOptions(), newJSONL)
	if res.Err != nil || len(res.Bad) != 0 {
		t.Fatalf("err %v bad %v", res.Err, res.Bad)
	}
	var got []int
	for _, ex := range res.Exchanges {
		got = append(got, len(ex.Request.Body))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body sizes %v, want %v", got, want)
	}
}

func TestJSONLOffset(t *testing.T) {
	input := specLine + "\n" + specLine + "\n"
	r := NewJSONLReader(strings.NewReader(input), DefaultOptions())
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if got, want := r.Offset(), int64(len(specLine)+1); got != want {
		t.Errorf("offset after line 1 = %d, want %d", got, want)
	}
	for {
		if _, err := r.Next(); err == io.EOF {
			break
		}
	}
	if got := r.Offset(); got != int64(len(input)) {
		t.Errorf("offset at end = %d, want %d", got, len(input))
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n > 0 {
		f.n--
		return copy(p, specLine+"\n"), nil
	}
	return 0, errors.New("disk on fire")
}

func TestJSONLReadError(t *testing.T) {
	r := NewJSONLReader(&failingReader{n: 1}, DefaultOptions())
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err := r.Next()
	if err == nil || err == io.EOF || !strings.Contains(err.Error(), "line 2: read: disk on fire") {
		t.Fatalf("err = %v, want the read error with its line", err)
	}
}

// jsonlSeeds are the fuzz seeds: every table input.
func jsonlSeeds() []string {
	return []string{
		specLine,
		`{"request": {"method": "GET", "url": "/health"}}`,
		`{"id": 42, "time": "2026-11-20T11:00:00+01:00", "request": {"method": "GET", "url": "/"}}`,
		`{"request": {"method": "PUT", "url": "/f", "body": "AAEC/w==", "body_base64": true}, "response": {"status": 204, "body": "H4sI", "body_base64": true}}`,
		`{"request": `, `hello`, `[1, 2]`, `{"id": "x"}`,
		`{"request": {"method": "GET", "url": "/", "headers": [["a"]]}}`,
		`{"request": {"method": "GET", "url": "/", "headers": {"a": "b"}}}`,
		`{"time": "yesterday", "request": {"method": "GET", "url": "/"}}`,
		`{"request": {"method": "GET", "url": "/"}, "response": {"status": 200, "duration_ms": 1e300}}`,
		"\xEF\xBB\xBF{}\r\n\n{\"request\": null}",
	}
}

func FuzzJSONL(f *testing.F) {
	for _, s := range jsonlSeeds() {
		f.Add(s + "\n" + s)
	}
	for _, l := range fastLines {
		f.Add(l.line)
	}
	tiny := func(r io.Reader, o Options) Reader { return newJSONLReaderSize(r, o, 16) }
	f.Fuzz(func(t *testing.T, input string) {
		lines := int64(strings.Count(input, "\n") + 1)
		res := readAll(t, input, Options{MaxRecordBytes: 512}, newJSONL)
		// Where the read buffer ends must not change what is read.
		if res2 := readAll(t, input, Options{MaxRecordBytes: 512}, tiny); !reflect.DeepEqual(res, res2) {
			t.Fatalf("a 16-byte buffer reads differently:\n%+v\n%+v", res, res2)
		}
		// Nor whether lines are decoded where they are read.
		if res2 := readAll(t, input, Options{MaxRecordBytes: 512}, newRaw); !reflect.DeepEqual(res, res2) {
			t.Fatalf("NextRaw + ParseJSONL reads differently:\n%+v\n%+v", res2, res)
		}
		// The fast decoder agrees with encoding/json on every line.
		for line := range strings.SplitSeq(input, "\n") {
			checkParseJSONL(t, []byte(line))
		}
		if res.Err != nil {
			t.Fatalf("a string reader cannot fail: %v", res.Err)
		}
		last := int64(0)
		for i, ex := range res.Exchanges {
			p := res.Positions[i]
			if p <= last || p > lines {
				t.Fatalf("position %d after %d, input has %d lines", p, last, lines)
			}
			last = p
			if ex.Request.Method == "" || ex.Request.URL == "" {
				t.Fatalf("exchange without method or url: %+v", ex)
			}
			if ex.Response != nil && (ex.Response.Status < 100 || ex.Response.Duration < 0) {
				t.Fatalf("bad response accepted: %+v", ex.Response)
			}
		}
		for _, b := range res.Bad {
			if b.Pos < 1 || b.Pos > lines || b.Err == "" {
				t.Fatalf("bad record %+v (input has %d lines)", b, lines)
			}
		}
	})
}

// rawReader reads exchanges as a pipeline does: NextRaw on one side,
// ParseJSONL on the other, bad lines reported with the number NextRaw gave.
type rawReader struct {
	r         *JSONLReader
	onError   func(int64, error)
	malformed int
	pos       int64
}

func newRaw(r io.Reader, o Options) Reader {
	return newRawSize(r, o, jsonlBufSize)
}

func newRawSize(r io.Reader, o Options, size int) Reader {
	return &rawReader{r: newJSONLReaderSize(r, o, size), onError: o.OnError}
}

func (rr *rawReader) Next() (*apisessions.Exchange, error) {
	for {
		line, no, err := rr.r.NextRaw()
		if err != nil {
			return nil, err
		}
		if rr.r.Pos() != no {
			return nil, fmt.Errorf("Pos() = %d after NextRaw gave line %d", rr.r.Pos(), no)
		}
		ex, err := ParseJSONL(line)
		if err != nil {
			rr.malformed++
			rr.onError(no, err)
			continue
		}
		rr.pos = no
		return ex, nil
	}
}

func (rr *rawReader) Pos() int64     { return rr.pos }
func (rr *rawReader) Offset() int64  { return rr.r.Offset() }
func (rr *rawReader) Malformed() int { return rr.malformed + rr.r.Malformed() }

// TestJSONLNextRaw reads the inputs of the line tests through NextRaw and
// ParseJSONL: the same exchanges, line numbers and reports as Next.
func TestJSONLNextRaw(t *testing.T) {
	ok := `{"id": "%d", "request": {"method": "GET", "url": "/"}}`
	tests := []struct {
		name  string
		input string
		max   int
	}{
		{"good, blank, bad and long lines", fmt.Sprintf(ok, 1) + "\n\n" + `{"request": ` + "\r\n" +
			fmt.Sprintf(ok, 4) + strings.Repeat(" ", 300) + "\n" + fmt.Sprintf(ok, 5), 200},
		{"only blank lines", "\n \n\t\n", 0},
		{"bad last line without newline", fmt.Sprintf(ok, 1) + "\n" + `{"id": {}}`, 0},
		{"spec example twice", specLine + "\n" + specLine + "\n", 0},
	}
	for _, tt := range tests {
		for _, size := range []int{16, jsonlBufSize} {
			t.Run(fmt.Sprintf("%s/%d-byte buffer", tt.name, size), func(t *testing.T) {
				opts := Options{MaxRecordBytes: tt.max}
				want := readAll(t, tt.input, opts, func(r io.Reader, o Options) Reader { return newJSONLReaderSize(r, o, size) })
				got := readAll(t, tt.input, opts, func(r io.Reader, o Options) Reader { return newRawSize(r, o, size) })
				if !reflect.DeepEqual(got, want) {
					t.Errorf("NextRaw + ParseJSONL:\n%+v\nNext:\n%+v", got, want)
				}
				if len(want.Exchanges)+want.Malformed == 0 && strings.TrimSpace(tt.input) != "" {
					t.Errorf("the input read as nothing: %+v", want)
				}
			})
		}
	}
}

// fastLines are lines the fast decoder must take itself (fast true) or
// leave to encoding/json; either way ParseJSONL must give what
// encoding/json gives.
var fastLines = []struct {
	name string
	line string
	fast bool
}{
	{"spec example", specLine, true},
	{"minimal", `{"request": {"method": "GET", "url": "/health"}}`, true},
	{"numeric id", `{"id": 42, "time": "2026-11-20T11:00:00+01:00", "request": {"method": "GET", "url": "/"}}`, true},
	{"number id as written", `{"id": -1.50e+3, "request": {"method": "GET", "url": "/"}}`, true},
	{"null fields", `{"id": null, "time": null, "client_ip": null, "request": {"method": "GET", "url": "/", "headers": null, "body": null, "body_base64": null}, "response": null}`, true},
	{"base64 bodies", `{"request": {"method": "PUT", "url": "/f", "body": "AAEC/w==", "body_base64": true}, "response": {"status": 204, "body": "H4sIAAAAAAAA_w", "body_base64": true}}`, true},
	{"base64 flag before body", `{"request": {"body_base64": true, "method": "PUT", "url": "/f", "body": "AAEC"}}`, true},
	{"escapes", `{"id": "a\"b\\c\/d\b\f\n\r\t\u00e9\u4e2d\u0000", "request": {"method": "GET", "url": "/\u00e9", "headers": [["X-A", "\"q\""]], "body": "{\"k\":\"v\\n\"}"}}`, true},
	{"two escaped strings in a row", `{"request": {"method": "POST", "url": "/", "body": "a\nb", "headers": [["A", "x\ty"]]}}`, true},
	{"UTF-8 text", `{"request": {"method": "GET", "url": "/caf\u00e9", "body": "日本語 ü"}}`, true},
	{"unknown fields of every kind", `{"x": {"a": [1, -2.5e-3, true, false, null, "s\n", {}], "b": []}, "request": {"method": "GET", "url": "/", "http_version": "2", "status": 5}, "response": {"status": 200, "method": "X", "extra": [[]]}}`, true},
	{"white space everywhere", " \t{ \"request\" : { \"method\" : \"GET\" , \"url\" : \"/\" , \"headers\" : [ [ \"a\" , \"b\" ] ] } , \"response\" : { \"status\" : 200 , \"duration_ms\" : 0.5 } } \r ", true},
	{"empty headers", `{"request": {"method": "GET", "url": "/", "headers": []}, "response": {"status": 200, "headers": [], "body": ""}}`, true},
	{"negative zero status", `{"request": {"method": "GET", "url": "/"}, "response": {"status": -0}}`, false},
	{"status with fraction", `{"request": {"method": "GET", "url": "/"}, "response": {"status": 200.0}}`, false},
	{"status with exponent", `{"request": {"method": "GET", "url": "/"}, "response": {"status": 2e2}}`, false},
	{"huge status", `{"request": {"method": "GET", "url": "/"}, "response": {"status": 99999999999999999999}}`, false},
	{"huge duration", `{"request": {"method": "GET", "url": "/"}, "response": {"status": 200, "duration_ms": 1e400}}`, false},
	{"key in another case", `{"Request": {"method": "GET", "url": "/"}}`, false},
	{"nested key in another case", `{"request": {"METHOD": "GET", "method": "POST", "url": "/"}}`, false},
	{"Kelvin sign key", "{\"request\": {\"method\": \"GET\", \"url\": \"/\"}, \"response\": {\"status\": 200, \"\u212aey\": 1}}", false},
	{"long s key", "{\"request\": {\"method\": \"GET\", \"url\": \"/\"}, \"response\": {\"\u017ftatus\": 201, \"status\": 200}}", false},
	{"escaped key", `{"request": {"method": "GET", "\u0075rl": "/"}}`, false},
	{"repeated key", `{"request": {"method": "GET", "url": "/a", "url": "/b"}}`, false},
	{"repeated object", `{"request": {"method": "GET"}, "request": {"url": "/b"}}`, false},
	{"invalid UTF-8", "{\"request\": {\"method\": \"GET\", \"url\": \"/\xff\"}}", false},
	{"invalid UTF-8 in an unknown field", "{\"x\": \"\xc3\", \"request\": {\"method\": \"GET\", \"url\": \"/\"}}", false},
	{"surrogate pair", `{"request": {"method": "GET", "url": "/\ud83d\ude00"}}`, true},
	{"lone surrogate", `{"request": {"method": "GET", "url": "/\ud83d"}}`, true},
	{"high surrogate before another escape", `{"request": {"method": "GET", "url": "/\ud83d\u0041\ude00"}}`, true},
	{"surrogates in a body", `{"request": {"method": "POST", "url": "/", "body": "\ud83d\ude00 \udc00x"}}`, true},
	{"bad escape", `{"request": {"method": "GET", "url": "/\x"}}`, false},
	{"short unicode escape", `{"request": {"method": "GET", "url": "/\u12"}}`, false},
	{"control character", "{\"request\": {\"method\": \"GET\", \"url\": \"/\x01\"}}", false},
	{"null header value", `{"request": {"method": "GET", "url": "/", "headers": [["a", null]]}}`, false},
	{"null header pair", `{"request": {"method": "GET", "url": "/", "headers": [null]}}`, false},
	{"three-item header", `{"request": {"method": "GET", "url": "/", "headers": [["a", "b", "c"]]}}`, false},
	{"trailing comma", `{"request": {"method": "GET", "url": "/"},}`, false},
	{"trailing data", `{"request": {"method": "GET", "url": "/"}} {}`, false},
	{"leading zero", `{"id": 01, "request": {"method": "GET", "url": "/"}}`, false},
	{"bare minus", `{"x": -, "request": {"method": "GET", "url": "/"}}`, false},
	{"bool as string", `{"request": {"method": "GET", "url": "/", "body": "x", "body_base64": "true"}}`, false},
	{"deep nesting", `{"x": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `, "request": {"method": "GET", "url": "/"}}`, false},
	{"not base64", `{"request": {"method": "GET", "url": "/", "body": "%%%", "body_base64": true}}`, false},
	{"no request", `{"id": "x"}`, false},
	{"empty object", `{}`, false},
	{"top-level null", `null`, false},
	{"top-level array", `[1]`, false},
	{"empty line", ``, false},
}

func TestParseJSONLAgrees(t *testing.T) {
	for _, tt := range fastLines {
		t.Run(tt.name, func(t *testing.T) {
			d := jsonlDecoder{b: []byte(tt.line)}
			if _, fast := d.exchange(); fast != tt.fast {
				t.Errorf("fast decoder took the line: %v, want %v", fast, tt.fast)
			}
			checkParseJSONL(t, []byte(tt.line))
		})
	}
}

// checkParseJSONL fails unless ParseJSONL gives what encoding/json gives,
// and keeps nothing of the line.
func checkParseJSONL(t *testing.T, line []byte) {
	t.Helper()
	buf := append([]byte(nil), line...)
	got, gotErr := ParseJSONL(buf)
	want, wantErr := decodeJSONLine(line)
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("error %v, encoding/json says %v", gotErr, wantErr)
	}
	// The caller reuses its buffer: nothing decoded may change with it.
	for i := range buf {
		buf[i] = 'X'
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}
