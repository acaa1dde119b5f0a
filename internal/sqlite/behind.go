package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/apisessions/apisessions"
)

// Write-behind of session parts.
//
// A batch of an import touches thousands of parts, most of them stored
// already, and the next batches touch the same parts again: loading,
// rewriting and indexing each part in every batch cost most of a Write.
// So Write stores its requests at once but merges the parts they change
// into an in-memory cache, and a flush writes the changed (dirty) parts
// later, each once however many batches touched it, in pid order.
//
// Durability: a flush records in its transaction the requests rowid up to
// which the stored parts are complete (parts_flushed). Open replays the
// requests after it into their parts, so a crash loses nothing. A part that
// Write creates takes its pid at once but waits for the flush like a
// changed one: meanwhile parts_pending names it (tenant, session, day), so
// that replay can rebuild it from its requests. New parts then reach the
// parts table and its indexes thousands at a time: stored in each batch,
// their random session IDs made parts_key alone a third of the pages the
// WAL took. (A store written before parts_pending may hold parts stored
// when their batch created them, complete up to its last rowid, upto:
// replay does not count those requests twice.)
//
// The cache is only valid while this process is the one writer of the
// file: parts are not re-read in each transaction. Reads flush first, so
// they see every written record.

// cacheKey names a part in the cache.
type cacheKey struct {
	tenant       int64
	session, day string
}

// partCache holds parts loaded or created by writes; some are dirty. It is
// guarded by Store.wmu.
type partCache struct {
	parts map[cacheKey]*part
	// dirty lists the parts changed since they were last stored.
	dirty []*part
	// bytes estimates the memory the cached parts hold.
	bytes int
	// since is when the first of the dirty parts changed: they are flushed
	// FlushInterval after.
	since time.Time
	// replay is set when the cache was dropped after a failed write: the
	// stored parts then lack the requests after parts_flushed, which a
	// replay adds before anything else uses the parts.
	replay bool
	// stamp numbers write batches, so a batch tells the parts it touched.
	stamp uint64
}

func newPartCache() partCache {
	return partCache{parts: map[cacheKey]*part{}}
}

// reset drops every cached part after a failed write: its transaction
// rolled back, so the cache may hold records that were not stored.
func (c *partCache) reset() {
	c.parts = map[cacheKey]*part{}
	c.dirty = nil
	c.bytes = 0
	c.replay = true
}

// full says the cache must be flushed now.
func (c *partCache) full(o Options) bool {
	return len(c.parts) > o.FlushParts || c.bytes > o.FlushBytes
}

// Draining. A flush that the cache bounds force writes every dirty part in
// one transaction, which held the writer for seconds at the end of an
// import (2.5 s for the 50,000 parts of 1,000,000 exchanges), with nothing
// left for the import's workers to do meanwhile. So once the cache holds
// half its bound, a Write that finds FlushParts/drainStep dirty parts that
// no batch touched in its last drainIdle batches stores those too:
// sessions that went quiet are stored while the workers still read, and
// the forced flush finds little left. (Below half the bound, parts wait
// for the interval as before, so that a server's small batches do not
// store a part each time it pauses.)
// Fewer, larger steps keep each insert into parts_key (random session IDs)
// to one write of each page it touches. Such a part records the last
// request rowid it holds (upto), and replay skips the requests up to it;
// parts_flushed stays where the last full flush left it.
const (
	drainStep = 10
	drainIdle = 4
)

// drainable returns the dirty parts a Write stores ahead of the flush: a
// step of them, oldest changed first, or none while there are fewer.
func (c *partCache) drainable(o Options) []*part {
	step := max(o.FlushParts/drainStep, 1)
	if len(c.dirty) < step || (len(c.parts) <= o.FlushParts/2 && c.bytes <= o.FlushBytes/2) {
		return nil
	}
	var out []*part
	for _, p := range c.dirty {
		if p.stamp+drainIdle <= c.stamp {
			out = append(out, p)
			if len(out) == step {
				return out
			}
		}
	}
	return nil
}

// drained updates the cache after a committed Write stored parts ahead of
// the flush: they are clean, and stay cached.
func (c *partCache) drained(parts []*part) {
	if len(parts) == 0 {
		return
	}
	c.bytes -= markClean(parts)
	c.dirty = slices.DeleteFunc(c.dirty, func(p *part) bool { return !p.dirty })
}

// flushLocked replays or flushes what is pending, in a transaction of its
// own. Called with wmu held.
func (s *Store) flushLocked(ctx context.Context) error {
	if s.cache.replay {
		if err := s.replay(ctx); err != nil {
			return err
		}
	}
	if len(s.cache.dirty) == 0 {
		s.flushed()
		return nil
	}
	wt, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("flush parts: %w", err)
	}
	defer wt.rollback()
	// A failed flush changes nothing in the cache of parts: the next one
	// retries. Value numbers it read may have been rolled back.
	if err := s.flushTx(ctx, wt, s.cache.dirty); err != nil {
		s.vids.forget()
		return fmt.Errorf("flush parts: %w", err)
	}
	if err := wt.commit(); err != nil {
		s.vids.forget()
		return fmt.Errorf("flush parts: commit: %w", err)
	}
	s.kickCheckpoint()
	s.flushed()
	return nil
}

// flushed updates the cache after a committed flush: no part is dirty. The
// clean parts stay, so the next batches need not load them again.
func (s *Store) flushed() {
	s.cache.bytes -= markClean(s.cache.dirty)
	s.cache.dirty = nil
}

// drop empties the cache after a flush that its bounds forced. Keeping some
// clean parts would spare loading them, but every flush writes every part
// changed since the last: when the sessions a file touches do not fit in
// the bounds, the kept parts change again and take room, so flushes come
// sooner and write more parts per record (BenchmarkWrite, the import of
// 1,000,000 exchanges over 50,000 sessions).
func (c *partCache) drop() {
	c.parts = map[cacheKey]*part{}
	c.bytes = 0
}

// flush stores every changed part now.
func (s *Store) flush(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err := s.flushLocked(ctx)
	s.pending.Store(len(s.cache.dirty) > 0 || s.cache.replay)
	return err
}

// sync flushes before a read, so reads see every written record. It does
// not wait for the writer when nothing is pending.
func (s *Store) sync(ctx context.Context) error {
	if !s.pending.Load() {
		return nil
	}
	return s.flush(ctx)
}

// flushTx writes the parts of dirty in tx, and records that the stored
// parts are complete up to the last request. It leaves the parts as they
// are: the caller marks them clean (markClean) once tx commits.
func (s *Store) flushTx(ctx context.Context, wt *writerTx, dirty []*part) error {
	upto, err := s.storeParts(ctx, wt, dirty)
	if err != nil {
		return err
	}
	if _, err := wt.tx.ExecContext(ctx, `UPDATE parts_flushed SET rid = ?`, upto); err != nil {
		return fmt.Errorf("record flush: %w", err)
	}
	return nil
}

// storeParts writes parts (some of the dirty ones, or all) in tx, each
// complete up to the last request, whose rowid it returns (the parts'
// upto). It sorts parts by pid.
func (s *Store) storeParts(ctx context.Context, wt *writerTx, parts []*part) (upto int64, err error) {
	slices.SortFunc(parts, func(a, b *part) int { return cmp.Compare(a.pid, b.pid) })
	tx := wt.tx
	if upto, err = lastRequest(ctx, tx); err != nil {
		return 0, fmt.Errorf("save parts: %w", err)
	}
	var buf []byte
	unsaved := 0
	for _, p := range parts {
		unsaved += p.unsaved
	}
	values := make([]valueRow, 0, unsaved)
	for i, p := range parts {
		if p.unsaved > 0 {
			for _, pv := range p.values {
				if !pv.saved {
					values = append(values, valueRow{pv.kind, pv.value, p.pid, p.tenant, i})
				}
			}
		}
	}
	// The values are numbered first: the parts' rows list their common
	// ones.
	w := batchWrite{s: s, wt: wt, tx: tx}
	pairs, cvids, err := w.splitValues(ctx, values, len(parts))
	if err != nil {
		return 0, err
	}
	inserted := false
	for i, p := range parts {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		buf = p.appendAggregate(buf[:0])
		if p.pending {
			if _, err := wt.exec(ctx, insertPartSQL, p.pid, p.tenant, p.session, p.day, p.first, p.last, p.requests, p.attacks, p.blocked, buf, upto, ","+cvids[i]); err != nil {
				return 0, fmt.Errorf("save new part: %w", err)
			}
			inserted = true
		} else if _, err := wt.exec(ctx, updatePartSQL, p.first, p.last, p.requests, p.attacks, p.blocked, buf, upto, cvids[i], p.pid); err != nil {
			return 0, fmt.Errorf("save part: %w", err)
		}
	}
	if inserted {
		if _, err := tx.ExecContext(ctx, `DELETE FROM parts_pending WHERE EXISTS (SELECT 1 FROM parts p WHERE p.pid = parts_pending.pid)`); err != nil {
			return 0, fmt.Errorf("save new parts: %w", err)
		}
	}
	if err := w.saveValues(ctx, values, pairs); err != nil {
		return 0, err
	}
	if err := w.saveLists(ctx, parts); err != nil {
		return 0, err
	}
	return upto, nil
}

// markClean records that the parts of dirty are stored, and returns the
// bytes they no longer hold.
func markClean(dirty []*part) int {
	freed := 0
	for _, p := range dirty {
		freed += p.markSaved()
		p.dirty, p.pending = false, false
	}
	return freed
}

// replayChunk is the number of requests replay reads at a time.
const replayChunk = 2000

// replay merges the requests after parts_flushed into their parts and
// stores them: after a crash (at Open) or a failed write. Memory holds the
// parts the replayed requests touch, which the flush bounds kept small.
func (s *Store) replay(ctx context.Context) error {
	var after int64
	if err := s.writer.QueryRowContext(ctx, `SELECT rid FROM parts_flushed`).Scan(&after); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	flushed := after
	parts := map[int64]*part{}
	var dirty []*part
	for {
		n := 0
		err := func() error {
			rows, err := s.writer.QueryContext(ctx, `SELECT r.rid, r.pid, r.t, r.id, r.data FROM requests r WHERE r.rid > ? ORDER BY r.rid LIMIT ?`,
				after, replayChunk)
			if err != nil {
				return err
			}
			defer rows.Close()
			type req struct {
				rid, pid int64
				rec      apisessions.Record
			}
			var reqs []req
			for rows.Next() {
				var (
					q    req
					t    int64
					data []byte
				)
				if err := rows.Scan(&q.rid, &q.pid, &t, &q.rec.ID, &data); err != nil {
					return err
				}
				q.rec.Time = time.Unix(0, t).UTC()
				if err := decodeRecord(data, &q.rec, s.dict.known); err != nil {
					return fmt.Errorf("request %q: %w", q.rec.ID, err)
				}
				reqs = append(reqs, q)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			rows.Close()
			for _, q := range reqs {
				n++
				after = q.rid
				p := parts[q.pid]
				if p == nil {
					if p, err = s.loadPart(ctx, q.pid); err != nil {
						return err
					}
					parts[q.pid] = p
					switch {
					case p.pending:
						// Created since the last flush, with no row yet.
						p.dirty = true
						dirty = append(dirty, p)
					case p.upto > flushed:
						// Stored since the last flush: ahead of it
						// (drained), or when its batch created it by a
						// store written before parts_pending, whose
						// filter values then waited for a flush that did
						// not come. Storing all its values again costs
						// only rows that are ignored.
						p.addAllValues()
						p.dirty = true
						dirty = append(dirty, p)
					}
				}
				if q.rid <= p.upto {
					continue // stored with the part when its batch created it
				}
				if !p.dirty {
					p.dirty = true
					dirty = append(dirty, p)
				}
				p.addStored(q.rid, &q.rec)
			}
			return nil
		}()
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		if n < replayChunk {
			break
		}
	}
	wt, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer wt.rollback()
	if err := s.flushTx(ctx, wt, dirty); err != nil {
		s.vids.forget()
		return fmt.Errorf("replay: %w", err)
	}
	if err := wt.commit(); err != nil {
		s.vids.forget()
		return fmt.Errorf("replay: commit: %w", err)
	}
	markClean(dirty)
	if len(dirty) > 0 {
		s.log.Info("replayed requests into session parts", "parts", len(dirty))
	}
	s.cache.replay = false
	return nil
}

// loadPart reads the stored part pid, with its tenant and upto, or else
// the pending part pid, empty.
func (s *Store) loadPart(ctx context.Context, pid int64) (*part, error) {
	row := s.writer.QueryRowContext(ctx, "SELECT "+partColumns+", p.tenant, p.upto FROM parts p WHERE p.pid = ?", pid)
	var tenant, upto int64
	p, err := scanPartWith(row, nil, &tenant, &upto)
	if errors.Is(err, sql.ErrNoRows) {
		var session, day string
		err = s.writer.QueryRowContext(ctx, "SELECT tenant, session, day FROM parts_pending WHERE pid = ?", pid).Scan(&tenant, &session, &day)
		if err == nil {
			p = newPart(session, day)
			p.pid, p.pending = pid, true
		}
	}
	if err != nil {
		return nil, fmt.Errorf("part %d: %w", pid, err)
	}
	p.tenant, p.upto = tenant, upto
	return p, nil
}

// flushLoop flushes the changed parts FlushInterval after the first of them
// changed, until done is closed.
func (s *Store) flushLoop(done <-chan struct{}) {
	defer close(s.loopDone)
	tick := time.NewTicker(max(s.opts.FlushInterval/4, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		s.wmu.Lock()
		if len(s.cache.dirty) > 0 && time.Since(s.cache.since) >= s.opts.FlushInterval {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := s.flushLocked(ctx); err != nil {
				s.log.Warn("flush session parts", "err", err)
			}
			cancel()
			s.pending.Store(len(s.cache.dirty) > 0 || s.cache.replay)
		}
		s.wmu.Unlock()
	}
}

// valueRow is a filter value of a part to store: a part_vids row, or an
// entry of the part's cvids; part is the part's index in the flush.
type valueRow struct {
	kind   int
	value  string
	pid    int64
	tenant int64
	part   int
}

// maxCachedVids bounds the value numbers a store keeps in memory: past it,
// the cache starts over (a few MB).
const maxCachedVids = 100_000

// vidCache maps filter values to their numbers in value_ids; guarded by
// Store.wmu. A write that does not commit may leave numbers that were
// rolled back in it, so every failed write or flush drops it (forget).
type vidCache struct {
	ids map[kindValue]vidInfo
}

// vidInfo is what the writer knows of a filter value: its number, whether
// it is common (migrations/0006), and how many part_vids rows this cache
// has given it. Rows given by other processes or before the cache started
// over are not counted, so a value may keep its rows for more parts than
// CommonParts. Filters are right either way: the count only decides when
// part_vids stops growing.
type vidInfo struct {
	vid    int64
	common bool
	rows   int
}

func (v *vidCache) forget() { v.ids = nil }
