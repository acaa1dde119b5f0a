package capture

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

func newHAR(r io.Reader, o Options) Reader { return NewHARReader(r, o) }

// harFile wraps entries in the log of a HAR file, with the other members
// devtools write before and after them.
func harFile(entries ...string) string {
	return `{"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, ` +
		`"pages": [{"id": "page_1", "title": "t"}], "entries": [` + strings.Join(entries, ",\n") +
		`], "comment": "after"}}`
}

// chromeEntry is an entry as Chrome devtools exports it.
const chromeEntry = `{
  "startedDateTime": "2026-11-20T10:00:00.123Z", "time": 12.5, "serverIPAddress": "198.51.100.1",
  "request": {"method": "POST", "url": "https://shop.example.com/api/login?next=%2F", "httpVersion": "HTTP/2.0",
    "headers": [{"name": ":authority", "value": "shop.example.com"}, {"name": "content-type", "value": "application/json"},
                {"name": "cookie", "value": "theme=dark"}],
    "cookies": [{"name": "theme", "value": "dark"}],
    "queryString": [{"name": "next", "value": "/"}],
    "postData": {"mimeType": "application/json", "text": "{\"username\":\"alice\"}"}},
  "response": {"status": 200, "statusText": "", "httpVersion": "HTTP/2.0",
    "headers": [{"name": "content-type", "value": "application/json"}, {"name": "content-encoding", "value": "gzip"},
                {"name": "set-cookie", "value": "PHPSESSID=ab12; Path=/"}],
    "cookies": [{"name": "PHPSESSID", "value": "ab12", "path": "/"}],
    "content": {"size": 16, "mimeType": "application/json", "text": "{\"role\":\"admin\"}"}},
  "cache": {}, "timings": {"send": 1, "wait": 10, "receive": 1.5}
}`

func TestHARFields(t *testing.T) {
	get := func(url string) string { return `{"request": {"method": "GET", "url": "` + url + `"}` }
	tests := []struct {
		name  string
		entry string
		ip    string
		want  *apisessions.Exchange
	}{
		{
			name:  "chrome entry",
			entry: chromeEntry,
			ip:    "203.0.113.7",
			want: &apisessions.Exchange{
				Time:     time.Date(2026, 11, 20, 10, 0, 0, 123e6, time.UTC),
				ClientIP: "203.0.113.7",
				Request: apisessions.Request{
					Method: "POST",
					URL:    "https://shop.example.com/api/login?next=%2F",
					Headers: apisessions.Headers{
						{Name: "content-type", Value: "application/json"},
						{Name: "cookie", Value: "theme=dark"},
					},
					Body: []byte(`{"username":"alice"}`),
				},
				Response: &apisessions.Response{
					Status: 200,
					Headers: apisessions.Headers{
						{Name: "content-type", Value: "application/json"},
						{Name: "set-cookie", Value: "PHPSESSID=ab12; Path=/"},
					},
					Body:     []byte(`{"role":"admin"}`),
					Duration: 12500 * time.Microsecond,
				},
			},
		},
		{
			name: "cookies without headers become headers",
			entry: `{"request": {"method": "GET", "url": "/", "cookies": [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]},
			  "response": {"status": 302, "cookies": [{"name": "sid", "value": "x", "path": "/", "domain": "h", "httpOnly": true, "secure": true}]}, "time": -1}`,
			want: &apisessions.Exchange{
				Request: apisessions.Request{Method: "GET", URL: "/", Headers: apisessions.Headers{{Name: "Cookie", Value: "a=1; b=2"}}},
				Response: &apisessions.Response{Status: 302, Headers: apisessions.Headers{
					{Name: "Set-Cookie", Value: "sid=x; Path=/; Domain=h; Secure; HttpOnly"},
				}},
			},
		},
		{
			name:  "status 0 is no response",
			entry: get("https://h/blocked") + `, "response": {"status": 0, "headers": [], "content": {"size": 0}}}`,
			want:  &apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "https://h/blocked"}},
		},
		{
			name: "base64 content keeps a real gzip Content-Encoding",
			entry: get("/z") + `, "response": {"status": 200, "headers": [{"name": "Content-Encoding", "value": "gzip"}],
			  "content": {"text": "H4sIAA==", "encoding": "base64"}}}`,
			want: &apisessions.Exchange{
				Request: apisessions.Request{Method: "GET", URL: "/z"},
				Response: &apisessions.Response{Status: 200, Headers: apisessions.Headers{{Name: "Content-Encoding", Value: "gzip"}},
					Body: []byte{0x1f, 0x8b, 8, 0}},
			},
		},
		{
			name: "params become a form body",
			entry: `{"request": {"method": "POST", "url": "/login", "postData": {"mimeType": "application/x-www-form-urlencoded",
			  "params": [{"name": "user", "value": "a b"}, {"name": "next", "value": "/x&y"}]}}}`,
			want: &apisessions.Exchange{Request: apisessions.Request{Method: "POST", URL: "/login",
				Body: []byte("user=a+b&next=%2Fx%26y")}},
		},
		{
			name: "params become a multipart body",
			entry: `{"request": {"method": "POST", "url": "/up", "postData": {"mimeType": "multipart/form-data; boundary=XyZ",
			  "params": [{"name": "title", "value": "cat"}, {"name": "file", "fileName": "cat.png", "contentType": "image/png"}]}}}`,
			want: &apisessions.Exchange{Request: apisessions.Request{Method: "POST", URL: "/up",
				Body: []byte("--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\ncat\r\n" +
					"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cat.png\"\r\nContent-Type: image/png\r\n\r\n\r\n--XyZ--\r\n")}},
		},
		{
			name:  "base64 post data",
			entry: `{"request": {"method": "POST", "url": "/b", "postData": {"mimeType": "application/octet-stream", "text": "AAE=", "encoding": "base64"}}}`,
			want:  &apisessions.Exchange{Request: apisessions.Request{Method: "POST", URL: "/b", Body: []byte{0, 1}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := DefaultOptions()
			opts.ClientIP = tt.ip
			res := readAll(t, harFile(tt.entry), opts, newHAR)
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

func TestHARBadEntries(t *testing.T) {
	ok := `{"request": {"method": "GET", "url": "/ok"}, "response": {"status": 200}}`
	tests := []struct {
		name  string
		entry string
		want  string
	}{
		{"no request", `{"startedDateTime": "2026-11-20T10:00:00Z"}`, "request missing"},
		{"no url", `{"request": {"method": "GET"}}`, "request.url missing"},
		{"no method", `{"request": {"url": "/"}}`, "request.method missing"},
		{"status as string", `{"request": {"method": "GET", "url": "/"}, "response": {"status": "200"}}`, "response.status: want a number, got string"},
		{"status out of range", `{"request": {"method": "GET", "url": "/"}, "response": {"status": 1000}}`, "response.status: want a status code from 100 to 999"},
		{"bad base64 content", `{"request": {"method": "GET", "url": "/"}, "response": {"status": 200, "content": {"text": "%%", "encoding": "base64"}}}`,
			"response.content.text: encoding is base64 but the text is not"},
		{"unknown content encoding", `{"request": {"method": "GET", "url": "/"}, "response": {"status": 200, "content": {"text": "x", "encoding": "rot13"}}}`,
			"response.content.encoding: want base64 or none"},
		{"bad time", `{"startedDateTime": "20 Nov 2026", "request": {"method": "GET", "url": "/"}}`, "startedDateTime: want an RFC 3339 time such as 2026-11-20T10:00:00Z"},
		{"entry not an object", `"entry"`, "want an object, got string"},
		{"multipart without boundary", `{"request": {"method": "POST", "url": "/", "postData": {"mimeType": "multipart/form-data", "params": [{"name": "a"}]}}}`,
			"request.postData: multipart params without a boundary in mimeType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readAll(t, harFile(ok, tt.entry, ok), DefaultOptions(), newHAR)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if want := []badRecord{{2, tt.want}}; !reflect.DeepEqual(res.Bad, want) {
				t.Errorf("bad = %v, want %v", res.Bad, want)
			}
			if !reflect.DeepEqual(res.Positions, []int64{1, 3}) {
				t.Errorf("positions = %v, want [1 3]", res.Positions)
			}
		})
	}
}

func TestHARStructure(t *testing.T) {
	ok := `{"request": {"method": "GET", "url": "/ok"}}`
	tests := []struct {
		name    string
		input   string
		max     int
		wantN   int    // exchanges read before the end
		wantErr string // "" for io.EOF
	}{
		{"entries first, unknown keys skipped", `{"x": [1, {"y": 2}], "log": {"entries": [` + ok + `], "version": "1.2"}, "z": 1}`, 0, 1, ""},
		{"no entries", harFile(), 0, 0, ""},
		{"not an object", `[1, 2]`, 0, 0, "not a HAR file: want a JSON object"},
		{"empty input", ``, 0, 0, "not a HAR file: want a JSON object"},
		{"JSON lines given as HAR", `{"request": {"method": "GET", "url": "/"}}` + "\n", 0, 0, `not a HAR file: no "log" object`},
		{"log without entries", `{"log": {"version": "1.2"}}`, 0, 0, "not a HAR file: no log.entries array"},
		{"entries not an array", `{"log": {"entries": {}}}`, 0, 0, "log.entries: want an array"},
		{"breaks off inside an entry", `{"log": {"entries": [` + ok + `, {"request": {"meth`, 0, 1, "entry 2: JSON breaks off"},
		{"syntax error inside an entry", `{"log": {"entries": [` + ok + `, {"request" 1}]}}`, 0, 1, "entry 2: invalid JSON: invalid character '1' after object key"},
		{"entry over the limit", harFile(ok, `{"request": {"method": "GET", "url": "/`+strings.Repeat("a", 5000)+`"}}`, ok), 1000, 1,
			"entry 2: HAR value longer than the 1000-byte limit (MaxRecordBytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readAll(t, tt.input, Options{MaxRecordBytes: tt.max}, newHAR)
			gotErr := ""
			if res.Err != nil {
				gotErr = res.Err.Error()
			}
			if len(res.Exchanges) != tt.wantN || gotErr != tt.wantErr {
				t.Errorf("got %d exchanges and error %q, want %d and %q", len(res.Exchanges), gotErr, tt.wantN, tt.wantErr)
			}
		})
	}
}

func TestHARPositionsAndOffset(t *testing.T) {
	var entries []string
	for i := 0; i < 5; i++ {
		entries = append(entries, fmt.Sprintf(`{"request": {"method": "GET", "url": "/%d"}}`, i))
	}
	input := harFile(entries...)
	r := NewHARReader(strings.NewReader(input), DefaultOptions())
	var last int64
	for i := 1; ; i++ {
		ex, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.Pos() != int64(i) || ex.Request.URL != fmt.Sprintf("/%d", i-1) {
			t.Errorf("entry %d: pos %d url %s", i, r.Pos(), ex.Request.URL)
		}
		if r.Offset() <= last || r.Offset() > int64(len(input)) {
			t.Errorf("entry %d: offset %d after %d (input %d bytes)", i, r.Offset(), last, len(input))
		}
		last = r.Offset()
	}
}

func harSeeds() []string {
	return []string{
		harFile(chromeEntry),
		harFile(`{"request": {"method": "GET", "url": "/", "cookies": [{"name": "a", "value": "1"}]}, "response": {"status": 302, "cookies": [{"name": "s", "value": "x"}]}}`),
		harFile(`{"request": {"method": "POST", "url": "/up", "postData": {"mimeType": "multipart/form-data; boundary=XyZ", "params": [{"name": "f", "fileName": "a.png"}]}}}`),
		harFile(`{"request": {"method": "POST", "url": "/l", "postData": {"params": [{"name": "u", "value": "a"}]}}}`),
		harFile(`{"request": {"method": "GET", "url": "/"}, "response": {"status": 200, "content": {"text": "H4sIAA==", "encoding": "base64"}}}`),
		harFile(`{"request": {"url": "/"}}`, `"entry"`, `{"request": {"method": "GET", "url": "/"}, "response": {"status": "200"}}`),
		`{"log": {"entries": [{"request": {"meth`,
		`{"log": {"version": "1.2"}}`,
		`[1, 2]`,
		``,
	}
}

func FuzzHAR(f *testing.F) {
	for _, s := range harSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		res := readAll(t, input, Options{MaxRecordBytes: 4096, ClientIP: "192.0.2.1"}, newHAR)
		for i, ex := range res.Exchanges {
			if res.Positions[i] != int64(i+1+countBadBefore(res.Bad, res.Positions[i])) {
				t.Fatalf("entry positions %v with bad %v", res.Positions, res.Bad)
			}
			if ex.Request.Method == "" || ex.Request.URL == "" || ex.ClientIP != "192.0.2.1" {
				t.Fatalf("bad exchange accepted: %+v", ex)
			}
			if ex.Response != nil && ex.Response.Status < 100 {
				t.Fatalf("bad response accepted: %+v", ex.Response)
			}
		}
	})
}

// countBadBefore counts the bad entries numbered below pos.
func countBadBefore(bad []badRecord, pos int64) int {
	n := 0
	for _, b := range bad {
		if b.Pos < pos {
			n++
		}
	}
	return n
}
