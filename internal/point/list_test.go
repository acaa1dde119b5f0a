package point

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apisessions/apisessions"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// listExchanges are realistic exchanges whose listings are golden files
// under testdata/list/.
var listExchanges = []struct {
	name string
	ex   func() *apisessions.Exchange
}{
	{"json-login", func() *apisessions.Exchange {
		return withResp(reqEx("POST", "https://shop.example.com/api/login?next=%2F",
			hdrs("Content-Type", "application/json", "User-Agent", "curl/8.5"),
			`{"username":"alice","password":"s3cret","remember":true,"device":{"id":"d-1","tags":["a","b"]}}`),
			200, hdrs("Set-Cookie", "PHPSESSID=ab12; Path=/", "Content-Type", "application/json"),
			`{"role":"admin","token":"`+jwtOf(`{"sub":"alice","sid":"s-9"}`)+`"}`)
	}},
	{"form-post", func() *apisessions.Exchange {
		return reqEx("POST", "/account/password", hdrs("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8", "Cookie", "sid=x1; theme=dark"),
			"old=p%40ss&new=n+ew&tags=a&tags=b&empty=")
	}},
	{"multipart-upload", func() *apisessions.Exchange {
		return reqEx("POST", "/upload", hdrs("Content-Type", "multipart/form-data; boundary=XyZ"), multipartBody)
	}},
	{"graphql-query", func() *apisessions.Exchange {
		return reqEx("POST", "https://api.example.com/graphql", hdrs("Content-Type", "application/json"), graphqlEnvelope)
	}},
	{"jwt-bearer", func() *apisessions.Exchange {
		return withResp(reqEx("GET", "/api/v1/users/42/orders?page=2&page=3",
			hdrs("Authorization", "Bearer "+jwtOf(`{"sub":"u-42","role":"customer","scope":["read","write"],"exp":1790000000}`), "X-Forwarded-For", "10.0.0.1", "x-forwarded-for", "10.0.0.2"), ""),
			204, nil, "")
	}},
	{"gzip-json-response", func() *apisessions.Exchange {
		return withResp(reqEx("GET", "/api/session", hdrs("Accept-Encoding", "gzip"), ""),
			200, hdrs("Content-Type", "application/json", "Content-Encoding", "gzip"), gzipped(`{"session":{"id":"s-1","user":"bob"},"flags":[true,false,null]}`))
	}},
	{"set-cookie", func() *apisessions.Exchange {
		return withResp(reqEx("GET", "/", nil, ""), 302,
			hdrs("Set-Cookie", "connect.sid=s%3Aabc; Path=/; HttpOnly", "Set-Cookie", "lang=fr", "Location", "/home"), "")
	}},
	{"xml-order", func() *apisessions.Exchange {
		return reqEx("POST", "/orders", hdrs("Content-Type", "application/xml"), xmlBody)
	}},
	{"graphql-document", func() *apisessions.Exchange {
		return reqEx("POST", "/graphql", hdrs("Content-Type", "application/graphql"), `mutation SignUp { signup(input: {email: "a@x", password: "pw"}) { id } }`)
	}},
	{"plain-text", func() *apisessions.Exchange {
		return reqEx("PUT", "/notes/1", hdrs("Content-Type", "text/plain"), "just a note")
	}},
}

func listing(ex *apisessions.Exchange, lim Limits) (string, bool) {
	var b strings.Builder
	tr := List(ex, lim, func(point, value string) bool {
		fmt.Fprintf(&b, "%s = %q\n", point, value)
		return true
	})
	return b.String(), tr
}

func TestListGolden(t *testing.T) {
	for _, tc := range listExchanges {
		t.Run(tc.name, func(t *testing.T) {
			got, truncated := listing(tc.ex(), DefaultLimits())
			if truncated {
				t.Error("listing truncated")
			}
			path := filepath.Join("testdata", "list", tc.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("listing differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
			}
		})
	}
}

// checkListRoundTrip lists ex and checks that every point parses, that the
// first value it evaluates to is the listed one, and that the request
// comes before the response.
func checkListRoundTrip(t *testing.T, ex *apisessions.Exchange, lim Limits) int {
	t.Helper()
	e := NewEvaluator(lim)
	e.Reset(ex)
	n := 0
	inResponse := false
	List(ex, lim, func(point, value string) bool {
		n++
		if value == "" {
			t.Errorf("%s listed with an empty value", point)
		}
		p, err := Parse(point)
		if err != nil {
			t.Errorf("listed point %q does not parse: %v", point, err)
			return true
		}
		if p.String() != point {
			t.Errorf("listed point %q is not canonical (%q)", point, p.String())
		}
		if p.Response() {
			inResponse = true
		} else if inResponse {
			t.Errorf("request point %s listed after a response point", point)
		}
		vs := e.Values(p)
		if len(vs) == 0 || vs[0] != value {
			t.Errorf("%s listed as %q evaluates to %q", point, value, vs)
		}
		return true
	})
	return n
}

func TestListRoundTrip(t *testing.T) {
	for _, tc := range listExchanges {
		t.Run(tc.name, func(t *testing.T) {
			if n := checkListRoundTrip(t, tc.ex(), DefaultLimits()); n == 0 {
				t.Error("nothing listed")
			}
		})
	}
	for _, tc := range evalCases {
		t.Run("eval/"+tc.name, func(t *testing.T) {
			checkListRoundTrip(t, tc.ex(), DefaultLimits())
		})
	}
}

func TestListStops(t *testing.T) {
	ex := listExchanges[0].ex()
	n := 0
	truncated := List(ex, DefaultLimits(), func(point, value string) bool {
		n++
		return n < 3
	})
	if n != 3 {
		t.Errorf("fn returned false at 3 but was called %d times", n)
	}
	if truncated {
		t.Error("stopping is not truncation")
	}
}

func TestListMaxPoints(t *testing.T) {
	var q strings.Builder
	for i := range 50 {
		fmt.Fprintf(&q, "p%d=%d&", i, i)
	}
	ex := reqEx("GET", "/?"+q.String(), nil, "")
	lim := DefaultLimits()
	lim.MaxPoints = 10
	n := 0
	truncated := List(ex, lim, func(point, value string) bool { n++; return true })
	if n != 10 || !truncated {
		t.Errorf("listed %d points, truncated=%v; want 10 and true", n, truncated)
	}
}

func TestListNoResponse(t *testing.T) {
	ex := reqEx("GET", "/x", nil, "")
	List(ex, DefaultLimits(), func(point, value string) bool {
		if strings.HasPrefix(point, "response.") {
			t.Errorf("response point %s listed for an exchange without response", point)
		}
		return true
	})
}
