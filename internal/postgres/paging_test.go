package postgres

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

// TestListRangePaging: pages of a time range that ends in the past (the
// walk bounded by the longest part, keys first, then documents) join up to
// the listing without a limit, which is one plain query: with parts that
// tie on last_seen, parts longer than the rest, and another tenant's parts
// with the same IDs.
func TestListRangePaging(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	var recs []apisessions.Record
	for i := range 40 {
		day := "2026-11-20"
		if i%3 == 0 {
			day = "2026-11-21"
		}
		last := base.Add(time.Duration(i/4) * 30 * time.Minute) // four parts end at each time
		first := last.Add(-time.Duration(i%5) * time.Hour)      // lengths 0 to 4 hours
		if i == 39 {
			first = last.Add(-13 * time.Hour) // the longest part, among the newest
		}
		id := fmt.Sprintf("s%02d", i)
		recs = append(recs,
			apisessions.Record{ID: id + "-a", SessionID: id, Day: day, Time: first},
			apisessions.Record{ID: id + "-b", SessionID: id, Day: day, Time: last})
	}
	for _, tenant := range []string{"t", "u"} {
		if _, err := s.Write(ctx, tenant, recs); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Write(ctx, "u", []apisessions.Record{{ID: "x", SessionID: "s00", Day: "2026-11-22", Time: base.Add(-30 * time.Hour)},
		{ID: "y", SessionID: "s00", Day: "2026-11-22", Time: base.Add(40 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	keys := func(ss []apisessions.Session) []string {
		var out []string
		for _, p := range ss {
			out = append(out, p.Day+"/"+p.ID)
		}
		return out
	}
	ranges := []apisessions.SessionFilter{
		{From: base.Add(2 * time.Hour), To: base.Add(4 * time.Hour)},
		{From: base.Add(-20 * time.Hour), To: base.Add(time.Hour)},
		{From: base.Add(-20 * time.Hour), To: base.Add(-8 * time.Hour)}, // the longest part only
		{To: base.Add(3*time.Hour + 30*time.Minute)},
		{From: base.Add(4 * time.Hour), To: base.Add(4 * time.Hour)},
		{From: base.Add(4*time.Hour + 30*time.Minute), To: base.Add(100 * time.Hour)},
	}
	for _, f := range ranges {
		all, err := s.Sessions(ctx, "t", f)
		if err != nil {
			t.Fatal(err)
		}
		want := keys(all.Sessions)
		if len(want) == 0 {
			t.Fatalf("range %v to %v lists nothing", f.From, f.To)
		}
		for _, limit := range []int{1, 2, 3, 4, 5, 7, len(want), len(want) + 1} {
			if limit <= 0 {
				continue
			}
			g := f
			g.Limit = limit
			var got []string
			for page := 0; ; page++ {
				p, err := s.Sessions(ctx, "t", g)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Sessions) > limit {
					t.Fatalf("page of %d parts, limit %d", len(p.Sessions), limit)
				}
				got = append(got, keys(p.Sessions)...)
				if p.Next == "" || page > 100 {
					break
				}
				g.Cursor = p.Next
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("range %v to %v, limit %d:\n got %v\nwant %v", f.From, f.To, limit, got, want)
			}
		}
	}
}
