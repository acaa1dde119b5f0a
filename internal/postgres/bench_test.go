package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// Ingest benchmark shape (issue 5): four concurrent senders, node-sized
// batches, records spread over many sessions and seven days, so that most
// batches merge into parts that exist.
const (
	benchWriters  = 4
	benchBatch    = 5000
	benchSessions = 25000
	benchDays     = 7
)

// benchBatches returns n batches of fresh records per writer.
func benchBatches(n int) [][][]apisessions.Record {
	out := make([][][]apisessions.Record, benchWriters)
	for w := range out {
		for i := range n {
			seed := uint64(w*1_000_000 + i)
			out[w] = append(out[w], storetest.Generate(seed, fmt.Sprintf("w%d-%d-", w, i), benchBatch, benchSessions, benchDays))
		}
	}
	return out
}

// runWriters runs every writer's batches concurrently through write and
// reports records/s.
func runWriters(b *testing.B, batches [][][]apisessions.Record, write func(ctx context.Context, recs []apisessions.Record) error) {
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
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
	total := 0
	for _, ws := range batches {
		for _, recs := range ws {
			total += len(recs)
		}
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkWrite measures Write with four concurrent writers; one iteration
// is one batch per writer.
func BenchmarkWrite(b *testing.B) {
	s := MustOpen(b)
	batches := benchBatches(b.N)
	// Partitions exist in steady state; do not time their creation.
	if err := s.ensurePartitions(context.Background(), benchDayList()); err != nil {
		b.Fatal(err)
	}
	runWriters(b, batches, func(ctx context.Context, recs []apisessions.Record) error {
		_, err := s.Write(ctx, "bench", recs)
		return err
	})
}

// BenchmarkWriteBaselineCopy is the floor Write is measured against: the
// same batches, JSON-encoded and copied by four writers into a plain table
// without indexes, merging nothing.
func BenchmarkWriteBaselineCopy(b *testing.B) {
	s := MustOpen(b)
	if _, err := s.pool.Exec(context.Background(), "CREATE TABLE baseline (tenant text, day date, id text, session_id text, at bigint, doc bytea)"); err != nil {
		b.Fatal(err)
	}
	batches := benchBatches(b.N)
	runWriters(b, batches, func(ctx context.Context, recs []apisessions.Record) error {
		rows := make([][]any, len(recs))
		for i := range recs {
			doc, err := json.Marshal(&recs[i])
			if err != nil {
				return err
			}
			day, _ := parseDay(recs[i].Day)
			rows[i] = []any{"bench", day, recs[i].ID, recs[i].SessionID, recs[i].Time.UnixNano(), doc}
		}
		_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"baseline"}, []string{"tenant", "day", "id", "session_id", "at", "doc"}, pgx.CopyFromRows(rows))
		return err
	})
}

func benchDayList() []string {
	var days []string
	for d := range benchDays {
		days = append(days, time.Date(2026, 11, 20+d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly))
	}
	return days
}

// benchEnvInt reads a benchmark size from the environment.
func benchEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
