package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/cputime"
	"github.com/apisessions/apisessions/internal/postgres"
	"github.com/apisessions/apisessions/internal/sqlite"
	"github.com/apisessions/apisessions/internal/wire"
)

// benchServer is a server on a fresh SQLite store with one tenant and a
// node token, for benchmarks.
func benchServer(b *testing.B) (*sqlite.Store, *httptest.Server, string) {
	b.Helper()
	st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "store.db"), sqlite.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ts, token := benchServerOn(b, st)
	return st, ts, token
}

// benchStore is what a server runs on.
type benchStore interface {
	apisessions.Store
	apisessions.AdminStore
}

// benchServerOn is a server on st with one tenant and a node token.
func benchServerOn(b *testing.B, st benchStore) (*httptest.Server, string) {
	b.Helper()
	ctx := b.Context()
	if err := st.CreateTenant(ctx, apisessions.Tenant{ID: "t", Name: "t", Created: testNow, Secret: []byte("secret")}); err != nil {
		b.Fatal(err)
	}
	secret, hash := NewToken()
	if err := st.CreateToken(ctx, apisessions.Token{ID: "n", Tenant: "t", Name: "n", Role: apisessions.RoleAdmin, Hash: hash, Created: testNow}); err != nil {
		b.Fatal(err)
	}
	opts := DefaultOptions()
	opts.Store, opts.Admin = st, st
	ts := httptest.NewServer(New(opts).Handler())
	b.Cleanup(ts.Close)
	return ts, secret
}

// benchPostgres opens a PostgreSQL store on a fresh schema of the test
// server (URL from APISESSIONS_TEST_POSTGRES, default local trust auth),
// dropped at cleanup; it skips when the server does not answer.
func benchPostgres(b *testing.B) *postgres.Store {
	b.Helper()
	base := os.Getenv("APISESSIONS_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx := b.Context()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Skipf("PostgreSQL test server does not answer: %v", err)
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	schema := "apisessions_bench_" + hex.EncodeToString(r[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx := context.Background()
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			b.Errorf("drop schema: %v", err)
		}
		admin.Close(ctx)
	})
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	opts := postgres.DefaultOptions()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := postgres.Open(ctx, u.String(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

const benchBatch = 1000

// benchBatches returns n batches of benchBatch new records each.
func benchBatches(b *testing.B, n int) ([][]byte, [][]apisessions.Record) {
	bodies := make([][]byte, n)
	recs := make([][]apisessions.Record, n)
	for i := range n {
		recs[i] = genRecords(fmt.Sprintf("b%d-", i), benchBatch, 50)
		bodies[i] = batch(b, "bench", recs[i])
	}
	return bodies, recs
}

// runSenders runs send(i) for i in [0, n) on 4 goroutines and reports
// records/s.
func runSenders(b *testing.B, n int, send func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	start := time.Now()
	cpu0 := cputime.Process()
	for range 4 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := send(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	cpu := cputime.Process() - cpu0
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n*benchBatch)/el.Seconds(), "records/s")
	// The machine is shared: CPU time of this process (server, store and
	// senders) per record measures the work where wall time also measures
	// the neighbours.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n*benchBatch), "cpu-ns/rec")
	b.ReportMetric(float64(n*benchBatch)/cpu.Seconds(), "records/cpu-s")
}

// BenchmarkIngest: 4 concurrent senders posting 1,000-record batches over
// HTTP into SQLite. BenchmarkIngestStoreWrite is the baseline: the same
// batches written to the store directly.
func BenchmarkIngest(b *testing.B) {
	_, ts, token := benchServer(b)
	benchIngest(b, ts, token)
}

func benchIngest(b *testing.B, ts *httptest.Server, token string) {
	n := max(b.N, 4)
	bodies, _ := benchBatches(b, n)
	b.ResetTimer()
	runSenders(b, n, func(i int) error {
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/ingest", bytes.NewReader(bodies[i]))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", wire.ContentType)
		resp, err := ts.Client().Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}

func BenchmarkIngestStoreWrite(b *testing.B) {
	st, _, _ := benchServer(b)
	benchStoreWrite(b, st)
}

func benchStoreWrite(b *testing.B, st apisessions.Store) {
	n := max(b.N, 4)
	_, recs := benchBatches(b, n)
	b.ResetTimer()
	runSenders(b, n, func(i int) error {
		_, err := st.Write(b.Context(), "t", recs[i])
		return err
	})
}

// BenchmarkIngestPostgres and BenchmarkIngestPostgresStoreWrite are
// BenchmarkIngest and its baseline on the PostgreSQL store. The CPU
// figures count this process only: the server's work is apart.
func BenchmarkIngestPostgres(b *testing.B) {
	ts, token := benchServerOn(b, benchPostgres(b))
	benchIngest(b, ts, token)
}

func BenchmarkIngestPostgresStoreWrite(b *testing.B) {
	st := benchPostgres(b)
	benchServerOn(b, st) // the same tenant and token as the API run
	benchStoreWrite(b, st)
}

// BenchmarkQuery: latency of GET /sessions (first page, with a filter) and
// GET /sessions/{id} over HTTP on a store of 100,000 requests in 10,000
// session day parts, with the direct store calls as baselines.
func BenchmarkQuery(b *testing.B) {
	st, ts, token := benchServer(b)
	for i := range 100 {
		if _, err := st.Write(b.Context(), "t", genRecords(fmt.Sprintf("q%d-", i), 1000, 50)); err != nil {
			b.Fatal(err)
		}
	}
	get := func(path string) error {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := ts.Client().Do(req)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s: status %d", path, resp.StatusCode)
		}
		return nil
	}
	cases := []struct {
		name string
		call func(i int) error
	}{
		{"list-http", func(i int) error { return get("/api/v1/sessions?method=GET&attacks=true") }},
		{"list-store", func(i int) error {
			_, err := st.Sessions(b.Context(), "t", apisessions.SessionFilter{Method: "GET", Attacks: true, Limit: DefaultLimit})
			return err
		}},
		{"show-http", func(i int) error { return get(fmt.Sprintf("/api/v1/sessions/q%d-sess-%04d", i%100, i%50)) }},
		{"show-store", func(i int) error {
			id := fmt.Sprintf("q%d-sess-%04d", i%100, i%50)
			if _, err := st.Session(b.Context(), "t", id, ""); err != nil {
				return err
			}
			_, err := st.SessionRequests(b.Context(), "t", id, "")
			return err
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				if err := c.call(i); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
