package detect

import (
	"regexp/syntax"
	"slices"
	"testing"

	"github.com/apisessions/apisessions"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// nativeCases are requests that make natively decided rules fire or not,
// each with a rule the full engine must report (0 for none).
var nativeCases = []struct {
	name string
	ex   apisessions.Exchange
	rule int
}{
	{"benign", apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/api/users?id=1&sort=name", Headers: hdrs()}}, 0},
	{"no host", apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/", Headers: apisessions.Headers{{Name: "User-Agent", Value: "x"}, {Name: "Accept", Value: "*/*"}}}}, 920280},
	{"empty accept", apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/", Headers: apisessions.Headers{{Name: "Host", Value: "a"}, {Name: "User-Agent", Value: "x"}, {Name: "Accept", Value: ""}}}}, 920310},
	{"empty user agent", apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/", Headers: apisessions.Headers{{Name: "Host", Value: "a"}, {Name: "User-Agent", Value: ""}, {Name: "Accept", Value: "*/*"}}}}, 920330},
	{"bad content length", apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/", Headers: hdrs(apisessions.Header{Name: "Content-Length", Value: "abc"})}}, 920160},
	{"null byte", apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/a?x=a%00b", Headers: hdrs()}}, 920270},
	{"illegal content type", apisessions.Exchange{Request: apisessions.Request{Method: "POST", URL: "/a", Headers: hdrs(apisessions.Header{Name: "Content-Type", Value: "text/plain;;;;x"}), Body: []byte("a=1")}}, 920470},
	{"two content types", apisessions.Exchange{Request: apisessions.Request{Method: "POST", URL: "/a", Headers: hdrs(apisessions.Header{Name: "Content-Type", Value: "application/json"}, apisessions.Header{Name: "Content-Type", Value: "application/json"}), Body: []byte(`{"a":1}`)}}, 920620},
	{"transfer encoding and length", apisessions.Exchange{Request: apisessions.Request{Method: "POST", URL: "/a", Headers: hdrs(apisessions.Header{Name: "Content-Type", Value: "application/json"}, apisessions.Header{Name: "Content-Length", Value: "7"}, apisessions.Header{Name: "Transfer-Encoding", Value: "chunked"}), Body: []byte(`{"a":1}`)}}, 920181},
	{"accept with quotes", apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/", Headers: apisessions.Headers{{Name: "Host", Value: "a"}, {Name: "User-Agent", Value: "x"}, {Name: "Accept", Value: `"text/html"`}}}}, 920600},
	{"non-ascii argument", apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/a?name=Ren%C3%A9e&q=%FF", Headers: hdrs()}}, 0},
	{"request line", apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/a b", Headers: hdrs()}}, 0},
	// 920540 (\x5cu escapes): a pattern Coraza gives Go's regexp, decided
	// natively on non-ASCII values as on others.
	{"unicode escape", apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/a?name=%5Cu0041dmin", Headers: hdrs()}}, 920540},
	{"non-ascii form value", apisessions.Exchange{Request: apisessions.Request{Method: "POST", URL: "/a", Headers: hdrs(apisessions.Header{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}), Body: []byte("author=Chloe+M%C3%BCller&x=%C4%B0")}}, 0},
	{"non-ascii form value and escape", apisessions.Exchange{Request: apisessions.Request{Method: "POST", URL: "/a", Headers: hdrs(apisessions.Header{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}), Body: []byte("author=M%C3%BCller+%5Cu0041")}}, 920540},
}

// TestNativeRx checks that @rx is run with the matcher Coraza picks: Go's
// regexp with (?sm), or its byte matcher when the pattern's \x escapes are
// not UTF-8, on ASCII and non-ASCII values alike.
func TestNativeRx(t *testing.T) {
	for _, c := range []struct {
		pattern, value string
		want           bool
	}{
		{`(?i)\x5cu[0-9a-f]{4}`, `M\u00fcller`, true},
		{`(?i)\x5cu[0-9a-f]{4}`, "Müller", false},
		{`(?i)\x5cu[0-9a-f]{4}`, "İ \\U0041", true},
		{`^a.b$`, "x\na\nb\ny", true}, // (?sm): . matches \n, ^ and $ at lines
		{`\xbc`, "\xbc", true},        // a byte, not U+00BC
		{`\xbc`, "¼", true},           // U+00BC is C2 BC
		{`^\xbc`, "¼", false},
		{`\xbc`, "a\xbcb", true},
		// 941310's pattern: every match holds \xbc or \xbe.
		{`(?:\xbc\s*/\s*[^\xbe>]*[\xbe>])|(?:<\s*/\s*[^\xbe]*\xbe)`, "</script>", false},
		{`(?:\xbc\s*/\s*[^\xbe>]*[\xbe>])|(?:<\s*/\s*[^\xbe]*\xbe)`, "</x\xbe", true},
		{`(?:\xbc\s*/\s*[^\xbe>]*[\xbe>])|(?:<\s*/\s*[^\xbe]*\xbe)`, "\xbc/a>", true},
		{`a|\xbc`, "a", true},
	} {
		op, ok := nativeOperator("rx", c.pattern)
		if !ok {
			t.Fatalf("%q: not native", c.pattern)
		}
		if got := op(c.value); got != c.want {
			t.Errorf("@rx %q on %q: %v, want %v", c.pattern, c.value, got, c.want)
		}
	}
	for pattern, want := range map[string]bool{
		`a\xbc`: true, `a|\xbc`: false, `[\x80-\xff]+`: true, `\xbc?`: false, `(?:\xbc|\xbe){2}`: true, `[a\xbc]`: false,
		`(?:\xbc\s*/\s*[^\xbe>]*[\xbe>])|(?:<\s*/\s*[^\xbe]*\xbe)`: true,
	} {
		tree, err := syntax.Parse(pattern, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if got := needsHighByte(tree); got != want {
			t.Errorf("needsHighByte(%q) = %v", pattern, got)
		}
	}
	if matchesArbitraryBytes(`(?i)\x5cu`) || !matchesArbitraryBytes(`\xbc`) || !matchesArbitraryBytes(`[\x{80}-\x{ff}]`) {
		t.Error("matchesArbitraryBytes disagrees with Coraza's reading")
	}
}

func TestFoldSafe(t *testing.T) {
	for v, want := range map[string]bool{
		"": true, "abc": true, "Müller": true, "Très ÉTÉ": true, "ſ K": true,
		"İstanbul": false, "a\xff": false,
	} {
		if got := foldSafe(v); got != want {
			t.Errorf("foldSafe(%q) = %v", v, got)
		}
	}
}

// TestNativeRules checks each native decision against Coraza: the fast
// engine, which skips natively decided rules, reports the full engine's
// rules on requests made to fire them.
func TestNativeRules(t *testing.T) {
	full, fast := enginePair(t, 1)
	ids := map[int]bool{}
	for _, ph := range fast.screen.natives {
		for _, n := range ph {
			ids[n.id] = true
		}
	}
	for _, id := range []int{920100, 920160, 920270, 920280, 920290, 920310, 920330, 920470, 920600, 920620, 920181} {
		if !ids[id] {
			t.Errorf("rule %d is not decided natively", id)
		}
	}
	for _, c := range nativeCases {
		t.Run(c.name, func(t *testing.T) {
			if d := comparePair(t, full, fast, &c.ex, "HTTP/1.1"); d != "" {
				t.Fatal(d)
			}
			rf, err := full.run(&c.ex, "HTTP/1.1", nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.rule != 0 && !slices.Contains(ruleIDs(rf), c.rule) {
				t.Errorf("full engine did not report %d: %v", c.rule, ruleIDs(rf))
			}
		})
	}
	// On a benign request most native rules are skipped.
	tx := fast.waf.NewTransaction()
	defer tx.Close()
	tx.ProcessURI("/api/users?id=1", "GET", "HTTP/1.1")
	for _, h := range hdrs() {
		tx.AddRequestHeader(h.Name, h.Value)
	}
	tx.ProcessRequestHeaders()
	st := tx.(plugintypes.TransactionState)
	skip := fast.screen.nativeSkips(st, 1)
	if len(skip) < len(fast.screen.natives[1])/2 {
		t.Errorf("benign request: %d of %d phase-1 native rules skipped", len(skip), len(fast.screen.natives[1]))
	}
}

func TestByteRanges(t *testing.T) {
	v, err := byteRanges("1-3, 10,255")
	if err != nil {
		t.Fatal(err)
	}
	for b, want := range map[int]bool{0: false, 1: true, 3: true, 4: false, 10: true, 255: true} {
		if v[b] != want {
			t.Errorf("byte %d: %v", b, v[b])
		}
	}
	for _, bad := range []string{"", "a", "1-x", "300", "-1"} {
		if _, err := byteRanges(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// nativeNeedSeeds are values that reach native rules' operators only
// through their transformations: escapes and entities of the bytes the
// rules look for.
var nativeNeedSeeds = []string{
	"hello", "\\u0041", "%5Cu0041", "%5cu0041", "&#x5c;u0041", "&#92;u0041", "\\x5cu0041", "$x(1)", "%24x%281%29",
	"\\x24x\\x28", "&#36;x&#40;", "a\x00b", "%00", "a%u0000b", "¼/>", "%bc/%be", "&frac14;/&frac34;", "\\xbc/\\xbe",
	"<\\/\\xbe", "&lt;/&#190;", "K", "ſ", "İ", "\\U0041", "%5CU0041", "1+2", "a b\tc", "/*x*/", "x#y", "a\\b",
}

// natives returns the natively decided rules of the fast engine: the
// hook's and the pre-decision's.
func natives(fast *Engine) []*nativeRule {
	var out []*nativeRule
	for _, ph := range fast.screen.natives {
		out = append(out, ph...)
	}
	return append(out, fast.pre.natives...)
}

// checkNeeds fails when a native rule's mayMatch rejects a value some form
// of which its operator decides otherwise.
func checkNeeds(t *testing.T, ns []*nativeRule, v string) {
	t.Helper()
	for _, n := range ns {
		if len(n.need) > 0 && !n.mayMatch(v) && n.testForms(v) != n.negated {
			t.Errorf("rule %d: mayMatch rejects %q, which its operator matches", n.id, v)
		}
	}
}

// TestNativeNeeds checks the byte sets a native rule's operator needs
// against the operator itself, on every value of a mix of API traffic and
// attacks and on escaped forms of what the rules look for; and that the
// rules costliest on benign traffic have such sets.
func TestNativeNeeds(t *testing.T) {
	_, fast := enginePair(t, 1)
	ns := natives(fast)
	with := map[int]bool{}
	for _, n := range ns {
		if len(n.need) > 0 {
			with[n.id] = true
		}
	}
	for _, id := range []int{941310, 920540, 933180, 920270} {
		if !with[id] {
			t.Errorf("rule %d has no byte sets", id)
		}
	}
	for _, s := range nativeNeedSeeds {
		checkNeeds(t, ns, s)
	}
	sc := getScratch()
	defer putScratch(sc)
	rejected, values := 0, 0
	for _, ex := range newCorpus(41).mixWithAttacks(400, 100) {
		v := &sc.view
		if !v.build(ex, "HTTP/1.1", &fast.opts) {
			continue
		}
		for _, e := range v.entries {
			for _, s := range []string{e.key, e.value} {
				checkNeeds(t, ns, s)
				values++
				for _, n := range ns {
					if len(n.need) > 0 && !n.mayMatch(s) {
						rejected++
					}
				}
			}
		}
	}
	t.Logf("%d values, %d (rule, value) pairs rejected by byte sets", values, rejected)
	if rejected < values {
		t.Errorf("byte sets rejected only %d (rule, value) pairs of %d values", rejected, values)
	}
}

// FuzzNativeNeeds is TestNativeNeeds's check on any value.
func FuzzNativeNeeds(f *testing.F) {
	for _, s := range nativeNeedSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, fast := enginePair(t, 1)
		checkNeeds(t, natives(fast), s)
	})
}
