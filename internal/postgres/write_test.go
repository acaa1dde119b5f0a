package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
		_, tags, err := mergeParts(ctx, tx, keys, deltas, map[tkey]*part{}, rand.Int64()|1, s.lockParts)
		if err != nil {
			return err
		}
		return copyTags(ctx, tx, tags)
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
	sameStored(t, s, ref, "t", "the overlapping batch")
}

// docEdgeStrings are strings whose JSON encodings differ between careless
// encoders: HTML characters, control characters, line separators, invalid
// UTF-8, NUL.
var docEdgeStrings = []string{
	"", "plain", `<script>&amp;</script>`, "\"quoted\" \\ back", "\x00\x01\x1f\x7f",
	"\t\n\r\b\f", "\u2028\u2029", "é 日本 🎉", "\xff\xfe bad utf-8 \xc3", "\xed\xa0\x80",
}

// sameDocEncoding fails t unless marshalDoc writes what encoding/json
// writes for a record carrying s and n everywhere, and for the part made of
// it and a sibling (maps with string and integer keys).
func sameDocEncoding(t *testing.T, s string, n int) {
	t.Helper()
	recs := genRecords(2, 1, 3)
	for i := range recs {
		r := &recs[i]
		r.Path, r.UserAgent, r.Host, r.ClientIP, r.User, r.Role, r.Endpoint = s, s, s+"h", s+"ip", s, s+"r", s+"e"
		r.Flows = []string{s, "f"}
		r.Params[0].Value = s
		r.Key.Value = s
		r.Status, r.Application = n+i, n*(i+1)
		r.Verdict, r.Findings = apisessions.VerdictAttack, []apisessions.Finding{{Type: apisessions.AttackType(s), Payload: s}}
	}
	p := newPart(&recs[0])
	p.add(&recs[1])
	for _, v := range []any{&recs[0], p} {
		want, werr := json.Marshal(v)
		got, gerr := marshalDoc(v)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("encoding/json err = %v, marshalDoc err = %v", werr, gerr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("marshalDoc writes %s\nencoding/json      %s", got, want)
		}
	}
}

func TestDocEncodingMatchesEncodingJSON(t *testing.T) {
	for i, s := range docEdgeStrings {
		for _, n := range []int{0, 9, 200, 1000, -3, 1 << 40} {
			sameDocEncoding(t, s, n+i)
		}
	}
}

// FuzzDocEncoding checks that documents are written as encoding/json
// writes them.
func FuzzDocEncoding(f *testing.F) {
	for i, s := range docEdgeStrings {
		f.Add(s, i*97)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		sameDocEncoding(t, s, n)
	})
}

// TestWriteGroupMergesBatchDeltas: a group of batches with new records in
// the same parts stores what one write of every record stores, with each
// batch's stats, and leaves the batches as they were, so that writing the
// group again (a retry after a failed transaction) gives the same result.
func TestWriteGroupMergesBatchDeltas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recs := genRecords(300, 4, 15)

	ref := MustOpen(t)
	mustWrite(t, ref, recs)

	var group []*writeReq
	var wantStats []apisessions.WriteStats
	var days []string
	for i := 0; i < len(recs); i += 100 {
		s := MustOpen(t) // only to prepare
		b, err := s.prepare("t", recs[i:i+100])
		if err != nil {
			t.Fatal(err)
		}
		group = append(group, &writeReq{b: b})
		days = append(days, b.days...)
		wantStats = append(wantStats, apisessions.WriteStats{Stored: 100, Sessions: len(b.deltas)})
	}
	before := map[*part]*part{}
	for _, req := range group {
		for _, d := range req.b.deltas {
			before[d] = d.clone()
		}
	}
	for try := range 2 {
		s := MustOpen(t)
		if err := s.ensurePartitions(ctx, days); err != nil {
			t.Fatal(err)
		}
		stats, err := s.write(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(stats, wantStats) {
			t.Errorf("try %d: stats %+v, want %+v", try, stats, wantStats)
		}
		sameStored(t, s, ref, "t", fmt.Sprintf("try %d of the group", try))
		for d, c := range before {
			if !reflect.DeepEqual(d, c) {
				t.Fatalf("try %d: writing the group changed a batch's delta", try)
			}
		}
	}
}

// TestWritingCounts: a part is shared while two groups of the store write
// it, and no longer once one of them is done; the counts empty out.
func TestWritingCounts(t *testing.T) {
	s := &Store{writing: map[tkey]int{}}
	a := tkey{"t", partKey{"2026-11-20", "a"}}
	b := tkey{"t", partKey{"2026-11-20", "b"}}
	c := tkey{"u", partKey{"2026-11-20", "a"}}
	s.startWriting([]tkey{a, b})
	if s.shared([]tkey{a, b}) {
		t.Error("one group's parts reported shared")
	}
	s.startWriting([]tkey{b, c})
	if !s.shared([]tkey{a, b}) || !s.shared([]tkey{b, c}) {
		t.Error("a part two groups write not reported shared")
	}
	if s.shared([]tkey{c}) {
		t.Error("another tenant's part of the same ID reported shared")
	}
	s.doneWriting([]tkey{a, b})
	if s.shared([]tkey{b, c}) {
		t.Error("a part reported shared after the other group was done")
	}
	s.doneWriting([]tkey{b, c})
	if len(s.writing) != 0 {
		t.Errorf("counts left after every group was done: %v", s.writing)
	}
}
