package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// TestCachedPartsFollowOtherWriters: a store that cached a part it wrote
// must merge into what another store (another server) wrote since, also
// after the day was dropped and the part written again from scratch.
func TestCachedPartsFollowOtherWriters(t *testing.T) {
	ctx := context.Background()
	conn := mustSchema(t)
	a, b := mustOpenAt(t, conn), mustOpenAt(t, conn)
	day := "2026-11-20"
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	batch := func(name string, n int) []apisessions.Record {
		recs := make([]apisessions.Record, n)
		for i := range recs {
			recs[i] = storetest.FullRecord(fmt.Sprintf("%s-%d", name, i), "s", at.Add(time.Duration(len(name)*100+i)*time.Second))
			recs[i].Day = day
			recs[i].ClientIP = fmt.Sprintf("10.0.0.%d", len(name)*10+i) // a new tag per batch
		}
		return recs
	}
	k := tkey{"t", partKey{day, "s"}}
	storedRev := func() int64 {
		var rev int64
		if err := a.pool.QueryRow(ctx, "SELECT rev FROM sessions WHERE tenant = 't' AND day = $1 AND id = 's'", day).Scan(&rev); err != nil {
			t.Fatal(err)
		}
		return rev
	}
	check := func(step string, want []apisessions.Record) {
		t.Helper()
		got, err := a.Session(ctx, "t", "s", day)
		if err != nil {
			t.Fatal(err)
		}
		gj, _ := json.Marshal(got[0])
		wj, _ := json.Marshal(storetest.ExpectedSession(want))
		if string(gj) != string(wj) {
			t.Errorf("%s:\n got %s\nwant %s", step, gj, wj)
		}
	}

	r1, r2, r3 := batch("a", 3), batch("bb", 2), batch("ccc", 4)
	mustWrite(t, a, r1)
	if rev := storedRev(); rev == 0 || a.parts.get(k, rev) == nil {
		t.Fatalf("the part written at revision %d is not cached", rev)
	}
	mustWrite(t, b, r2) // a's cached part is now stale
	mustWrite(t, a, r3)
	check("after another store's write", append(append(append([]apisessions.Record{}, r1...), r2...), r3...))

	// b drops the day and writes the part anew; a still caches its last
	// revision of the old part.
	if err := b.DeleteDay(ctx, day); err != nil {
		t.Fatal(err)
	}
	r4, r5 := batch("dddd", 2), batch("eeeee", 3)
	mustWrite(t, b, r4)
	mustWrite(t, a, r5)
	check("after the day was dropped and written again", append(append([]apisessions.Record{}, r4...), r5...))

}

func mustWrite(t *testing.T, s *Store, recs []apisessions.Record) {
	t.Helper()
	if _, err := s.Write(context.Background(), "t", recs); err != nil {
		t.Fatal(err)
	}
}

// TestPartCacheBounded: the cache never holds more than its bound.
func TestPartCacheBounded(t *testing.T) {
	c := newPartCache(100)
	for i := range 1000 {
		c.put(int64(i+1), map[tkey]*part{{"t", partKey{"2026-11-20", fmt.Sprint(i)}}: {}})
		if len(c.m) > 100 {
			t.Fatalf("after %d puts: %d entries", i+1, len(c.m))
		}
	}
	c.forgetDay("2026-11-20")
	if len(c.m) != 0 {
		t.Fatalf("forgetDay left %d entries", len(c.m))
	}
}
