package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/cputime"
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
// batches of 5,000 over 50,000 sessions, and the final store of the parts
// that writes kept in memory (write-behind). Run with -benchtime=Nx to set the
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
				t0, c0 := time.Now(), cputime.Process()
				if _, err := st.Write(b.Context(), apisessions.DefaultTenant, recs); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(t0)
				cpu += cputime.Process() - c0
			}
			// The parts still in memory are part of the cost: store them.
			t0, c0 := time.Now(), cputime.Process()
			if err := st.flush(b.Context()); err != nil {
				b.Fatal(err)
			}
			elapsed += time.Since(t0)
			cpu += cputime.Process() - c0
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
			// The checkpoint goroutine may hold the checkpoint lock: retry
			// until the WAL is truncated, so the size counts the store only.
			for try := 0; ; try++ {
				var busy, log, copied int
				if err := st.writer.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &log, &copied); err != nil {
					b.Fatal(err)
				}
				if busy == 0 {
					break
				}
				if try == 100 {
					b.Fatal("WAL not truncated: checkpoint busy")
				}
				time.Sleep(10 * time.Millisecond)
			}
			b.ReportMetric(float64(storeBytes(b, dir))/float64(b.N), "B/record")
		})
	}
}

// listStore builds a store of about parts session day parts over 7 days
// (two records a part on average) for the listing benchmark, with ten
// parts of a rare user so selective filters have something to find. The
// size is APISESSIONS_BENCH_PARTS when set (the figure is 500,000).
func listStore(b *testing.B) (*Store, int) {
	parts := 50000
	if v, err := strconv.Atoi(os.Getenv("APISESSIONS_BENCH_PARTS")); err == nil && v > 0 {
		parts = v
	}
	st, err := Open(b.Context(), filepath.Join(b.TempDir(), "store.db"), DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	const batch = 10000
	for i := 0; i*batch < 2*parts; i++ {
		recs := storetest.Generate(uint64(i)+100, fmt.Sprintf("l%04d-", i), batch, parts/7, 7)
		if i < 10 {
			recs[0].User = "rare-user"
		}
		if _, err := st.Write(b.Context(), apisessions.DefaultTenant, recs); err != nil {
			b.Fatal(err)
		}
	}
	// Store the parts writes kept in memory, so the first listing does not
	// pay for it.
	if err := st.flush(b.Context()); err != nil {
		b.Fatal(err)
	}
	var n int
	if err := st.reader.QueryRow("SELECT count(*) FROM parts").Scan(&n); err != nil {
		b.Fatal(err)
	}
	return st, n
}

// BenchmarkSessionsList measures the first page (50 parts) of listings
// with filters, and paging deep into a listing.
func BenchmarkSessionsList(b *testing.B) {
	st, n := listStore(b)
	b.Logf("%d parts", n)
	day2 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	yes := true
	tests := []struct {
		name string
		f    apisessions.SessionFilter
	}{
		{"none", apisessions.SessionFilter{}},
		{"session", apisessions.SessionFilter{SessionID: "sess-0042"}},
		{"request", apisessions.SessionFilter{RequestID: "l0003-0000042"}},
		{"rare user", apisessions.SessionFilter{User: "rare-user"}},
		{"common user", apisessions.SessionFilter{User: "alice"}},
		{"ip", apisessions.SessionFilter{IP: "2001:db8::1"}},
		{"endpoint", apisessions.SessionFilter{Endpoint: "orders"}},
		{"status", apisessions.SessionFilter{Status: 500}},
		{"hour", apisessions.SessionFilter{From: day2, To: day2.Add(time.Hour)}},
		{"attacks blocked sqli", apisessions.SessionFilter{Attacks: true, Blocked: &yes, AttackType: "sqli"}},
		{"user method host status", apisessions.SessionFilter{User: "bob", Method: "DELETE", Host: "shop.example.com", Status: 404}},
		{"hour and user", apisessions.SessionFilter{From: day2, To: day2.Add(time.Hour), User: "carol"}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			f := tt.f
			f.Limit = 50
			for b.Loop() {
				if _, err := st.Sessions(b.Context(), apisessions.DefaultTenant, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("page 20", func(b *testing.B) {
		for b.Loop() {
			f := apisessions.SessionFilter{Limit: 50}
			for range 20 {
				p, err := st.Sessions(b.Context(), apisessions.DefaultTenant, f)
				if err != nil {
					b.Fatal(err)
				}
				f.Cursor = p.Next
			}
		}
	})
	b.Run("session show", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.SessionRequests(b.Context(), apisessions.DefaultTenant, "sess-0042", ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkWriteBaseline is the reference the issue names, measured in the
// same run: the same batches written row at a time (one prepared INSERT a
// record, JSON, one transaction a batch) into a table with two indexes and
// no session parts at all.
func BenchmarkWriteBaseline(b *testing.B) {
	const batch = 10000
	dir := b.TempDir()
	db, err := sql.Open(driverName, filepath.Join(dir, "base.db")+"?_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		"CREATE TABLE r (id TEXT, session TEXT, day TEXT, t INTEGER, data BLOB)",
		"CREATE UNIQUE INDEX r_id ON r (id)",
		"CREATE INDEX r_session ON r (session, day, t)",
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var elapsed, cpu time.Duration
	for i := 0; i*batch < b.N; i++ {
		b.StopTimer()
		recs := benchBatch(i, min(batch, b.N-i*batch), 50000)
		b.StartTimer()
		t0, c0 := time.Now(), cputime.Process()
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		stmt, err := tx.Prepare("INSERT OR IGNORE INTO r VALUES (?, ?, ?, ?, ?)")
		if err != nil {
			b.Fatal(err)
		}
		for j := range recs {
			r := &recs[j]
			data, _ := json.Marshal(r)
			if _, err := stmt.Exec(r.ID, r.SessionID, r.Day, r.Time.UnixNano(), data); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(t0)
		cpu += cputime.Process() - c0
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
}
