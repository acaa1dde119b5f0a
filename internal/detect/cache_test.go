package detect

import (
	"fmt"
	"sync"
	"testing"
)

func TestVerdictCache(t *testing.T) {
	c := newVerdictCache(4)
	calls := 0
	f := func(v string) bool { calls++; return len(v)%2 == 0 }
	for range 3 {
		if got := c.match(1, "bb", f); !got {
			t.Fatal("bb: false")
		}
	}
	if calls != 1 {
		t.Errorf("%d computations for one value asked 3 times", calls)
	}
	// Values that share a slot are each answered right.
	for range 3 {
		for _, v := range []string{"a", "bb", "ccc", "dddd", "eeeee"} {
			if got := c.match(1, v, f); got != (len(v)%2 == 0) {
				t.Fatalf("%q: %v", v, got)
			}
		}
	}
	// Another rule on the same value is computed, not taken from rule 1.
	if got := c.match(2, "a", func(string) bool { return true }); !got {
		t.Error("rule 2 got rule 1's verdict")
	}
	// Bounded: many values never grow it past its slots.
	for i := range 1000 {
		c.match(3, fmt.Sprint(i), f)
	}
	if len(c.slots) != 4 {
		t.Errorf("%d slots", len(c.slots))
	}
	if newVerdictCache(0) != nil {
		t.Error("a cache of no entries")
	}
	var nilCache *verdictCache
	if !nilCache.match(1, "x", func(string) bool { return true }) {
		t.Error("nil cache does not compute")
	}
}

// TestVerdictCacheConcurrent runs lookups and stores from many goroutines
// (for the race detector) and checks every answer.
func TestVerdictCacheConcurrent(t *testing.T) {
	c := newVerdictCache(64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				v := fmt.Sprint((i * (g + 1)) % 300)
				rule := int32(i % 5)
				want := (len(v)+int(rule))%2 == 0
				if got := c.match(rule, v, func(s string) bool { return (len(s)+int(rule))%2 == 0 }); got != want {
					t.Errorf("rule %d %q: %v", rule, v, got)
					return
				}
			}
		}()
	}
	wg.Wait()
}
