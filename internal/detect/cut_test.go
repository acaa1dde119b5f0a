package detect

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
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
	full, fast := enginePair(t, 1)
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

// TestTargetCutsConcurrent runs requests whose cookies get different keys
// taken out of the same rules from several goroutines at once. CRS adds
// exclusions to rules such as 941100 and 942421 with
// SecRuleUpdateTargetById, which Coraza appends to the rule's shared
// exception slice: a transaction's cut must never reach another
// transaction (run with -race), and each result is the full engine's.
func TestTargetCutsConcurrent(t *testing.T) {
	full, fast := enginePair(t, 1)
	const n = 8
	exs := make([]*apisessions.Exchange, n)
	want := make([][]int, n)
	for i := range exs {
		// The attack sits in a cookie whose name differs per request; the
		// benign cookies of one request are named as the attack of another.
		cookie := fmt.Sprintf("k%d=hello; k%d=%%3Cscript%%3Ealert(%d)%%3C/script%%3E; k%d=plain", i, (i+1)%n, i, (i+2)%n)
		exs[i] = &apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/api/items?page=1",
			Headers: hdrs(apisessions.Header{Name: "Cookie", Value: cookie})}}
		rf, err := full.run(exs[i], "HTTP/1.1", nil)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = ruleIDs(rf)
		if !slices.Contains(want[i], 941100) {
			t.Fatalf("request %d: full engine did not report 941100: %v", i, want[i])
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 40 {
				i := (g + r) % n
				rs, err := fast.run(exs[i], "HTTP/1.1", nil)
				if err != nil {
					errs <- err.Error()
					return
				}
				if got := ruleIDs(rs); !slices.Equal(got, want[i]) {
					errs <- fmt.Sprintf("request %d: fast %v, full %v", i, got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestCutsCopyExceptions checks, on Coraza's loaded rules, what taking
// targets out relies on: for every collection the screen may cut from a
// rule, each of the rule's targets on it has a full exception slice, so
// that Coraza's append for a transaction copies it instead of writing into
// the array all transactions share. CRS's SecRuleUpdateTargetById
// exclusions (942340 has three on REQUEST_COOKIES) are in those slices but
// not in the rule's text.
func TestCutsCopyExceptions(t *testing.T) {
	o := DefaultOptions()
	o.ParanoiaLevel = 4
	e := sharedEngine(t, "pl4-fast", o)
	cut := map[int64]map[uint64]bool{}
	for _, r := range e.screen.rules {
		for _, v := range r.cut {
			if cut[int64(r.id)] == nil {
				cut[int64(r.id)] = map[uint64]bool{}
			}
			cut[int64(r.id)][uint64(v)] = true
		}
	}
	if len(cut) == 0 {
		t.Fatal("no rule has cuttable targets")
	}
	// The fields are Coraza v3's (internal/corazawaf): WAF.Rules.rules,
	// Rule.variables[i].Variable and .Exceptions.
	w := reflect.ValueOf(e.waf)
	if w.Kind() == reflect.Struct && w.NumField() > 0 {
		w = w.Field(0)
	}
	rules := reflect.Indirect(w).FieldByName("Rules").FieldByName("rules")
	if !rules.IsValid() {
		t.Fatal("Coraza's rule layout changed: check how it appends transaction exceptions (rule.go doEvaluate)")
	}
	checked := 0
	for i := range rules.Len() {
		r := reflect.Indirect(rules.Index(i))
		id := r.FieldByName("RuleMetadata").FieldByName("ID_").Int()
		vs := r.FieldByName("variables")
		for j := range vs.Len() {
			v := vs.Index(j).FieldByName("Variable").Uint()
			if !cut[id][v] {
				continue
			}
			checked++
			if ex := vs.Index(j).FieldByName("Exceptions"); ex.Len() < ex.Cap() {
				t.Errorf("rule %d: collection %d is cut but its %d exceptions have room for %d", id, v, ex.Len(), ex.Cap())
			}
		}
	}
	if checked == 0 {
		t.Fatal("no cut target found among Coraza's rules")
	}
	t.Logf("%d cut targets checked", checked)
}

func TestUpdatedTargets(t *testing.T) {
	u, err := updatedTargets()
	if err != nil {
		t.Fatal(err)
	}
	// REQUEST-999-COMMON-EXCEPTIONS-AFTER.conf excludes 12 cookies from
	// 942421 and 3 from 942340.
	if u[942421]["REQUEST_COOKIES"] != 12 || u[942340]["REQUEST_COOKIES"] != 3 {
		t.Errorf("942421: %v, 942340: %v", u[942421], u[942340])
	}
}
