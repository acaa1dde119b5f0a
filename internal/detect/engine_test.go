package detect

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apisessions/apisessions"
)

func hdrs(extra ...apisessions.Header) apisessions.Headers {
	h := apisessions.Headers{{Name: "Host", Value: "api.example.com"}, {Name: "User-Agent", Value: "Mozilla/5.0"}, {Name: "Accept", Value: "application/json"}}
	return append(h, extra...)
}

var findingCases = []struct {
	name    string
	ex      apisessions.Exchange
	verdict apisessions.Verdict
	typ     apisessions.AttackType
	point   string
	payload string // a substring of the finding's payload
	rule    int
	partial bool
}{
	{name: "sqli in query",
		ex:      apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/api/users?id=1%27%20OR%201%3D1--&page=2", Headers: hdrs()}},
		verdict: apisessions.VerdictAttack, typ: apisessions.AttackSQLi, point: "request.query.id", payload: "1' OR 1=1--", rule: 942100},
	{name: "xss in json array",
		ex: apisessions.Exchange{Request: apisessions.Request{Method: "POST", URL: "/api/items", Headers: hdrs(apisessions.Header{Name: "Content-Type", Value: "application/json"}),
			Body: []byte(`{"items":[{"sku":"<script>alert(1)</script>"}],"comment":"fine"}`)}},
		verdict: apisessions.VerdictAttack, typ: apisessions.AttackXSS, point: "request.body|json.items[0].sku", payload: "<script>", rule: 941100},
	{name: "xss in form",
		ex: apisessions.Exchange{Request: apisessions.Request{Method: "POST", URL: "/login", Headers: hdrs(apisessions.Header{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}),
			Body: []byte(`login=bob&q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E`)}},
		verdict: apisessions.VerdictAttack, typ: apisessions.AttackXSS, point: "request.body|form.q", payload: "onerror", rule: 941100},
	{name: "scanner user agent",
		ex:      apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/", Headers: apisessions.Headers{{Name: "Host", Value: "a"}, {Name: "User-Agent", Value: "sqlmap/1.7"}, {Name: "Accept", Value: "*/*"}}}},
		verdict: apisessions.VerdictAttack, typ: apisessions.AttackScanner, point: "request.header.User-Agent", payload: "sqlmap", rule: 913100},
	{name: "traversal in cookie",
		ex:      apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/", Headers: hdrs(apisessions.Header{Name: "Cookie", Value: "x=../../../../etc/passwd"})}},
		verdict: apisessions.VerdictAttack, typ: apisessions.AttackLFI, point: "request.cookie.x", payload: "etc/passwd", rule: 930120},
	{name: "rce in json",
		ex: apisessions.Exchange{Request: apisessions.Request{Method: "PUT", URL: "/api/x", Headers: hdrs(apisessions.Header{Name: "Content-Type", Value: "application/json"}),
			Body: []byte(`{"cmd":"; cat /etc/passwd"}`)}},
		verdict: apisessions.VerdictAttack, typ: apisessions.AttackRCE, point: "request.body|json.cmd", payload: "; cat /etc/passwd", rule: 932160},
	{name: "benign",
		ex:      apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/api/users/42?sort=name&page=2", Headers: hdrs()}},
		verdict: apisessions.VerdictClean},
	{name: "body over the limit",
		ex: apisessions.Exchange{Request: apisessions.Request{Method: "POST", URL: "/api/x", Headers: hdrs(apisessions.Header{Name: "Content-Type", Value: "application/json"}),
			Body: []byte(`{"a":"` + strings.Repeat("b", 2000) + `"}`)}},
		verdict: apisessions.VerdictClean, partial: true},
}

// TestFindings checks verdict, type, point, payload and rule of findings in
// both modes.
func TestFindings(t *testing.T) {
	for _, mode := range []string{ModeFull, ModeFast} {
		o := DefaultOptions()
		o.Mode = mode
		o.BodyLimit = 1024
		e := sharedEngine(t, mode+"-body1k", o)
		for _, c := range findingCases {
			t.Run(mode+"/"+c.name, func(t *testing.T) {
				d, err := e.Detect(context.Background(), &c.ex)
				if err != nil {
					t.Fatal(err)
				}
				if d.Verdict != c.verdict || d.Partial != c.partial {
					t.Fatalf("verdict %s partial %v, want %s %v (%+v)", d.Verdict, d.Partial, c.verdict, c.partial, d)
				}
				if c.verdict == apisessions.VerdictAttack && d.Score < o.AnomalyThreshold {
					t.Errorf("score %d under the threshold", d.Score)
				}
				if c.typ == "" {
					return
				}
				for _, f := range d.Findings {
					if f.Type == c.typ && strings.EqualFold(f.Point, c.point) && strings.Contains(f.Payload, c.payload) && slices.Contains(f.RuleIDs, c.rule) {
						if f.Score <= 0 || len(f.Payload) > maxPayload {
							t.Errorf("finding %+v: bad score or payload length", f)
						}
						return
					}
				}
				t.Errorf("no finding %s at %s with %q and rule %d in %+v", c.typ, c.point, c.payload, c.rule, d.Findings)
			})
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, mut := range []func(*Options){
		func(o *Options) { o.ParanoiaLevel = 5 },
		func(o *Options) { o.AnomalyThreshold = 0 },
		func(o *Options) { o.BodyLimit = 0 },
		func(o *Options) { o.Mode = "slow" },
		func(o *Options) { o.ExcludeRules = []int{-1} },
		func(o *Options) { o.AllowedMethods = []string{"GET POST"} },
	} {
		o := DefaultOptions()
		mut(&o)
		if _, err := New(o); apisessions.ErrorCode(err) != apisessions.EINVALID {
			t.Errorf("New(%+v) = %v, want an invalid error", o, err)
		}
	}
}

func TestExcludeRules(t *testing.T) {
	o := DefaultOptions()
	o.ExcludeRules = []int{942100}
	e := mustEngine(t, o)
	d, err := e.Detect(context.Background(), &findingCases[0].ex)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range d.Findings {
		if slices.Contains(f.RuleIDs, 942100) {
			t.Fatalf("excluded rule 942100 fired: %+v", f)
		}
	}
}

func TestBoundPayload(t *testing.T) {
	s := strings.Repeat("é", 200) // 400 bytes
	b := boundPayload(s)
	if len(b) > maxPayload || !strings.HasPrefix(s, b) || len(b) < maxPayload-1 {
		t.Fatalf("bound to %d bytes", len(b))
	}
}

// TestConcurrentDetect runs one engine from several goroutines (the race
// detector checks the shared WAF, hook and value memo).
func TestConcurrentDetect(t *testing.T) {
	e := sharedEngine(t, "pl1-fast", DefaultOptions())
	exs := newCorpus(3).mix(40)
	want := make([]apisessions.Verdict, len(exs))
	for i, ex := range exs {
		d, err := e.Detect(context.Background(), ex)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = d.Verdict
	}
	errs := make(chan string, 4*len(exs))
	done := make(chan struct{})
	for w := 0; w < 4; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i, ex := range exs {
				d, err := e.Detect(context.Background(), ex)
				if err != nil || d.Verdict != want[i] {
					errs <- fmt.Sprintf("exchange %d: %v %v, want %v", i, d.Verdict, err, want[i])
				}
			}
		}()
	}
	for w := 0; w < 4; w++ {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestDetectHonoursContext(t *testing.T) {
	e := sharedEngine(t, "pl1-fast", DefaultOptions())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Detect(ctx, &findingCases[0].ex); err == nil {
		t.Fatal("Detect on a cancelled context succeeded")
	}
}

func TestLimitsMarkPartial(t *testing.T) {
	o := DefaultOptions()
	o.MaxArgs = 5
	o.MaxJSONDepth = 3
	e := mustEngine(t, o)
	var q []string
	for i := 0; i < 20; i++ {
		q = append(q, fmt.Sprintf("a%d=%d", i, i))
	}
	for _, c := range []struct {
		name string
		ex   apisessions.Exchange
	}{
		{"arguments", apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/x?" + strings.Join(q, "&"), Headers: hdrs()}}},
		{"json depth", apisessions.Exchange{Request: apisessions.Request{Method: "POST", URL: "/x", Headers: hdrs(apisessions.Header{Name: "Content-Type", Value: "application/json"}),
			Body: []byte(`{"a":{"b":{"c":{"d":{"e":1}}}}}`)}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := e.Detect(context.Background(), &c.ex)
			if err != nil {
				t.Fatal(err)
			}
			if !d.Partial {
				t.Errorf("not partial: %+v", d)
			}
		})
	}
}
