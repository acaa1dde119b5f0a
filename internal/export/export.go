// Package export is the node side of the wire: it batches export records,
// sends them to the server's ingest endpoint, retries with backoff, and
// keeps what the server cannot take yet in a bounded disk spool.
//
// Delivery is at least once: a batch keeps its ID across retries, restarts
// and the spool, and the server stores each batch ID once. Memory is bounded
// by the open batch plus Options.QueueBatches sealed batches (kept encoded,
// so compressed) and the one being sent; disk by Options.SpoolLimit. When
// both are full the oldest batches are dropped and counted, never the
// caller blocked: the node sits in the traffic path.
package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/wire"
)

// ErrClosed is returned by Add and Flush after Close.
var ErrClosed = errors.New("export: exporter closed")

// Stats are the exporter's running totals, for status pages and tests.
type Stats struct {
	// Added, Sent and Dropped count records; Dropped includes records of
	// batches the server refused, evicted from the spool, or unsent at
	// Close without a spool.
	Added, Sent, Dropped int64
	// BatchesSent and BatchesDropped count batches; Retries counts failed
	// attempts that were retried.
	BatchesSent, BatchesDropped, Retries int64
	// Queued is the number of sealed batches in memory; Spooled and
	// SpoolBytes describe the disk spool.
	Queued     int
	Spooled    int
	SpoolBytes int64
}

// job is one sealed batch on its way to the server.
type job struct {
	seq     uint64 // order of sealing, for Flush
	id      string // batch ID: the server's idempotency key
	records int
	body    []byte // the encoded batch; nil while it lives only in the spool
	path    string // spool file, "" while in memory only
	size    int64  // encoded size in bytes
	// counted: size is part of spoolBytes (its file is in the spool,
	// listed or being sent).
	counted bool
}

// sealed is a batch of records taken from the open batch, before encoding.
type sealed struct {
	job  *job
	recs []apisessions.Record
}

// Exporter batches records and sends them to the server. Its methods are
// safe for concurrent use. It owns one goroutine, started by New and ended
// by Close.
type Exporter struct {
	opts      Options
	log       *slog.Logger
	m         *metrics
	client    *http.Client
	ownClient bool // the client was made by New, so Close may close its connections

	mu           sync.Mutex
	pending      []apisessions.Record // the open batch
	pendingBytes int                  // estimated JSON size of pending
	pendingSince time.Time            // when the first pending record came
	queue        []*job               // sealed batches in memory, oldest first
	spool        []*job               // batches on disk, oldest first, not being sent
	spoolBytes   int64                // bytes of spool files, the one being sent included
	inflight     *job                 // the batch being sent, for Stats
	seq          uint64
	outstanding  map[uint64]struct{} // sealed and not yet sent or dropped
	closed       bool
	changed      chan struct{} // closed and replaced whenever a batch is resolved
	stats        Stats
	failing      bool // the last attempt failed: log the outage once, and the recovery

	// failures counts consecutive failed attempts, whatever the batch, so
	// that backoff keeps growing through an outage even as batches rotate
	// through the spool. Only the goroutine touches it.
	failures int

	spoolMu   sync.Mutex     // serialises spool writes and evictions
	sealing   sync.WaitGroup // batches sealed but not yet queued
	wake      chan struct{}  // a batch was queued
	stop      chan struct{}  // closed by Close
	done      chan struct{}  // closed when the goroutine has ended
	runCtx    context.Context
	cancelRun context.CancelFunc
	closeOnce sync.Once
	closeErr  error
}

// New returns a running Exporter. It does not fail: options are validated
// by Options.Validate, and a spool directory that cannot be used is logged
// and replaced by no spool. Batches left in the spool by an earlier run are
// sent first. With a Registerer, only one Exporter may use it.
func New(opts Options) *Exporter {
	o := opts.withDefaults()
	if o.Node == "" {
		o.Node, _ = os.Hostname()
		if o.Node == "" || len(o.Node) > 255 {
			o.Node = "node"
		}
	}
	e := &Exporter{
		opts:        o,
		log:         o.Logger,
		m:           newMetrics(o.Registerer),
		client:      o.Client,
		outstanding: map[uint64]struct{}{},
		changed:     make(chan struct{}),
		wake:        make(chan struct{}, 1),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	if e.client == nil {
		e.client = &http.Client{Timeout: 30 * time.Second,
			Transport: http.DefaultTransport.(*http.Transport).Clone()}
		e.ownClient = true
	}
	e.runCtx, e.cancelRun = context.WithCancel(context.Background())
	if o.SpoolDir != "" {
		jobs, err := loadSpool(o.SpoolDir)
		if err != nil {
			e.log.Error("export: spool disabled", "dir", o.SpoolDir, "err", err)
			e.opts.SpoolDir = ""
		}
		for _, j := range jobs {
			e.seq++
			j.seq = e.seq
			e.outstanding[j.seq] = struct{}{}
			j.counted = true
			e.spool = append(e.spool, j)
			e.spoolBytes += j.size
		}
		if len(jobs) > 0 {
			e.log.Info("export: batches waiting in spool", "batches", len(jobs), "bytes", e.spoolBytes)
		}
		e.mu.Lock()
		victims := e.evictLocked(0)
		e.updateGaugesLocked()
		e.mu.Unlock()
		e.dropAll(victims, dropSpoolFull)
	}
	go e.run()
	return e
}

// Add puts rec into the open batch. It never waits for the network: a full
// batch is encoded and queued, and when the queue is full (the server is
// slow or down) the batch goes to the spool, whose oldest batches are
// dropped and counted when it is full too. A record over the wire limits is
// refused with an EINVALID error. The exporter keeps rec, slices included:
// the caller must not change them afterwards.
func (e *Exporter) Add(ctx context.Context, rec apisessions.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := wire.CheckRecord(&rec, e.opts.Limits); err != nil {
		e.m.invalid.Inc()
		return err
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	if len(e.pending) == 0 {
		e.pendingSince = e.opts.Now()
	}
	e.pending = append(e.pending, rec)
	e.pendingBytes += estimateSize(&rec)
	e.stats.Added++
	var s *sealed
	if len(e.pending) >= e.opts.BatchSize || e.pendingBytes >= e.opts.BatchBytes {
		s = e.sealLocked()
	}
	e.mu.Unlock()
	e.m.added.Inc()
	if s != nil {
		e.finishSeal(s)
	}
	return nil
}

// Flush seals the open batch and waits until every batch sealed before it
// (spooled ones included) has been accepted by the server or dropped, or
// until ctx is done.
func (e *Exporter) Flush(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	s := e.sealLocked()
	target := e.seq
	e.mu.Unlock()
	if s != nil {
		e.finishSeal(s)
	}
	e.signal()
	for {
		e.mu.Lock()
		waiting := false
		for seq := range e.outstanding {
			if seq <= target {
				waiting = true
				break
			}
		}
		ch := e.changed
		e.mu.Unlock()
		if !waiting {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-e.done:
			return ErrClosed
		}
	}
}

// Close sends what is in memory, for at most Options.CloseTimeout, spools
// what could not be sent (or drops it, without a spool), and stops the
// goroutine. It returns an error when records were dropped on the way out.
// Spooled batches stay on disk for the next start.
func (e *Exporter) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed = true
		s := e.sealLocked()
		droppedBefore := e.stats.Dropped
		e.mu.Unlock()
		if s != nil {
			e.finishSeal(s)
		}
		e.sealing.Wait()
		close(e.stop)
		<-e.done
		e.cancelRun()
		if e.ownClient {
			e.client.CloseIdleConnections()
		}
		e.mu.Lock()
		lost := e.stats.Dropped - droppedBefore
		e.mu.Unlock()
		if lost > 0 {
			e.closeErr = fmt.Errorf("export: %d records dropped while closing", lost)
		}
	})
	return e.closeErr
}

// Stats returns the running totals.
func (e *Exporter) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Queued = len(e.queue)
	s.Spooled = len(e.spool)
	if e.inflight != nil && e.inflight.path != "" {
		s.Spooled++
	}
	s.SpoolBytes = e.spoolBytes
	return s
}

// sealLocked takes the open batch, if any, and registers it as outstanding.
func (e *Exporter) sealLocked() *sealed {
	if len(e.pending) == 0 {
		return nil
	}
	e.seq++
	s := &sealed{job: &job{seq: e.seq, records: len(e.pending)}, recs: e.pending}
	e.outstanding[e.seq] = struct{}{}
	e.pending, e.pendingBytes = nil, 0
	e.sealing.Add(1)
	return s
}

// finishSeal encodes a sealed batch outside the lock and queues it.
func (e *Exporter) finishSeal(s *sealed) {
	defer e.sealing.Done()
	b := &wire.Batch{ID: wire.NewID(), Node: e.opts.Node, Created: e.opts.Now(), Records: s.recs}
	data, err := wire.Marshal(b)
	j := s.job
	j.id = b.ID
	if err != nil {
		// Records were checked on Add, so this is a bug, not bad input.
		e.log.Error("export: encode batch", "batch", j.id, "records", j.records, "err", err)
		e.resolve(j, dropEncode)
		return
	}
	j.body, j.size = data, int64(len(data))
	e.enqueue(j)
}

// enqueue queues j in memory, or spills it when the queue is full.
func (e *Exporter) enqueue(j *job) {
	e.mu.Lock()
	if len(e.queue) < e.opts.QueueBatches {
		e.queue = append(e.queue, j)
		e.updateGaugesLocked()
		e.mu.Unlock()
		e.signal()
		return
	}
	if e.opts.SpoolDir == "" {
		// Without a spool, keep the newest batches, as the spool would.
		victim := e.queue[0]
		e.queue = append(e.queue[1:], j)
		e.mu.Unlock()
		e.resolve(victim, dropQueueFull)
		return
	}
	e.mu.Unlock()
	e.spill(j)
}

// spill writes j to the spool, evicting the oldest spooled batches to keep
// the spool under its limit. Without a spool, j is dropped with reason.
func (e *Exporter) spill(j *job) {
	if e.opts.SpoolDir == "" {
		e.resolve(j, dropClosed)
		return
	}
	e.spoolMu.Lock()
	defer e.spoolMu.Unlock()
	if j.path != "" {
		// Read back from the spool for sending: its file is still there,
		// and it is the oldest.
		e.mu.Lock()
		e.spool = append([]*job{j}, e.spool...)
		if e.inflight == j {
			e.inflight = nil
		}
		e.updateGaugesLocked()
		e.mu.Unlock()
		j.body = nil
		return
	}
	if j.size > e.opts.SpoolLimit {
		e.resolve(j, dropSpoolFull)
		return
	}
	e.mu.Lock()
	victims := e.evictLocked(j.size)
	fits := e.spoolBytes+j.size <= e.opts.SpoolLimit
	e.mu.Unlock()
	e.dropAll(victims, dropSpoolFull)
	if !fits {
		// Only the batch being sent is left and the two do not fit: the
		// limit is less than two batches.
		e.resolve(j, dropSpoolFull)
		return
	}

	path, err := writeSpoolFile(e.opts.SpoolDir, spoolName(e.opts.Now().UnixNano(), j.id, j.records), j.body)
	if err != nil {
		e.log.Error("export: spool batch", "batch", j.id, "records", j.records, "err", err)
		e.resolve(j, dropSpoolError)
		return
	}
	e.mu.Lock()
	j.path, j.body, j.counted = path, nil, true
	e.spool = append(e.spool, j)
	if e.inflight == j {
		e.inflight = nil
	}
	e.spoolBytes += j.size
	e.updateGaugesLocked()
	e.mu.Unlock()
	e.m.spooled.Inc()
}

// rotate moves j, which keeps failing while other batches wait, to the back
// of the spool, so that one batch the server cannot take (a 5xx it gives
// for that batch only) does not hold up every other. It keeps its ID.
func (e *Exporter) rotate(j *job) {
	if j.path == "" {
		e.spill(j)
		return
	}
	e.spoolMu.Lock()
	defer e.spoolMu.Unlock()
	path := filepath.Join(e.opts.SpoolDir, spoolName(e.opts.Now().UnixNano(), j.id, j.records))
	if err := os.Rename(j.path, path); err != nil {
		e.log.Error("export: rotate spooled batch", "batch", j.id, "err", err)
		e.resolve(j, dropSpoolError)
		return
	}
	e.mu.Lock()
	j.path, j.body = path, nil
	e.spool = append(e.spool, j)
	if e.inflight == j {
		e.inflight = nil
	}
	e.updateGaugesLocked()
	e.mu.Unlock()
}

// evictLocked removes the oldest spooled batches until room more bytes fit
// under the spool limit, and returns them for dropAll.
func (e *Exporter) evictLocked(room int64) []*job {
	var victims []*job
	for len(e.spool) > 0 && e.spoolBytes+room > e.opts.SpoolLimit {
		v := e.spool[0]
		e.spool = e.spool[1:]
		e.spoolBytes -= v.size
		v.counted = false
		victims = append(victims, v)
	}
	return victims
}

func (e *Exporter) dropAll(jobs []*job, reason string) {
	for _, j := range jobs {
		e.resolve(j, reason)
	}
}

// resolve ends j: sent when reason is "", else dropped for reason. It
// removes its spool file and wakes Flush.
func (e *Exporter) resolve(j *job, reason string) {
	if j.path != "" {
		if err := os.Remove(j.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			e.log.Warn("export: remove spooled batch", "batch", j.id, "err", err)
		}
	}
	e.mu.Lock()
	delete(e.outstanding, j.seq)
	if j.counted {
		e.spoolBytes -= j.size
		j.counted = false
	}
	if e.inflight == j {
		e.inflight = nil
	}
	if reason == "" {
		e.stats.Sent += int64(j.records)
		e.stats.BatchesSent++
	} else {
		e.stats.Dropped += int64(j.records)
		e.stats.BatchesDropped++
	}
	close(e.changed)
	e.changed = make(chan struct{})
	e.updateGaugesLocked()
	e.mu.Unlock()
	if reason == "" {
		e.m.sentBatches.Inc()
		e.m.sentRecords.Add(float64(j.records))
		return
	}
	e.m.droppedBatches.WithLabelValues(reason).Inc()
	e.m.droppedRecords.WithLabelValues(reason).Add(float64(j.records))
	if reason != dropRejected && reason != dropEncode { // those were logged with their cause
		e.log.Warn("export: batch dropped", "batch", j.id, "records", j.records, "reason", reason)
	}
}

func (e *Exporter) updateGaugesLocked() {
	e.m.queueBatches.Set(float64(len(e.queue)))
	e.m.spoolBatches.Set(float64(len(e.spool)))
	e.m.spoolBytes.Set(float64(e.spoolBytes))
}

func (e *Exporter) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// next returns the next batch to send: memory first (it is newest and
// costs memory), then the spool, oldest first. Nil when there is none.
func (e *Exporter) next(memoryOnly bool) *job {
	for {
		e.mu.Lock()
		var j *job
		switch {
		case len(e.queue) > 0:
			j = e.queue[0]
			e.queue = e.queue[1:]
		case len(e.spool) > 0 && !memoryOnly:
			j = e.spool[0]
			e.spool = e.spool[1:]
		}
		e.inflight = j
		e.updateGaugesLocked()
		e.mu.Unlock()
		if j == nil || j.body != nil {
			return j
		}
		data, err := os.ReadFile(j.path)
		if err != nil {
			e.log.Error("export: read spooled batch", "batch", j.id, "err", err)
			e.resolve(j, dropSpoolError)
			continue
		}
		j.body = data
		return j
	}
}

// run is the exporter's goroutine: it seals batches on the flush interval
// and sends queued and spooled batches one at a time, then drains on Close.
func (e *Exporter) run() {
	defer close(e.done)
	tick := time.NewTicker(max(e.opts.FlushInterval/4, time.Millisecond))
	defer tick.Stop()

	var unsent *job
loop:
	for {
		j := e.next(false)
		if j == nil {
			select {
			case <-e.wake:
			case <-tick.C:
				e.sealDue()
			case <-e.stop:
				break loop
			}
			continue
		}
		if !e.deliver(j, e.stop, tick.C) {
			unsent = j
			break
		}
	}

	// Closing: keep sending what is in memory until CloseTimeout, then
	// spool the rest. The spool itself stays for the next start.
	timer := time.AfterFunc(e.opts.CloseTimeout, e.cancelRun)
	defer timer.Stop()
	j := unsent
	if j == nil {
		j = e.next(true)
	}
	for ; j != nil; j = e.next(true) {
		if !e.deliver(j, nil, nil) {
			e.spill(j)
		}
	}
	e.mu.Lock()
	for _, j := range e.spool {
		delete(e.outstanding, j.seq)
	}
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
}

// sealDue seals the open batch when its first record has waited the flush
// interval.
func (e *Exporter) sealDue() {
	e.mu.Lock()
	var s *sealed
	if len(e.pending) > 0 && e.opts.Now().Sub(e.pendingSince) >= e.opts.FlushInterval {
		s = e.sealLocked()
	}
	e.mu.Unlock()
	if s != nil {
		e.finishSeal(s)
	}
}

// rotateAfter is the number of failed attempts after which a batch yields
// its turn to waiting ones (see rotate): enough to ride out a blip without
// touching the disk.
const rotateAfter = 3

// deliver sends j until the server takes it or refuses it for good, or,
// with a spool, until it has failed rotateAfter times while other batches
// wait: then it moves to the back of the spool (true: j is handled). It
// returns false, j unsent, when stop is closed or the run context ends.
// Between attempts it keeps sealing due batches, so that records do not
// wait in memory past the flush interval while the server is down.
func (e *Exporter) deliver(j *job, stop <-chan struct{}, tick <-chan time.Time) bool {
	for attempt := 1; ; attempt++ {
		retryAfter, cause, err := e.post(j)
		if err == nil {
			e.failures = 0
			e.setFailing(false, j, nil)
			e.resolve(j, "")
			return true
		}
		if cause == "" {
			e.log.Error("export: server refused batch", "batch", j.id, "records", j.records, "err", err)
			e.resolve(j, dropRejected)
			return true
		}
		if e.runCtx.Err() != nil {
			return false
		}
		e.failures++
		e.m.retries.WithLabelValues(cause).Inc()
		e.mu.Lock()
		e.stats.Retries++
		e.mu.Unlock()
		e.setFailing(true, j, err)

		timer := time.NewTimer(e.backoff(e.failures, retryAfter))
	wait:
		for {
			select {
			case <-timer.C:
				break wait
			case <-tick:
				e.sealDue()
			case <-stop:
				timer.Stop()
				return false
			case <-e.runCtx.Done():
				timer.Stop()
				return false
			}
		}
		if stop != nil && attempt >= rotateAfter && e.opts.SpoolDir != "" && e.othersWaiting() {
			e.rotate(j)
			return true
		}
	}
}

// othersWaiting reports whether batches other than the one being sent wait.
func (e *Exporter) othersWaiting() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.queue) > 0 || len(e.spool) > 0
}

// setFailing logs the start and the end of an outage once each, not every
// attempt.
func (e *Exporter) setFailing(failing bool, j *job, err error) {
	e.mu.Lock()
	was := e.failing
	e.failing = failing
	e.mu.Unlock()
	switch {
	case failing && !was:
		e.log.Warn("export: server unavailable, retrying", "batch", j.id, "err", err)
	case !failing && was:
		e.log.Info("export: server available again", "batch", j.id)
	}
}

// post sends j once. On failure, cause is the retry label ("network",
// "server", "throttled"), or "" when the server refused the batch for good.
func (e *Exporter) post(j *job) (retryAfter time.Duration, cause string, err error) {
	req, err := http.NewRequestWithContext(e.runCtx, http.MethodPost, e.opts.URL, bytes.NewReader(j.body))
	if err != nil {
		return 0, "", fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", wire.ContentType)
	req.Header.Set("Authorization", "Bearer "+e.opts.Token)
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, "network", fmt.Errorf("post batch: %w", err)
	}
	// Read a little of the body so the connection can be reused; the
	// error text of a refusal is logged.
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return 0, "", nil
	case code == http.StatusTooManyRequests:
		return parseRetryAfter(resp.Header.Get("Retry-After")), "throttled", fmt.Errorf("server status %d", code)
	case code >= 500, code == http.StatusRequestTimeout:
		return parseRetryAfter(resp.Header.Get("Retry-After")), "server", fmt.Errorf("server status %d", code)
	default:
		return 0, "", fmt.Errorf("server status %d: %s", code, bytes.TrimSpace(msg))
	}
}

// backoff is the delay before attempt+1: exponential from MinBackoff,
// capped at MaxBackoff, with "equal jitter" (half fixed, half random) so
// that nodes failing together spread out without retrying at once.
func (e *Exporter) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := e.opts.MaxBackoff
	if attempt < 32 {
		if s := e.opts.MinBackoff << (attempt - 1); s > 0 && s < d {
			d = s
		}
	}
	d = d/2 + rand.N(d/2+1)
	if retryAfter > d {
		d = min(retryAfter, e.opts.MaxBackoff)
	}
	return d
}

// parseRetryAfter reads the seconds form of Retry-After; the date form is
// rare from APIs and ignored.
func parseRetryAfter(v string) time.Duration {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// estimateSize approximates the JSON size of a record, to seal batches
// before they near the server's decompressed limit. It errs high.
func estimateSize(r *apisessions.Record) int {
	n := 512 + len(r.ID) + len(r.SessionID) + len(r.Method) + len(r.Host) + len(r.Path) +
		len(r.Endpoint) + len(r.ClientIP) + len(r.UserAgent) + len(r.Key.Point) +
		len(r.Key.Value) + len(r.User) + len(r.Role) + len(r.BlockReason)
	for _, p := range r.Params {
		n += 64 + len(p.Name) + len(p.Point) + len(p.Value)
	}
	for _, f := range r.Flows {
		n += 4 + len(f)
	}
	for _, f := range r.Findings {
		n += 96 + 8*len(f.RuleIDs) + len(f.Point) + 2*len(f.Payload)
	}
	if c := r.Content; c != nil {
		n += 64 + len(c.Target) + 2*len(c.Body)
		for _, h := range c.Headers {
			n += 24 + len(h.Name) + len(h.Value)
		}
	}
	return n
}
