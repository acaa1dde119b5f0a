package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/capture"
	"github.com/apisessions/apisessions/internal/sessionize"
)

// importBatch is the number of records written to the store in one
// transaction: large enough to amortise the commit, small enough to keep
// memory flat.
const importBatch = 5000

// importChunk is the number of exchanges handed from the reader to a worker
// at a time, so channel overhead stays small next to the work per exchange.
const importChunk = 256

func runImport(ctx context.Context, e *env) error {
	fs := newFlags(e, "import", "FILE...")
	cfgPath := fs.String("config", "", "configuration `file` (YAML); built-in grouping keys only when empty")
	data := fs.String("data", "", "data `directory` (default ./apisessions-data, env "+dataDirEnv+")")
	format := fs.String("format", "", "input format: jsonl or har (default: by file extension)")
	clientIP := fs.String("client-ip", "", "client `IP` for HAR entries, which do not record one")
	detectMode := fs.String("detect", "fast", "attack detection: full, fast or off")
	start := fs.String("start", "", "shift exchange times so the first one read is at `T` (RFC 3339, a date, or a duration ago such as 24h): replays an old capture inside the retention window")
	dryRun := fs.Bool("dry-run", false, "read, detect and sessionize, but store nothing (checks a configuration on real traffic)")
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
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	dir := dataDir(*data, e.getenv)
	det, err := newDetector(*detectMode, cfg)
	if err != nil {
		return err
	}
	var st apisessions.Store = discardStore{}
	if !*dryRun {
		local, err := openLocalStore(ctx, dir)
		if err != nil {
			return err
		}
		defer local.Close()
		if err := expireOnce(ctx, local, cfg, time.Now()); err != nil {
			return err
		}
		st = local
	}
	secret, err := loadSecret(dir, cfg.SessionSecretFile)
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
		touched:   make(map[string]struct{}),
		stderr:    e.stderr,
		now:       time.Now,
		workers:   runtime.GOMAXPROCS(0),
		batchSize: importBatch,
		startAt:   startAt,
	}
	var sum importSummary
	for _, f := range files {
		s, err := imp.importFile(ctx, f, *format, capture.Options{ClientIP: *clientIP, OnError: func(pos int64, err error) {
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
	touched map[string]struct{}
}

// maxTouched bounds the memory the session count of the summary may take.
const maxTouched = 1 << 20

// processed is the outcome of one exchange.
type processed struct {
	rec     apisessions.Record
	outcome sessionize.Outcome
}

func (imp *importer) importFile(ctx context.Context, path, format string, opts capture.Options) (importSummary, error) {
	var sum importSummary
	rd, closer, err := capture.Open(path, format, opts)
	if err != nil {
		return sum, err
	}
	defer closer.Close()
	var size int64
	if path != "-" {
		if fi, err := os.Stat(path); err == nil {
			size = fi.Size()
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var offset, read atomic.Int64
	chunks := make(chan []*apisessions.Exchange, imp.workers*2)
	results := make(chan []processed, imp.workers*2)
	var readErr error
	go func() {
		defer close(chunks)
		chunk := make([]*apisessions.Exchange, 0, importChunk)
		for {
			ex, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				readErr = fmt.Errorf("read %s: %w", path, err)
				break
			}
			if ex.Time.IsZero() {
				ex.Time = imp.now()
			} else if !imp.startAt.IsZero() {
				if !imp.shifted {
					imp.shift, imp.shifted = imp.startAt.Sub(ex.Time), true
				}
				ex.Time = ex.Time.Add(imp.shift)
			}
			read.Add(1)
			offset.Store(rd.Offset())
			chunk = append(chunk, ex)
			if len(chunk) == importChunk {
				select {
				case chunks <- chunk:
				case <-ctx.Done():
					return
				}
				chunk = make([]*apisessions.Exchange, 0, importChunk)
			}
		}
		if len(chunk) > 0 {
			select {
			case chunks <- chunk:
			case <-ctx.Done():
			}
		}
	}()

	var wg sync.WaitGroup
	var workErr atomic.Pointer[error]
	for range imp.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range chunks {
				out := make([]processed, len(chunk))
				for i, ex := range chunk {
					if err := imp.process(ctx, ex, &out[i]); err != nil {
						workErr.CompareAndSwap(nil, &err)
						cancel()
						return
					}
				}
				select {
				case results <- out:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	stopProgress := imp.progress(path, size, &read, &offset)
	defer stopProgress()

	batch := make([]apisessions.Record, 0, imp.batchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ws, err := imp.store.Write(ctx, imp.tenant, batch)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		sum.Stored += int64(ws.Stored)
		sum.Duplicates += int64(ws.Duplicates)
		for i := range batch {
			if len(imp.touched) >= maxTouched {
				break
			}
			imp.touched[batch[i].SessionID+"/"+batch[i].Day] = struct{}{}
		}
		batch = batch[:0]
		return nil
	}
	var storeErr error
	for out := range results {
		if storeErr != nil {
			continue // drain so the workers finish
		}
		for i := range out {
			switch out[i].outcome {
			case sessionize.OutOfScope:
				sum.OutOfScope++
				continue
			case sessionize.TooOld:
				sum.TooOld++
				continue
			}
			if out[i].rec.Malicious() {
				sum.Attacks++
			}
			batch = append(batch, out[i].rec)
			if len(batch) >= imp.batchSize {
				if storeErr = flush(); storeErr != nil {
					cancel()
					break
				}
			}
		}
	}
	if storeErr == nil {
		storeErr = flush()
	}
	sum.Read = read.Load()
	sum.Malformed = int64(rd.Malformed())
	sum.Bytes = offset.Load()
	if p := workErr.Load(); p != nil {
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

// process runs one exchange through detection and sessionize.
func (imp *importer) process(ctx context.Context, ex *apisessions.Exchange, out *processed) error {
	var det apisessions.Detection
	if imp.detector != nil {
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
