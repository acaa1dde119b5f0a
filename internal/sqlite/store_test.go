package sqlite

import (
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// MustOpen opens a new store in a temporary directory, closed at cleanup.
func MustOpen(tb testing.TB) *Store {
	tb.Helper()
	st, err := Open(tb.Context(), filepath.Join(tb.TempDir(), "store.db"), DefaultOptions())
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) apisessions.Store { return MustOpen(t) })
}

// TestConnectionSettings: each connection has the settings Open gives it,
// whichever driver the build uses (driver_cgo.go). The writer has a page
// cache of its own size and no memory map, so an import's memory does not
// grow with the file; readers keep theirs and cannot write. A new file has
// the page size of the options and is in WAL mode.
func TestConnectionSettings(t *testing.T) {
	o := DefaultOptions()
	o.WriterCacheKiB, o.CacheKiB, o.MmapBytes, o.PageSize = 4096, 8192, 1<<20, 8192
	o.BusyTimeout = 1234 * time.Millisecond
	path := filepath.Join(t.TempDir(), "store.db")
	st, err := Open(t.Context(), path, o)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	type conn interface{ QueryRow(string, ...any) *sql.Row }
	pragma := func(db conn, name string) string {
		t.Helper()
		var v string
		if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	for _, c := range []struct {
		name string
		db   conn
		want map[string]string
	}{
		{"writer", st.writer, map[string]string{
			"cache_size": "-4096", "mmap_size": "0", "page_size": "8192", "journal_mode": "wal",
			"synchronous": "1", "busy_timeout": "1234", "temp_store": "2", "query_only": "0",
			"wal_autocheckpoint": strconv.Itoa(walFallback * o.MaxWALFrames),
		}},
		{"reader", st.reader, map[string]string{
			"cache_size": "-8192", "mmap_size": "1048576", "busy_timeout": "1234", "temp_store": "2", "query_only": "1",
		}},
		{"checkpointer", st.ckpt, map[string]string{"cache_size": "-1024", "mmap_size": "0", "busy_timeout": "1234"}},
	} {
		for name, want := range c.want {
			if got := pragma(c.db, name); got != want {
				t.Errorf("%s: %s = %s, want %s", c.name, name, got, want)
			}
		}
	}
	if _, err := st.reader.Exec("CREATE TABLE t (x)"); err == nil {
		t.Error("a reader connection could write")
	}
	// The writer's transactions take the write lock when they begin
	// (_txlock=immediate), so another writer cannot start one meanwhile.
	tx, err := st.writer.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	other, err := sql.Open(driverName, path+"?_busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec("BEGIN IMMEDIATE"); err == nil {
		t.Error("another connection began a write transaction while the writer's was open")
	}
}

// TestWriteTimeOffDay: a record whose time lies outside its day in every
// timezone is refused, also after a record of the same day whose parsed
// start the check keeps.
func TestWriteTimeOffDay(t *testing.T) {
	st := MustOpen(t)
	good := storetest.Generate(19, "od-", 1, 1, 1)[0]
	for _, shift := range []time.Duration{-15 * time.Hour, 39 * time.Hour} {
		day, _ := time.Parse("2006-01-02", good.Day)
		bad := good
		bad.ID, bad.Time = "od-bad", day.Add(shift)
		_, err := st.Write(t.Context(), apisessions.DefaultTenant, []apisessions.Record{good, bad})
		if apisessions.ErrorCode(err) != apisessions.EINVALID {
			t.Fatalf("time %s on day %s: error %v, want %s", bad.Time, bad.Day, err, apisessions.EINVALID)
		}
	}
	// The bounds themselves are on the day.
	day, _ := time.Parse("2006-01-02", good.Day)
	early, late := good, good
	early.ID, early.Time = "od-early", day.Add(-14*time.Hour)
	late.ID, late.Time = "od-late", day.Add(38*time.Hour-time.Nanosecond)
	storetest.MustWrite(t, st, apisessions.DefaultTenant, []apisessions.Record{good, early, late})
}

// TestWriterStatementsPrepared: writes of any size run only multi-row
// statements the writer prepared at Open (stmtChunks, writerQueries).
func TestWriterStatementsPrepared(t *testing.T) {
	o := DefaultOptions()
	o.FlushParts = 100
	o.CommonParts = 5
	st := openAt(t, filepath.Join(t.TempDir(), "store.db"), o)
	defer st.Close()
	recs := storetest.Generate(61, "p-", 3000, 300, 2)
	writeAll(t, st, split(recs, 777))
	writeAll(t, st, split(recs[:50], 7)) // already stored
	if err := st.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st.uncached != 0 {
		t.Fatalf("writes prepared %d statements", st.uncached)
	}
}

// TestSessionReader: a store opened to read sessions while another process
// writes them leaves that process's parts alone (no replay of the requests
// it has not merged into stored parts yet), reads what it stored, and
// refuses session writes; the writer goes on undisturbed.
func TestSessionReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	st := openAt(t, path, behindOptions())
	defer st.Close()
	recs := storetest.Generate(71, "sr-", 600, 30, 1)
	writeAll(t, st, split(recs[:300], 100))
	if err := st.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	writeAll(t, st, split(recs[300:], 100)) // merged in st's memory only
	unmerged := func(s *Store) (flushed int64, after int) {
		t.Helper()
		if err := s.reader.QueryRow(`SELECT f.rid, (SELECT count(*) FROM requests WHERE rid > f.rid) FROM parts_flushed f`).Scan(&flushed, &after); err != nil {
			t.Fatal(err)
		}
		return flushed, after
	}
	flushed, pending := unmerged(st)
	if pending == 0 {
		t.Fatal("no request waits to be merged into stored parts")
	}

	o := behindOptions()
	o.SessionReader = true
	rd := openAt(t, path, o)
	defer rd.Close()
	if f, after := unmerged(rd); f != flushed || after != pending {
		t.Fatalf("opening to read merged requests into stored parts: %d waiting after rowid %d, was %d after %d", after, f, pending, flushed)
	}
	if _, err := rd.Write(t.Context(), apisessions.DefaultTenant, recs[:1]); !errors.Is(err, errSessionReader) {
		t.Fatalf("Write: %v", err)
	}
	if err := rd.DeleteDay(t.Context(), recs[0].Day); !errors.Is(err, errSessionReader) {
		t.Fatalf("DeleteDay: %v", err)
	}
	// The writer stores its parts; the reader sees them all.
	if err := st.flush(t.Context()); err != nil {
		t.Fatalf("writer flush after a reader opened: %v", err)
	}
	ref := MustOpen(t)
	writeAll(t, ref, [][]apisessions.Record{recs})
	sameListings(t, rd, ref, recs)
	sameStored(t, rd, recs)
}

// TestSessionReaderNoMigration: a store opened to read sessions does not
// upgrade the file under the process that writes it.
func TestSessionReaderNoMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	oldStore(t, path, 8).Close()
	o := DefaultOptions()
	o.SessionReader = true
	if st, err := Open(t.Context(), path, o); err == nil {
		st.Close()
		t.Fatal("opened an older store to read sessions")
	}
	db := oldDB(t, path)
	defer db.Close()
	var v int
	if err := db.QueryRow("SELECT max(version) FROM schema_version").Scan(&v); err != nil || v != 8 {
		t.Fatalf("schema version %d (%v), want 8", v, err)
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, tt := range []struct {
		p, end string
		ok     bool
	}{
		{"a", "b", true}, {"40c5", "40c6", true}, {"a\xff", "b", true}, {"\xff\xff", "", false},
	} {
		if end, ok := prefixEnd(tt.p); end != tt.end || ok != tt.ok {
			t.Errorf("prefixEnd(%q) = %q, %v; want %q, %v", tt.p, end, ok, tt.end, tt.ok)
		}
	}
}
