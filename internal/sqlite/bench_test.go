package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// benchBatch makes batch i of an import-like stream: batch records over
// sessions sessions with real-sized IDs (64 hex digits for sessions, 36
// characters for requests), times rising from batch to batch.
func benchBatch(i, batch, sessions int) []apisessions.Record {
	recs := storetest.Generate(uint64(i)+1, fmt.Sprintf("b%06d-", i), batch, sessions, 1)
	start := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	for j := range recs {
		r := &recs[j]
		n, _ := strconv.Atoi(r.SessionID[len("sess-"):])
		r.SessionID = fmt.Sprintf("%064x", uint64(n)*0x9e3779b97f4a7c15)
		r.ID = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, j)
		r.Time = start.Add(time.Duration(j) * time.Second / time.Duration(batch))
		r.Day = r.Time.Format("2006-01-02")
	}
	return recs
}

// cpuTime is the CPU time the process has used. The machine is shared, so
// records per CPU second is the steadier figure; records/s is wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// storeBytes is the size of the store's files.
func storeBytes(tb testing.TB, dir string) int64 {
	var n int64
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// BenchmarkWrite measures Write in import-sized batches: b.N records in
// batches of 5,000 over 50,000 sessions. Run with -benchtime=Nx to set the
// record count (e.g. 500000x).
func BenchmarkWrite(b *testing.B) {
	for _, batch := range []int{5000, 10000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			dir := b.TempDir()
			st, err := Open(b.Context(), filepath.Join(dir, "store.db"), DefaultOptions())
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			b.ResetTimer()
			var elapsed, cpu time.Duration
			for i := 0; i*batch < b.N; i++ {
				b.StopTimer()
				recs := benchBatch(i, min(batch, b.N-i*batch), 50000)
				b.StartTimer()
				t0, c0 := time.Now(), cpuTime()
				if _, err := st.Write(b.Context(), apisessions.DefaultTenant, recs); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(t0)
				cpu += cpuTime() - c0
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
			if _, err := st.writer.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(storeBytes(b, dir))/float64(b.N), "B/record")
		})
	}
}
