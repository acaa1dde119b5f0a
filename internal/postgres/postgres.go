// Package postgres is the production store: apisessions.Store on PostgreSQL
// through pgx v5.
//
// Requests and session day parts live in tables range-partitioned by day,
// one partition per day created on demand, so that retention (DeleteDay)
// drops partitions. A batch is copied into temporary staging tables and
// moved into place with set-based statements; a day-independent request_ids
// table keyed on (tenant, id) makes writes idempotent. Session day parts are
// merged under row locks, so any number of concurrent writers gives the same
// result as one. Migrations are embedded and run at Open.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/apisessions/apisessions"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

var _ apisessions.Store = (*Store)(nil)

// Options tune a Store.
type Options struct {
	// Logger receives store events (migrations, partition changes). Nil
	// means slog.Default().
	Logger *slog.Logger
	// MaxConns caps the connection pool; 0 keeps the pgx default (the
	// larger of 4 and the number of CPUs).
	MaxConns int32
	// WriteAttempts is how often Write tries a batch when PostgreSQL
	// aborts it for a reason a retry cures (deadlock, serialization
	// failure, a partition dropped under it). At least 1.
	WriteAttempts int
	// MaxIDLength bounds record, session and tenant IDs in bytes: they
	// are index keys, and a btree entry must fit in a third of a page.
	MaxIDLength int
	// MaxGroupRecords bounds the records the group committer puts in one
	// transaction (it takes whole batches, so a group may pass it by one
	// batch): it bounds the memory and lock time of a transaction.
	MaxGroupRecords int
	// WriteTimeout bounds one group's transaction, retries included, so
	// that a stuck database fails writes instead of hanging them.
	WriteTimeout time.Duration
	// Committers is the number of transactions writing at once (see
	// Write). More than one overlaps one group's request copy with
	// another's part merge, so that the database works on both at once,
	// but makes smaller groups, which write each active part more often:
	// on the two-core benchmark machine, loaded by other work, two
	// committers stored 10-25% more records/s than one through the API
	// for 1.00-1.11 times the CPU per record (new parts in every batch),
	// and 4-10% more in BenchmarkWrite for 1.02-1.10 times (batches adding
	// to the same active parts). At least 1.
	Committers int
	// CachedParts bounds the session parts the store keeps in memory
	// after writing them, so that the next write of an active session
	// does not read its part back (a part takes a few KB). Negative keeps
	// none.
	CachedParts int
}

// DefaultOptions returns the options Open uses for zero fields.
func DefaultOptions() Options {
	return Options{
		Logger:          slog.Default(),
		WriteAttempts:   5,
		MaxIDLength:     512,
		MaxGroupRecords: 50_000,
		WriteTimeout:    2 * time.Minute,
		CachedParts:     20_000,
		Committers:      2,
	}
}

// Store is an apisessions.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	opts Options

	// days caches the days whose partitions exist, so that a write does
	// not ask the catalog every time. DeleteDay and a failed insert
	// forget entries.
	mu   sync.Mutex
	days map[string]bool

	// parts caches the parts this store wrote last.
	parts *partCache
	// merging is held by a committer from locking its parts to their
	// upsert, or to its commit when another group of this store writes
	// one of them (see write).
	merging sync.Mutex
	// writing counts, for each part, the groups of this store writing it
	// now (see write).
	writingMu sync.Mutex
	writing   map[tkey]int

	// The group committers: Write queues batches, commitLoop stores them.
	queue     chan *writeReq
	closing   chan struct{} // closed by Close
	stopped   chan struct{} // closed when every commitLoop has returned
	closeOnce sync.Once
}

// Open connects to the database at url (a PostgreSQL URL or key=value
// string; search_path and other run-time parameters may be given in it),
// runs the embedded migrations and returns the store.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	def := DefaultOptions()
	if opts.Logger == nil {
		opts.Logger = def.Logger
	}
	if opts.WriteAttempts < 1 {
		opts.WriteAttempts = def.WriteAttempts
	}
	if opts.MaxIDLength <= 0 {
		opts.MaxIDLength = def.MaxIDLength
	}
	if opts.MaxGroupRecords <= 0 {
		opts.MaxGroupRecords = def.MaxGroupRecords
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = def.WriteTimeout
	}
	if opts.Committers < 1 {
		opts.Committers = def.Committers
	}
	if opts.CachedParts == 0 {
		opts.CachedParts = def.CachedParts
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL with its password.
		return nil, apisessions.Errorf(apisessions.EINVALID, "postgres: bad connection string")
	}
	// JIT compilation costs tens of milliseconds per statement and pays
	// off only for long analytic queries; the batch statements here have
	// high cost estimates and would trigger it. A URL may still set it.
	if _, ok := cfg.ConnConfig.RuntimeParams["jit"]; !ok {
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	// Every connection gets its own staging tables once, instead of
	// creating and dropping them in each write (catalog churn).
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, stagingDDL)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s := &Store{
		pool: pool, log: opts.Logger, opts: opts, days: map[string]bool{}, writing: map[tkey]int{}, parts: newPartCache(opts.CachedParts),
		queue: make(chan *writeReq), closing: make(chan struct{}), stopped: make(chan struct{}),
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	var committers sync.WaitGroup
	for range opts.Committers {
		committers.Go(s.commitLoop)
	}
	go func() {
		committers.Wait()
		close(s.stopped)
	}()
	return s, nil
}

// Close waits for the write in progress, fails writes still waiting, and
// releases the connections.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.stopped
		s.pool.Close()
	})
	return nil
}

// stagingDDL creates the per-connection temporary table a write copies its
// merged session parts into. ON COMMIT DELETE ROWS empties it at the end of
// every transaction, committed or not.
const stagingDDL = `
CREATE TEMP TABLE IF NOT EXISTS stage_sessions (
    tenant        text    COLLATE "C" NOT NULL,
    day           date    NOT NULL,
    id            text    COLLATE "C" NOT NULL,
    first_seen    bigint  NOT NULL,
    last_seen     bigint  NOT NULL,
    request_count bigint  NOT NULL,
    attack_count  bigint  NOT NULL,
    blocked       boolean NOT NULL,
    endpoints     text[]  NOT NULL,
    doc           bytea   NOT NULL,
    rev           bigint  NOT NULL,
    existed       boolean NOT NULL -- locked and merged, rather than new
) ON COMMIT DELETE ROWS;
`

// lockKey names an advisory lock that is private to the current schema, so
// that stores in different schemas of one database do not wait on each
// other.
func lockKey(name string) string {
	return "hashtext(current_schema() || '." + name + "')"
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version and _", e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrate applies the embedded migrations that the database lacks, in one
// transaction under an advisory lock: two servers starting at once apply
// each migration once, the second waiting for the first.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock("+lockKey("migrate")+")"); err != nil {
		return fmt.Errorf("postgres: migrate lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&current); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if latest := ms[len(ms)-1].version; current > latest {
		return fmt.Errorf("postgres: database schema version %d is newer than this program's %d", current, latest)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		// No arguments: pgx uses the simple protocol, which runs a file
		// of several statements.
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_version (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.name, err)
		}
		s.log.Info("postgres migration applied", "version", m.version, "name", m.name)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// SchemaVersion returns the version of the last migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&v)
	return v, err
}

var errNoPartition = errors.New("no partition for day")
