package sqlite

import (
	"database/sql"
	"path/filepath"
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

// TestConnectionMemory: the writer has a page cache of its own size and no
// memory map, so an import's memory does not grow with the file; readers
// keep theirs.
func TestConnectionMemory(t *testing.T) {
	o := DefaultOptions()
	o.WriterCacheKiB, o.CacheKiB, o.MmapBytes = 4096, 8192, 1<<20
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "store.db"), o)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, c := range []struct {
		name        string
		db          interface{ QueryRow(string, ...any) *sql.Row }
		cache, mmap int64
	}{
		{"writer", st.writer, -4096, 0},
		{"reader", st.reader, -8192, 1 << 20},
	} {
		var cache, mmap int64
		if err := c.db.QueryRow("PRAGMA cache_size").Scan(&cache); err != nil {
			t.Fatal(err)
		}
		if err := c.db.QueryRow("PRAGMA mmap_size").Scan(&mmap); err != nil {
			t.Fatal(err)
		}
		if cache != c.cache || mmap != c.mmap {
			t.Errorf("%s: cache_size %d, mmap_size %d; want %d, %d", c.name, cache, mmap, c.cache, c.mmap)
		}
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
