package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/wire"
)

const testToken = "node-token-1"

// ingestServer is a fake server side: it decodes batches with the real
// wire decoder and stores each batch ID once, as ingest must.
type ingestServer struct {
	t   testing.TB
	srv *httptest.Server

	// status, when set, picks the response to attempt n (from 1) of a
	// batch; 0 means accept.
	status func(n int) int
	down   atomic.Bool

	mu       sync.Mutex
	attempts map[string]int // batch ID -> attempts
	order    []string       // batch IDs in order of first attempt
	stored   map[string]*wire.Batch
	records  map[string]int // record ID -> times stored
	bad      []string       // protocol violations seen
}

func newIngestServer(t testing.TB) *ingestServer {
	s := &ingestServer{t: t, attempts: map[string]int{}, stored: map[string]*wire.Batch{},
		records: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *ingestServer) url() string { return s.srv.URL + "/api/v1/ingest" }

func (s *ingestServer) serve(w http.ResponseWriter, r *http.Request) {
	var problems []string
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/ingest" {
		problems = append(problems, "request "+r.Method+" "+r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != wire.ContentType {
		problems = append(problems, "content type "+ct)
	}
	if auth := r.Header.Get("Authorization"); auth != "Bearer "+testToken {
		problems = append(problems, "authorization "+auth)
	}
	b, err := wire.Decode(r.Body, wire.Limits{})
	if err != nil {
		problems = append(problems, "decode: "+err.Error())
	}
	s.mu.Lock()
	s.bad = append(s.bad, problems...)
	if len(problems) > 0 {
		s.mu.Unlock()
		http.Error(w, "bad batch", http.StatusBadRequest)
		return
	}
	if s.attempts[b.ID] == 0 {
		s.order = append(s.order, b.ID)
	}
	s.attempts[b.ID]++
	n := s.attempts[b.ID]
	s.mu.Unlock()

	code := 0
	if s.down.Load() {
		code = http.StatusServiceUnavailable
	} else if s.status != nil {
		code = s.status(n)
	}
	if code != 0 && code != http.StatusOK {
		http.Error(w, "no", code)
		return
	}
	s.mu.Lock()
	if s.stored[b.ID] == nil { // a batch ID is stored once
		s.stored[b.ID] = b
		for _, rec := range b.Records {
			s.records[rec.ID]++
		}
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// check fails the test on protocol violations and records stored twice.
func (s *ingestServer) check() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bad) > 0 {
		s.t.Fatalf("server saw bad requests: %v", s.bad)
	}
	for id, n := range s.records {
		if n != 1 {
			s.t.Fatalf("record %s stored %d times", id, n)
		}
	}
}

func (s *ingestServer) storedBatches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.stored)
}

func (s *ingestServer) storedRecords() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

func testRecord(i int) apisessions.Record {
	t := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	return apisessions.Record{
		ID: fmt.Sprintf("r-%06d", i), SessionID: "0f0f", Day: t.Format(time.DateOnly), Time: t,
		Method: "GET", Host: "shop.example.com", Path: "/api/items/" + fmt.Sprint(i),
		Endpoint: "GET /api/items/{int}", Status: 200, ClientIP: "203.0.113.7",
		Key:    apisessions.Key{Point: "request.cookie.sid", Value: "c4ca4238a0b923820dcc509a6f75849b"},
		Params: []apisessions.Param{{Name: "User", Point: "request.query.u", Value: "alice", Type: "user"}},
	}
}

// testOptions returns fast options against s.
func testOptions(s *ingestServer) Options {
	return Options{
		URL: s.url(), Token: testToken, Node: "node-1",
		BatchSize: 10, FlushInterval: time.Hour, QueueBatches: 2,
		MinBackoff: 2 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		CloseTimeout: 2 * time.Second,
	}
}

func addN(t testing.TB, e *Exporter, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := e.Add(context.Background(), testRecord(i)); err != nil {
			t.Fatalf("Add(%d): %v", i, err)
		}
	}
}

func flush(t testing.TB, e *Exporter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func mustClose(t testing.TB, e *Exporter) {
	t.Helper()
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestSendBatches(t *testing.T) {
	s := newIngestServer(t)
	reg := prometheus.NewRegistry()
	o := testOptions(s)
	o.Registerer = reg
	e := New(o)
	addN(t, e, 0, 25)
	flush(t, e)
	s.check()
	if got := s.storedRecords(); got != 25 {
		t.Fatalf("server stored %d records, want 25", got)
	}
	if got := s.storedBatches(); got != 3 {
		t.Fatalf("server got %d batches, want 3 (10+10+5)", got)
	}
	s.mu.Lock()
	for _, b := range s.stored {
		if b.Node != "node-1" {
			t.Fatalf("batch node = %q", b.Node)
		}
	}
	s.mu.Unlock()
	st := e.Stats()
	if st.Added != 25 || st.Sent != 25 || st.BatchesSent != 3 || st.Dropped != 0 {
		t.Fatalf("stats = %+v", st)
	}
	if got := metricValue(t, e.m.sentRecords); got != 25 {
		t.Fatalf("records_sent_total = %v", got)
	}
	mustClose(t, e)
}

func TestFlushInterval(t *testing.T) {
	s := newIngestServer(t)
	o := testOptions(s)
	o.BatchSize = 1000
	o.FlushInterval = 20 * time.Millisecond
	e := New(o)
	defer mustClose(t, e)
	addN(t, e, 0, 3)
	deadline := time.Now().Add(10 * time.Second)
	for s.storedRecords() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("records not sent on the flush interval: server has %d", s.storedRecords())
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.check()
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name     string
		status   func(n int) int
		attempts int // attempts of the one batch
		sent     bool
		reason   string // drop reason when not sent
	}{
		{"503 then ok", func(n int) int { return map[bool]int{true: 503}[n <= 2] }, 3, true, ""},
		{"500 then ok", func(n int) int { return map[bool]int{true: 500}[n == 1] }, 2, true, ""},
		{"429 then ok", func(n int) int { return map[bool]int{true: 429}[n <= 3] }, 4, true, ""},
		{"408 then ok", func(n int) int { return map[bool]int{true: 408}[n == 1] }, 2, true, ""},
		{"400 not retried", func(int) int { return 400 }, 1, false, dropRejected},
		{"401 not retried", func(int) int { return 401 }, 1, false, dropRejected},
		{"413 not retried", func(int) int { return 413 }, 1, false, dropRejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newIngestServer(t)
			s.status = tc.status
			e := New(testOptions(s))
			addN(t, e, 0, 10)
			flush(t, e)
			mustClose(t, e)
			s.check()
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.order) != 1 {
				t.Fatalf("server saw %d batch IDs, want 1 (retries keep the ID)", len(s.order))
			}
			if got := s.attempts[s.order[0]]; got != tc.attempts {
				t.Fatalf("attempts = %d, want %d", got, tc.attempts)
			}
			st := e.Stats()
			if tc.sent {
				if st.Sent != 10 || len(s.records) != 10 || st.Retries != int64(tc.attempts-1) {
					t.Fatalf("stats %+v, stored %d", st, len(s.records))
				}
				return
			}
			if st.Dropped != 10 || len(s.records) != 0 {
				t.Fatalf("stats %+v, stored %d", st, len(s.records))
			}
			if got := metricValue(t, e.m.droppedRecords.WithLabelValues(tc.reason)); got != 10 {
				t.Fatalf("records_dropped_total{reason=%q} = %v", tc.reason, got)
			}
		})
	}
}

// TestRetryNetworkError drops the first connection mid-request: the
// exporter must resend the same batch ID.
func TestRetryNetworkError(t *testing.T) {
	s := newIngestServer(t)
	var calls atomic.Int32
	inner := s.srv.Config.Handler
	s.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		inner.ServeHTTP(w, r)
	})
	e := New(testOptions(s))
	addN(t, e, 0, 10)
	flush(t, e)
	mustClose(t, e)
	s.check()
	s.mu.Lock()
	defer s.mu.Unlock()
	if calls.Load() != 2 || len(s.order) != 1 || len(s.records) != 10 {
		t.Fatalf("calls %d, batch IDs %d, stored %d", calls.Load(), len(s.order), len(s.records))
	}
	if got := metricValue(t, e.m.retries.WithLabelValues("network")); got != 1 {
		t.Fatalf("retries{cause=network} = %v", got)
	}
}

func TestRetryAfter(t *testing.T) {
	s := newIngestServer(t)
	o := testOptions(s)
	o.MaxBackoff = 5 * time.Second
	var mu sync.Mutex
	var first time.Time
	var gap atomic.Int64
	inner := s.srv.Config.Handler
	s.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if first.IsZero() {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		gap.Store(int64(time.Since(first)))
		inner.ServeHTTP(w, r)
	})
	e := New(o)
	addN(t, e, 0, 10)
	flush(t, e)
	mustClose(t, e)
	if d := time.Duration(gap.Load()); d < 900*time.Millisecond {
		t.Fatalf("retried after %v, want Retry-After's 1s honoured", d)
	}
}

func TestSpoolOutageAndRecovery(t *testing.T) {
	s := newIngestServer(t)
	s.down.Store(true)
	o := testOptions(s)
	o.SpoolDir = t.TempDir()
	e := New(o)
	addN(t, e, 0, 100) // 10 batches: 1 in flight, 2 queued, the rest spooled
	st := e.Stats()
	if st.Spooled < 5 || st.SpoolBytes <= 0 {
		t.Fatalf("stats %+v: want batches spooled during the outage", st)
	}
	if files := spoolFiles(t, o.SpoolDir); len(files) < 5 {
		t.Fatalf("%d spool files during the outage, want at least 5", len(files))
	}
	if s.storedRecords() != 0 {
		t.Fatal("server stored records while down")
	}

	s.down.Store(false)
	flush(t, e)
	s.check()
	if got := s.storedRecords(); got != 100 {
		t.Fatalf("server stored %d records after recovery, want 100", got)
	}
	if files := spoolFiles(t, o.SpoolDir); len(files) != 0 {
		t.Fatalf("spool not emptied: %v", files)
	}
	if st := e.Stats(); st.Spooled != 0 || st.SpoolBytes != 0 || st.Dropped != 0 {
		t.Fatalf("stats after recovery %+v", st)
	}
	mustClose(t, e)
}

func TestSpoolLimitDropsOldest(t *testing.T) {
	s := newIngestServer(t)
	s.down.Store(true)
	o := testOptions(s)
	o.SpoolDir = t.TempDir()
	o.QueueBatches = 1
	// Room for about three batches of ten records.
	probe, err := wire.Marshal(&wire.Batch{ID: wire.NewID(), Node: "node-1", Created: time.Now(),
		Records: func() (rs []apisessions.Record) {
			for i := 0; i < 10; i++ {
				rs = append(rs, testRecord(i))
			}
			return rs
		}()})
	if err != nil {
		t.Fatal(err)
	}
	o.SpoolLimit = int64(len(probe))*3 + int64(len(probe))/2
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	e := New(o)
	addN(t, e, 0, 200) // 20 batches
	st := e.Stats()
	if st.SpoolBytes > o.SpoolLimit {
		t.Fatalf("spool holds %d bytes, over its limit %d", st.SpoolBytes, o.SpoolLimit)
	}
	var onDisk int64
	for _, f := range spoolFiles(t, o.SpoolDir) {
		fi, err := os.Stat(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue // dropped by the exporter since the listing
		}
		if err != nil {
			t.Fatal(err)
		}
		onDisk += fi.Size()
	}
	if onDisk > o.SpoolLimit {
		t.Fatalf("spool directory holds %d bytes, over its limit %d", onDisk, o.SpoolLimit)
	}
	// The counter moves just after the stats, and batches still on their
	// way to the spool may be dropped between two reads: they must agree
	// once the drops stop.
	var dropped float64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st = e.Stats()
		dropped = metricValue(t, e.m.droppedRecords.WithLabelValues(dropSpoolFull))
		if (dropped != 0 && int64(dropped) == st.Dropped) || time.Now().After(deadline) {
			break
		}
	}
	if dropped == 0 || int64(dropped) != st.Dropped {
		t.Fatalf("records_dropped_total{spool_full} = %v, stats %+v", dropped, st)
	}

	s.down.Store(false)
	flush(t, e)
	mustClose(t, e)
	s.check()
	// Batches still on their way to the spool when the counter was read
	// may be dropped after it: account with the final count.
	dropped = metricValue(t, e.m.droppedRecords.WithLabelValues(dropSpoolFull))
	if got := s.storedRecords(); got+int(dropped) != 200 {
		t.Fatalf("stored %d + dropped %v != 200 added", got, dropped)
	}
	// The newest records survive: the last batch added must be stored.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records[testRecord(199).ID] != 1 {
		t.Fatal("the newest record was dropped; the spool must drop the oldest")
	}
}

// TestSpoolSurvivesRestart closes during an outage and sends the spooled
// batches from a new exporter on the same directory, with their IDs.
func TestSpoolSurvivesRestart(t *testing.T) {
	s := newIngestServer(t)
	s.down.Store(true)
	o := testOptions(s)
	o.SpoolDir = t.TempDir()
	o.CloseTimeout = 50 * time.Millisecond
	e := New(o)
	addN(t, e, 0, 35)
	if err := e.Close(); err != nil {
		t.Fatalf("Close with a spool: %v (nothing should be lost)", err)
	}
	files := spoolFiles(t, o.SpoolDir)
	if len(files) != 4 {
		t.Fatalf("%d spool files after Close, want 4 batches (10+10+10+5)", len(files))
	}
	os.WriteFile(filepath.Join(o.SpoolDir, "spool-123.tmp"), []byte("half"), 0o600)

	s.down.Store(false)
	e2 := New(o)
	flush(t, e2)
	mustClose(t, e2)
	s.check()
	if got := s.storedRecords(); got != 35 {
		t.Fatalf("stored %d records after restart, want 35", got)
	}
	if got := s.storedBatches(); got != 4 {
		t.Fatalf("server stored %d batch IDs, want the 4 spooled ones", got)
	}
	if left, _ := os.ReadDir(o.SpoolDir); len(left) != 0 {
		t.Fatalf("spool not empty after replay: %d entries", len(left))
	}
}

// TestPoisonBatchDoesNotBlock has the server fail one batch with 5xx for
// good: with a spool, that batch yields its turn and the others go through.
func TestPoisonBatchDoesNotBlock(t *testing.T) {
	s := newIngestServer(t)
	poison := ""
	inner := s.srv.Config.Handler
	var mu sync.Mutex
	s.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := wire.Decode(r.Body, wire.Limits{})
		if err != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		mu.Lock()
		if poison == "" {
			poison = b.ID // the first batch fails forever
		}
		bad := b.ID == poison
		mu.Unlock()
		if bad {
			http.Error(w, "store error", http.StatusInternalServerError)
			return
		}
		data, err := wire.Marshal(b)
		if err != nil {
			t.Error(err)
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
		inner.ServeHTTP(w, r)
	})
	o := testOptions(s)
	o.SpoolDir = t.TempDir()
	o.CloseTimeout = 100 * time.Millisecond
	e := New(o)
	addN(t, e, 0, 50)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := e.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush = %v, want a timeout: the poison batch is never accepted", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.storedRecords() < 40 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := s.storedRecords(); got != 40 {
		t.Fatalf("stored %d records, want the 40 not in the poison batch", got)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	files := spoolFiles(t, o.SpoolDir)
	if len(files) != 1 || !strings.Contains(files[0], poison) {
		t.Fatalf("spool holds %v, want the poison batch %s kept for later", files, poison)
	}
	s.check()
}

func TestCloseWithoutSpoolReportsLoss(t *testing.T) {
	s := newIngestServer(t)
	s.down.Store(true)
	o := testOptions(s)
	o.CloseTimeout = 50 * time.Millisecond
	e := New(o)
	addN(t, e, 0, 15)
	start := time.Now()
	err := e.Close()
	if err == nil || !strings.Contains(err.Error(), "15 records dropped") {
		t.Fatalf("Close = %v, want 15 records dropped", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v with a 50ms CloseTimeout", d)
	}
}

func TestQueueFullWithoutSpoolDropsOldest(t *testing.T) {
	s := newIngestServer(t)
	s.down.Store(true)
	o := testOptions(s)
	o.QueueBatches = 2
	e := New(o)
	addN(t, e, 0, 100)
	if got := metricValue(t, e.m.droppedBatches.WithLabelValues(dropQueueFull)); got < 5 {
		t.Fatalf("batches_dropped_total{queue_full} = %v, want the overflow dropped", got)
	}
	if st := e.Stats(); st.Queued > 2 {
		t.Fatalf("queue holds %d batches, over its bound 2", st.Queued)
	}
	s.down.Store(false)
	flush(t, e)
	mustClose(t, e)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records[testRecord(99).ID] != 1 {
		t.Fatal("the newest record was dropped")
	}
}

func TestAddErrors(t *testing.T) {
	s := newIngestServer(t)
	e := New(testOptions(s))
	bad := testRecord(1)
	bad.Day = "yesterday"
	if err := e.Add(context.Background(), bad); apisessions.ErrorCode(err) != apisessions.EINVALID {
		t.Fatalf("Add(bad day) = %v, want EINVALID", err)
	}
	huge := testRecord(2)
	huge.Params[0].Value = strings.Repeat("x", 100<<10)
	if err := e.Add(context.Background(), huge); wire.Reason(err) != wire.ReasonLimit {
		t.Fatalf("Add(huge param) = %v, want a limit error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Add(ctx, testRecord(3)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Add(canceled) = %v", err)
	}
	mustClose(t, e)
	if err := e.Add(context.Background(), testRecord(4)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close = %v, want ErrClosed", err)
	}
	if err := e.Flush(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close = %v, want ErrClosed", err)
	}
	if e.Stats().Added != 0 {
		t.Fatalf("refused records were counted as added")
	}
}

func TestFlushHonoursContext(t *testing.T) {
	s := newIngestServer(t)
	s.down.Store(true)
	e := New(testOptions(s))
	addN(t, e, 0, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush during outage = %v, want deadline exceeded", err)
	}
	s.down.Store(false)
	flush(t, e)
	mustClose(t, e)
	if s.storedRecords() != 5 {
		t.Fatalf("stored %d, want 5", s.storedRecords())
	}
}

// TestConcurrentAdd runs many producers at once under -race.
func TestConcurrentAdd(t *testing.T) {
	s := newIngestServer(t)
	o := testOptions(s)
	o.BatchSize = 25
	o.SpoolDir = t.TempDir()
	e := New(o)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			addN(t, e, w*1000, 250)
		}(w)
	}
	wg.Wait()
	flush(t, e)
	mustClose(t, e)
	s.check()
	if got := s.storedRecords(); got != 1000 {
		t.Fatalf("stored %d, want 1000", got)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	s := newIngestServer(t)
	before := runtime.NumGoroutine()
	for i := 0; i < 3; i++ {
		e := New(testOptions(s))
		addN(t, e, 0, 25)
		flush(t, e)
		mustClose(t, e)
		mustClose(t, e) // idempotent
	}
	s.srv.CloseClientConnections()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBatchBytesSealsEarly(t *testing.T) {
	s := newIngestServer(t)
	o := testOptions(s)
	o.BatchSize = 1000
	o.BatchBytes = 4 << 10
	e := New(o)
	for i := 0; i < 20; i++ {
		r := testRecord(i)
		r.Verdict = apisessions.VerdictAttack
		r.Content = &apisessions.Content{Method: "POST", Target: "/x", Body: strings.Repeat("b", 1000)}
		if err := e.Add(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, e)
	mustClose(t, e)
	if got := s.storedBatches(); got < 5 {
		t.Fatalf("%d batches for 20 records of ~2 KiB with a 4 KiB batch bound", got)
	}
}

func TestBackoff(t *testing.T) {
	e := &Exporter{opts: Options{MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}}
	tests := []struct {
		attempt    int
		retryAfter time.Duration
		lo, hi     time.Duration
	}{
		{1, 0, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 0, 100 * time.Millisecond, 200 * time.Millisecond},
		{4, 0, 400 * time.Millisecond, 800 * time.Millisecond},
		{10, 0, time.Second, 2 * time.Second},
		{1000, 0, time.Second, 2 * time.Second},
		{1, time.Second, time.Second, time.Second},
		{1, time.Minute, 2 * time.Second, 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.attempt, tc.retryAfter), func(t *testing.T) {
			for i := 0; i < 50; i++ {
				if d := e.backoff(tc.attempt, tc.retryAfter); d < tc.lo || d > tc.hi {
					t.Fatalf("backoff(%d, %v) = %v, want in [%v, %v]", tc.attempt, tc.retryAfter, d, tc.lo, tc.hi)
				}
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	ok := Options{URL: "https://server.example.com/api/v1/ingest"}
	tests := []struct {
		name string
		edit func(*Options)
		msg  string
	}{
		{"valid", func(*Options) {}, ""},
		{"no url", func(o *Options) { o.URL = "" }, "url"},
		{"relative url", func(o *Options) { o.URL = "/api/v1/ingest" }, "url"},
		{"ftp url", func(o *Options) { o.URL = "ftp://h/x" }, "url"},
		{"batch too big", func(o *Options) { o.BatchSize = 10_001 }, "batch size"},
		{"negative spool", func(o *Options) { o.SpoolLimit = -1 }, "spool limit"},
		{"backoff order", func(o *Options) { o.MinBackoff, o.MaxBackoff = time.Second, time.Millisecond }, "backoff"},
		{"long node", func(o *Options) { o.Node = strings.Repeat("n", 256) }, "node"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			err := o.Validate()
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Validate = %v, want an error naming %q", err, tc.msg)
			}
		})
	}
}

// spoolNameCases are spool file names with what parseSpoolName must make
// of them; they also seed FuzzParseSpoolName.
var spoolNameCases = []struct {
	name    string
	id      string
	records int
	ok      bool
}{
	{spoolName(1_764_000_000_000_000_000, "0123456789abcdef0123456789abcdef", 42), "0123456789abcdef0123456789abcdef", 42, true},
	{spoolName(0, "ffffffffffffffffffffffffffffffff", 0), "ffffffffffffffffffffffffffffffff", 0, true},
	{"x.batch", "", 0, false},
	{"spool-1.tmp", "", 0, false},
	{"1-2-3.batch", "", 0, false},
	{"01764000000000000000-0123456789abcdef0123456789abcdef-42.txt", "", 0, false},
	{"01764000000000000000-0123456789abcdef0123456789abcdef--1.batch", "", 0, false},
	{"0176400000000000000x-0123456789abcdef0123456789abcdef-1.batch", "", 0, false},
	{"01764000000000000000-0123456789abcdef0123456789abcdef-+1.batch", "", 0, false},
	{"01764000000000000000-0123456789abcdef0123456789abcdef-007.batch", "", 0, false},
	{"01764000000000000000-0123456789ABCDEF0123456789abcdef-1.batch", "", 0, false},
}

func TestParseSpoolName(t *testing.T) {
	for _, tc := range spoolNameCases {
		t.Run(tc.name, func(t *testing.T) {
			id, n, ok := parseSpoolName(tc.name)
			if ok != tc.ok || id != tc.id || n != tc.records {
				t.Fatalf("parseSpoolName(%q) = %q, %d, %v; want %q, %d, %v",
					tc.name, id, n, ok, tc.id, tc.records, tc.ok)
			}
		})
	}
}

// FuzzParseSpoolName checks that every name it accepts is one spoolName
// makes, so that a stray file in the spool directory is never sent.
func FuzzParseSpoolName(f *testing.F) {
	for _, tc := range spoolNameCases {
		f.Add(tc.name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		id, n, ok := parseSpoolName(name)
		if !ok {
			return
		}
		var nanos int64
		if _, err := fmt.Sscanf(name[:20], "%d", &nanos); err != nil {
			t.Fatalf("accepted %q with a bad time: %v", name, err)
		}
		if spoolName(nanos, id, n) != name {
			t.Fatalf("accepted %q as %q, %d, which spoolName spells differently", name, id, n)
		}
	})
}

func spoolFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"+spoolExt))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// BenchmarkAdd measures the caller's cost per record, batch encoding
// included, against a server that accepts everything without decoding
// (so that the fake server does not take the benchmark's CPU).
func BenchmarkAdd(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	o := testOptions(&ingestServer{srv: srv})
	o.BatchSize = 1000
	o.QueueBatches = 64
	e := New(o)
	recs := make([]apisessions.Record, 1000)
	for i := range recs {
		recs[i] = testRecord(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := e.Add(context.Background(), recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.StopTimer()
	flush(b, e)
	mustClose(b, e)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// metricValue reads a counter or gauge without the testutil package and
// its extra dependencies.
func metricValue(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	t.Fatalf("metric %v is neither counter nor gauge", m.Desc())
	return 0
}
