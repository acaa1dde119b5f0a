package detect

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apisessions/apisessions"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types/variables"
)

// viewVariables are the collections a view holds.
var viewVariables = []string{
	"ARGS", "ARGS_GET", "ARGS_POST", "ARGS_NAMES", "ARGS_GET_NAMES", "ARGS_POST_NAMES",
	"REQUEST_HEADERS", "REQUEST_HEADERS_NAMES", "REQUEST_COOKIES", "REQUEST_COOKIES_NAMES",
	"REQUEST_URI", "REQUEST_URI_RAW", "REQUEST_LINE", "REQUEST_FILENAME", "REQUEST_BASENAME",
	"REQUEST_METHOD", "REQUEST_PROTOCOL", "QUERY_STRING", "REQUEST_BODY",
}

// corazaVariables runs the exchange's request through a transaction of e
// and lists, per collection of a view, its entries as "key\x00value",
// sorted.
func corazaVariables(t *testing.T, e *Engine, ex *apisessions.Exchange, proto string) map[string][]string {
	t.Helper()
	tx := e.waf.NewTransaction()
	defer tx.Close()
	var res result
	if _, err := e.feedRequest(tx, ex, proto, &res); err != nil {
		t.Fatal(err)
	}
	st := tx.(plugintypes.TransactionState)
	out := map[string][]string{}
	for _, name := range viewVariables {
		v, err := variables.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = []string{}
		for _, md := range st.Collection(v).FindAll() {
			out[name] = append(out[name], md.Key()+"\x00"+md.Value())
		}
		slices.Sort(out[name])
	}
	return out
}

func viewVariablesOf(v *reqView) map[string][]string {
	out := map[string][]string{}
	for _, name := range viewVariables {
		out[name] = []string{}
	}
	for _, e := range v.entries {
		out[e.variable] = append(out[e.variable], e.key+"\x00"+e.value)
	}
	for _, name := range viewVariables {
		slices.Sort(out[name])
	}
	return out
}

// compareView reports how the view of ex differs from Coraza's variables;
// "" when the view refuses the request or holds the same.
func compareView(t *testing.T, e *Engine, ex *apisessions.Exchange, proto string) (string, bool) {
	t.Helper()
	v, ok := newView(ex, proto, &e.opts)
	if !ok {
		return "", false
	}
	want, got := corazaVariables(t, e, ex, proto), viewVariablesOf(v)
	var diffs []string
	for _, name := range viewVariables {
		if !slices.Equal(want[name], got[name]) {
			diffs = append(diffs, fmt.Sprintf("%s: coraza %q, view %q", name, want[name], got[name]))
		}
	}
	return strings.Join(diffs, "; "), true
}

// TestViewMatchesCoraza checks that the variables the pre-decision builds
// are Coraza's own, on generated traffic, edge cases and every CRS
// regression request the view accepts.
func TestViewMatchesCoraza(t *testing.T) {
	full, _ := enginePair(t, 1)
	exs := append(newCorpus(21).mixWithAttacks(400, 50), viewEdges()...)
	accepted := 0
	for i, ex := range exs {
		d, ok := compareView(t, full, ex, "HTTP/1.1")
		if ok {
			accepted++
		}
		if d != "" {
			t.Errorf("exchange %d %s %.80q: %s", i, ex.Request.Method, ex.Request.URL, d)
		}
	}
	crsAccepted := 0
	for i, c := range loadCRSCases(t) {
		if c.skip != "" || i%sampleEvery != 0 {
			continue
		}
		d, ok := compareView(t, full, c.ex, c.proto)
		if ok {
			crsAccepted++
		}
		if d != "" {
			t.Errorf("CRS case %s: %s", c.name, d)
		}
	}
	t.Logf("views accepted: %d of %d generated, %d CRS cases", accepted, len(exs), crsAccepted)
	if accepted < len(exs)/2 {
		t.Errorf("the view accepts only %d of %d generated exchanges", accepted, len(exs))
	}
}

// viewEdges are requests on the edges of what the view mirrors.
func viewEdges() []*apisessions.Exchange {
	form := apisessions.Header{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}
	js := apisessions.Header{Name: "Content-Type", Value: "application/json"}
	req := func(method, url string, body string, h ...apisessions.Header) *apisessions.Exchange {
		ex := &apisessions.Exchange{Request: apisessions.Request{Method: method, URL: url, Headers: hdrs(h...)}}
		if body != "" {
			ex.Request.Body = []byte(body)
		}
		return ex
	}
	return []*apisessions.Exchange{
		req("GET", "/a?x=1&&y=&=z&w&%zz=%4&a+b=c+d#frag", ""),
		req("GET", "/a%20b/c.PHP?x=%00&y=%C3%A9", ""),
		req("GET", "/a/b\\c.json", ""),
		req("GET", "http://example.com:8080/abs?q=1", ""),
		req("GET", "/a?q=\x01\x7f", ""),
		req("GET", "/a;p=1/b?x", ""),
		req("", "", ""),
		req("GET", "/a", "", apisessions.Header{Name: "Cookie", Value: " a=1; b = 2 ;;=;c; =v; d=\"q\"; a=3"}),
		req("GET", "/a", "", apisessions.Header{Name: "Cookie", Value: "x=1"}, apisessions.Header{Name: "cookie", Value: "y=2"}),
		req("GET", "/a", "", apisessions.Header{Name: "", Value: "nameless"}, apisessions.Header{Name: "X-A", Value: ""}),
		req("POST", "/a", "a=1&b=2&a=3&c&=d&e=%41%2", form),
		req("POST", "/a", "a=1", apisessions.Header{Name: "Content-Type", Value: " application/x-www-form-urlencoded; charset=utf-8"}),
		req("POST", "/a", "x=1&y=2", apisessions.Header{Name: "Content-Type", Value: "text/plain"}),
		req("POST", "/a", `{"a":{"b":[1,2,{"c":null}],"d":true},"e":"x","":1,"a.b":"dup"}`, js),
		req("POST", "/a", `[{"a":1},{"a":2}]`, js),
		req("POST", "/a", `[]`, js),
		req("POST", "/a", `"just a string"`, js),
		req("POST", "/a", `{"x":"\u00e9\n\"q\""}`, apisessions.Header{Name: "Content-Type", Value: "application/vnd.api+json"}),
		req("POST", "/a", `{"x":1}`, apisessions.Header{Name: "Content-Type", Value: "Application/JSON; charset=utf-8"}),
		req("POST", "/a", `{"x":1`, js),
		req("PUT", "/a", `{"deep":[[[[1]]]]}`, js, apisessions.Header{Name: "Content-Length", Value: "18"}),
		req("DELETE", "/a", "", apisessions.Header{Name: "Host", Value: "h:1"}),
	}
}

// FuzzPrejudge builds requests from fuzzed parts and checks that the view
// holds Coraza's variables and that the pre-decision says clean only when
// the full engine finds nothing at all.
func FuzzPrejudge(f *testing.F) {
	f.Add("GET", "/api/users?id=1&sort=name", "", "", "sid=abc; theme=dark", "HTTP/1.1")
	f.Add("POST", "/api/orders", "application/json", `{"a":[1,{"b":"x"}],"c":null}`, "", "HTTP/1.1")
	f.Add("POST", "/api/form", "application/x-www-form-urlencoded", "a=1&b=%27+or+1%3D1--", "", "HTTP/1.0")
	f.Add("PUT", "/a/b.bak?x=<script>", "text/plain", "q=1", "$Version=1", "HTTP/2")
	f.Add("TRACE", "/a?_method=delete", "", "", "", "HTTP/1.1")
	f.Fuzz(func(t *testing.T, method, url, ct, body, cookie, proto string) {
		full, fast := enginePair(t, 1)
		ex := &apisessions.Exchange{Request: apisessions.Request{Method: method, URL: url, Headers: hdrs()}}
		if ct != "" {
			ex.Request.Headers = append(ex.Request.Headers, apisessions.Header{Name: "Content-Type", Value: ct})
		}
		if cookie != "" {
			ex.Request.Headers = append(ex.Request.Headers, apisessions.Header{Name: "Cookie", Value: cookie})
		}
		if body != "" {
			ex.Request.Body = []byte(body)
		}
		if d, _ := compareView(t, full, ex, proto); d != "" {
			t.Fatalf("view differs: %s", d)
		}
		if clean, _ := fast.pre.decide(ex, proto); !clean {
			return
		}
		r, err := full.run(ex, proto, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := full.detection(ex, r); d.Verdict != apisessions.VerdictClean || d.Score != 0 || len(d.Findings) > 0 || d.Partial {
			t.Fatalf("pre-decided clean, full %s/%d %v partial=%v", d.Verdict, d.Score, ruleIDs(r), d.Partial)
		}
	})
}

// TestParityPrejudge aims at what the pre-decision decides itself:
// methods, protocol versions, content types, restricted extensions and
// headers, Content-Length on GET, method override, repeated parameters,
// $Version cookies, CRS-excluded cookies, odd query strings and JSON key
// naming. At every paranoia level, a pre-decided clean request must be
// clean for the full engine, and both engines must agree.
func TestParityPrejudge(t *testing.T) {
	h := func(name, value string) apisessions.Header { return apisessions.Header{Name: name, Value: value} }
	js := h("Content-Type", "application/json")
	req := func(method, url, body string, hs ...apisessions.Header) *apisessions.Exchange {
		ex := &apisessions.Exchange{Request: apisessions.Request{Method: method, URL: url, Headers: hdrs(hs...)}}
		if body != "" {
			ex.Request.Body = []byte(body)
		}
		return ex
	}
	exs := []*apisessions.Exchange{
		req("GET", "/api/users?id=1&sort=name", ""),
		req("TRACE", "/api/users", ""),
		req("get", "/api/users", ""),
		req("PROPFIND", "/api/users", ""),
		req("GET", "/api/users", "", h("Content-Length", "5")),
		req("GET", "/api/users", "", h("Content-Length", "0")),
		req("POST", "/api/users", ""),
		req("POST", "/api/users", "", h("Content-Length", "0")),
		req("GET", "/backup/db.bak", ""),
		req("GET", "/static/app.JS", ""),
		req("GET", "/x/config.ini", ""),
		req("GET", "/a/b%2Ebak", ""),
		req("GET", "/api/users", "", h("Proxy", "x")),
		req("GET", "/api/users", "", h("Content-Encoding", "gzip")),
		req("GET", "/api/users", "", h("X-HTTP-Method-Override", "DELETE")),
		req("GET", "/api/users", "", h("Accept-Charset", "utf-8")),
		req("POST", "/api/users?_method=delete", `{"a":1}`, js),
		req("POST", "/api/users", "_method=put&a=1", h("Content-Type", "application/x-www-form-urlencoded")),
		req("GET", "/api/users?a=1&a=2&A=3", ""),
		req("GET", "/api/users?a=1", "", h("Cookie", "$Version=1; sid=abc")),
		req("GET", "/api/users?a=1", "", h("Cookie", "_ga=GA1.2.3; __utma=1.2.3; sid=9f8e")),
		req("GET", "/api/users?a=%&b=%2&c=%zz&&=&d", ""),
		req("GET", "/api/users?q=a+b%20c&x=%00", ""),
		req("GET", "/api/users#frag?x=<script>", ""),
		req("GET", "/api/users?x=%C3%A9t%C3%A9", ""),
		req("GET", "/api/users?x=%FF%FE", ""),
		req("POST", "/api/orders", `{"items":[{"sku":"A-1","qty":2}],"note":"fast delivery","meta":{"a.b":"c"}}`, js),
		req("POST", "/api/orders", `{"select":"x","union":["all","distinct"],"from":null}`, js),
		req("POST", "/api/orders", `{"a":"1"}`, h("Content-Type", "application/json; charset=utf-8")),
		req("POST", "/api/orders", `{"a":"1"}`, h("Content-Type", "application/json; charset=utf-7")),
		req("POST", "/api/orders", `{"a":"1"}`, h("Content-Type", "application/vnd.api+json")),
		req("POST", "/api/orders", `{"a":"1"}`, h("Content-Type", "text/json")),
		req("POST", "/api/orders", `<a>1</a>`, h("Content-Type", "application/xml")),
		req("POST", "/api/orders", "a=1", h("Content-Type", "application/octet-stream")),
		req("POST", "/api/orders", "a=1", h("Content-Type", "text/plain")),
		req("POST", "/api/orders", "a=1"),
		req("POST", "/api/orders", "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--\r\n", h("Content-Type", "multipart/form-data; boundary=b")),
		req("PATCH", "/api/orders/7", `{"status":"shipped"}`, js, h("Content-Type", "application/json")),
		req("PUT", "/api/orders/7", `[1,2,3]`, js),
		req("DELETE", "/api/orders/7", ""),
		req("OPTIONS", "*", ""),
		req("GET", "http://api.example.com/abs?x=1", ""),
		req("GET", "/api/users", "", h("Host", "10.0.0.1")),
		req("GET", "/api/users", "", h("Range", "bytes=0-1,2-3,4-5,6-7,8-9,10-11")),
		req("GET", "/api/users", "", h("User-Agent", "")),
		req("GET", "/api/users", "", h("Accept", "")),
	}
	protos := []string{"HTTP/1.1", "HTTP/1.0", "HTTP/2", "HTTP/0.9", "HTTP/3.0", "FOO/1"}
	for pl := 1; pl <= 4; pl++ {
		full, fast := enginePair(t, pl)
		if fast.pre == nil {
			t.Fatalf("PL%d: no pre-decision", pl)
		}
		clean := 0
		for i, ex := range exs {
			for _, proto := range protos {
				if proto != "HTTP/1.1" && i%4 != 0 {
					continue
				}
				if ok, _ := fast.pre.decide(ex, proto); ok {
					clean++
				}
				if d := comparePair(t, full, fast, ex, proto); d != "" {
					t.Errorf("PL%d %s %s %.80q: %s", pl, proto, ex.Request.Method, ex.Request.URL, d)
				}
			}
		}
		t.Logf("PL%d: %d requests pre-decided clean", pl, clean)
		if clean == 0 {
			t.Errorf("PL%d: no request pre-decided clean: the cases do not exercise the pre-decision", pl)
		}
	}
}

// TestPrejudgeExclusions checks the pre-decision under ExcludeRules that
// remove a paranoia skip: the rules it skipped run at paranoia level 1.
func TestPrejudgeExclusions(t *testing.T) {
	o := DefaultOptions()
	o.ExcludeRules = []int{920013, 920014, 942013, 942014}
	o.Mode = ModeFull
	full := sharedEngine(t, "pl1-full-noskip", o)
	o.Mode = ModeFast
	fast := sharedEngine(t, "pl1-fast-noskip", o)
	if fast.pre == nil {
		t.Fatal("no pre-decision")
	}
	exs := []*apisessions.Exchange{
		{Request: apisessions.Request{Method: "GET", URL: "/api/a?x=1", Headers: hdrs(apisessions.Header{Name: "Accept-Charset", Value: "utf-8"})}},
		{Request: apisessions.Request{Method: "GET", URL: "/api/a?x=1", Headers: hdrs()}},
		{Request: apisessions.Request{Method: "GET", URL: "/api/a?x=a'b", Headers: hdrs()}},
	}
	flagged := 0
	for i, ex := range exs {
		if d := comparePair(t, full, fast, ex, "HTTP/1.1"); d != "" {
			t.Errorf("exchange %d: %s", i, d)
		}
		if d, _ := full.Detect(context.Background(), ex); d.Verdict != apisessions.VerdictClean {
			flagged++
		}
	}
	if flagged == 0 {
		t.Error("no exchange flagged: the cases do not exercise the removed skips")
	}
}

// TestViewByVariable: the per-variable index of a view lists the entries
// a walk of all of them finds, in order, also when the view's memory is
// reused for the next request.
func TestViewByVariable(t *testing.T) {
	exs, _ := newAPICorpus(11).mix(200)
	o := DefaultOptions()
	var v reqView
	for _, ex := range exs {
		if !v.build(ex, "HTTP/1.1", &o) {
			continue
		}
		want := map[string][]int32{}
		for i, e := range v.entries {
			want[e.variable] = append(want[e.variable], int32(i))
		}
		for name, idx := range want {
			if got := v.byVariable(name); !slices.Equal(got, idx) {
				t.Fatalf("%s %s: byVariable(%s) = %v, want %v", ex.Request.Method, ex.Request.URL, name, got, idx)
			}
			if got := v.count(name, ""); got != len(idx) {
				t.Fatalf("count(%s) = %d, want %d", name, got, len(idx))
			}
		}
		if got := v.byVariable("NO_SUCH_VARIABLE"); got != nil {
			t.Fatalf("byVariable of an absent variable = %v", got)
		}
	}
}
