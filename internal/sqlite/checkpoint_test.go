package sqlite

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// copyFile copies src to dst; a missing src copies nothing.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointBoundsWAL: the writer never checkpoints, yet over a long
// run of writes the checkpoint goroutine keeps the WAL within its bound;
// the records survive a reopen, and a copy of the files taken midway (what
// a killed process leaves: database file and WAL) opens to what was
// committed.
func TestCheckpointBoundsWAL(t *testing.T) {
	recs := storetest.Generate(11, "w-", 16000, 300, 1)
	batches := split(recs, 100)
	o := DefaultOptions()
	o.PageSize = 4096
	o.MaxWALFrames = 16
	o.FlushParts = 50
	dir := t.TempDir()
	path := filepath.Join(dir, "store.db")
	st := openAt(t, path, o)

	var auto int
	if err := st.writer.QueryRow("PRAGMA wal_autocheckpoint").Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != walFallback*o.MaxWALFrames {
		t.Fatalf("writer wal_autocheckpoint = %d, want %d", auto, walFallback*o.MaxWALFrames)
	}

	frame := int64(o.PageSize + 24)
	var peak, dbPeak int64
	mid := len(batches) / 2
	snap := filepath.Join(t.TempDir(), "snap.db")
	for i, b := range batches {
		storetest.MustWrite(t, st, apisessions.DefaultTenant, b)
		if fi, err := os.Stat(path + "-wal"); err == nil {
			peak = max(peak, fi.Size())
		}
		if i+1 == mid {
			// Holding the writer, the files are as a crash now would
			// leave them, whatever checkpoint runs.
			st.wmu.Lock()
			copyFile(t, path+"-wal", snap+"-wal")
			copyFile(t, path, snap)
			st.wmu.Unlock()
		}
	}
	if fi, err := os.Stat(path); err == nil {
		dbPeak = fi.Size()
	}
	// The writer's own bound and a few transactions' worth of frames (a
	// batch of 100 records and a flush of 50 parts take a few dozen; on a
	// busy machine the writer may commit several while the goroutine's
	// checkpoint keeps its own from running). Without checkpoints the WAL
	// would hold every page written: more than the store itself.
	bound := (walFallback*int64(o.MaxWALFrames) + 300) * frame
	if peak > bound {
		t.Errorf("WAL reached %d bytes (%d frames), bound %d frames", peak, peak/frame, bound/frame)
	}
	if dbPeak < 2*bound {
		t.Fatalf("the store is %d bytes: too small to show the WAL bounded (%d)", dbPeak, bound)
	}
	if st.ckptRuns.Load() == 0 {
		t.Fatalf("checkpoints: %d passive, %d holding the writer; want some of each", st.ckptRuns.Load(), st.ckptBounded.Load())
	}
	t.Logf("WAL peak %d frames of %d bytes (bound %d); store %d bytes; %d checkpoints, %d holding the writer",
		peak/frame, frame, o.MaxWALFrames, dbPeak, st.ckptRuns.Load(), st.ckptBounded.Load())
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	ref := MustOpen(t)
	writeAll(t, ref, batches)
	st = openAt(t, path, o)
	sameListings(t, st, ref, recs)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	half := MustOpen(t)
	writeAll(t, half, batches[:mid])
	st = openAt(t, snap, o)
	defer st.Close()
	sameListings(t, st, half, recs[:mid*100])
}
