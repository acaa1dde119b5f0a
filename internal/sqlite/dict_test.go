package sqlite

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// sameStored fails unless st returns every record of recs as written, field
// for field (its inline encoding, which holds every field but the
// columns, and the columns).
func sameStored(t *testing.T, st *Store, recs []apisessions.Record) {
	t.Helper()
	for _, want := range recs {
		got, err := st.Request(t.Context(), apisessions.DefaultTenant, want.ID)
		if err != nil {
			t.Fatalf("Request(%s): %v", want.ID, err)
		}
		if !bytes.Equal(appendRecord(nil, &got, nil), appendRecord(nil, &want, nil)) || !got.Time.Equal(want.Time) ||
			got.SessionID != want.SessionID || got.Day != want.Day {
			t.Fatalf("Request(%s):\n got %+v\nwant %+v", want.ID, got, want)
		}
	}
}

// storedBytes returns the bytes of the stored records.
func storedBytes(t *testing.T, st *Store) int {
	t.Helper()
	var n int
	if err := st.reader.QueryRow("SELECT coalesce(sum(length(data)), 0) FROM requests").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDictionary: once a string has been seen promoteAt times, records
// refer to it by number; records read back as written, in this process and
// in another that opens the file while this one writes.
func TestDictionary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	st := openAt(t, path, behindOptions())
	defer st.Close()
	recs := storetest.Generate(51, "d-", 1200, 40, 1)
	first, rest := recs[:1], recs[1:]
	writeAll(t, st, [][]apisessions.Record{first})
	// Another process's view, opened before most strings are numbered.
	// (It reads what this one has flushed.)
	if err := st.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	other := openAt(t, path, behindOptions())
	defer other.Close()
	known := len(other.dict.strs)
	before, inline := storedBytes(t, st), 0
	for i := range rest {
		inline += len(appendRecord(nil, &rest[i], nil))
	}
	writeAll(t, st, split(rest, 100))
	if len(st.dict.ids) < 20 {
		t.Fatalf("%d strings numbered", len(st.dict.ids))
	}
	if stored := storedBytes(t, st) - before; stored*10 > inline*6 {
		t.Fatalf("records take %d bytes with the dictionary, %d without: want 40%% less", stored, inline)
	}
	t.Logf("%d strings; %d bytes a record, %d inline", len(st.dict.ids), (storedBytes(t, st)-before)/len(rest), inline/len(rest))
	sameStored(t, st, recs)
	if err := st.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	sameStored(t, other, recs)
	if len(other.dict.strs) <= known || len(other.dict.ids) != known {
		t.Fatalf("the other process knew %d strings, looked up %d more, may number %d", known, len(other.dict.strs)-known, len(other.dict.ids))
	}
	ref := MustOpen(t)
	writeAll(t, ref, [][]apisessions.Record{recs})
	sameListings(t, other, ref, recs)

	// A new Store finds the dictionary stored.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	again := openAt(t, path, behindOptions())
	defer again.Close()
	if len(again.dict.ids) != len(st.dict.ids) {
		t.Fatalf("reopened: %d strings, want %d", len(again.dict.ids), len(st.dict.ids))
	}
	sameStored(t, again, recs)
}

// TestDictionaryRetention: DeleteDay deletes the strings that only the
// deleted days' records used, and keeps the others; a batch encoded before
// the deletion with a deleted string is encoded again.
func TestDictionaryRetention(t *testing.T) {
	st := openAt(t, filepath.Join(t.TempDir(), "store.db"), behindOptions())
	defer st.Close()
	day1 := storetest.Generate(52, "r1-", 300, 10, 1)
	day2 := storetest.Generate(53, "r2-", 300, 10, 1)
	shift := func(recs []apisessions.Record, d time.Duration, ua string) {
		for i := range recs {
			r := &recs[i]
			r.Time = r.Time.Add(d)
			r.Day = r.Time.UTC().Format(time.DateOnly)
			if ua != "" {
				r.UserAgent = ua
			}
		}
	}
	shift(day1, 0, "only-day-1/1.0")
	shift(day2, 24*time.Hour, "")
	if day1[0].Day == day2[0].Day {
		t.Fatal("one day")
	}
	writeAll(t, st, split(day1, 50))
	writeAll(t, st, split(day2, 50))
	numbered := func(s string) bool {
		st.dict.mu.RLock()
		defer st.dict.mu.RUnlock()
		_, ok := st.dict.ids[s]
		return ok
	}
	if !numbered("only-day-1/1.0") || !numbered(day2[0].Host) {
		t.Fatal("strings not numbered")
	}
	old := st.dict.ids["only-day-1/1.0"]
	// A batch of the first day's User-Agent, encoded before the day is
	// deleted and written after.
	late := storetest.Generate(54, "r3-", 20, 2, 1)
	shift(late, 24*time.Hour, "only-day-1/1.0")
	afterEncode = func() {
		afterEncode = nil
		if err := st.DeleteDay(t.Context(), day1[0].Day); err != nil {
			t.Error(err)
		}
	}
	defer func() { afterEncode = nil }()
	storetest.MustWrite(t, st, apisessions.DefaultTenant, late)
	// The late batch numbers the User-Agent again, under a new number.
	if st.dict.ids["only-day-1/1.0"] == old || !numbered(day2[0].Host) {
		t.Fatal("after DeleteDay: the first day's User-Agent kept its number, or the second day's host lost its")
	}
	var stale int
	if err := st.reader.QueryRow("SELECT count(*) FROM strings WHERE day < ? OR sid = ?", day2[0].Day, old).Scan(&stale); err != nil || stale != 0 {
		t.Fatalf("%d strings of the deleted day left (%v)", stale, err)
	}
	sameStored(t, st, slices.Concat(day2, late))
}

// TestDictionaryBounds: strings seen too rarely to be numbered take bounded
// memory, and long ones are never candidates.
func TestDictionaryBounds(t *testing.T) {
	d := newStringDict()
	var b dictBatch
	for i := range 3 * maxCandidates {
		if _, ok := b.ref(fmt.Sprintf("agent-%d", i)); ok {
			t.Fatal("numbered")
		}
	}
	b.ref(string(make([]byte, maxDictLen+1)))
	if len(b.misses) != 3*maxCandidates {
		t.Fatalf("%d candidates, want %d", len(b.misses), 3*maxCandidates)
	}
	if _, err := d.update(t.Context(), nil, &b, "2026-11-27"); err != nil {
		t.Fatal(err)
	}
	if len(d.seen) > maxCandidates {
		t.Fatalf("%d candidates kept, bound %d", len(d.seen), maxCandidates)
	}
}

// dayRecords returns n records of one session on day, all with the
// User-Agent ua.
func dayRecords(prefix, day string, n int, ua string) []apisessions.Record {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		panic(err)
	}
	var out []apisessions.Record
	for i := range n {
		out = append(out, apisessions.Record{ID: fmt.Sprintf("%s-%d", prefix, i), SessionID: prefix + "-s", Day: day,
			Time: d.Add(time.Hour + time.Duration(i)*time.Second), Method: "GET", Host: "h", Path: "/", Endpoint: "/", UserAgent: ua})
	}
	return out
}

// TestDictionaryStaleBatch: a batch encoded before a string is numbered
// and written after later days' records use the number must not move the
// string's day back, or retention would delete it under those records.
func TestDictionaryStaleBatch(t *testing.T) {
	st := openAt(t, filepath.Join(t.TempDir(), "store.db"), behindOptions())
	defer st.Close()
	const ua = "agent-X/1.0"
	stale := dayRecords("b", "2026-01-01", 3, ua)
	encoded, release := make(chan struct{}), make(chan struct{})
	afterEncode = func() {
		afterEncode = nil
		close(encoded)
		<-release
	}
	defer func() { afterEncode = nil }()
	done := make(chan error)
	go func() {
		_, err := st.Write(t.Context(), apisessions.DefaultTenant, stale)
		done <- err
	}()
	<-encoded
	storetest.MustWrite(t, st, apisessions.DefaultTenant, dayRecords("a", "2026-01-01", 3, ua)) // numbers the string
	third := dayRecords("d", "2026-01-03", 3, ua)
	storetest.MustWrite(t, st, apisessions.DefaultTenant, third) // refers to it
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	storetest.MustWrite(t, st, apisessions.DefaultTenant, dayRecords("c", "2026-01-02", 3, ua))
	for _, d := range []string{"2026-01-01", "2026-01-02"} {
		if err := st.DeleteDay(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	var day string
	if err := st.reader.QueryRow("SELECT day FROM strings WHERE s = ?", ua).Scan(&day); err != nil || day != "2026-01-03" {
		t.Fatalf("the User-Agent's day is %q (%v), want 2026-01-03", day, err)
	}
	sameStored(t, st, third)
}
