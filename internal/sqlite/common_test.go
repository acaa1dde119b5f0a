package sqlite

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// TestConformanceCommonValues runs the conformance suite on a store where
// every filter value is common after its first part (migrations/0006), so
// that every filter also finds parts by their cvids.
func TestConformanceCommonValues(t *testing.T) {
	storetest.Run(t, func(t *testing.T) apisessions.Store {
		o := DefaultOptions()
		o.CommonParts = 1
		st := openAt(t, filepath.Join(t.TempDir(), "store.db"), o)
		t.Cleanup(func() {
			if err := st.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		})
		return st
	})
}

// TestCommonValues: once the store has given a value its part_vids rows
// for CommonParts parts, later parts list it in their own row. Filters,
// paged or not, list what a store that marks no value common does: with
// values common halfway, after the store reopens (the writer reads back
// which values are common) and after a day is deleted.
func TestCommonValues(t *testing.T) {
	const limit = 4
	// In time order, so that values have their rows in parts of the first
	// day, which is deleted last, and only their cvids in the second.
	recs := storetest.Generate(29, "cv-", 1500, 120, 2)
	slices.SortFunc(recs, func(a, b apisessions.Record) int { return a.Time.Compare(b.Time) })
	more := storetest.Generate(31, "cv2-", 600, 160, 2)
	o := DefaultOptions()
	o.CommonParts = limit
	path := filepath.Join(t.TempDir(), "store.db")
	st := openAt(t, path, o)
	ref := MustOpen(t)
	check := func(recs []apisessions.Record) {
		t.Helper()
		sameListings(t, st, ref, recs)
		for _, f := range []apisessions.SessionFilter{
			{Host: recs[0].Host}, {Method: recs[1].Method, Limit: 7}, {Status: recs[2].Status, Role: recs[2].Role, Limit: 5},
			{Endpoint: "/", Limit: 9}, {Host: recs[3].Host, User: recs[3].User},
		} {
			if got, want := allPages(t, st, f), allPages(t, ref, f); !reflect.DeepEqual(got, want) {
				t.Fatalf("Sessions(%+v): %d parts, reference %d", f, len(got), len(want))
			}
		}
		var common, most int
		if err := st.writer.QueryRow(`SELECT (SELECT count(*) FROM value_ids WHERE common),
			(SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM part_vids d JOIN value_ids v ON v.vid = d.vid WHERE v.common GROUP BY d.vid))`).
			Scan(&common, &most); err != nil {
			t.Fatal(err)
		}
		if common == 0 || most > limit {
			t.Fatalf("%d common values, the most part_vids rows of one %d; want some, at most %d", common, most, limit)
		}
	}
	writeAll(t, st, split(recs, 100))
	writeAll(t, ref, split(recs, 100))
	check(recs)

	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openAt(t, path, o)
	defer st.Close()
	writeAll(t, st, split(more, 100))
	writeAll(t, ref, split(more, 100))
	all := append(append([]apisessions.Record(nil), recs...), more...)
	check(all)

	day := recs[0].Day
	for _, s := range []*Store{st, ref} {
		if err := s.DeleteDay(t.Context(), day); err != nil {
			t.Fatal(err)
		}
	}
	var left []apisessions.Record
	for _, r := range all {
		if r.Day != day {
			left = append(left, r)
		}
	}
	check(left)
}

// allPages lists every part f matches, a page of f.Limit at a time.
func allPages(t *testing.T, st apisessions.Store, f apisessions.SessionFilter) []apisessions.Session {
	t.Helper()
	var out []apisessions.Session
	for {
		page, err := st.Sessions(t.Context(), apisessions.DefaultTenant, f)
		if err != nil {
			t.Fatalf("Sessions(%+v): %v", f, err)
		}
		out = append(out, page.Sessions...)
		if page.Next == "" {
			return out
		}
		f.Cursor = page.Next
	}
}
