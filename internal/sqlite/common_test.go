package sqlite

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// TestConformanceCommonValues runs the conformance suite on a store where
// every filter value is common after its first part (migrations/0006), so
// that every filter also finds parts by their cvids.
func TestConformanceCommonValues(t *testing.T) {
	storetest.Run(t, func(t *testing.T) apisessions.Store { return openCommon(t, 1) })
}

// TestCommonValues: once the store has given a value its part_vids rows
// for CommonParts parts, later parts list it in their own row. Filters,
// paged or not, list what a store that marks no value common does: with
// values common halfway, after the store reopens (the writer reads back
// which values are common) and after a day is deleted.
func TestCommonValues(t *testing.T) {
	const limit = 4
	// In time order, so that values have their rows in parts of the first
	// day, which the test deletes at its end, and only their cvids in the
	// second.
	recs := storetest.Generate(29, "cv-", 1500, 120, 2)
	slices.SortFunc(recs, func(a, b apisessions.Record) int { return a.Time.Compare(b.Time) })
	more := storetest.Generate(31, "cv2-", 600, 160, 2)
	o := DefaultOptions()
	o.CommonParts = limit
	path := filepath.Join(t.TempDir(), "store.db")
	st := openAt(t, path, o)
	ref := MustOpen(t)
	// most bounds the part_vids rows of a common value: the store counts
	// the rows it gave a value since it opened, so a value that another
	// store had given rows to may get up to CommonParts more.
	check := func(recs []apisessions.Record, most int) {
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
		var common, rows int
		if err := st.writer.QueryRow(`SELECT (SELECT count(*) FROM value_ids WHERE common),
			(SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM part_vids d JOIN value_ids v ON v.vid = d.vid WHERE v.common GROUP BY d.vid))`).
			Scan(&common, &rows); err != nil {
			t.Fatal(err)
		}
		if common == 0 || rows > most {
			t.Fatalf("%d common values, the most part_vids rows of one %d; want some, at most %d", common, rows, most)
		}
	}
	writeAll(t, st, split(recs, 100))
	writeAll(t, ref, split(recs, 100))
	check(recs, limit)

	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openAt(t, path, o)
	defer st.Close()
	writeAll(t, st, split(more, 100))
	writeAll(t, ref, split(more, 100))
	all := append(append([]apisessions.Record(nil), recs...), more...)
	check(all, 2*limit)

	check(deleteDay(t, recs[0].Day, all, st, ref), 2*limit)
}

// deleteDay deletes day from every store of stores and returns the
// records of recs on other days.
func deleteDay(t *testing.T, day string, recs []apisessions.Record, stores ...*Store) []apisessions.Record {
	t.Helper()
	var left []apisessions.Record
	ids := map[string]bool{}
	for _, r := range recs {
		if r.Day != day {
			left = append(left, r)
			ids[r.ID] = true
		}
	}
	for _, s := range stores {
		if err := s.DeleteDay(t.Context(), day); err != nil {
			t.Fatal(err)
		}
		// The requests of the day go with its parts' lists.
		var requests, orphans int
		if err := s.reader.QueryRow(`SELECT (SELECT count(*) FROM requests),
			(SELECT count(*) FROM part_requests c WHERE NOT EXISTS (SELECT 1 FROM parts p WHERE p.pid = c.pid))`).Scan(&requests, &orphans); err != nil {
			t.Fatal(err)
		}
		if requests != len(ids) || orphans != 0 {
			t.Fatalf("after DeleteDay: %d requests, want %d; %d lists of deleted parts", requests, len(ids), orphans)
		}
	}
	return left
}

// openCommon opens a store in a temporary directory whose values are
// common after limit parts, closed at cleanup.
func openCommon(t *testing.T, limit int) *Store {
	t.Helper()
	o := DefaultOptions()
	o.CommonParts = limit
	st := openAt(t, filepath.Join(t.TempDir(), "store.db"), o)
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return st
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

// hosted returns recs with host h, moved by shift (their days follow).
func hosted(recs []apisessions.Record, h string, shift time.Duration) []apisessions.Record {
	out := slices.Clone(recs)
	for i := range out {
		r := &out[i]
		r.Host = h
		r.Time = r.Time.Add(shift)
		r.Day = r.Time.UTC().Format("2006-01-02")
	}
	return out
}

// commonValue says whether value_ids marks host h common.
func commonValue(t *testing.T, st *Store, h string) bool {
	t.Helper()
	var common bool
	if err := st.writer.QueryRow("SELECT common FROM value_ids WHERE kind = ? AND value = ?", kindHost, h).Scan(&common); err != nil {
		t.Fatal(err)
	}
	return common
}

// TestCommonValueUncommon: when the days whose parts list a common value in
// cvids are deleted, and parts with its part_vids rows remain, the value is
// no longer common and drives a listing again.
func TestCommonValueUncommon(t *testing.T) {
	const host = "rare.example.com"
	st := openCommon(t, 2)
	ref := MustOpen(t)
	// Two parts on the first day give the host its two rows; 30 on the
	// next day list it in cvids.
	first := hosted(storetest.Generate(41, "ua-", 20, 2, 1), host, 0)
	next := hosted(storetest.Generate(43, "ub-", 200, 30, 1), host, 24*time.Hour)
	for _, s := range []*Store{st, ref} {
		writeAll(t, s, [][]apisessions.Record{first})
		if err := s.flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		writeAll(t, s, split(next, 50))
	}
	sameListings(t, st, ref, append(slices.Clone(first), next...))
	if !commonValue(t, st, host) {
		t.Fatal("the host is not common after 32 parts")
	}
	deleteDay(t, next[0].Day, append(slices.Clone(first), next...), st, ref)
	if commonValue(t, st, host) {
		t.Fatal("the host is still common with no part listing it in cvids")
	}
	tx, err := st.reader.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	f := apisessions.SessionFilter{Host: host}
	if d, err := st.driver(t.Context(), tx, f); err != nil || d == nil || d.value != host {
		t.Fatalf("driver(%+v) = %v, %v; want the host", f, d, err)
	}
	sameListings(t, st, ref, first)
}

// TestCommonValueSnapshot: a write that makes the driving value common
// between the choice of the driver and the listing does not make the
// listing lose the parts that list the value in cvids: both read one
// snapshot, so the listing shows the parts before the write or after it.
func TestCommonValueSnapshot(t *testing.T) {
	const host = "flip.example.com"
	st := openCommon(t, 3)
	before := hosted(storetest.Generate(47, "sa-", 20, 2, 1), host, 0)
	writeAll(t, st, [][]apisessions.Record{before})
	after := hosted(storetest.Generate(53, "sb-", 60, 3, 1), host, 0)
	for i := range after {
		after[i].SessionID = "later-" + after[i].SessionID
	}
	afterDrive = func() {
		afterDrive = nil
		writeAll(t, st, [][]apisessions.Record{after})
		if err := st.flush(t.Context()); err != nil {
			t.Error(err)
		}
	}
	defer func() { afterDrive = nil }()
	page, err := st.Sessions(t.Context(), apisessions.DefaultTenant, apisessions.SessionFilter{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	if !commonValue(t, st, host) {
		t.Fatal("the write did not make the host common")
	}
	if n := len(page.Sessions); n != 2 && n != 5 {
		t.Fatalf("listing by the host found %d parts, want 2 (before the write) or 5 (after)", n)
	}
}
