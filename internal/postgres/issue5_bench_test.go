package postgres

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// Sizes of BenchmarkIssue5. The defaults fit a short run on a shared
// machine; -issue5.full selects the issue's size.
var (
	issue5Full = flag.Bool("issue5.full", false,
		"BenchmarkIssue5 at the issue's size: 10,000,000 requests in 500,000 session day parts over 7 days")
	issue5Requests = flag.Int("issue5.requests", 1_000_000, "BenchmarkIssue5: requests loaded")
	issue5Parts    = flag.Int("issue5.parts", 50_000, "BenchmarkIssue5: session day parts loaded (over 7 days)")
)

// issue5Size returns the number of requests and parts to load.
func issue5Size() (requests, parts int) {
	if *issue5Full {
		return 10_000_000, 500_000
	}
	return max(*issue5Requests, 1), max(*issue5Parts, 1)
}

// BenchmarkIssue5 is the benchmark of issue 5 on PostgreSQL. It loads
// requests and parts (see issue5Size) with COPY, built by the code Write
// uses, then measures, in this order:
//
//   - ping: a SELECT 1 round trip, the floor of every query below;
//   - list/<filter>: the first page (50) of Sessions, p50 and p99;
//   - show: Session (every part of the ID) and SessionRequests of one day,
//     as GET /sessions/{id}?day= does, p50 and p99;
//   - ingest/write: Write with four concurrent writers into the loaded
//     store, records/s (one iteration is one 5,000-record batch per
//     writer);
//   - ingest/baseline-copy: the same batches COPYed by four writers into a
//     table without indexes, merging nothing: the floor of ingest.
//
// Percentiles rest on the iterations that fit the bench time (the count
// is printed); ingest runs at least one batch per writer. The load's own
// rate is logged (-v). At the issue's size:
//
//	go test -run '^$' -bench Issue5 -v -timeout 2h ./internal/postgres -issue5.full
func BenchmarkIssue5(b *testing.B) {
	s := mustOpenBench(b)
	ctx := context.Background()
	requests, parts := issue5Size()
	start := time.Now()
	ld := loadIssue5(b, s, "bench", requests, parts)
	took := time.Since(start)
	b.Logf("loaded %d requests in %d parts over %d days in %v (%.0f requests/s with COPY, generation included)",
		requests, parts, benchListDays, took.Round(time.Second), float64(requests)/took.Seconds())

	b.Run("ping", func(b *testing.B) {
		measureLatency(b, func() error {
			var one int
			return s.pool.QueryRow(ctx, "SELECT 1").Scan(&one)
		})
	})
	yes := true
	filters := []struct {
		name string
		f    apisessions.SessionFilter
	}{
		{"none", apisessions.SessionFilter{}},
		{"user", apisessions.SessionFilter{User: ld.user}},
		{"ip", apisessions.SessionFilter{IP: ld.ip}},
		{"method+status", apisessions.SessionFilter{Method: "POST", Status: 500}},
		{"attacks+blocked", apisessions.SessionFilter{Attacks: true, Blocked: &yes}},
		{"attack type", apisessions.SessionFilter{AttackType: string(apisessions.AttackRCE)}},
		{"endpoint", apisessions.SessionFilter{Endpoint: "orders/{uuid}"}},
		{"host+flow", apisessions.SessionFilter{Host: "shop.example.com", Flow: "checkout"}},
		{"last day", apisessions.SessionFilter{From: ld.newest.Add(-24 * time.Hour), To: ld.newest}},
		{"hour 3 days ago", apisessions.SessionFilter{From: ld.newest.Add(-72 * time.Hour), To: ld.newest.Add(-71 * time.Hour)}},
		{"session", apisessions.SessionFilter{SessionID: ld.parts[len(ld.parts)/3].id}},
	}
	for _, tt := range filters {
		b.Run("list/"+tt.name, func(b *testing.B) {
			f := tt.f
			f.Limit = 50
			measureLatency(b, func() error {
				_, err := s.Sessions(ctx, "bench", f)
				return err
			})
		})
	}
	b.Run("show", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(3, 4))
		measureLatency(b, func() error {
			p := ld.parts[rng.IntN(len(ld.parts))]
			if _, err := s.Session(ctx, "bench", p.id, ""); err != nil {
				return err
			}
			recs, err := s.SessionRequests(ctx, "bench", p.id, p.day)
			if err == nil && len(recs) != p.requests {
				err = fmt.Errorf("session %s on %s: %d requests, loaded %d", p.id, p.day, len(recs), p.requests)
			}
			return err
		})
	})

	b.Run("ingest/write", func(b *testing.B) {
		batches := benchBatches(benchWriters, b.N)
		if err := s.ensurePartitions(ctx, batchDays(batches)); err != nil {
			b.Fatal(err)
		}
		runWriters(b, s, batches, func(ctx context.Context, recs []apisessions.Record) error {
			_, err := s.Write(ctx, "ingest", recs)
			return err
		})
	})
	b.Run("ingest/baseline-copy", func(b *testing.B) {
		createBaseline(b, s)
		batches := benchBatches(benchWriters, b.N)
		runWriters(b, s, batches, func(ctx context.Context, recs []apisessions.Record) error {
			return copyBaseline(ctx, s, "baseline", recs)
		})
	})
}

// measureLatency runs call b.N times and reports its p50 and p99.
func measureLatency(b *testing.B, call func() error) {
	var lat []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := call(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
}

// loadedPart is a part the load made, for show to pick from.
type loadedPart struct {
	id, day  string
	requests int
}

type issue5Load struct {
	newest time.Time
	parts  []loadedPart
	// user and ip are values that some parts hold, for filters.
	user, ip string
}

// issue5Chunk is how many parts one COPY transaction carries.
const issue5Chunk = 2000

// loadIssue5 fills the store with parts session day parts holding requests
// requests between them, spread evenly over benchListDays days, by copying
// straight into the tables: Write would take hours at the issue's size. The
// rows are those Write makes, built by the same code (newPart, merge, tags).
// A session keeps its client IP, user, role and user agent; its requests
// fall within two hours of its day and vary in endpoint, status and
// verdict. Two goroutines generate and copy chunks, so that generation on
// one core overlaps PostgreSQL's work on the other.
func loadIssue5(b testing.TB, s *Store, tenant string, requests, parts int) issue5Load {
	ctx := context.Background()
	start := benchPartitions(b, s)
	perDay := (parts + benchListDays - 1) / benchListDays
	proto := storetest.Generate(5, "proto-", 1000, 1, 1)
	users := max(parts/20, 1) // a user has about 20 parts

	ld := issue5Load{parts: make([]loadedPart, parts), user: "user7", ip: "10.0.0.7"} // user and IP of part 7
	newest := make([]time.Time, (parts+issue5Chunk-1)/issue5Chunk)
	chunks := make(chan int)
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for c := range chunks {
				if err := copyIssue5Chunk(ctx, s, tenant, c, min(issue5Chunk, parts-c*issue5Chunk), parts, requests, perDay, users, start, proto, ld.parts, &newest[c]); err != nil {
					errs <- err
					for range chunks { // drain so the sender finishes
					}
					return
				}
			}
		})
	}
	for c := range newest {
		chunks <- c
	}
	close(chunks)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	for _, t := range newest {
		if t.After(ld.newest) {
			ld.newest = t
		}
	}
	// VACUUM as autovacuum does in steady state to days no longer
	// written, so that index-only scans need no table reads.
	if _, err := s.pool.Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		b.Fatal(err)
	}
	return ld
}

// copyIssue5Chunk builds and copies parts first..first+n of chunk c in one
// transaction.
func copyIssue5Chunk(ctx context.Context, s *Store, tenant string, c, n, parts, requests, perDay, users int,
	start time.Time, proto []apisessions.Record, out []loadedPart, newest *time.Time) error {
	rng := rand.New(rand.NewPCG(uint64(c), 99))
	var reqRows, idRows, partRows, tagRows [][]any
	for k := range n {
		i := c*issue5Chunk + k
		// Spread the remainder so that the total is exactly requests.
		count := requests / parts
		if i < requests%parts {
			count++
		}
		if count == 0 {
			count = 1
		}
		day := start.AddDate(0, 0, i/perDay)
		dayText := day.Format(time.DateOnly)
		sess := fmt.Sprintf("sess-%07d", i)
		out[i] = loadedPart{id: sess, day: dayText, requests: count}
		user := fmt.Sprintf("user%d", i%users)
		ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		role := []string{"", "admin", "viewer"}[i%3]
		from := day.Add(time.Duration(rng.Int64N(int64(22*time.Hour/time.Microsecond))) * time.Microsecond)
		var p *part
		for j := range count {
			r := proto[rng.IntN(len(proto))]
			r.ID = fmt.Sprintf("%s-%d", sess, j)
			r.SessionID = sess
			r.Time = from.Add(time.Duration(rng.Int64N(int64(2*time.Hour/time.Microsecond))) * time.Microsecond)
			r.Day = dayText
			r.ClientIP, r.User, r.Role = ip, user, role
			r.Params = []apisessions.Param{{Name: "user", Point: "request.body|json.user", Value: user, Type: "user"}}
			doc, err := json.Marshal(&r)
			if err != nil {
				return err
			}
			at := r.Time.UnixNano()
			reqRows = append(reqRows, []any{tenant, day, sess, at, r.ID, doc})
			idRows = append(idRows, []any{tenant, r.ID, day, sess, at})
			if p == nil {
				p = newPart(&r)
			} else {
				p.merge(newPart(&r))
			}
			if r.Time.After(*newest) {
				*newest = r.Time
			}
		}
		doc, err := json.Marshal(p)
		if err != nil {
			return err
		}
		partRows = append(partRows, []any{tenant, day, sess, p.First, p.Last, p.Requests, p.Attacks, p.Blocked, p.endpointsText(), doc})
		for _, t := range p.tags() {
			tagRows = append(tagRows, []any{tenant, day, sess, t})
		}
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, t := range []struct {
			name string
			cols []string
			rows [][]any
		}{
			{"requests", []string{"tenant", "day", "session_id", "at", "id", "doc"}, reqRows},
			{"request_ids", []string{"tenant", "id", "day", "session_id", "at"}, idRows},
			{"sessions", []string{"tenant", "day", "id", "first_seen", "last_seen", "request_count", "attack_count", "blocked", "endpoints", "doc"}, partRows},
			{"session_tags", []string{"tenant", "day", "session_id", "tag"}, tagRows},
		} {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
		}
		return nil
	})
}
