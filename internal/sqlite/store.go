// Package sqlite is the embedded store: session day parts and their requests
// in one SQLite file, in WAL mode with one writer connection and a pool of
// readers. It runs on SQLite's C library where cgo is available, else on
// its translation to Go (driver_cgo.go).
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apisessions/apisessions"
)

var _ apisessions.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configure a Store.
type Options struct {
	// Logger receives store events; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Readers is the size of the reader connection pool. Readers do not
	// block the writer in WAL mode.
	Readers int
	// BusyTimeout is how long a connection waits for a lock held by another
	// process before failing.
	BusyTimeout time.Duration
	// CacheKiB is the page cache of each reader connection.
	CacheKiB int
	// WriterCacheKiB is the page cache of the writer connection. SQLite
	// fills it as the file grows, and its allocator holds several times the
	// nominal size: it bounds the memory of an import whatever its size.
	WriterCacheKiB int
	// MmapBytes is how much of the file reader connections map into
	// memory. The writer maps none: the pages a long import touches would
	// stay resident and count against it, for no measured gain in speed.
	MmapBytes int64
	// PageSize is the page size of a new store file.
	PageSize int
	// FlushParts and FlushBytes bound the session parts that writes keep
	// in memory before storing them (write-behind, behind.go): past either
	// (parts, estimated bytes), a Write stores the changed parts.
	FlushParts int
	FlushBytes int
	// FlushInterval is how long a changed part waits in memory at most.
	// Reads store changed parts first, so they never miss a record.
	FlushInterval time.Duration
	// CommonParts is the number of parts whose part_vids rows a filter
	// value gets from this store before it is marked common and later
	// parts list it in their own row (migrations/0006). Filters on a
	// common value walk the parts newest first rather than start from its
	// rows, so it is no less than driveLimit by default.
	CommonParts int
	// MaxWALFrames bounds the WAL: checkpoints run beside the writer
	// (checkpoint.go), and past this many frames one runs between two
	// write transactions so that the WAL starts over.
	MaxWALFrames int
	// SessionReader opens the store for a process that only reads sessions
	// while another process writes them (an import or a server holds the
	// data directory): the session parts that process keeps in memory are
	// its own, so this one neither replays requests into parts at Open nor
	// runs checkpoints, and its Write and DeleteDay fail. It sees the parts
	// the writer has stored (within FlushInterval). The administration
	// tables stay writable. It does not upgrade an existing file of an
	// older schema either: Open fails.
	SessionReader bool
}

// errSessionReader is the error of a session write to a store opened with
// SessionReader.
var errSessionReader = apisessions.Errorf(apisessions.EINVALID, "store opened to read sessions: another process writes them")

// DefaultOptions returns the options Open uses for zero fields.
func DefaultOptions() Options {
	return Options{
		Readers:        4,
		BusyTimeout:    10 * time.Second,
		CacheKiB:       64 << 10,
		WriterCacheKiB: 16 << 10,
		MmapBytes:      1 << 30,
		PageSize:       16384,
		// A part in memory takes some 1.3 to 2 KB (20 to 25 values): 50,000
		// of them fit under the byte bound, which applies to parts of many
		// values. When the active sessions fit, each flush writes a part
		// once; when they do not, every flush forced by a bound empties the
		// cache, and the next batches load and rewrite their parts again
		// (BenchmarkWrite, 50,000 sessions: 1.6 times less CPU per record
		// than with 64 MiB). An import's memory stays bounded by its heap
		// limit either way (cmd/apisessions).
		FlushParts: 50000,
		FlushBytes: 128 << 20,
		// Each flush rewrites every part changed since the last one: at
		// import rates most sessions change within a second, so a short
		// interval writes most parts over and over.
		FlushInterval: 10 * time.Second,
		// 64 MiB of 16 KiB pages: the WAL index then stays one hash table
		// of SQLite's, so the writer's page lookups in the WAL stay cheap.
		MaxWALFrames: 4096,
		CommonParts:  driveLimit,
	}
}

// Store is the SQLite implementation of apisessions.Store. It is safe for
// concurrent use; writes are serialised on the one writer connection.
// Session parts are written behind (behind.go): requests are stored at
// once, changed parts within FlushInterval, before this Store's reads and at
// Close. Other processes may read the file (they see parts, new ones
// included, up to FlushInterval late) but only one process may write it.
type Store struct {
	opts   Options
	log    *slog.Logger
	writer *sql.DB
	reader *sql.DB

	// wmu serialises write transactions, so a batch never waits on SQLite's
	// busy handler for another batch of this process.
	wmu sync.Mutex
	// stmts caches the writer's prepared queries (writerQueries) by SQL
	// text, and execs its inserts and updates (writerExecs) as the
	// driver's statements on execConn, the writer's connection; nv is
	// their reused arguments (wtx.go). uncached counts the statements a
	// write prepared because neither held them (for tests).
	stmts    map[string]*sql.Stmt
	execConn any
	execs    map[string]driver.Stmt
	nv       []driver.NamedValue
	uncached int

	// cache holds the session parts writes changed but have not stored
	// yet (behind.go); guarded by wmu. pending says there is something to
	// flush or replay, so reads that find nothing pending skip wmu.
	cache   partCache
	pending atomic.Bool
	// vids caches the numbers of filter values (value_ids); guarded by
	// wmu.
	vids vidCache
	// dict is the string dictionary of records (dict.go).
	dict stringDict
	// nextPid is the pid the next new part takes, 0 until a write reads
	// it from the file; guarded by wmu.
	nextPid int64
	// stop ends the flush loop, which closes loopDone when it returns.
	stop     chan struct{}
	loopDone chan struct{}
	stopOnce sync.Once

	// ckpt is the connection of the checkpoint goroutine (checkpoint.go);
	// a commit wakes it through ckptKick, and it closes ckptDone when it
	// returns. ckptRuns and ckptBounded count its passive checkpoints and
	// those it ran holding the writer.
	ckpt        *sql.DB
	ckptKick    chan struct{}
	ckptDone    chan struct{}
	ckptRuns    atomic.Int64
	ckptBounded atomic.Int64

	tmu     sync.Mutex
	tenants map[string]int64
}

// Open opens (creating it when missing) the store in the file at path and
// brings its schema up to date.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	def := DefaultOptions()
	if opts.Readers <= 0 {
		opts.Readers = def.Readers
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = def.BusyTimeout
	}
	if opts.CacheKiB <= 0 {
		opts.CacheKiB = def.CacheKiB
	}
	if opts.WriterCacheKiB <= 0 {
		opts.WriterCacheKiB = def.WriterCacheKiB
	}
	if opts.PageSize <= 0 {
		opts.PageSize = def.PageSize
	}
	if opts.FlushParts <= 0 {
		opts.FlushParts = def.FlushParts
	}
	if opts.FlushBytes <= 0 {
		opts.FlushBytes = def.FlushBytes
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = def.FlushInterval
	}
	if opts.MaxWALFrames <= 0 {
		opts.MaxWALFrames = def.MaxWALFrames
	}
	if opts.CommonParts <= 0 {
		opts.CommonParts = def.CommonParts
	}
	if opts.MmapBytes < 0 {
		opts.MmapBytes = 0
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, apisessions.Errorf(apisessions.EINVALID, "store path %q: empty or holds ? or #", path)
	}
	common := url.Values{}
	common.Set("_busy_timeout", strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10))
	common.Add("_pragma", "temp_store(memory)")

	wq := url.Values{}
	for k, v := range common {
		wq[k] = slices.Clone(v)
	}
	wq.Add("_pragma", fmt.Sprintf("cache_size(-%d)", opts.WriterCacheKiB))
	wq.Add("_pragma", "mmap_size(0)")
	// The checkpoint goroutine checkpoints, not the committing writer,
	// unless it falls far behind (checkpoint.go).
	wq.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walFallback*opts.MaxWALFrames))
	// Page size only takes effect on a new file, before the first table:
	// large pages cut the WAL frames a batch writes.
	wq.Add("_pragma", fmt.Sprintf("page_size(%d)", opts.PageSize))
	wq.Set("_journal_mode", "WAL")
	// NORMAL in WAL mode loses at most the last transactions on power loss,
	// never consistency; FULL would sync on every batch.
	wq.Set("_synchronous", "NORMAL")
	// Write transactions take the write lock at BEGIN, so two processes never
	// deadlock upgrading read locks.
	wq.Set("_txlock", "immediate")
	// database/sql hands the connection to one goroutine at a time, so
	// SQLite need not lock it around every call (those locks took 1.7% of
	// an import's CPU). modernc.org/sqlite ignores the parameter.
	wq.Set("_mutex", "no")
	writer, err := sql.Open(driverName, path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)

	s := &Store{opts: opts, log: log, writer: writer, stmts: map[string]*sql.Stmt{}, tenants: map[string]int64{}, cache: newPartCache(), dict: newStringDict()}
	if err := s.migrate(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := s.dict.load(ctx, writer); err != nil {
		writer.Close()
		return nil, fmt.Errorf("open %s: string dictionary: %w", path, err)
	}
	if err := s.prepare(ctx); err != nil {
		s.closeStmts()
		writer.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// Requests stored after the last flush of parts (a crash) go into
	// their parts now, unless another process writes them.
	if !opts.SessionReader {
		if err := s.replay(ctx); err != nil {
			s.closeStmts()
			writer.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}

	rq := url.Values{}
	for k, v := range common {
		rq[k] = slices.Clone(v)
	}
	rq.Add("_pragma", fmt.Sprintf("cache_size(-%d)", opts.CacheKiB))
	// Reading pages through a memory map saves a system call per page.
	rq.Add("_pragma", fmt.Sprintf("mmap_size(%d)", opts.MmapBytes))
	rq.Set("_query_only", "1")
	reader, err := sql.Open(driverName, path+"?"+rq.Encode())
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	reader.SetMaxOpenConns(opts.Readers)
	reader.SetMaxIdleConns(opts.Readers)
	reader.SetConnMaxIdleTime(0)
	reader.SetConnMaxLifetime(0)
	s.reader = reader
	cq := url.Values{}
	for k, v := range common {
		cq[k] = slices.Clone(v)
	}
	cq.Add("_pragma", "cache_size(-1024)")
	cq.Add("_pragma", "mmap_size(0)")
	ckpt, err := openCheckpointer(path, cq.Encode())
	if err != nil {
		s.closeStmts()
		reader.Close()
		writer.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s.ckpt = ckpt
	s.stop, s.loopDone = make(chan struct{}), make(chan struct{})
	s.ckptKick, s.ckptDone = make(chan struct{}, 1), make(chan struct{})
	go s.flushLoop(s.stop)
	if opts.SessionReader {
		close(s.ckptDone)
	} else {
		go s.checkpointLoop(s.stop)
	}
	return s, nil
}

// migrationSteps are the parts of migrations that SQL alone cannot do, by
// version: each runs after its migration's SQL, in its transaction.
var migrationSteps = map[int]func(context.Context, *sql.Tx) error{
	7: fillRequestLists,
}

// migrate applies the embedded migrations the file lacks, in order, each in
// its own transaction with its schema_version row (and step).
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.writer.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("schema_version: %w", err)
	}
	var current int
	if err := s.writer.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	latest := 0
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", name)
		}
		latest = max(latest, v)
		if v <= current {
			continue
		}
		if s.opts.SessionReader && current > 0 {
			// The process that writes the store may be of the version
			// this one would upgrade it from. (A new file is created.)
			return apisessions.Errorf(apisessions.EINVALID, "store schema version %d is older than this program's: it is upgraded when the process that writes it (import, serve, server) is run by this version", current)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := s.writer.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if step := migrationSteps[v]; step != nil {
			if err := step(ctx, tx); err != nil {
				tx.Rollback()
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`,
			v, s.opts.Now().UTC().Format(time.RFC3339)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
		s.log.Info("store migrated", "version", v)
	}
	if current > latest {
		return fmt.Errorf("store schema version %d is newer than this program knows (%d): upgrade apisessions", current, latest)
	}
	return nil
}

// Close releases the store. It runs PRAGMA optimize first, so the query
// planner keeps up-to-date statistics.
func (s *Store) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.loopDone
	<-s.ckptDone
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var flushErr error
	if err := s.flushLocked(context.Background()); err != nil {
		// The requests are stored: the next Open replays them.
		flushErr = fmt.Errorf("close: %w", err)
	}
	if s.opts.SessionReader {
		// Statistics are the writer's to keep.
	} else if _, err := s.writer.Exec(`PRAGMA optimize`); err != nil {
		s.log.Warn("optimize store", "err", err)
	}
	s.closeStmts()
	// The writer closes last: it checkpoints the WAL into the file and
	// removes it.
	return errors.Join(flushErr, s.reader.Close(), s.ckpt.Close(), s.writer.Close())
}

func (s *Store) closeStmts() {
	for _, st := range s.stmts {
		st.Close()
	}
	s.closeExecs()
}

// tenantID returns the ID of tenant, 0 when it has none yet.
func (s *Store) tenantID(ctx context.Context, name string) (int64, error) {
	s.tmu.Lock()
	id, ok := s.tenants[name]
	s.tmu.Unlock()
	if ok {
		return id, nil
	}
	err := s.reader.QueryRowContext(ctx, `SELECT id FROM tenants WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("tenant: %w", err)
	}
	s.tmu.Lock()
	s.tenants[name] = id
	s.tmu.Unlock()
	return id, nil
}

// createTenant returns the ID of tenant, creating it in tx when needed. The
// cache is filled only after commit (by the caller) so a rolled-back
// creation is never cached.
func (s *Store) createTenant(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	s.tmu.Lock()
	id, ok := s.tenants[name]
	s.tmu.Unlock()
	if ok {
		return id, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tenants (name) VALUES (?) ON CONFLICT (name) DO NOTHING`, name); err != nil {
		return 0, fmt.Errorf("create tenant: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT id FROM tenants WHERE name = ?`, name).Scan(&id); err != nil {
		return 0, fmt.Errorf("create tenant: %w", err)
	}
	return id, nil
}

// stmt returns a statement of tx for query: the writer's cached prepared
// statement (writerQueries, prepared in Open: preparing on the one writer
// connection while tx holds it would deadlock), else a statement prepared
// for this transaction. Called with wmu held.
func (s *Store) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts[query]; ok {
		return tx.StmtContext(ctx, st), nil
	}
	s.uncached++
	return tx.PrepareContext(ctx, query)
}

// prepare caches the writer's statements (writerQueries).
func (s *Store) prepare(ctx context.Context) error {
	for _, q := range writerQueries() {
		st, err := s.writer.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		s.stmts[q] = st
	}
	return s.prepareExecs(ctx)
}
