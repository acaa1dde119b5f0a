package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Checkpoints off the writer's path.
//
// In WAL mode a commit appends pages to the -wal file, and a checkpoint
// copies them back into the database file. By default the connection that
// commits runs the checkpoint whenever the WAL passes 1,000 pages, so every
// few batches one Write copied and synced megabytes while holding the
// writer. The writer here never checkpoints (wal_autocheckpoint 0): a
// goroutine with a connection of its own runs passive checkpoints, which
// SQLite lets run beside a writer, as commits come.
//
// A passive checkpoint copies the frames committed when it starts; the
// writer starts the WAL file over (rather than appending to it) only once
// every frame is copied, which a busy writer never waits for. So when the
// WAL holds MaxWALFrames frames or more, the goroutine takes the writer
// (wmu) for one more passive checkpoint, which copies the few frames
// committed since the last one: the next transaction then starts the WAL
// over. The WAL stays within about MaxWALFrames frames plus what the
// writer commits during one checkpoint.
//
// Should the goroutine fall behind all the same (a writer committing
// faster than checkpoints copy), the writer checkpoints as SQLite's default
// would, but only past walFallback times MaxWALFrames: the WAL then holds
// at most that plus the few transactions committed while the goroutine's
// own checkpoint kept the writer's from running. No checkpoint completes
// while a reader holds an old snapshot, as with SQLite's own.

// walFallback times MaxWALFrames is the WAL size at which the writer
// checkpoints itself.
const walFallback = 4

// checkpointGap is the least time between two passive checkpoints: each
// syncs the files, and the writer commits every few tens of milliseconds.
// A page that several commits rewrite meanwhile (the parts table, the
// indexes) is copied once. 250 ms rather than 50 took 4–5% off the import
// of 1,000,000 exchanges (medians 8.3 → 7.9 s, 6 runs each, alternated);
// 1 s gained no more.
const checkpointGap = 250 * time.Millisecond

// checkpointTick is how often the goroutine looks at the WAL without a
// commit to wake it (writes of the admin store do not).
const checkpointTick = time.Second

// kickCheckpoint tells the checkpoint goroutine that a transaction
// committed. It never blocks.
func (s *Store) kickCheckpoint() {
	select {
	case s.ckptKick <- struct{}{}:
	default:
	}
}

// checkpointLoop runs checkpoints until done is closed, then closes
// ckptDone.
func (s *Store) checkpointLoop(done <-chan struct{}) {
	defer close(s.ckptDone)
	tick := time.NewTicker(checkpointTick)
	defer tick.Stop()
	var last time.Time
	for {
		select {
		case <-done:
			return
		case <-s.ckptKick:
		case <-tick.C:
		}
		if wait := checkpointGap - time.Since(last); wait > 0 {
			select {
			case <-done:
				return
			case <-time.After(wait):
			}
		}
		last = time.Now()
		if err := s.checkpoint(context.Background()); err != nil {
			s.log.Warn("checkpoint store", "err", err)
		}
	}
}

// checkpoint runs a passive checkpoint beside the writer, and a second one
// holding the writer when the WAL has reached its bound.
func (s *Store) checkpoint(ctx context.Context) error {
	log, _, err := s.passiveCheckpoint(ctx)
	if err != nil {
		return err
	}
	s.ckptRuns.Add(1)
	if log < s.opts.MaxWALFrames {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, _, err = s.passiveCheckpoint(ctx)
	s.ckptBounded.Add(1)
	return err
}

// passiveCheckpoint copies the committed WAL frames it can into the
// database file: it returns the frames in the WAL and those copied.
func (s *Store) passiveCheckpoint(ctx context.Context) (log, copied int, err error) {
	var busy int
	if err := s.ckpt.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &copied); err != nil {
		return 0, 0, fmt.Errorf("checkpoint: %w", err)
	}
	return log, copied, nil
}

// openCheckpointer opens the connection of the checkpoint goroutine: it
// reads and writes no page through a cache of its own, and maps nothing.
func openCheckpointer(path, query string) (*sql.DB, error) {
	db, err := sql.Open(driverName, path+"?"+query)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}
