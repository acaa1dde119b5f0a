package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// TestCancelledWrites: writes whose context ends while they run store
// nothing of theirs, and leave the store as one that never saw them, before
// and after a reopen. (Statements the writer runs at the driver level must
// not outlive a rollback that database/sql would start on its own.)
func TestCancelledWrites(t *testing.T) {
	recs := storetest.Generate(8, "c-", 300, 20, 1)
	ref := MustOpen(t)
	path := filepath.Join(t.TempDir(), "store.db")
	o := behindOptions()
	o.FlushParts = 5 // parts are stored by most writes
	st := openAt(t, path, o)
	kept, failed := recs, 0
	for i, b := range split(recs, 50) {
		storetest.MustWrite(t, st, apisessions.DefaultTenant, b)
		storetest.MustWrite(t, ref, apisessions.DefaultTenant, b)
		for k := range 12 {
			cut := storetest.Generate(uint64(100+i*12+k), fmt.Sprintf("x%d-%d-", i, k), 400, 40, 1)
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(time.Duration(k*200)*time.Microsecond, cancel)
			if _, err := st.Write(ctx, apisessions.DefaultTenant, cut); err != nil {
				failed++
			} else {
				storetest.MustWrite(t, ref, apisessions.DefaultTenant, cut)
				kept = append(kept, cut...)
			}
			cancel()
		}
	}
	if failed == 0 {
		t.Fatal("no write was cancelled: the test proves nothing")
	}
	sameListings(t, st, ref, kept)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openAt(t, path, o)
	defer st.Close()
	sameListings(t, st, ref, kept)
}

// TestWriterConnectionFault: a driver that reports a bad connection, or
// panics, in the middle of a write fails that write, rather than hanging it
// (database/sql would wait for the open transaction to close the
// connection); the connection is discarded with its statements, and the
// next writes store everything.
func TestWriterConnectionFault(t *testing.T) {
	for _, fault := range []string{"bad connection", "panic"} {
		t.Run(fault, func(t *testing.T) {
			dir := t.TempDir()
			// Not closed on failure: a write that hangs holds the writer.
			st := openAt(t, filepath.Join(dir, "store.db"), behindOptions())
			ref := MustOpen(t)
			recs := storetest.Generate(3, "f-", 600, 30, 1)
			batches := split(recs, 100)
			writeAll(t, st, batches[:1])
			writeAll(t, ref, batches[:1])
			files := storeFiles(t, dir)
			for i, b := range batches[1:] {
				fired := false // at the write's first statement
				execFault = func() error {
					if fired {
						return nil
					}
					fired = true
					if fault == "panic" {
						panic("driver fault")
					}
					return driver.ErrBadConn
				}
				done := make(chan error, 1)
				go func() {
					_, err := st.Write(t.Context(), apisessions.DefaultTenant, b)
					done <- err
				}()
				select {
				case err := <-done:
					if err == nil || !strings.Contains(err.Error(), fault) {
						t.Fatalf("write %d: error %v, want one that says %q", i, err, fault)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("write %d hangs after the driver's fault", i)
				}
				execFault = nil
				writeAll(t, st, [][]apisessions.Record{b})
				writeAll(t, ref, [][]apisessions.Record{b})
			}
			// A connection holds two files (database and WAL); the
			// checkpointer may have opened its own meanwhile.
			runtime.GC()
			if got := storeFiles(t, dir); got > files+2 {
				t.Errorf("the store has %d files open after %d discarded connections, %d before", got, len(batches)-1, files)
			}
			sameListings(t, st, ref, recs)
			if err := st.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	execFault = nil
}

// storeFiles counts the files under dir this process has open.
func storeFiles(t *testing.T, dir string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, dir) {
			n++
		}
	}
	return n
}
