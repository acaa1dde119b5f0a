package detect

import (
	"context"
	"strings"
	"testing"

	"github.com/apisessions/apisessions"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types/variables"
)

func TestDirectives(t *testing.T) {
	got := directives("# comment\nSecRule ARGS \"@rx a\" \\\n    \"id:1,chain\"\n  SecRule TX:x \"@eq 1\"\n\nSecMarker END\n")
	want := []string{`SecRule ARGS "@rx a"  "id:1,chain"`, `SecRule TX:x "@eq 1"`, "SecMarker END"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestChainReads checks the later links of known CRS chains.
func TestChainReads(t *testing.T) {
	chains, err := chainReads()
	if err != nil {
		t.Fatal(err)
	}
	if len(chains) < 20 {
		t.Fatalf("only %d chains", len(chains))
	}
	// 942130 compares its captures: the later link reads TX.
	if r, ok := chains[942130]; !ok || !r["TX"] {
		t.Errorf("942130 chain reads %v (ok %v), want TX", r, ok)
	}
	// 920100 is not chained.
	if _, ok := chains[920100]; ok {
		t.Error("920100 listed as a chain")
	}
}

func TestCuttable(t *testing.T) {
	chains := map[int]map[string]bool{2: {"TX": true}, 3: {"ARGS": true}}
	cases := []struct {
		name string
		raw  string
		id   int
		want []variables.RuleVariable
	}{
		{"whole collections", `SecRule ARGS|ARGS_NAMES|REQUEST_HEADERS:User-Agent|XML:/* "@rx a" "id:1"`, 1, []variables.RuleVariable{variables.Args, variables.ArgsNames}},
		{"chain reading TX", `SecRule REQUEST_COOKIES "@rx a" "id:2,chain"`, 2, []variables.RuleVariable{variables.RequestCookies}},
		{"chain reading ARGS", `SecRule ARGS|REQUEST_COOKIES "@rx a" "id:3,chain"`, 3, []variables.RuleVariable{variables.RequestCookies}},
		{"unknown chain", `SecRule ARGS "@rx a" "id:4,chain"`, 4, nil},
		{"three exclusions", `SecRule ARGS|!ARGS:a|!ARGS:b|!ARGS:c|ARGS_NAMES "@rx a" "id:5"`, 5, []variables.RuleVariable{variables.ArgsNames}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, ok := parseSecRule(c.raw)
			if !ok {
				t.Fatal("parse")
			}
			got := cuttable(r, c.id, chains)
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
}

// TestTargetCuts checks that a rule kept for one argument runs on that
// argument only, and that the detection is the full engine's.
func TestTargetCuts(t *testing.T) {
	fast := sharedEngine(t, "pl1-fast", DefaultOptions())
	o := DefaultOptions()
	o.Mode = ModeFull
	full := sharedEngine(t, "pl1-full", o)
	ex := &apisessions.Exchange{Request: apisessions.Request{Method: "GET",
		URL: "/api/items?page=2&Sort=name&q=1%27%20UNION%20SELECT%20password%20FROM%20users--&lang=en&filter=active", Headers: hdrs()}}

	tx := fast.waf.NewTransaction()
	defer tx.Close()
	tx.ProcessURI(ex.Request.URL, ex.Request.Method, "HTTP/1.1")
	for _, h := range ex.Request.Headers {
		tx.AddRequestHeader(h.Name, h.Value)
	}
	tx.ProcessRequestHeaders()
	if _, err := tx.ProcessRequestBody(); err != nil {
		t.Fatal(err)
	}
	_, cuts := fast.screen.skippable(tx.(plugintypes.TransactionState), 2)
	cutKeys := map[int]map[string]bool{}
	for _, c := range cuts {
		if c.key == "" || c.key != strings.ToLower(c.key) {
			t.Errorf("rule %d: cut key %q", c.id, c.key)
		}
		if cutKeys[c.id] == nil {
			cutKeys[c.id] = map[string]bool{}
		}
		cutKeys[c.id][c.variable.Name()+":"+c.key] = true
	}
	// 942100 (libinjection) matches q only.
	if k := cutKeys[942100]; !k["ARGS:page"] || !k["ARGS:sort"] || k["ARGS:q"] {
		t.Errorf("942100 cuts %v: want page and sort, not q", k)
	}
	if len(cuts) == 0 {
		t.Fatal("no target cut")
	}

	d, err := fast.Detect(context.Background(), ex)
	if err != nil {
		t.Fatal(err)
	}
	df, err := full.Detect(context.Background(), ex)
	if err != nil {
		t.Fatal(err)
	}
	if d.Verdict != apisessions.VerdictAttack || d.Verdict != df.Verdict || d.Score != df.Score || len(d.Findings) != len(df.Findings) {
		t.Fatalf("fast %+v, full %+v", d, df)
	}
	for i := range d.Findings {
		if d.Findings[i].Point != df.Findings[i].Point || d.Findings[i].Payload != df.Findings[i].Payload {
			t.Errorf("finding %d: fast %+v, full %+v", i, d.Findings[i], df.Findings[i])
		}
	}
}
