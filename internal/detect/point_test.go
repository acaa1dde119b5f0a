package detect

import (
	"strings"
	"testing"
	"unicode/utf8"
)

type fakeArgs struct {
	query []string
	dec   string
}

func (f fakeArgs) inQuery(name string) bool {
	for _, q := range f.query {
		if q == name {
			return true
		}
	}
	return false
}

func (f fakeArgs) bodyDecoder() string { return f.dec }

var pointCases = []struct {
	variable, key string
	src           fakeArgs
	want          string
}{
	{"ARGS_GET", "id", fakeArgs{}, "request.query.id"},
	{"ARGS_GET_NAMES", "id", fakeArgs{}, "request.query.id"},
	{"ARGS", "id", fakeArgs{query: []string{"id"}}, "request.query.id"},
	{"ARGS", "q", fakeArgs{dec: "form"}, "request.body|form.q"},
	{"ARGS_POST", "json.comment", fakeArgs{dec: "json"}, "request.body|json.comment"},
	{"ARGS_POST", "json.items.0.sku", fakeArgs{dec: "json"}, "request.body|json.items[0].sku"},
	{"ARGS_NAMES", "json.a b.c", fakeArgs{dec: "json"}, `request.body|json["a b"].c`},
	{"ARGS_POST", "json", fakeArgs{dec: "json"}, "request.body|json"},
	{"ARGS_POST", "file", fakeArgs{dec: "multipart"}, "request.body|multipart.file"},
	{"REQUEST_HEADERS", "User-Agent", fakeArgs{}, "request.header.User-Agent"},
	{"REQUEST_HEADERS", "x-forwarded-host", fakeArgs{}, "request.header.x-forwarded-host"},
	{"REQUEST_COOKIES", "connect.sid", fakeArgs{}, `request.cookie["connect.sid"]`},
	{"REQUEST_COOKIES", "x", fakeArgs{}, "request.cookie.x"},
	{"REQUEST_FILENAME", "", fakeArgs{}, "request.path"},
	{"REQUEST_BASENAME", "", fakeArgs{}, "request.path"},
	{"REQUEST_URI", "", fakeArgs{}, "request.url"},
	{"REQUEST_LINE", "", fakeArgs{}, "request.url"},
	{"QUERY_STRING", "", fakeArgs{}, "request.url"},
	{"REQUEST_METHOD", "", fakeArgs{}, "request.method"},
	{"REQUEST_BODY", "", fakeArgs{}, "request.body"},
	{"XML", "/*", fakeArgs{}, "request.body|xml"},
	{"RESPONSE_BODY", "", fakeArgs{}, "response.body"},
	{"TX", "anomaly_score", fakeArgs{}, ""},
	{"ARGS_GET", "a\"b", fakeArgs{}, `request.query["a\"b"]`},
	{"ARGS_GET", "1st", fakeArgs{}, `request.query["1st"]`},
}

func TestPointOf(t *testing.T) {
	for _, c := range pointCases {
		t.Run(c.variable+":"+c.key, func(t *testing.T) {
			if got := pointOf(c.variable, c.key, c.src); got != c.want {
				t.Errorf("pointOf(%q, %q) = %q, want %q", c.variable, c.key, got, c.want)
			}
		})
	}
}

// FuzzPointOf: any variable name and key give a bounded point that starts
// with a side, and never panic.
func FuzzPointOf(f *testing.F) {
	for _, c := range pointCases {
		f.Add(c.variable, c.key, c.src.dec)
	}
	f.Fuzz(func(t *testing.T, variable, key, dec string) {
		p := pointOf(variable, key, fakeArgs{query: []string{key}, dec: dec})
		if p == "" {
			return
		}
		if !strings.HasPrefix(p, "request.") && !strings.HasPrefix(p, "response.") {
			t.Fatalf("point %q has no side", p)
		}
		if len(p) > maxPointLen {
			t.Fatalf("point of %d bytes", len(p))
		}
		if !utf8.ValidString(p) {
			t.Fatalf("point %q is not UTF-8", p)
		}
	})
}
