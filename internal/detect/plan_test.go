package detect

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apisessions/apisessions"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// TestPlanWithinScreen checks that a screen plan made on a request's view
// never skips a rule or cuts a target that screening the transaction's own
// variables would keep: for every request the pre-decision does not clear,
// the plan's skips and cuts in each phase are among those the screen finds
// on Coraza's variables once the request body is processed (which hold
// every value of phase 1 too, so skip less there).
func TestPlanWithinScreen(t *testing.T) {
	_, fast := enginePair(t, 1)
	exs := append(newCorpus(31).mixWithAttacks(300, 80), viewEdges()...)
	planned, skipped := 0, 0
	for i, ex := range exs {
		clean, _, pl := fast.pre.judge(ex, "HTTP/1.1", true)
		if clean || pl == nil {
			continue
		}
		planned++
		tx := fast.waf.NewTransaction()
		var res result
		if _, err := fast.feedRequest(tx, ex, "HTTP/1.1", &res); err != nil {
			t.Fatal(err)
		}
		st := tx.(plugintypes.TransactionState)
		for _, phase := range []int{1, 2} {
			wantSkip, wantCuts := fast.screen.skippable(st, phase)
			gotSkip, gotCuts := fast.screen.planned(pl, st, phase)
			skipped += len(gotSkip)
			for _, id := range gotSkip {
				if !slices.Contains(wantSkip, id) {
					t.Errorf("exchange %d %.80q phase %d: the plan skips rule %d, the screen keeps it", i, ex.Request.URL, phase, id)
				}
			}
			for _, c := range gotCuts {
				if !slices.Contains(wantCuts, c) {
					t.Errorf("exchange %d %.80q phase %d: the plan cuts %d %s:%s, the screen keeps it", i, ex.Request.URL, phase, c.id, c.variable.Name(), c.key)
				}
			}
		}
		tx.Close()
	}
	t.Logf("%d of %d exchanges planned, %d rule skips", planned, len(exs), skipped)
	if planned < 50 || skipped == 0 {
		t.Errorf("only %d exchanges planned, %d skips: the test checks too little", planned, skipped)
	}
}

// TestPlannedDetectionsMatchScreened checks that a flagged request's
// findings are the same whether the hook takes its answers from the plan
// or screens the transaction.
func TestPlannedDetectionsMatchScreened(t *testing.T) {
	_, fast := enginePair(t, 1)
	g := newCorpus(32)
	var exs []*apisessions.Exchange
	for range 120 {
		exs = append(exs, g.attack())
	}
	exs = append(exs, g.mix(200)...)
	compared := 0
	for i, ex := range exs {
		clean, _, pl := fast.pre.judge(ex, "HTTP/1.1", true)
		if clean || pl == nil {
			continue
		}
		compared++
		a, err := fast.runPlanned(ex, "HTTP/1.1", nil, pl)
		if err != nil {
			t.Fatal(err)
		}
		b, err := fast.run(ex, "HTTP/1.1", nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := fast.run(ex, "HTTP/1.1", nil)
		if err != nil {
			t.Fatal(err)
		}
		// Which of several matching values Coraza reports varies from run
		// to run (it walks its collections in map order), so findings are
		// compared by verdict, score, rule IDs and partial flag.
		da, db, dc := outcome(fast.detection(ex, a)), outcome(fast.detection(ex, b)), outcome(fast.detection(ex, c))
		if da != db {
			t.Errorf("exchange %d %.80q: planned %v, screened %v", i, ex.Request.URL, da, db)
		}
		if db != dc {
			t.Errorf("exchange %d %.80q: screened twice: %v, %v", i, ex.Request.URL, db, dc)
		}
	}
	if compared < 100 {
		t.Errorf("only %d exchanges compared", compared)
	}
}

// outcome is what parity compares of a detection.
func outcome(d apisessions.Detection) string {
	var ids []int
	for _, f := range d.Findings {
		ids = append(ids, f.RuleIDs...)
	}
	slices.Sort(ids)
	return fmt.Sprintf("%s score=%d rules=%v partial=%v", d.Verdict, d.Score, ids, d.Partial)
}

// groupForms applies group g's chain to v one transformation after the
// other, as decide did before steps were shared: the changed forms (every
// one under multiMatch, else the last), and whether a step failed.
func groupForms(g *chainGroup, v string) (forms []string, failed bool) {
	cur, changedAny := v, false
	for _, f := range g.fns {
		out, changed, err := f(cur)
		if err != nil {
			return nil, true
		}
		if changed {
			cur, changedAny = out, true
			if g.multi {
				forms = append(forms, cur)
			}
		}
	}
	if changedAny && !g.multi {
		forms = append(forms, cur)
	}
	return forms, false
}

// memoForms is groupForms through the screen's shared steps.
func memoForms(s *screen, m *stepMemo, g *chainGroup, v string) (forms []string, failed bool) {
	cur, changedAny := v, false
	for _, id := range g.path {
		present := bytesIn(v)
		st := m.step(s.steps, id, v, &present)
		if st.failed {
			return nil, true
		}
		if st.changed {
			cur, changedAny = st.out, true
			if g.multi {
				forms = append(forms, cur)
			}
		}
	}
	if changedAny && !g.multi {
		forms = append(forms, cur)
	}
	return forms, false
}

// checkStepMemo compares, on v, every chain group's forms through the
// shared steps with the forms of its chain applied alone.
func checkStepMemo(t *testing.T, s *screen, m *stepMemo, v string) {
	t.Helper()
	m.next()
	for gi, g := range s.groups {
		want, wantFailed := groupForms(g, v)
		got, gotFailed := memoForms(s, m, g, v)
		if wantFailed != gotFailed || !slices.Equal(want, got) {
			t.Fatalf("group %d on %q: shared steps give %q (failed %v), the chain alone %q (failed %v)", gi, v, got, gotFailed, want, wantFailed)
		}
	}
}

var stepMemoSeeds = []string{
	"", "plain", "Two words here", "a%20b+c", "%u0041%2527", "&lt;script&gt;", "\\x41\\u0042", "/a/../b/./c",
	"c:\\windows\\..\\system32", "d2hvYW1p", "ZXZhbCgp%3D", "/* x */ union -- y", "a\x00b", "\t\n x \r\f",
	"caf\u00e9 na\u00efve", "\xff\xfe", "'\"^,;(", "#comment", "%", "%zz", "&#x41;&#65;",
}

// TestStepMemo checks that sharing transformation steps between chain
// groups gives every group the forms its own chain gives.
func TestStepMemo(t *testing.T) {
	_, fast := enginePair(t, 1)
	s := fast.screen
	var m stepMemo
	m.reset(len(s.steps), s.nfn)
	values := slices.Clone(stepMemoSeeds)
	g := newCorpus(33)
	for _, ex := range append(g.mix(100), g.attack(), g.attack(), g.attack()) {
		values = append(values, ex.Request.URL, string(ex.Request.Body))
		for _, h := range ex.Request.Headers {
			values = append(values, h.Value)
		}
	}
	for _, v := range values {
		checkStepMemo(t, s, &m, v)
	}
	if len(s.steps) >= func() int {
		n := 0
		for _, g := range s.groups {
			n += len(g.fns)
		}
		return n
	}() {
		t.Errorf("%d steps for the groups' chains: no prefix is shared", len(s.steps))
	}
}

// FuzzStepMemo is TestStepMemo on fuzzed values, several in a row through
// one memo.
func FuzzStepMemo(f *testing.F) {
	for _, v := range stepMemoSeeds {
		f.Add(v, "%41")
	}
	o := DefaultOptions()
	e := mustEngine(f, o)
	s := e.screen
	f.Fuzz(func(t *testing.T, a, b string) {
		var m stepMemo
		m.reset(len(s.steps), s.nfn)
		checkStepMemo(t, s, &m, a)
		checkStepMemo(t, s, &m, b)
		checkStepMemo(t, s, &m, a)
	})
}

// FuzzByteSet checks that a value's byte set meets a set exactly when the
// value holds one of its bytes.
func FuzzByteSet(f *testing.F) {
	f.Add("a%41 b", "%")
	f.Add("plain", "%+&")
	f.Add("\x00\xff\x80", "\xff")
	f.Fuzz(func(t *testing.T, v, bytes string) {
		var set [256]bool
		for i := 0; i < len(bytes); i++ {
			set[bytes[i]] = true
		}
		present, bits := bytesIn(v), setOf(&set)
		if got, want := present.meets(&bits), hasByteIn(v, &set); got != want {
			t.Errorf("%q meets %q: %v, want %v", v, bytes, got, want)
		}
	})
}

// TestValueTable checks the table's short cut for strings it has just
// looked up: strings that share an address but not a length are different
// values, equal strings at different addresses are one, a place given twice
// in a row (a _NAMES entry's key and value) is recorded once, and a value
// under two keys in a row keeps both places.
func TestValueTable(t *testing.T) {
	buf := "idx=1&id=2"
	id, idx := buf[:2], buf[:3] // one address, two lengths
	other := strings.Clone(id)  // the same value elsewhere
	var tb valueTable
	for round := 0; round < 2; round++ { // the second round on a reset table
		tb.reset()
		tb.add("ARGS_NAMES", idx, idx, 1)
		tb.add("ARGS_NAMES", idx, idx, 1)
		tb.add("ARGS_NAMES", id, id, 1)
		tb.add("ARGS", id, other, 2)
		tb.add("ARGS", "q", buf, 2)
		one := buf[4:5] // "1", under two keys in a row
		tb.add("ARGS", "a", one, 2)
		tb.add("ARGS", "b", one, 2)
		if want := []string{"idx", "id", buf, "1"}; !slices.Equal(tb.values, want) {
			t.Fatalf("round %d: values %q, want %q", round, tb.values, want)
		}
		wantOwners := [][]owner{
			{{"ARGS_NAMES", "idx", 1}},
			{{"ARGS_NAMES", "id", 1}, {"ARGS", "id", 2}},
			{{"ARGS", "q", 2}},
			{{"ARGS", "a", 2}, {"ARGS", "b", 2}},
		}
		for i, want := range wantOwners {
			if !slices.Equal(tb.owners[i], want) {
				t.Errorf("round %d: owners of %q: %v, want %v", round, tb.values[i], tb.owners[i], want)
			}
		}
		if want := []uint64{1, 3, 2, 2}; !slices.Equal(tb.masks, want) {
			t.Errorf("round %d: masks %v, want %v", round, tb.masks, want)
		}
	}
}
