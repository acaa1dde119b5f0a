package detect

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/apisessions/apisessions"
)

// ruleIDs is the sorted list of matched rule IDs, hook rules left out.
func ruleIDs(r result) []int {
	var ids []int
	for _, m := range r.matched {
		if id := m.Rule().ID(); id != ruleHook1 && id != ruleHook2 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// comparePair runs one exchange through both engines and describes any
// difference in verdict, score or matched rules.
func comparePair(t *testing.T, full, fast *Engine, ex *apisessions.Exchange, proto string) string {
	t.Helper()
	rf, err := full.run(ex, proto, nil)
	if err != nil {
		t.Fatalf("full: %v", err)
	}
	rs, err := fast.run(ex, proto, nil)
	if err != nil {
		t.Fatalf("fast: %v", err)
	}
	df, ds := full.detection(ex, rf), fast.detection(ex, rs)
	a, b := ruleIDs(rf), ruleIDs(rs)
	if clean, _ := fast.pre.decide(ex, proto); clean && (df.Verdict != apisessions.VerdictClean || df.Score != 0 || len(df.Findings) > 0 || df.Partial) {
		return fmt.Sprintf("pre-decided clean, full %s/%d %v partial=%v", df.Verdict, df.Score, a, df.Partial)
	}
	if df.Verdict == ds.Verdict && df.Score == ds.Score && slices.Equal(a, b) {
		return ""
	}
	// Coraza itself is not deterministic on some requests (a chained rule
	// comparing captures sees those of the last matching argument in map
	// order; the transformation cache mixes up the values of a repeated
	// form field or cookie), in both engines: the engines agree when some
	// run of each gives the same outcome.
	if reviewOutcomesMeet(t, full, fast, ex, proto) {
		return ""
	}
	return fmt.Sprintf("full %s/%d %v, fast %s/%d %v (and no outcome in common over repeated runs)", df.Verdict, df.Score, a, ds.Verdict, ds.Score, b)
}

// TestParityCRS checks that the fast path gives the full engine's verdict,
// score and rule IDs on every applicable case of the CRS regression suite.
func TestParityCRS(t *testing.T) {
	cases := loadCRSCases(t)
	full := sharedEngine(t, "regression-full", regressionOptions(ModeFull))
	fast := sharedEngine(t, "regression-fast", regressionOptions(ModeFast))
	n, diffs := 0, 0
	for i, c := range cases {
		if c.skip != "" || i%sampleEvery != 0 {
			continue
		}
		n++
		if d := comparePair(t, full, fast, c.ex, c.proto); d != "" {
			diffs++
			t.Errorf("CRS case %s: %s", c.name, d)
		}
	}
	t.Logf("parity on %d CRS cases: %d differences", n, diffs)
}

// TestParityMix checks parity on generated API traffic with attacks in
// query, JSON, form, headers and cookies, at the default paranoia level and
// at 4.
func TestParityMix(t *testing.T) {
	n := 500 / sampleEvery
	if testing.Short() {
		n /= 10
	}
	levels := []int{1, 4}
	if sampleEvery > 1 {
		levels = levels[:1] // under -race: the default level only
	}
	for _, pl := range levels {
		t.Run(fmt.Sprintf("PL%d", pl), func(t *testing.T) {
			full, fast := enginePair(t, pl)
			checkParityCorpus(t, full, fast, newCorpus(uint64(100+pl)).mixWithAttacks(n, n/5))
		})
	}
}

// TestParityMixAPI checks parity on the API corpus of BenchmarkMixAPI,
// where benign text reads like a real API's, with a fifth more attacks.
func TestParityMixAPI(t *testing.T) {
	n := 300 / sampleEvery
	if testing.Short() {
		n /= 10
	}
	full, fast := enginePair(t, 1)
	g := newAPICorpus(200)
	exs, _ := g.mix(n)
	for i := 0; i < n/5; i++ {
		exs = append(exs, g.attack())
	}
	checkParityCorpus(t, full, fast, exs)
}

// checkParityCorpus compares the engines on every exchange and fails when
// they differ or when full CRS flags none of them (a corpus without attacks
// would prove nothing).
func checkParityCorpus(t *testing.T, full, fast *Engine, exs []*apisessions.Exchange) {
	t.Helper()
	diffs, attacks := 0, 0
	for i, ex := range exs {
		if d := comparePair(t, full, fast, ex, "HTTP/1.1"); d != "" {
			diffs++
			t.Errorf("exchange %d %s %.80q: %s", i, ex.Request.Method, ex.Request.URL, d)
		}
		if d, _ := full.Detect(context.Background(), ex); d.Malicious() {
			attacks++
		}
	}
	t.Logf("parity on %d exchanges (%d attacks by full CRS): %d differences", len(exs), attacks, diffs)
	if attacks == 0 {
		t.Fatal("the corpus holds no attack CRS flags")
	}
}

// TestParityEdges compares the engines on requests built around what the
// fast path decides itself: header and argument names differing in case
// only, a key read twice with one bad value, cookies CRS excludes from
// some rules, empty names, many arguments, multi-line and non-ASCII values.
func TestParityEdges(t *testing.T) {
	xss := "%3Cscript%3Ealert(1)%3C%2Fscript%3E"
	sqli := "1%27%20UNION%20SELECT%20password%20FROM%20users--"
	many := "/api/a?"
	for i := range 300 {
		many += fmt.Sprintf("k%d=v%d&", i, i)
	}
	exs := []*apisessions.Exchange{
		{Request: apisessions.Request{Method: "GET", URL: "/api/a?Q=benign&q=" + sqli, Headers: hdrs()}},
		{Request: apisessions.Request{Method: "GET", URL: "/api/a?q=benign&q=" + xss + "&Q=x", Headers: hdrs()}},
		{Request: apisessions.Request{Method: "GET", URL: "/api/a?=" + xss + "&b=1", Headers: hdrs()}},
		{Request: apisessions.Request{Method: "GET", URL: many + "z=" + sqli, Headers: hdrs()}},
		{Request: apisessions.Request{Method: "GET", URL: "/api/a?x=1", Headers: hdrs(
			apisessions.Header{Name: "X-Foo", Value: "benign"}, apisessions.Header{Name: "x-foo", Value: "<script>alert(1)</script>"})}},
		{Request: apisessions.Request{Method: "GET", URL: "/api/a?x=1", Headers: hdrs(
			apisessions.Header{Name: "Cookie", Value: "_ga=1' UNION SELECT password FROM users--; __gads=<script>alert(1)</script>; sid=abc"})}},
		{Request: apisessions.Request{Method: "GET", URL: "/api/a?x=1", Headers: hdrs(
			apisessions.Header{Name: "Cookie", Value: "_ga=benign; SID=1' or '1'='1; sid=plain"})}},
		{Request: apisessions.Request{Method: "POST", URL: "/api/a", Headers: hdrs(apisessions.Header{Name: "Content-Type", Value: "application/json"}),
			Body: []byte(`{"Name":"a","name":"x\nunion select password from users","list":[1,"<img src=x onerror=alert(1)>"],"é":"café ' or 1=1--"}`)}},
		{Request: apisessions.Request{Method: "POST", URL: "/api/a", Headers: hdrs(apisessions.Header{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}),
			Body: []byte("a=%0Acat%20/etc/passwd&A=ok&b=%FF%FE" + xss)}},
		{Request: apisessions.Request{Method: "GET", URL: "/api/a?path=..%2F..%2Fetc%2Fpasswd&Path=ok", Headers: hdrs()}},
		// Non-ASCII text the scan may fold as it is (ü, é), and İ, which
		// t:lowercase turns into an ASCII i: c:/boot.İni is c:/boot.ini
		// to 930120, which lowercases first.
		{Request: apisessions.Request{Method: "PUT", URL: "/api/a", Headers: hdrs(apisessions.Header{Name: "Content-Type", Value: "application/json"}),
			Body: []byte(`{"author":"Chloe Müller","text":"Très bien, merci"}`)}},
		{Request: apisessions.Request{Method: "PUT", URL: "/api/a", Headers: hdrs(apisessions.Header{Name: "Content-Type", Value: "application/json"}),
			Body: []byte(`{"author":"Chloe Müller","text":"1' UNION SELECT password FROM users--"}`)}},
		{Request: apisessions.Request{Method: "GET", URL: "/api/a?name=M%C3%BCller&cmd=%3B%2Fb%C4%B0n%2Fbash", Headers: hdrs()}},
		{Request: apisessions.Request{Method: "GET", URL: "/api/a?f=c%3A%2Fboot.%C4%B0ni", Headers: hdrs()}},
		{Request: apisessions.Request{Method: "POST", URL: "/api/a?q=benign&Q=" + xss, Headers: hdrs(apisessions.Header{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}),
			Body: []byte("q=" + sqli + "&Q=ok")}},
	}
	for _, pl := range []int{1, 4} {
		full, fast := enginePair(t, pl)
		attacks := 0
		for i, ex := range exs {
			if d := comparePair(t, full, fast, ex, "HTTP/1.1"); d != "" {
				t.Errorf("PL%d exchange %d %.80q: %s", pl, i, ex.Request.URL, d)
			}
			if d, _ := full.Detect(context.Background(), ex); d.Malicious() {
				attacks++
			}
		}
		if attacks < len(exs)/2 {
			t.Errorf("PL%d: full CRS flags %d of %d exchanges: the cases do not exercise detections", pl, attacks, len(exs))
		}
	}
}
