package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/capture"
	"github.com/apisessions/apisessions/internal/config"
	"github.com/apisessions/apisessions/internal/sessionize"
)

// importBatch is the number of records written to the store in one
// transaction: large enough to amortise the commit, small enough to keep
// memory flat.
const importBatch = 5000

// A chunk is the input handed from the reader to a worker at a time: up to
// chunkLines lines, so that channel overhead stays small next to the work
// per line, and about chunkBytes at most, so that the chunks in flight
// bound memory whatever the file (one line may still run to
// capture.Options.MaxRecordBytes).
const (
	chunkLines = 256
	chunkBytes = 256 << 10
)

// storeWriters is the number of goroutines that call the store's Write.
const storeWriters = 2

// chunksPerWorker bounds the chunks between the reader and the writer: the
// reader waits while that many are read and not yet written. It keeps the
// workers busy while the writer commits and bounds memory.
const chunksPerWorker = 4

// An import collects garbage less often than Go's default (a heap twice
// the live data): its live data is bounded (chunks and batches in flight,
// the store's cache of session parts: some 160 MB at most when importing
// 1,000,000 exchanges) and it allocates all the way through, so each
// collection mostly marks the same bounded data again. The heap may grow
// importGCPercent past the live data, but not past importHeapLimit while the
// live data fits under it: memory stays independent of the size of the
// input. The limit binds on a large import, so it sets how often the
// collector marks the cache again: 512 MiB rather than 384 MiB took 6–7%
// less CPU and wall time for about 115 MB more at the peak (1,000,000
// exchanges over 50,000 sessions, 4 runs each, alternated). GOGC or
// GOMEMLIMIT in the environment take precedence.
const (
	importGCPercent = 400
	importHeapLimit = 512 << 20
)

// tuneImportGC applies the import's collector settings and returns what
// restores the previous ones.
func tuneImportGC(getenv func(string) string) (restore func()) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	limit := debug.SetMemoryLimit(importHeapLimit)
	percent := debug.SetGCPercent(importGCPercent)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}

func runImport(ctx context.Context, e *env) error {
	defer tuneImportGC(e.getenv)()
	fs := newFlags(e, "import", "FILE...")
	cfgPath := fs.String("config", "", "configuration `file` (YAML); built-in grouping keys only when empty")
	data := fs.String("data", "", "data `directory` (default ./apisessions-data, env "+dataDirEnv+")")
	format := fs.String("format", "", "input format: jsonl or har (default: by file extension)")
	clientIP := fs.String("client-ip", "", "client `IP` for HAR entries, which do not record one")
	detectMode := fs.String("detect", "fast", "attack detection: full, fast or off")
	start := fs.String("start", "", "shift exchange times so the first one read is at `T` (RFC 3339, a date, or a duration ago such as 24h): replays an old capture inside the retention window")
	dryRun := fs.Bool("dry-run", false, "read, detect and sessionize, but store nothing (checks a configuration on real traffic)")
	rf := addRemoteFlags(fs)
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		return usageErrorf("no traffic file given (use - for standard input)")
	}
	startAt, err := parseWhen(*start, time.Now())
	if err != nil {
		return usageErrorf("--start: %v", err)
	}
	var (
		cfg    apisessions.Config
		secret []byte
		st     apisessions.Store = discardStore{}
	)
	client, err := rf.client(e)
	if err != nil {
		return err
	}
	if client != nil {
		// A server decides the configuration and the session secret, as it
		// does for its nodes, so imported traffic joins their sessions.
		if *cfgPath != "" {
			return usageErrorf("--config and --server exclude each other: the server's configuration applies (config push changes it)")
		}
		if cfg, secret, err = client.NodeConfig(ctx); err != nil {
			return fmt.Errorf("configuration from the server: %w", err)
		}
		cfg = config.WithDefaults(cfg)
		if !*dryRun {
			st = remoteStore{client: client, node: "import"}
		}
	} else {
		if cfg, err = loadConfig(*cfgPath); err != nil {
			return err
		}
		dir := dataDir(*data, e.getenv)
		if !*dryRun {
			local, err := openWriterStore(ctx, dir)
			if err != nil {
				return err
			}
			defer local.Close()
			if err := expireOnce(ctx, local, cfg, time.Now()); err != nil {
				return err
			}
			st = local
		}
		if secret, err = importSecret(dir, cfg.SessionSecretFile, *dryRun); err != nil {
			return err
		}
	}
	det, err := newDetector(*detectMode, cfg)
	if err != nil {
		return err
	}
	sz, err := sessionize.New(sessionize.Options{Config: cfg, Secret: secret, Now: time.Now})
	if err != nil {
		return fmt.Errorf("sessionize: %w", err)
	}
	imp := &importer{
		store:     st,
		tenant:    apisessions.DefaultTenant,
		detector:  det,
		sessions:  sz,
		touched:   make(map[dayPart]struct{}),
		stderr:    e.stderr,
		now:       time.Now,
		workers:   runtime.GOMAXPROCS(0),
		batchSize: importBatch,
		startAt:   startAt,
	}
	var sum importSummary
	for _, f := range files {
		s, err := imp.importFile(ctx, f, *format, capture.Options{ClientIP: *clientIP, Stdin: e.stdin, OnError: func(pos int64, err error) {
			fmt.Fprintf(e.stderr, "%s: %d: skipped: %v\n", f, pos, err)
		}})
		sum.add(s)
		if err != nil {
			printSummary(e.stdout, sum, len(imp.touched))
			return err
		}
	}
	printSummary(e.stdout, sum, len(imp.touched))
	if sum.Read == 0 {
		return errors.New("no exchange could be read")
	}
	return nil
}

// importSummary counts what an import did.
type importSummary struct {
	Read       int64
	Stored     int64
	Duplicates int64
	OutOfScope int64
	TooOld     int64
	Malformed  int64
	Attacks    int64
	Bytes      int64
}

func (s *importSummary) add(o importSummary) {
	s.Read += o.Read
	s.Stored += o.Stored
	s.Duplicates += o.Duplicates
	s.OutOfScope += o.OutOfScope
	s.TooOld += o.TooOld
	s.Malformed += o.Malformed
	s.Attacks += o.Attacks
	s.Bytes += o.Bytes
}

func printSummary(w io.Writer, s importSummary, sessions int) {
	fmt.Fprintf(w, "read %d exchanges: stored %d, already stored %d, out of scope %d, too old %d, malformed %d; %d attacks; %d session day parts touched\n",
		s.Read, s.Stored, s.Duplicates, s.OutOfScope, s.TooOld, s.Malformed, s.Attacks, sessions)
}

// importer runs exchanges through detect and sessionize into a store.
type importer struct {
	store     apisessions.Store
	tenant    string
	detector  apisessions.Detector // nil: detection off
	sessions  *sessionize.Sessionizer
	stderr    io.Writer
	now       func() time.Time
	workers   int
	batchSize int
	// startAt, when set, is where the first exchange read is moved to; all
	// others move by the same amount.
	startAt time.Time
	shift   time.Duration
	shifted bool

	// touched holds the session day parts written, up to maxTouched, for the
	// summary; past that the count is a lower bound.
	touched map[dayPart]struct{}
}

// dayPart names a session day part; a struct rather than a joined string,
// which would cost an allocation per record on the store's goroutine.
type dayPart struct{ session, day string }

// maxTouched bounds the memory the session count of the summary may take.
const maxTouched = 1 << 20

// processed is the outcome of one exchange.
type processed struct {
	rec     apisessions.Record
	outcome sessionize.Outcome
}

// badLine is a line or entry skipped as malformed, reported by its number.
type badLine struct {
	pos int64
	err error
}

// chunk is a run of input in file order. JSON lines travel undecoded, since
// decoding is most of the work of reading and belongs on the workers: the
// bytes of the lines back to back in buf, where each ends and its line
// number. Other formats travel decoded (exs).
type chunk struct {
	seq  int64
	buf  []byte
	ends []int
	nums []int64
	exs  []*apisessions.Exchange
	// bad are the records the reader itself refused (JSON lines over the
	// size limit, bad HAR entries), reported in order with the chunk's.
	bad []badLine
	// shift is the --start shift, known by the time a chunk that needs it
	// is sent (see readChunks); zero without --start.
	shift time.Duration
}

// reset empties c for reuse.
func (c *chunk) reset(seq int64) {
	c.seq, c.buf, c.ends, c.nums = seq, c.buf[:0], c.ends[:0], c.nums[:0]
	clear(c.exs)
	c.exs, c.bad, c.shift = c.exs[:0], nil, 0
}

func (c *chunk) len() int { return len(c.ends) + len(c.exs) }

// result is what a worker made of a chunk.
type result struct {
	c   *chunk
	out []processed
	bad []badLine // lines that did not decode
}

// importRun is the state of one file's import shared by its goroutines.
type importRun struct {
	imp    *importer
	path   string
	rd     capture.Reader
	cancel context.CancelFunc

	offset, read, undecoded atomic.Int64
	workErr                 atomic.Pointer[error]

	// free holds chunks for reuse; inflight holds one token per chunk read
	// and not yet written.
	free     chan *chunk
	inflight chan struct{}
	// cur is the chunk the reader fills; the reader's OnError adds to it.
	cur *chunk
}

func (imp *importer) importFile(ctx context.Context, path, format string, opts capture.Options) (importSummary, error) {
	var sum importSummary
	report := opts.OnError
	run := &importRun{imp: imp, path: path}
	// Readers report bad records into the chunk they are in, so that all
	// reports come from the writer in file order.
	opts.OnError = func(pos int64, err error) { run.cur.bad = append(run.cur.bad, badLine{pos, err}) }
	rd, closer, err := capture.Open(path, format, opts)
	if err != nil {
		return sum, err
	}
	defer closer.Close()
	run.rd = rd
	var size int64
	if path != "-" {
		if fi, err := os.Stat(path); err == nil {
			size = fi.Size()
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	run.cancel = cancel
	inFlight := imp.workers * chunksPerWorker
	run.free = make(chan *chunk, inFlight)
	run.inflight = make(chan struct{}, inFlight)

	chunks := make(chan *chunk, imp.workers)
	results := make(chan result, inFlight)
	var readErr error
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(chunks)
		readErr = run.readChunks(ctx, chunks)
	}()
	var wg sync.WaitGroup
	for range imp.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.work(ctx, chunks, results)
		}()
	}
	go func() { wg.Wait(); close(results) }()

	stopProgress := imp.progress(path, size, &run.read, &run.offset)
	defer stopProgress()

	// The store writes on goroutines of its own, so that workers decode
	// and sessionize the next batch while one commits. There are two: a
	// store prepares a batch (encoding, checks) before it takes its one
	// writer, so one batch is prepared while the other is written.
	batches := make(chan []apisessions.Record, 1)
	spare := make(chan []apisessions.Record, storeWriters+1)
	var (
		storeMu  sync.Mutex
		storeErr error
		writers  sync.WaitGroup
	)
	for range storeWriters {
		writers.Go(func() {
			for batch := range batches {
				storeMu.Lock()
				failed := storeErr != nil
				storeMu.Unlock()
				if !failed {
					if err := imp.write(ctx, batch, &sum, &storeMu); err != nil {
						storeMu.Lock()
						if storeErr == nil {
							storeErr = err
						}
						storeMu.Unlock()
						cancel()
					}
				}
				select {
				case spare <- batch[:0]:
				default:
				}
			}
		})
	}
	batch := make([]apisessions.Record, 0, imp.batchSize)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		batches <- batch
		select {
		case batch = <-spare:
		default:
			batch = make([]apisessions.Record, 0, imp.batchSize)
		}
	}
	// Results come in any order; they are taken in the order read, so that
	// bad lines are reported in order.
	pending := map[int64]result{}
	var next int64
	for res := range results {
		pending[res.c.seq] = res
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if ctx.Err() == nil {
				run.report(r, report)
				for i := range r.out {
					switch r.out[i].outcome {
					case sessionize.OutOfScope:
						sum.OutOfScope++
						continue
					case sessionize.TooOld:
						sum.TooOld++
						continue
					}
					if r.out[i].rec.Malicious() {
						sum.Attacks++
					}
					batch = append(batch, r.out[i].rec)
					if len(batch) >= imp.batchSize {
						flush()
					}
				}
			}
			run.recycle(r.c)
			<-run.inflight
		}
	}
	if ctx.Err() == nil {
		flush()
	}
	close(batches)
	writers.Wait()
	<-readDone
	sum.Read = run.read.Load()
	sum.Malformed = int64(rd.Malformed()) + run.undecoded.Load()
	sum.Bytes = run.offset.Load()
	if p := run.workErr.Load(); p != nil {
		return sum, *p
	}
	if storeErr != nil {
		return sum, storeErr
	}
	if err := ctx.Err(); err != nil && readErr == nil {
		return sum, err
	}
	return sum, readErr
}

// write stores one batch and counts it in sum, guarded by mu.
func (imp *importer) write(ctx context.Context, batch []apisessions.Record, sum *importSummary, mu *sync.Mutex) error {
	ws, err := imp.store.Write(ctx, imp.tenant, batch)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	sum.Stored += int64(ws.Stored)
	sum.Duplicates += int64(ws.Duplicates)
	for i := range batch {
		if len(imp.touched) >= maxTouched {
			break
		}
		imp.touched[dayPart{batch[i].SessionID, batch[i].Day}] = struct{}{}
	}
	return nil
}

// readChunks reads the input into chunks until its end, a read error or
// the end of ctx.
func (run *importRun) readChunks(ctx context.Context, chunks chan<- *chunk) error {
	imp := run.imp
	jr, raw := run.rd.(*capture.JSONLReader)
	var seq int64
	run.cur = run.newChunk(seq)
	send := func() bool {
		select {
		case run.inflight <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		run.cur.shift = imp.shift
		select {
		case chunks <- run.cur:
		case <-ctx.Done():
			return false
		}
		seq++
		run.cur = run.newChunk(seq)
		return true
	}
	for {
		var err error
		if raw {
			err = run.readLine(jr)
		} else {
			err = run.readExchange()
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", run.path, err)
		}
		run.offset.Store(run.rd.Offset())
		if run.cur.len() >= chunkLines || len(run.cur.buf) >= chunkBytes {
			if !send() {
				return nil
			}
		}
	}
	if run.cur.len() > 0 || len(run.cur.bad) > 0 {
		send()
	}
	return nil
}

// readLine adds the next JSON line to the current chunk, undecoded. With
// --start the shift comes from the first exchange that has a time, so the
// reader decodes lines itself until it has one: every line that needs the
// shift is then in a chunk sent after it is known.
func (run *importRun) readLine(jr *capture.JSONLReader) error {
	line, no, err := jr.NextRaw()
	if err != nil {
		return err
	}
	imp, c := run.imp, run.cur
	if !imp.startAt.IsZero() && !imp.shifted {
		if ex, err := capture.ParseJSONL(line); err == nil && !ex.Time.IsZero() {
			imp.shift, imp.shifted = imp.startAt.Sub(ex.Time), true
		}
	}
	c.buf = append(c.buf, line...)
	c.ends = append(c.ends, len(c.buf))
	c.nums = append(c.nums, no)
	return nil
}

// readExchange adds the next exchange of a format read whole by the reader
// (HAR) to the current chunk.
func (run *importRun) readExchange() error {
	ex, err := run.rd.Next()
	if err != nil {
		return err
	}
	run.imp.setTime(ex)
	run.read.Add(1)
	run.cur.exs = append(run.cur.exs, ex)
	return nil
}

// setTime gives an exchange without a time the current one, and shifts
// the others by --start; the first exchange with a time sets the shift.
func (imp *importer) setTime(ex *apisessions.Exchange) {
	if ex.Time.IsZero() {
		ex.Time = imp.now()
		return
	}
	if imp.startAt.IsZero() {
		return
	}
	if !imp.shifted {
		imp.shift, imp.shifted = imp.startAt.Sub(ex.Time), true
	}
	ex.Time = ex.Time.Add(imp.shift)
}

// newChunk returns an empty chunk, reused when one is free.
func (run *importRun) newChunk(seq int64) *chunk {
	var c *chunk
	select {
	case c = <-run.free:
	default:
		c = &chunk{}
	}
	c.reset(seq)
	return c
}

// recycle keeps a written chunk for reuse, unless one long line grew it.
func (run *importRun) recycle(c *chunk) {
	if cap(c.buf) > 2*chunkBytes {
		return
	}
	select {
	case run.free <- c:
	default:
	}
}

// work decodes, detects and sessionizes chunks until there are no more.
func (run *importRun) work(ctx context.Context, chunks <-chan *chunk, results chan<- result) {
	imp := run.imp
	for c := range chunks {
		res := result{c: c, out: make([]processed, 0, c.len())}
		start := 0
		for i, end := range c.ends {
			line := c.buf[start:end]
			start = end
			ex, err := capture.ParseJSONL(line)
			if err != nil {
				res.bad = append(res.bad, badLine{c.nums[i], err})
				run.undecoded.Add(1)
				continue
			}
			if ex.Time.IsZero() {
				ex.Time = imp.now()
			} else {
				ex.Time = ex.Time.Add(c.shift)
			}
			run.read.Add(1)
			if !run.process(ctx, ex, &res) {
				return
			}
		}
		for _, ex := range c.exs {
			if !run.process(ctx, ex, &res) {
				return
			}
		}
		select {
		case results <- res:
		case <-ctx.Done():
			return
		}
	}
}

// process runs one exchange through detect and sessionize into res; false
// when it failed and the import ends.
func (run *importRun) process(ctx context.Context, ex *apisessions.Exchange, res *result) bool {
	res.out = append(res.out, processed{})
	if err := run.imp.process(ctx, ex, &res.out[len(res.out)-1]); err != nil {
		run.workErr.CompareAndSwap(nil, &err)
		run.cancel()
		return false
	}
	return true
}

// report tells the caller's OnError about the bad records of a result, in
// file order.
func (run *importRun) report(r result, onError func(int64, error)) {
	bad := append(r.c.bad, r.bad...)
	if onError == nil || len(bad) == 0 {
		return
	}
	slices.SortStableFunc(bad, func(a, b badLine) int { return cmp.Compare(a.pos, b.pos) })
	for _, b := range bad {
		onError(b.pos, b.err)
	}
}

// process runs one exchange through detection and sessionize.
func (imp *importer) process(ctx context.Context, ex *apisessions.Exchange, out *processed) error {
	var det apisessions.Detection
	// Exchanges that will not be stored (out of scope, too old) are not
	// worth the cost of detection.
	if imp.detector != nil && imp.sessions.Scope(ex).Outcome == sessionize.Stored {
		d, err := imp.detector.Detect(ctx, ex)
		if err != nil {
			return fmt.Errorf("detect: %w", err)
		}
		det = d
	}
	oc, err := imp.sessions.Process(ex, det, &out.rec)
	if err != nil {
		return fmt.Errorf("sessionize: %w", err)
	}
	out.outcome = oc
	return nil
}

// progress draws a progress line on stderr when it is a terminal, and
// returns the function that ends it.
func (imp *importer) progress(path string, size int64, read, offset *atomic.Int64) func() {
	f, ok := imp.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	start := time.Now()
	done := make(chan struct{})
	finished := make(chan struct{})
	draw := func() {
		n := read.Load()
		el := time.Since(start).Seconds()
		rate := 0.0
		if el > 0 {
			rate = float64(n) / el
		}
		line := fmt.Sprintf("\r%s: %d exchanges, %.0f/s, %.1f MB", path, n, rate, float64(offset.Load())/1e6)
		if size > 0 {
			line += fmt.Sprintf(", %3.0f%%", 100*float64(offset.Load())/float64(size))
		}
		fmt.Fprint(f, line+"   ")
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				draw()
			case <-done:
				draw()
				fmt.Fprintln(f)
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}

// discardStore takes writes and keeps nothing: the store of --dry-run.
type discardStore struct{ apisessions.Store }

func (discardStore) Write(_ context.Context, _ string, recs []apisessions.Record) (apisessions.WriteStats, error) {
	return apisessions.WriteStats{Stored: len(recs)}, nil
}

// importSecret loads the session secret of the data directory. A dry run
// writes nothing: without a secret yet, it uses a one-off random one (the
// session IDs it prints are then not those a real import would give).
func importSecret(dir, file string, dryRun bool) ([]byte, error) {
	if dryRun && file == "" {
		if _, err := os.Stat(filepath.Join(dir, secretFile)); errors.Is(err, fs.ErrNotExist) {
			secret := make([]byte, secretBytes)
			_, err := rand.Read(secret)
			return secret, err
		}
	}
	return loadSecret(dir, file)
}
