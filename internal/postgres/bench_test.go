package postgres

import (
	"github.com/apisessions/apisessions/internal/cputime"

	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// Ingest benchmark shape (issue 5): four concurrent senders, node-sized
// batches. Like real nodes, each sender's batch covers a short window of
// traffic; the four windows of one iteration coincide and draw from the same
// active sessions (a load balancer spreads a session over nodes), and the
// active set slides by a fifth per window, so most batches merge into parts
// that exist and concurrent writers contend for the same parts.
const (
	benchWriters = 4
	benchBatch   = 5000
	benchActive  = 1500 // sessions active in one window
	benchSlide   = 300  // sessions that end (and begin) per window
	benchWindow  = 10 * time.Minute
)

// benchBatches returns n batches of fresh records for each of writers.
func benchBatches(writers, n int) [][][]apisessions.Record {
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	out := make([][][]apisessions.Record, writers)
	for w := range out {
		for i := range n {
			seed := uint64(w*1_000_000 + i)
			recs := storetest.Generate(seed, fmt.Sprintf("w%d-%d-", w, i), benchBatch, 1, 1)
			rng := rand.New(rand.NewPCG(seed, 7))
			from := start.Add(time.Duration(i) * benchWindow)
			for j := range recs {
				t := from.Add(time.Duration(rng.Int64N(int64(benchWindow/time.Microsecond))) * time.Microsecond)
				sess := i*benchSlide + rng.IntN(benchActive)
				recs[j].SessionID = fmt.Sprintf("sess-%07d", sess)
				recs[j].Time, recs[j].Day = t, t.Format(time.DateOnly)
				// A session keeps its client, host and user; endpoints,
				// statuses and verdicts vary per request.
				r := &recs[j]
				r.ClientIP = fmt.Sprintf("10.%d.%d.%d", sess>>16&255, sess>>8&255, sess&255)
				r.UserAgent = fmt.Sprintf("client/%d", sess%7)
				r.Host = fmt.Sprintf("api%d.example.com", sess%3)
				r.Application = sess % 4
				if r.User != "" {
					r.User = fmt.Sprintf("user%d", sess)
				}
				if r.Role != "" {
					r.Role = []string{"admin", "viewer"}[sess%2]
				}
			}
			out[w] = append(out[w], recs)
		}
	}
	return out
}

// runWriters runs every writer's batches concurrently through write and
// reports records/s.
func runWriters(b *testing.B, s *Store, batches [][][]apisessions.Record, write func(ctx context.Context, recs []apisessions.Record) error) {
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	cpu0, srv0 := cputime.Process(), readServerCPU()
	var wg sync.WaitGroup
	for w := range batches {
		wg.Go(func() {
			for _, recs := range batches[w] {
				if err := write(ctx, recs); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	cpu, srv := cputime.Process()-cpu0, srv0.since(s)
	total := 0
	for _, ws := range batches {
		for _, recs := range ws {
			total += len(recs)
		}
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "records/s")
	// The machine is shared: CPU per record (this process, and the
	// PostgreSQL backends serving s) measures the work where wall time
	// also measures the neighbours.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(total), "go-cpu-ns/rec")
	b.ReportMetric(float64(srv.Nanoseconds())/float64(total), "pg-cpu-ns/rec")
	b.ReportMetric(float64(total)/(cpu+srv).Seconds(), "records/cpu-s")
}

// BenchmarkWrite measures Write with four concurrent writers; one iteration
// is one batch per writer.
func BenchmarkWrite(b *testing.B) {
	for _, writers := range []int{1, benchWriters} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s := mustOpenBench(b)
			batches := benchBatches(writers, b.N)
			// Partitions exist in steady state; do not time their creation.
			if err := s.ensurePartitions(context.Background(), batchDays(batches)); err != nil {
				b.Fatal(err)
			}
			runWriters(b, s, batches, func(ctx context.Context, recs []apisessions.Record) error {
				_, err := s.Write(ctx, "bench", recs)
				return err
			})
		})
	}
}

// BenchmarkWriteBaselineCopy is the floor Write is measured against: the
// same batches, JSON-encoded and copied by four writers into a plain table
// without indexes, merging nothing.
func BenchmarkWriteBaselineCopy(b *testing.B) {
	s := mustOpenBench(b)
	createBaseline(b, s)
	batches := benchBatches(benchWriters, b.N)
	runWriters(b, s, batches, func(ctx context.Context, recs []apisessions.Record) error {
		return copyBaseline(ctx, s, "bench", recs)
	})
}

// createBaseline makes the plain table of the COPY baseline.
func createBaseline(b *testing.B, s *Store) {
	if _, err := s.pool.Exec(context.Background(), "CREATE TABLE IF NOT EXISTS baseline (tenant text, day date, id text, session_id text, at bigint, doc bytea)"); err != nil {
		b.Fatal(err)
	}
}

// copyBaseline JSON-encodes recs and copies them into the baseline table,
// merging nothing: the floor Write is measured against.
func copyBaseline(ctx context.Context, s *Store, tenant string, recs []apisessions.Record) error {
	rows := make([][]any, len(recs))
	for i := range recs {
		doc, err := json.Marshal(&recs[i])
		if err != nil {
			return err
		}
		day, _ := parseDay(recs[i].Day)
		rows[i] = []any{tenant, day, recs[i].ID, recs[i].SessionID, recs[i].Time.UnixNano(), doc}
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"baseline"}, []string{"tenant", "day", "id", "session_id", "at", "doc"}, pgx.CopyFromRows(rows))
	return err
}

func batchDays(batches [][][]apisessions.Record) []string {
	days := map[string]bool{}
	for _, ws := range batches {
		for _, recs := range ws {
			for _, r := range recs {
				days[r.Day] = true
			}
		}
	}
	var out []string
	for d := range days {
		out = append(out, d)
	}
	return out
}

// benchEnvInt reads a benchmark size from the environment.
func benchEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchPartitions creates the partitions of the benchListDays days the
// loaders spread parts over, and returns the first day.
func benchPartitions(b testing.TB, s *Store) time.Time {
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	var days []string
	for d := range benchListDays {
		days = append(days, start.AddDate(0, 0, d).Format(time.DateOnly))
	}
	if err := s.ensurePartitions(context.Background(), days); err != nil {
		b.Fatal(err)
	}
	return start
}

// loadParts fills the store with parts session day parts of two requests
// each, spread over benchListDays days, by copying straight into the tables
// (Write would take minutes at the 500,000 parts). The rows are the
// ones Write makes, built by the same code.
func loadParts(b *testing.B, s *Store, tenant string, parts int) (newest time.Time) {
	ctx := context.Background()
	start := benchPartitions(b, s)
	perDay := (parts + benchListDays - 1) / benchListDays
	rng := rand.New(rand.NewPCG(1, 2))
	proto := storetest.Generate(5, "proto-", 1000, 1, 1)
	var reqRows, idRows, partRows, tagRows [][]any
	flush := func() {
		for _, t := range []struct {
			name string
			cols []string
			rows *[][]any
		}{
			{"requests", []string{"tenant", "day", "session_id", "at", "id", "doc"}, &reqRows},
			{"request_ids", []string{"tenant", "id", "day", "session_id", "at"}, &idRows},
			{"sessions", []string{"tenant", "day", "id", "first_seen", "last_seen", "request_count", "attack_count", "blocked", "endpoints", "doc"}, &partRows},
			{"session_tags", []string{"tenant", "day", "session_id", "tag"}, &tagRows},
		} {
			if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(*t.rows)); err != nil {
				b.Fatal(err)
			}
			*t.rows = (*t.rows)[:0]
		}
	}
	for i := range parts {
		day := start.AddDate(0, 0, i/perDay)
		sess := fmt.Sprintf("sess-%07d", i)
		var p *part
		for j := range 2 {
			r := proto[rng.IntN(len(proto))]
			r.ID = fmt.Sprintf("%s-%d", sess, j)
			r.SessionID = sess
			r.Time = day.Add(time.Duration(rng.Int64N(int64(24*time.Hour/time.Microsecond))) * time.Microsecond)
			r.Day = day.Format(time.DateOnly)
			r.User = fmt.Sprintf("user%d", rng.IntN(parts/4+1))
			r.ClientIP = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
			doc, _ := json.Marshal(&r)
			reqRows = append(reqRows, []any{tenant, day, sess, r.Time.UnixNano(), r.ID, doc})
			idRows = append(idRows, []any{tenant, r.ID, day, sess, r.Time.UnixNano()})
			if p == nil {
				p = newPart(&r)
			} else {
				p.merge(newPart(&r))
			}
			if r.Time.After(newest) {
				newest = r.Time
			}
		}
		doc, _ := json.Marshal(p)
		partRows = append(partRows, []any{tenant, day, sess, p.First, p.Last, p.Requests, p.Attacks, p.Blocked, p.endpointsText(), doc})
		for _, t := range p.tags() {
			tagRows = append(tagRows, []any{tenant, day, sess, t})
		}
		if len(partRows) == 20000 {
			flush()
		}
	}
	flush()
	// VACUUM as autovacuum does in steady state to days no longer
	// written, so that index-only scans need no table reads.
	if _, err := s.pool.Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		b.Fatal(err)
	}
	return newest
}

// benchListDays is the span of the listing benchmark (issue 5: seven days).
const benchListDays = 7

// BenchmarkSessionsList measures the first page (50 parts) of listings with
// filters over APISESSIONS_BENCH_PARTS parts (default 100,000; the issue's
// size is 500,000), reporting p50 and p99 per filter. "none" is the
// baseline: the newest-first index alone.
func BenchmarkSessionsList(b *testing.B) {
	s := MustOpen(b)
	parts := benchEnvInt("APISESSIONS_BENCH_PARTS", 100_000)
	newest := loadParts(b, s, "bench", parts)
	yes := true
	filters := []struct {
		name string
		f    apisessions.SessionFilter
	}{
		{"none", apisessions.SessionFilter{}},
		{"user", apisessions.SessionFilter{User: "user7"}},
		{"method", apisessions.SessionFilter{Method: "POST"}},
		{"ip", apisessions.SessionFilter{IP: "10.0.1.2"}},
		{"attacks+blocked", apisessions.SessionFilter{Attacks: true, Blocked: &yes}},
		{"endpoint", apisessions.SessionFilter{Endpoint: "orders/{uuid}"}},
		{"status+method+host", apisessions.SessionFilter{Status: 500, Method: "GET", Host: "api.example.com"}},
		{"last day", apisessions.SessionFilter{From: newest.Add(-24 * time.Hour), To: newest}},
		{"hour 3 days ago", apisessions.SessionFilter{From: newest.Add(-72 * time.Hour), To: newest.Add(-71 * time.Hour)}},
		{"session", apisessions.SessionFilter{SessionID: "sess-0000042"}},
		{"request", apisessions.SessionFilter{RequestID: "sess-0000042-1"}},
		{"attack type+from", apisessions.SessionFilter{AttackType: "sqli", From: newest.Add(-48 * time.Hour)}},
	}
	for _, tt := range filters {
		b.Run(tt.name, func(b *testing.B) {
			f := tt.f
			f.Limit = 50
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if _, err := s.Sessions(context.Background(), "bench", f); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
	b.Run("show", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			id := fmt.Sprintf("sess-%07d", (i*7919)%parts)
			if _, err := s.Session(context.Background(), "bench", id, ""); err != nil {
				b.Fatal(err)
			}
			if _, err := s.SessionRequests(context.Background(), "bench", id, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}
