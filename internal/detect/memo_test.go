package detect

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apisessions/apisessions"
)

// TestValueMemoConcurrent stores and looks up from many goroutines (for
// the race detector) and checks every answer it gets.
func TestValueMemoConcurrent(t *testing.T) {
	m := newValueMemo(64, nil)
	hitsOf := func(v string) []int32 { return []int32{int32(len(v)), int32(len(v) % 3)} }
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				v := fmt.Sprint((i * (g + 1)) % 300)
				vars := uint64(1 + i%2)
				hits, ok := m.lookup(v, vars)
				if !ok {
					m.store(v, vars, hitsOf(v))
					continue
				}
				if want := hitsOf(v); !slices.Equal(hits, want) {
					t.Errorf("%q in %d: %v, want %v", v, vars, hits, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestValueMemo(t *testing.T) {
	m := newValueMemo(4, []bool{true, true})
	if _, ok := m.lookup("bb", 1); ok {
		t.Fatal("an empty memo holds bb")
	}
	m.store("bb", 1, []int32{1})
	if hits, ok := m.lookup("bb", 1); !ok || len(hits) != 1 || hits[0] != 1 {
		t.Fatalf("bb: %v %v", hits, ok)
	}
	// The same value seen in other collections is not the same entry: the
	// rules that read them differ.
	if _, ok := m.lookup("bb", 2); ok {
		t.Error("bb seen in collections 2 answered from collections 1")
	}
	// Values that share a slot are each answered right or not at all.
	for range 3 {
		for _, v := range []string{"a", "bb", "ccc", "dddd", "eeeee"} {
			m.store(v, 1, []int32{int32(len(v) % 2)})
		}
	}
	for _, v := range []string{"a", "bb", "ccc", "dddd", "eeeee"} {
		if hits, ok := m.lookup(v, 1); ok && (len(hits) != 1 || hits[0] != int32(len(v)%2)) {
			t.Errorf("%q: %v", v, hits)
		}
	}
	// Bounded: many values never grow it past its slots, and long values
	// are not held.
	for i := range 1000 {
		m.store(fmt.Sprint(i), 1, nil)
	}
	if len(m.slots) != 4 {
		t.Errorf("%d slots", len(m.slots))
	}
	if m.holds(strings.Repeat("x", maxMemoValue+1)) || !m.holds(strings.Repeat("x", maxMemoValue)) {
		t.Errorf("holds values up to %d bytes: wrong bound", maxMemoValue)
	}
	var none *valueMemo
	if newValueMemo(0, nil) != nil || none.holds("x") {
		t.Error("a memo of no entries holds values")
	}
}

// TestValueMemoPlaces runs one payload at places CRS reads and at places
// it does not, in both orders, through fast engines of their own: after
// the first, the value memo decides it, and the verdicts must still be the
// full engine's at each place.
func TestValueMemoPlaces(t *testing.T) {
	const payload = "1' UNION SELECT password FROM users--"
	json := hdrs(apisessions.Header{Name: "Content-Type", Value: "application/json"})
	places := []struct {
		name string
		ex   *apisessions.Exchange
	}{
		{"__utm cookie", &apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/api/a?x=1", Headers: hdrs(
			apisessions.Header{Name: "Cookie", Value: "__utmz=" + payload})}}},
		{"cookie", &apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/api/a?x=1", Headers: hdrs(
			apisessions.Header{Name: "Cookie", Value: "sid=" + payload})}}},
		{"unread header", &apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/api/a?x=1", Headers: hdrs(
			apisessions.Header{Name: "X-Note", Value: payload})}}},
		{"read header", &apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/api/a?x=1", Headers: hdrs(
			apisessions.Header{Name: "Referer", Value: payload})}}},
		{"query", &apisessions.Exchange{Request: apisessions.Request{Method: "GET", URL: "/api/a?q=" + url.QueryEscape(payload), Headers: hdrs()}}},
		{"json", &apisessions.Exchange{Request: apisessions.Request{Method: "POST", URL: "/api/a", Headers: json, Body: []byte(`{"note":"1' UNION SELECT password FROM users--"}`)}}},
	}
	full, _ := enginePair(t, 1)
	flagged := map[string]bool{}
	for _, p := range places {
		d, err := full.Detect(context.Background(), p.ex)
		if err != nil {
			t.Fatal(err)
		}
		flagged[p.name] = d.Malicious()
	}
	// Both headers are in the same collection: one memo entry answers for
	// both, and the rules' targets must tell them apart.
	if flagged["unread header"] || !flagged["read header"] || !flagged["cookie"] || !flagged["query"] || !flagged["json"] {
		t.Fatalf("full CRS flags %v: the places do not tell read from unread", flagged)
	}
	for _, order := range []string{"forward", "reverse"} {
		fast := mustEngine(t, DefaultOptions())
		for i := range places {
			p := places[i]
			if order == "reverse" {
				p = places[len(places)-1-i]
			}
			if d := comparePair(t, full, fast, p.ex, "HTTP/1.1"); d != "" {
				t.Errorf("%s, %s: %s", order, p.name, d)
			}
			// No rule reads the header: the pre-decision answers clean
			// without Coraza, from the memo after the first time.
			if clean, _ := fast.pre.decide(p.ex, "HTTP/1.1"); p.name == "unread header" && !clean {
				t.Errorf("%s, %s: not pre-decided clean", order, p.name)
			}
		}
		held := 0
		for i := range fast.pre.memo.slots {
			if e := fast.pre.memo.slots[i].Load(); e != nil && e.value == payload {
				held++
			}
		}
		if held == 0 {
			t.Errorf("%s: the memo holds no entry for the payload", order)
		}
	}
}

// TestValueMemoChangesNothing: a fast engine with the value memo gives the
// verdicts, scores and rule IDs of one without it, on the API mix (whose
// values repeat from request to request as API traffic's do) with attacks
// placed in it.
func TestValueMemoChangesNothing(t *testing.T) {
	n := 2000 / sampleEvery
	g := newAPICorpus(300)
	exs, _ := g.mix(n)
	for range n / 5 {
		exs = append(exs, g.attack())
	}
	o := DefaultOptions()
	o.CacheEntries = 0
	cold := mustEngine(t, o)
	if cold.pre.memo != nil {
		t.Fatal("CacheEntries 0 leaves a memo")
	}
	memo := mustEngine(t, DefaultOptions())
	checkParityCorpus(t, cold, memo, exs)
	held := 0
	for i := range memo.pre.memo.slots {
		if memo.pre.memo.slots[i].Load() != nil {
			held++
		}
	}
	if held < 1000/sampleEvery {
		t.Errorf("the memo holds %d values: the corpus does not exercise it", held)
	}
}

// TestValueMemoOrder: what the pre-decision finds first on a request does
// not depend on which of its values the memo holds. The answer of an
// engine whose memo knows none of them must be that of the same engine
// once it knows them all, and that of an engine with a one-slot memo,
// which holds the last value it was given: seen again, a request finds one
// of its values there and decides the others anew.
func TestValueMemoOrder(t *testing.T) {
	o := DefaultOptions()
	whole := mustEngine(t, o)
	o.CacheEntries = 1
	oneSlot := mustEngine(t, o)
	for _, c := range reviewCases() {
		wantClean, wantRule := whole.pre.decide(&c.ex, c.proto)
		if clean, rule := whole.pre.decide(&c.ex, c.proto); clean != wantClean || rule != wantRule {
			t.Errorf("%q, every value remembered: %v/%d, none %v/%d", c.name, clean, rule, wantClean, wantRule)
		}
		for round := range 3 {
			if clean, rule := oneSlot.pre.decide(&c.ex, c.proto); clean != wantClean || rule != wantRule {
				t.Errorf("%q, round %d with one slot: %v/%d, none remembered %v/%d", c.name, round, clean, rule, wantClean, wantRule)
			}
		}
	}
}
