package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// crash closes the store as a killed process would: without flushing the
// cached parts.
func (s *Store) crash() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.loopDone
	<-s.ckptDone
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.closeStmts()
	s.reader.Close()
	s.ckpt.Close()
	s.writer.Close()
}

func openAt(tb testing.TB, path string, opts Options) *Store {
	tb.Helper()
	st, err := Open(tb.Context(), path, opts)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	return st
}

// behindOptions keep every changed part in memory until a read or Close.
func behindOptions() Options {
	o := DefaultOptions()
	o.FlushInterval = time.Hour
	return o
}

// eachCommon runs test with behindOptions, and again with values common
// after two parts (migrations/0006), so that failures and crashes are
// also checked where parts list values in cvids.
func eachCommon(t *testing.T, test func(t *testing.T, base Options)) {
	t.Run("rows", func(t *testing.T) { test(t, behindOptions()) })
	t.Run("common values", func(t *testing.T) {
		o := behindOptions()
		o.CommonParts = 2
		test(t, o)
	})
}

// sameListings fails unless got and want list the same parts for a set of
// filters drawn from recs (so part_vids and endpoints are compared too),
// and every session of recs the same way.
func sameListings(t *testing.T, got, want apisessions.Store, recs []apisessions.Record) {
	t.Helper()
	filters := []apisessions.SessionFilter{{}}
	for i, r := range recs[:min(len(recs), 8)] {
		switch i % 4 {
		case 0:
			filters = append(filters, apisessions.SessionFilter{User: r.User})
		case 1:
			filters = append(filters, apisessions.SessionFilter{IP: r.ClientIP, Status: r.Status})
		case 2:
			filters = append(filters, apisessions.SessionFilter{Endpoint: r.Endpoint})
		case 3:
			filters = append(filters, apisessions.SessionFilter{Method: r.Method, Host: r.Host})
		}
	}
	total := 0
	for i, f := range filters {
		g, err := got.Sessions(t.Context(), apisessions.DefaultTenant, f)
		if err != nil {
			t.Fatalf("Sessions(%+v): %v", f, err)
		}
		w, err := want.Sessions(t.Context(), apisessions.DefaultTenant, f)
		if err != nil {
			t.Fatalf("reference Sessions(%+v): %v", f, err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("Sessions(%+v): %d parts, reference %d:\n got %+v\nwant %+v", f, len(g.Sessions), len(w.Sessions), g, w)
		}
		if i == 0 {
			for _, s := range g.Sessions {
				total += s.RequestCount
			}
		}
	}
	if total != len(recs) {
		t.Fatalf("parts count %d requests, want %d", total, len(recs))
	}
	byPart := map[partKey][]apisessions.Record{}
	for _, r := range recs {
		byPart[partKey{r.SessionID, r.Day}] = append(byPart[partKey{r.SessionID, r.Day}], r)
	}
	for k, rs := range byPart {
		parts, err := got.Session(t.Context(), apisessions.DefaultTenant, k.session, k.day)
		if err != nil {
			t.Fatalf("Session(%s, %s): %v", k.session, k.day, err)
		}
		if want := storetest.ExpectedSession(rs); len(parts) != 1 || parts[0].RequestCount != want.RequestCount ||
			!parts[0].LastSeen.Equal(want.LastSeen) || parts[0].User != want.User {
			t.Fatalf("Session(%s, %s) = %+v, want %+v", k.session, k.day, parts, want)
		}
		sameRequests(t, got, k, rs)
	}
	sameTimeRanges(t, got, byPart)
}

// sameRequests fails unless the requests of part k are recs, in time
// order then by ID (the part's request lists, reqlist.go).
func sameRequests(t *testing.T, st apisessions.Store, k partKey, recs []apisessions.Record) {
	t.Helper()
	reqs, err := st.SessionRequests(t.Context(), apisessions.DefaultTenant, k.session, k.day)
	if err != nil {
		t.Fatalf("SessionRequests(%s, %s): %v", k.session, k.day, err)
	}
	want := slices.Clone(recs)
	slices.SortFunc(want, func(a, b apisessions.Record) int { return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.ID, b.ID)) })
	var gotIDs, wantIDs []string
	for i := range reqs {
		gotIDs = append(gotIDs, reqs[i].ID)
		if reqs[i].SessionID != k.session || reqs[i].Day != k.day {
			t.Fatalf("SessionRequests(%s, %s): request %s of %s on %s", k.session, k.day, reqs[i].ID, reqs[i].SessionID, reqs[i].Day)
		}
	}
	for i := range want {
		wantIDs = append(wantIDs, want[i].ID)
	}
	if !slices.Equal(gotIDs, wantIDs) {
		t.Fatalf("SessionRequests(%s, %s) = %v, want %v", k.session, k.day, gotIDs, wantIDs)
	}
}

// sameTimeRanges fails unless time filters find the parts of byPart with a
// request in range: ranges on a request, around it, and in the gaps
// between a part's requests, where a part's first and last request lie
// outside the range and its request lists decide.
func sameTimeRanges(t *testing.T, st apisessions.Store, byPart map[partKey][]apisessions.Record) {
	t.Helper()
	var ranges [][2]time.Time
	for _, rs := range byPart {
		times := make([]time.Time, 0, len(rs))
		for _, r := range rs {
			times = append(times, r.Time)
		}
		slices.SortFunc(times, time.Time.Compare)
		for i := 1; i < len(times) && len(ranges) < 40; i += 3 {
			ranges = append(ranges, [2]time.Time{times[i], times[i]},
				[2]time.Time{times[i].Add(-time.Millisecond), times[i].Add(time.Millisecond)})
			if gap := times[i].Sub(times[i-1]); gap > 2 {
				ranges = append(ranges, [2]time.Time{times[i-1].Add(1), times[i].Add(-1)})
			}
		}
	}
	for _, r := range ranges {
		want := map[partKey]bool{}
		for k, rs := range byPart {
			for _, q := range rs {
				if !q.Time.Before(r[0]) && !q.Time.After(r[1]) {
					want[k] = true
				}
			}
		}
		page, err := st.Sessions(t.Context(), apisessions.DefaultTenant, apisessions.SessionFilter{From: r[0], To: r[1]})
		if err != nil {
			t.Fatalf("Sessions(%v to %v): %v", r[0], r[1], err)
		}
		got := map[partKey]bool{}
		for _, s := range page.Sessions {
			got[partKey{s.ID, s.Day}] = true
		}
		if !maps.Equal(got, want) {
			t.Fatalf("Sessions(%v to %v): %d parts, want %d", r[0], r[1], len(got), len(want))
		}
	}
}

// distinctParts returns the part keys of recs.
func distinctParts(recs []apisessions.Record) map[partKey]bool {
	keys := map[partKey]bool{}
	for _, r := range recs {
		keys[partKey{r.SessionID, r.Day}] = true
	}
	return keys
}

func writeAll(tb testing.TB, st apisessions.Store, batches [][]apisessions.Record) {
	tb.Helper()
	for _, b := range batches {
		storetest.MustWrite(tb, st, apisessions.DefaultTenant, b)
	}
}

func split(recs []apisessions.Record, n int) [][]apisessions.Record {
	var out [][]apisessions.Record
	for lo := 0; lo < len(recs); lo += n {
		out = append(out, recs[lo:min(len(recs), lo+n)])
	}
	return out
}

// TestWriteBehindCrash: whatever the parts that were only in memory when
// the process died, reopening the store replays their requests, so the
// store lists what a cleanly closed one does.
func TestWriteBehindCrash(t *testing.T) {
	recs := storetest.Generate(7, "c-", 600, 40, 2)
	batches := split(recs, 60)
	tests := []struct {
		name string
		opts func() Options
		// readAfter is the number of batches after which a read flushes.
		readAfter int
		// unflushed says nothing is flushed before the crash.
		unflushed bool
	}{
		{"all parts in memory", behindOptions, 0, true},
		{"flushed by a read midway", behindOptions, len(batches) / 2, false},
		{"flushed by the part bound", func() Options { o := behindOptions(); o.FlushParts = 5; return o }, 0, false},
		{"flushed by the byte bound", func() Options { o := behindOptions(); o.FlushBytes = 20 << 10; return o }, 0, false},
		{"common values", func() Options { o := behindOptions(); o.FlushParts, o.CommonParts = 5, 2; return o }, 0, false},
	}
	ref := MustOpen(t)
	writeAll(t, ref, batches)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "store.db")
			st := openAt(t, path, tt.opts())
			for i, b := range batches {
				storetest.MustWrite(t, st, apisessions.DefaultTenant, b)
				if i+1 == tt.readAfter {
					if _, err := st.Sessions(t.Context(), apisessions.DefaultTenant, apisessions.SessionFilter{Limit: 1}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if tt.unflushed {
				// Nothing flushed: every part is pending, with no row.
				var stored, pending int
				if err := st.reader.QueryRow("SELECT (SELECT count(*) FROM parts), (SELECT count(*) FROM parts_pending)").Scan(&stored, &pending); err != nil {
					t.Fatal(err)
				}
				if stored != 0 || pending != len(distinctParts(recs)) {
					t.Fatalf("before the crash %d parts stored and %d pending, want 0 and %d", stored, pending, len(distinctParts(recs)))
				}
			}
			st.crash()
			st = openAt(t, path, tt.opts())
			defer st.Close()
			sameListings(t, st, ref, recs)
			var pending int
			if err := st.reader.QueryRow("SELECT count(*) FROM parts_pending").Scan(&pending); err != nil {
				t.Fatal(err)
			}
			if pending != 0 {
				t.Fatalf("after replay %d parts still pending", pending)
			}
			// A second replay finds nothing left to add.
			var flushed, last int64
			if err := st.reader.QueryRow("SELECT (SELECT rid FROM parts_flushed), (SELECT max(rid) FROM requests)").Scan(&flushed, &last); err != nil {
				t.Fatal(err)
			}
			if flushed != last {
				t.Fatalf("after replay parts are complete up to request %d, last request %d", flushed, last)
			}
		})
	}
}

// TestWriteBehindDrainCrash: parts that went quiet are stored by later
// batches ahead of the flush (drainable), each complete up to its upto;
// after a crash, replay adds to them only the requests they lack, some of
// which came after they were stored.
func TestWriteBehindDrainCrash(t *testing.T) { eachCommon(t, testWriteBehindDrainCrash) }

func testWriteBehindDrainCrash(t *testing.T, base Options) {
	recs := storetest.Generate(31, "dr-", 800, 60, 1)
	// Sessions one after the other, so that early parts go quiet; then a
	// few records of the early sessions again, after they were stored.
	slices.SortStableFunc(recs, func(a, b apisessions.Record) int { return strings.Compare(a.SessionID, b.SessionID) })
	late := storetest.Generate(32, "dr-late-", 30, 60, 1)
	for i := range late {
		late[i].SessionID, late[i].Day, late[i].Time = recs[i].SessionID, recs[i].Day, recs[i].Time.Add(time.Minute)
	}
	all := append(slices.Clone(recs), late...)
	ref := MustOpen(t)
	writeAll(t, ref, [][]apisessions.Record{all})

	o := base
	o.FlushParts = 100 // drains 10 quiet parts or more at a time; never full
	path := filepath.Join(t.TempDir(), "store.db")
	st := openAt(t, path, o)
	writeAll(t, st, split(all, 20))
	var stored, flushed, upto int64
	if err := st.reader.QueryRow(`SELECT (SELECT count(*) FROM parts), (SELECT rid FROM parts_flushed), (SELECT coalesce(max(upto), 0) FROM parts)`).Scan(&stored, &flushed, &upto); err != nil {
		t.Fatal(err)
	}
	if stored == 0 || flushed != 0 || upto == 0 {
		t.Fatalf("before the crash %d parts stored ahead of the flush (upto %d), flushed up to %d: want some, and no flush", stored, upto, flushed)
	}
	st.crash()
	st = openAt(t, path, o)
	defer st.Close()
	sameListings(t, st, ref, all)
}

// TestWriteBehindFailedWrite: a write whose transaction fails leaves no
// trace in the cached parts it had merged into.
func TestWriteBehindFailedWrite(t *testing.T) { eachCommon(t, testWriteBehindFailedWrite) }

func testWriteBehindFailedWrite(t *testing.T, base Options) {
	recs := storetest.Generate(8, "f-", 300, 20, 1)
	batches := split(recs, 50)
	ref := MustOpen(t)
	writeAll(t, ref, batches)

	st := openAt(t, filepath.Join(t.TempDir(), "store.db"), base)
	defer st.Close()
	if _, err := st.writer.Exec(`CREATE TEMP TRIGGER boom BEFORE INSERT ON requests WHEN NEW.id = 'boom'
		BEGIN SELECT RAISE(ABORT, 'refused by test'); END`); err != nil {
		t.Fatal(err)
	}
	for i, b := range batches {
		storetest.MustWrite(t, st, apisessions.DefaultTenant, b)
		if i == 2 {
			// The same sessions again (so cached parts merge the records
			// first), then a record the database refuses.
			bad := storetest.Generate(9, "bad-", 40, 20, 1)
			bad = append(bad, storetest.FullRecord("boom", bad[0].SessionID, bad[0].Time))
			if _, err := st.Write(t.Context(), apisessions.DefaultTenant, bad); err == nil {
				t.Fatal("write with a refused record succeeded")
			}
		}
	}
	sameListings(t, st, ref, recs)
}

// TestWriteBehindInterval: changed parts reach the file within the flush
// interval with no read or Close, so other processes see them.
func TestWriteBehindInterval(t *testing.T) {
	o := DefaultOptions()
	o.FlushInterval = 20 * time.Millisecond
	st := openAt(t, filepath.Join(t.TempDir(), "store.db"), o)
	defer st.Close()
	recs := storetest.Generate(10, "i-", 200, 10, 1)
	writeAll(t, st, split(recs, 50))
	deadline := time.Now().Add(20 * time.Second)
	for {
		var stored sql.NullInt64
		if err := st.reader.QueryRow("SELECT sum(requests) FROM parts").Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored.Int64 == int64(len(recs)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored parts count %d requests after %v, want %d", stored.Int64, 20*time.Second, len(recs))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWriteBehindClose: Close stores every changed part and records it, so
// the next Open has nothing to replay.
func TestWriteBehindClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	st := openAt(t, path, behindOptions())
	recs := storetest.Generate(11, "x-", 200, 10, 1)
	writeAll(t, st, split(recs, 50))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open(driverName, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var flushed, last, stored int64
	if err := db.QueryRow("SELECT (SELECT rid FROM parts_flushed), (SELECT max(rid) FROM requests), (SELECT sum(requests) FROM parts)").
		Scan(&flushed, &last, &stored); err != nil {
		t.Fatal(err)
	}
	if flushed != last || stored != int64(len(recs)) {
		t.Fatalf("after Close: parts complete up to request %d of %d, holding %d requests of %d", flushed, last, stored, len(recs))
	}
}

// TestWriteBehindConcurrentReads: reads running while batches are written
// see at least every record written before they started.
func TestWriteBehindConcurrentReads(t *testing.T) {
	st := openAt(t, filepath.Join(t.TempDir(), "store.db"), behindOptions())
	defer st.Close()
	recs := storetest.Generate(12, "r-", 400, 10, 1)
	batches := split(recs, 40)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		for i, b := range batches {
			if _, err := st.Write(ctx, apisessions.DefaultTenant, b); err != nil {
				errc <- err
				return
			}
			if _, err := st.Sessions(ctx, apisessions.DefaultTenant, apisessions.SessionFilter{}); err != nil {
				errc <- errors.New("read after batch " + strconv.Itoa(i) + ": " + err.Error())
				return
			}
		}
		errc <- nil
	}()
	written := 0
	for done := false; !done; {
		select {
		case err := <-errc:
			if err != nil {
				t.Fatal(err)
			}
			done = true
		default:
		}
		page, err := st.Sessions(t.Context(), apisessions.DefaultTenant, apisessions.SessionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range page.Sessions {
			n += s.RequestCount
		}
		if n < written {
			t.Fatalf("listing counts %d requests, fewer than the %d an earlier read saw", n, written)
		}
		written = n
	}
	page, err := st.Sessions(t.Context(), apisessions.DefaultTenant, apisessions.SessionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range page.Sessions {
		n += s.RequestCount
	}
	if n != len(recs) {
		t.Fatalf("listing counts %d requests, want %d", n, len(recs))
	}
}

// TestWriteBehindFailedFlush: a flush that fails (here the database
// refuses part updates; a cancelled read does the same) keeps the changed
// parts in memory, and a later flush stores them.
func TestWriteBehindFailedFlush(t *testing.T) { eachCommon(t, testWriteBehindFailedFlush) }

func testWriteBehindFailedFlush(t *testing.T, base Options) {
	recs := storetest.Generate(13, "ff-", 300, 20, 1)
	batches := split(recs, 50)
	ref := MustOpen(t)
	writeAll(t, ref, batches)

	st := openAt(t, filepath.Join(t.TempDir(), "store.db"), base)
	defer st.Close()
	writeAll(t, st, batches[:3])
	// The first batches create every part, which the flush inserts; the
	// later ones change them, which it updates.
	for _, event := range []string{"INSERT", "UPDATE"} {
		if _, err := st.writer.Exec(`CREATE TEMP TRIGGER refuse_` + event + ` BEFORE ` + event + ` ON parts
			BEGIN SELECT RAISE(ABORT, 'refused by test'); END`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Sessions(t.Context(), apisessions.DefaultTenant, apisessions.SessionFilter{}); err == nil {
		t.Fatal("listing succeeded though its flush was refused")
	}
	writeAll(t, st, batches[3:])
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := st.Session(cancelled, apisessions.DefaultTenant, recs[0].SessionID, ""); err == nil {
		t.Fatal("read with a cancelled context succeeded")
	}
	for _, trigger := range []string{"temp.refuse_INSERT", "temp.refuse_UPDATE"} {
		if _, err := st.writer.Exec(`DROP TRIGGER ` + trigger); err != nil {
			t.Fatal(err)
		}
	}
	sameListings(t, st, ref, recs)
}

// TestWriteBehindMigration: a store written before write-behind (schema
// version 2, parts complete for every request) opens with nothing to
// replay: its parts keep their counts.
func TestWriteBehindMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db := oldStore(t, path, 2)
	// One part of three requests, stored as version 2 stored them.
	recs := storetest.Generate(14, "m-", 3, 1, 1)
	p := newPart(recs[0].SessionID, recs[0].Day)
	for i := range recs {
		p.add(&recs[i])
	}
	if _, err := db.Exec(`INSERT INTO tenants (id, name) VALUES (1, ?)`, apisessions.DefaultTenant); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO parts (pid, tenant, session, day, first_ns, last_ns, requests, attacks, blocked, agg)
		VALUES (1, 1, ?, ?, ?, ?, ?, ?, ?, ?)`, p.session, p.day, p.first, p.last, p.requests, p.attacks, p.blocked, p.appendAggregate(nil)); err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		r := &recs[i]
		if _, err := db.Exec(`INSERT INTO requests (pid, t, tenant, id, data) VALUES (1, ?, 1, ?, ?)`,
			r.Time.UnixNano(), r.ID, appendRecord(nil, r, nil)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	st := openAt(t, path, behindOptions())
	defer st.Close()
	got, err := st.Session(t.Context(), apisessions.DefaultTenant, recs[0].SessionID, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := storetest.ExpectedSession(recs); len(got) != 1 || got[0].RequestCount != want.RequestCount {
		t.Fatalf("after migration Session = %+v, want %d requests", got, want.RequestCount)
	}
	// New writes merge into the migrated part.
	more := storetest.Generate(15, "m2-", 2, 1, 1)
	for i := range more {
		more[i].SessionID, more[i].Day = recs[0].SessionID, recs[0].Day
		more[i].Time = recs[0].Time.Add(time.Duration(i+1) * time.Second)
	}
	storetest.MustWrite(t, st, apisessions.DefaultTenant, more)
	got, err = st.Session(t.Context(), apisessions.DefaultTenant, recs[0].SessionID, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := storetest.ExpectedSession(append(slices.Clone(recs), more...)); len(got) != 1 || got[0].RequestCount != want.RequestCount || !got[0].LastSeen.Equal(want.LastSeen) {
		t.Fatalf("after a write Session = %+v, want %+v", got, want)
	}
}

// TestWriteBehindPendingMigration: a store of schema version 4, which
// stored a new part at once with the last rowid of its batch (upto), and
// crashed before the next flush, opens at the current version with the
// part's later requests replayed once and its filter values stored.
func TestWriteBehindPendingMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db := oldStore(t, path, 4)
	recs := storetest.Generate(17, "u-", 5, 1, 1)
	// The part as its batch created it: complete up to the third request
	// (rowid 3), without part_vids rows; two more requests after it.
	p := newPart(recs[0].SessionID, recs[0].Day)
	for i := range recs[:3] {
		p.add(&recs[i])
	}
	if _, err := db.Exec(`INSERT INTO tenants (id, name) VALUES (1, ?)`, apisessions.DefaultTenant); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO parts (pid, tenant, session, day, first_ns, last_ns, requests, attacks, blocked, agg, upto)
		VALUES (1, 1, ?, ?, ?, ?, ?, ?, ?, ?, 3)`, p.session, p.day, p.first, p.last, p.requests, p.attacks, p.blocked, p.appendAggregate(nil)); err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		r := &recs[i]
		if _, err := db.Exec(`INSERT INTO requests (rid, pid, t, tenant, id, data) VALUES (?, 1, ?, 1, ?, ?)`,
			i+1, r.Time.UnixNano(), r.ID, appendRecord(nil, r, nil)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	st := openAt(t, path, behindOptions())
	defer st.Close()
	ref := MustOpen(t)
	writeAll(t, ref, [][]apisessions.Record{recs})
	sameListings(t, st, ref, recs)
	// New parts after the migration wait in parts_pending and are stored
	// by the next read.
	more := storetest.Generate(18, "u2-", 40, 4, 1)
	storetest.MustWrite(t, st, apisessions.DefaultTenant, more)
	storetest.MustWrite(t, ref, apisessions.DefaultTenant, more)
	sameListings(t, st, ref, append(slices.Clone(recs), more...))
}

// TestWriteBehindDeleteDayCrash: after DeleteDay removes the newest
// requests, new requests take their rowids again; a crash then must still
// replay them into their parts.
func TestWriteBehindDeleteDayCrash(t *testing.T) { eachCommon(t, testWriteBehindDeleteDayCrash) }

func testWriteBehindDeleteDayCrash(t *testing.T, base Options) {
	recs := storetest.Generate(16, "d-", 200, 10, 2)
	days := map[string][]apisessions.Record{}
	for _, r := range recs {
		days[r.Day] = append(days[r.Day], r)
	}
	var older, newer string
	for d := range days {
		if older == "" || d < older {
			older = d
		}
		if d > newer {
			newer = d
		}
	}
	if older == newer {
		t.Fatal("generated records span one day")
	}
	// A part of the older day that a batch creates before requests of the
	// newer day: its upto is past the rowids that remain after DeleteDay.
	special := func(id string, d time.Duration) apisessions.Record {
		r := storetest.FullRecord(id, "special", days[older][0].Time.Add(d))
		r.Day = older
		return r
	}
	half := len(days[older]) / 2
	batches := append(split(days[older][:half], 40), append([]apisessions.Record{special("special-1", 0)}, days[newer]...))
	later := append(slices.Clone(days[older][half:]), special("special-2", time.Second))
	kept := append(slices.Clone(days[older]), special("special-1", 0), special("special-2", time.Second))

	ref := MustOpen(t)
	writeAll(t, ref, [][]apisessions.Record{kept})

	path := filepath.Join(t.TempDir(), "store.db")
	st := openAt(t, path, base)
	writeAll(t, st, batches)
	if err := st.DeleteDay(t.Context(), newer); err != nil {
		t.Fatal(err)
	}
	writeAll(t, st, split(later, 40))
	st.crash()
	st = openAt(t, path, base)
	defer st.Close()
	sameListings(t, st, ref, kept)
}

// TestWriteBehindKeepsParts: a flush by a read (or the interval) keeps the
// parts cached clean, so later batches of the same sessions load none; a
// flush that the cache bounds force empties the cache. Either way the store
// lists what a reference store does.
func TestWriteBehindKeepsParts(t *testing.T) {
	recs := storetest.Generate(13, "k-", 900, 60, 1)
	batches := split(recs, 30)
	ref := MustOpen(t)
	writeAll(t, ref, batches)
	cached := func(st *Store) (parts, dirty int) {
		st.wmu.Lock()
		defer st.wmu.Unlock()
		return len(st.cache.parts), len(st.cache.dirty)
	}

	t.Run("read", func(t *testing.T) {
		st := openAt(t, filepath.Join(t.TempDir(), "store.db"), behindOptions())
		defer st.Close()
		half := len(batches) / 2
		writeAll(t, st, batches[:half])
		before, _ := cached(st)
		if err := st.sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		if parts, dirty := cached(st); parts != before || dirty != 0 {
			t.Fatalf("after a flush by a read: %d parts cached (%d before), %d dirty", parts, before, dirty)
		}
		writeAll(t, st, batches[half:])
		sameListings(t, st, ref, recs)
	})
	t.Run("bounds", func(t *testing.T) {
		o := behindOptions()
		o.FlushParts = 20
		st := openAt(t, filepath.Join(t.TempDir(), "store.db"), o)
		defer st.Close()
		for _, b := range batches {
			storetest.MustWrite(t, st, apisessions.DefaultTenant, b)
			if parts, _ := cached(st); parts > o.FlushParts {
				t.Fatalf("cache holds %d parts after a write, bound %d", parts, o.FlushParts)
			}
		}
		sameListings(t, st, ref, recs)
	})
}
