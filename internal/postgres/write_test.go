package postgres

import (
	"context"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/apisessions/apisessions"
)

// sessionTags returns the tenant's session_tags rows as "day session tag",
// sorted.
func sessionTags(t *testing.T, s *Store, tenant string) []string {
	t.Helper()
	rows, err := s.pool.Query(context.Background(),
		"SELECT day::text || ' ' || session_id || ' ' || tag FROM session_tags WHERE tenant = $1 ORDER BY 1", tenant)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMergeIntoPartsCreatedAfterLock: parts that another writer inserted
// between a writer's lock and its insert are locked and merged into, and
// get the tags they lack, once. The writer's lock is made to find nothing,
// as if the other writer had inserted after it.
func TestMergeIntoPartsCreatedAfterLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recs := genRecords(80, 3, 11)
	first, second := recs[:40], recs[40:]

	ref := MustOpen(t)
	mustWrite(t, ref, recs)

	s := MustOpen(t)
	mustWrite(t, s, first)
	deltas := map[tkey]*part{}
	var days []string
	for i := range second {
		r := &second[i]
		k := tkey{"t", partKey{r.Day, r.SessionID}}
		if p := deltas[k]; p != nil {
			p.add(r)
		} else {
			deltas[k] = newPart(r)
			days = append(days, r.Day)
		}
	}
	if err := s.ensurePartitions(ctx, days); err != nil {
		t.Fatal(err)
	}
	keys := make([]tkey, 0, len(deltas))
	for k := range deltas {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareTKeys)
	raced := 0
	for _, k := range keys {
		if _, ok := s.parts.m[k]; ok {
			raced++ // the first half wrote this part: the insert will lose
		}
	}
	if raced == 0 {
		t.Fatal("no part of the second half exists after the first: the test checks nothing")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := mergeParts(ctx, tx, keys, deltas, map[tkey]*part{}, rand.Int64()|1, s.lockParts)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	want, err := ref.Sessions(ctx, "t", apisessions.SessionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Sessions(ctx, "t", apisessions.SessionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Sessions, want.Sessions) {
		t.Errorf("parts merged after a lost insert differ from parts written at once:\n got %+v\nwant %+v", got.Sessions, want.Sessions)
	}
	if got, want := sessionTags(t, s, "t"), sessionTags(t, ref, "t"); !reflect.DeepEqual(got, want) {
		t.Errorf("session_tags after a lost insert:\n got %q\nwant %q", got, want)
	}
}

// TestWriteOverlappingBatches: a batch that repeats some IDs stored before
// stores only the others (the copy of its IDs fails and they are inserted
// one by one), and leaves the parts and tags as one write of every record
// does.
func TestWriteOverlappingBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recs := genRecords(300, 5, 12)

	ref := MustOpen(t)
	mustWrite(t, ref, recs)

	s := MustOpen(t)
	mustWrite(t, s, recs[:120])
	st, err := s.Write(ctx, "t", recs[100:])
	if err != nil {
		t.Fatal(err)
	}
	if want := (apisessions.WriteStats{Stored: 180, Duplicates: 20, Sessions: st.Sessions}); st != want || st.Sessions == 0 {
		t.Errorf("stats %+v, want %+v with sessions > 0", st, want)
	}
	gotParts, gotReqs := snapshot(t, s, "t")
	wantParts, wantReqs := snapshot(t, ref, "t")
	if !reflect.DeepEqual(gotParts, wantParts) {
		t.Errorf("parts differ from one write of every record")
	}
	if !reflect.DeepEqual(gotReqs, wantReqs) {
		t.Errorf("requests differ from one write of every record")
	}
	if got, want := sessionTags(t, s, "t"), sessionTags(t, ref, "t"); !reflect.DeepEqual(got, want) {
		t.Errorf("session_tags:\n got %q\nwant %q", got, want)
	}
}
