package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

var t0 = time.Date(2026, 11, 20, 23, 0, 0, 0, time.UTC)

// genRecords returns n records over sessions sessions and two days, with
// varied fields so that every aggregate has something to merge.
func genRecords(n, sessions int, seed uint64) []apisessions.Record {
	rng := rand.New(rand.NewPCG(seed, 1))
	methods := []string{"GET", "POST", "DELETE"}
	out := make([]apisessions.Record, n)
	for i := range out {
		at := t0.Add(time.Duration(rng.IntN(7200)) * time.Second).Add(time.Duration(i) * time.Nanosecond)
		r := apisessions.Record{
			ID:          fmt.Sprintf("r%06d", i),
			SessionID:   fmt.Sprintf("s%03d", rng.IntN(sessions)),
			Day:         at.Format(time.DateOnly),
			Time:        at,
			Method:      methods[rng.IntN(len(methods))],
			Host:        fmt.Sprintf("h%d.example", rng.IntN(3)),
			Path:        fmt.Sprintf("/api/items/%d", rng.IntN(100)),
			Status:      []int{200, 201, 404, 500}[rng.IntN(4)],
			ClientIP:    fmt.Sprintf("198.51.100.%d", rng.IntN(4)),
			UserAgent:   fmt.Sprintf("agent/%d", rng.IntN(2)),
			Application: rng.IntN(3),
			Key:         apisessions.Key{Point: "request.header.authorization", Value: fmt.Sprintf("k%d", i)},
			Flows:       []string{[]string{"login", "checkout"}[rng.IntN(2)]},
			Params:      []apisessions.Param{{Name: "user", Point: "request.body|json.user", Value: "x", Type: "user"}},
		}
		r.Endpoint = r.Method + " /api/items/{int}"
		if rng.IntN(3) == 0 {
			r.User = fmt.Sprintf("user%d", rng.IntN(3))
		}
		if rng.IntN(4) == 0 {
			r.Role = []string{"admin", "guest"}[rng.IntN(2)]
		}
		if rng.IntN(10) == 0 {
			r.Verdict = apisessions.VerdictAttack
			r.Score = 10
			r.Findings = []apisessions.Finding{{Type: apisessions.AttackSQLi, RuleIDs: []int{942100}, Score: 5, Point: "request.query.id", Payload: "1' OR 1=1\x00--"}}
			r.Content = &apisessions.Content{Method: r.Method, Target: r.Path, Headers: apisessions.Headers{{Name: "Host", Value: r.Host}}, Body: "//4=", BodyBase64: true}
			r.Blocked = rng.IntN(2) == 0
		}
		out[i] = r
	}
	return out
}

// sameStored checks that s holds the parts, requests and session_tags rows
// ref holds for the tenant; what names s in the errors.
func sameStored(t *testing.T, s, ref *Store, tenant, what string) {
	t.Helper()
	gotParts, gotReqs := snapshot(t, s, tenant)
	wantParts, wantReqs := snapshot(t, ref, tenant)
	if !reflect.DeepEqual(gotParts, wantParts) {
		t.Errorf("%s gave other parts than the reference", what)
	}
	if !reflect.DeepEqual(gotReqs, wantReqs) {
		t.Errorf("%s gave other requests than the reference", what)
	}
	if got, want := sessionTags(t, s, tenant), sessionTags(t, ref, tenant); !reflect.DeepEqual(got, want) {
		t.Errorf("%s gave other session_tags rows than the reference: %d rows, want %d\n got %q\nwant %q", what, len(got), len(want), got, want)
	}
}

// snapshot returns every part and request of the tenant, in a fixed order.
func snapshot(t *testing.T, s *Store, tenant string) ([]apisessions.Session, map[string][]apisessions.Record) {
	t.Helper()
	ctx := context.Background()
	page, err := s.Sessions(ctx, tenant, apisessions.SessionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	reqs := map[string][]apisessions.Record{}
	for _, p := range page.Sessions {
		rs, err := s.SessionRequests(ctx, tenant, p.ID, p.Day)
		if err != nil {
			t.Fatal(err)
		}
		reqs[p.Day+"/"+p.ID] = rs
	}
	return page.Sessions, reqs
}

func TestWriteRoundTrip(t *testing.T) {
	t.Parallel()
	s := MustOpen(t)
	ctx := context.Background()
	recs := genRecords(200, 10, 1)
	st, err := s.Write(ctx, "t1", recs)
	if err != nil {
		t.Fatal(err)
	}
	if st.Stored != len(recs) || st.Duplicates != 0 {
		t.Fatalf("stats %+v", st)
	}
	for _, want := range recs[:20] {
		got, err := s.Request(ctx, "t1", want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("request %s:\n got %+v\nwant %+v", want.ID, got, want)
		}
	}
	// The stored parts equal the parts folded in memory.
	want := map[partKey]*part{}
	for i := range recs {
		k := partKey{recs[i].Day, recs[i].SessionID}
		if p := want[k]; p != nil {
			p.merge(newPart(&recs[i]))
		} else {
			want[k] = newPart(&recs[i])
		}
	}
	if st.Sessions != len(want) {
		t.Errorf("stats sessions %d, want %d", st.Sessions, len(want))
	}
	parts, _ := snapshot(t, s, "t1")
	if len(parts) != len(want) {
		t.Fatalf("%d parts, want %d", len(parts), len(want))
	}
	for _, got := range parts {
		w := want[partKey{got.Day, got.ID}]
		if w == nil || !reflect.DeepEqual(got, w.session()) {
			t.Errorf("part %s/%s:\n got %+v\nwant %+v", got.Day, got.ID, got, w)
		}
	}
	if _, err := s.Request(ctx, "t2", recs[0].ID); apisessions.ErrorCode(err) != apisessions.ENOTFOUND {
		t.Errorf("other tenant's request: %v", err)
	}
}

func TestWriteIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recs := genRecords(2000, 40, 2)

	one := MustOpen(t)
	if _, err := one.Write(ctx, "t", recs); err != nil {
		t.Fatal(err)
	}

	// Four writers on two stores (two servers on one database) send
	// overlapping, shuffled slices of the same records, each twice: every
	// record arrives several times, in any order, through group
	// committers (one in the first store, three in the second) that race
	// for the same parts.
	conn := mustSchema(t)
	three := DefaultOptions()
	three.Committers = 3
	stores := []*Store{mustOpenAt(t, conn), mustOpenWith(t, conn, three)}
	many := stores[0]
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := 0
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			mine := append([]apisessions.Record(nil), recs[w*400:min(len(recs), w*400+800)]...)
			if w == 3 {
				mine = append(mine, recs[:400]...)
			}
			for range 2 {
				rng.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
				for i := 0; i < len(mine); i += 150 {
					st, err := stores[w%2].Write(ctx, "t", mine[i:min(len(mine), i+150)])
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					stored += st.Stored
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if stored != len(recs) {
		t.Errorf("stored %d in total, want %d", stored, len(recs))
	}
	// Each tag once per part too: a committer copies the tags new to its
	// parts after the next one may have started merging.
	sameStored(t, many, one, "t", "concurrent writers")

	st, err := many.Write(ctx, "t", append(recs[:10:10], recs[:3]...))
	if err != nil {
		t.Fatal(err)
	}
	if want := (apisessions.WriteStats{Duplicates: 13}); st != want {
		t.Errorf("rewrite stats %+v, want %+v", st, want)
	}
}

func TestDaysAndDeleteDay(t *testing.T) {
	t.Parallel()
	s := MustOpen(t)
	ctx := context.Background()
	recs := genRecords(100, 5, 3)
	if _, err := s.Write(ctx, "a", recs[:50]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(ctx, "b", recs[50:]); err != nil {
		t.Fatal(err)
	}
	days, err := s.Days(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"2026-11-20", "2026-11-21"}; !reflect.DeepEqual(days, want) {
		t.Fatalf("days %v, want %v", days, want)
	}
	if err := s.DeleteDay(ctx, "2026-11-20"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDay(ctx, "2026-11-25"); err != nil {
		t.Errorf("deleting an empty day: %v", err)
	}
	if err := s.DeleteDay(ctx, "20261120; DROP TABLE x"); apisessions.ErrorCode(err) != apisessions.EINVALID {
		t.Errorf("bad day: %v", err)
	}
	if days, _ := s.Days(ctx); !reflect.DeepEqual(days, []string{"2026-11-21"}) {
		t.Errorf("days after delete %v", days)
	}
	for _, tenant := range []string{"a", "b"} {
		parts, _ := snapshot(t, s, tenant)
		for _, p := range parts {
			if p.Day != "2026-11-21" {
				t.Errorf("tenant %s kept part %s/%s", tenant, p.Day, p.ID)
			}
		}
	}
	// The deleted day's records may be stored again: their IDs are gone.
	st, err := s.Write(ctx, "a", recs[:50])
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs[:50] {
		if r.Day == "2026-11-20" {
			n++
		}
	}
	if st.Stored != n {
		t.Errorf("rewrite after delete stored %d, want %d", st.Stored, n)
	}
}

func TestMigrationsConcurrentOpen(t *testing.T) {
	t.Parallel()
	conn := mustSchema(t)
	var wg sync.WaitGroup
	stores := make([]*Store, 3)
	for i := range stores {
		wg.Go(func() { stores[i] = mustOpenAt(t, conn) })
	}
	wg.Wait()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		if s == nil {
			t.FailNow()
		}
		v, err := s.SchemaVersion(context.Background())
		if err != nil || v != ms[len(ms)-1].version {
			t.Errorf("schema version %d, %v", v, err)
		}
	}
}

func TestWriteRejectsBadInput(t *testing.T) {
	t.Parallel()
	s := MustOpen(t)
	good := genRecords(1, 1, 4)[0]
	tests := []struct {
		name   string
		tenant string
		edit   func(r *apisessions.Record)
	}{
		{"empty tenant", "", func(*apisessions.Record) {}},
		{"empty id", "t", func(r *apisessions.Record) { r.ID = "" }},
		{"nul in id", "t", func(r *apisessions.Record) { r.ID = "a\x00b" }},
		{"long session id", "t", func(r *apisessions.Record) { r.SessionID = string(make([]byte, 600)) }},
		{"bad day", "t", func(r *apisessions.Record) { r.Day = "2026-13-01" }},
		{"no time", "t", func(r *apisessions.Record) { r.Time = time.Time{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.edit(&r)
			_, err := s.Write(context.Background(), tt.tenant, []apisessions.Record{r})
			if apisessions.ErrorCode(err) != apisessions.EINVALID {
				t.Errorf("err %v, want EINVALID", err)
			}
		})
	}
}

func TestWriteAfterClose(t *testing.T) {
	t.Parallel()
	s := mustOpenAt(t, mustSchema(t))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(context.Background(), "t", genRecords(1, 1, 5)); err == nil {
		t.Error("Write on a closed store succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestWriteAfterOtherStoreDroppedDay checks the retry when another server's
// retention dropped a partition this store believed in.
func TestWriteAfterOtherStoreDroppedDay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := mustSchema(t)
	a, b := mustOpenAt(t, conn), mustOpenAt(t, conn)
	recs := genRecords(20, 2, 6)
	if _, err := a.Write(ctx, "t", recs[:10]); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"2026-11-20", "2026-11-21"} {
		if err := b.DeleteDay(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	st, err := a.Write(ctx, "t", recs[10:])
	if err != nil {
		t.Fatalf("write after the partitions were dropped elsewhere: %v", err)
	}
	if st.Stored != 10 {
		t.Errorf("stored %d, want 10", st.Stored)
	}
	if days, err := b.Days(ctx); err != nil || len(days) == 0 {
		t.Errorf("days %v, %v", days, err)
	}
}

// TestListRangeLongParts: the walk of a time range in the past starts one
// longest-part length after its end; a part centuries long (its length
// overflows bigint), whose requests straddle the range, must still be
// found, and its length must not fail the write.
func TestListRangeLongParts(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	at := func(y int) time.Time { return time.Date(y, 6, 1, 12, 0, 0, 0, time.UTC) }
	recs := []apisessions.Record{
		{ID: "l1", SessionID: "long", Day: "2026-11-20", Time: at(1680)},
		{ID: "l2", SessionID: "long", Day: "2026-11-20", Time: at(1999)},
		{ID: "l3", SessionID: "long", Day: "2026-11-20", Time: at(2260)},
		{ID: "s1", SessionID: "short", Day: "2026-11-20", Time: at(2026)},
		{ID: "o1", SessionID: "old", Day: "2026-11-20", Time: at(1999).Add(-time.Hour)},
	}
	if _, err := s.Write(ctx, "t", recs); err != nil {
		t.Fatal(err)
	}
	ids := func(f apisessions.SessionFilter) []string {
		t.Helper()
		f.Limit = 10
		page, err := s.Sessions(ctx, "t", f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range page.Sessions {
			out = append(out, p.ID)
		}
		return out
	}
	tests := []struct {
		name     string
		from, to time.Time
		want     []string
	}{
		{"a request of the long part", at(1999).Add(-time.Minute), at(1999).Add(time.Minute), []string{"long"}},
		{"both", at(1999).Add(-2 * time.Hour), at(1999).Add(time.Minute), []string{"long", "old"}},
		{"inside the long part, no request", at(2100), at(2101), nil},
		{"to the end of time", at(2026), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), []string{"long", "short"}},
		{"from the start of time", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), at(1700), []string{"long"}},
	}
	for _, tt := range tests {
		if got := ids(apisessions.SessionFilter{From: tt.from, To: tt.to}); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
