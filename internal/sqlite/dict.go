package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"sync"
)

// String dictionary (migrations/0009). Most of a stored record's bytes were
// strings that thousands of records repeat: method, host, endpoint,
// User-Agent, the key's point, parameter names, points and types, flows,
// mode. Records of format version 3 refer to such a string by its number
// in the strings table, a byte or two instead of up to a hundred; other
// strings (paths, IPs, key values, users, parameter values, bodies) are
// always stored inline.
//
// Records are encoded before the writer lock, with the numbers of the
// dictionary as it is then (dictBatch). A string that is not numbered is
// stored inline and noted; once the writer has seen it promoteAt times it
// numbers it, in the transaction of that write, and encoders use the number
// once the transaction commits. So no stored record ever refers to a
// number that is not stored.
//
// Retention: each string records the latest day of the records that refer
// to it (the day only moves forward, in the table and in memory). Once
// DeleteDay has deleted every part up to that day, no record refers to the
// string, and it is deleted too; numbers are never given again
// (AUTOINCREMENT), so a reader that still knows a deleted string cannot
// misread a newer one. A batch encoded before such a deletion is encoded
// again under the writer lock (gen).
//
// The dictionary is bounded (maxDictStrings of at most maxDictLen bytes),
// and so is the memory of the strings it has seen but not numbered
// (maxCandidates): traffic of ever-new User-Agents or endpoints cannot grow
// it, its records just store them inline.

// Dictionary bounds.
const (
	maxDictStrings = 1 << 16
	maxDictLen     = 256
	maxCandidates  = 1 << 16
	// promoteAt is the number of times the writer sees a string before it
	// numbers it.
	promoteAt = 3
)

// stringDict is a store's string dictionary.
type stringDict struct {
	// mu guards ids, strs and gen. Encoders hold it shared while they
	// encode a batch.
	mu sync.RWMutex
	// ids numbers the strings that encoders may refer to; strs holds
	// those and any a reader looked up (written by another process).
	ids  map[string]uint64
	strs map[uint64]string
	// gen counts the deletions of strings.
	gen uint64

	// Guarded by Store.wmu: the stored day of each numbered string, and
	// how often the writer saw each string that is not numbered.
	days map[uint64]string
	seen map[string]int
}

func newStringDict() stringDict {
	return stringDict{ids: map[string]uint64{}, strs: map[uint64]string{}, days: map[uint64]string{}, seen: map[string]int{}}
}

// load reads the stored dictionary (at Open).
func (d *stringDict) load(ctx context.Context, q querier) error {
	return eachRow(ctx, q, "SELECT sid, s, day FROM strings", nil, func(rows *sql.Rows) error {
		var (
			sid    uint64
			s, day string
		)
		if err := rows.Scan(&sid, &s, &day); err != nil {
			return err
		}
		d.ids[s], d.strs[sid], d.days[sid] = sid, s, day
		return nil
	})
}

// dictBatch is one batch's view of the dictionary while it encodes: the
// numbers it may use (read under the dictionary's shared lock), the numbers
// the records of each day used, and the strings it stored inline.
type dictBatch struct {
	ids map[string]uint64
	gen uint64
	// days lists the days of the records encoded; used[i] has a bit per
	// string number that records of days[i] used; cur is the index of the
	// day of the record being encoded.
	days   []string
	used   [][]uint64
	cur    int
	misses []string
}

// begin starts encoding a batch: the dictionary stays locked shared until
// end.
func (d *stringDict) begin(b *dictBatch) {
	d.mu.RLock()
	b.ids, b.gen = d.ids, d.gen
	for i := range b.used {
		clear(b.used[i])
	}
	b.days, b.cur = b.days[:0], 0
	b.misses = b.misses[:0]
}

// setDay says that the next records encoded are of day.
func (b *dictBatch) setDay(day string) {
	if b.cur < len(b.days) && b.days[b.cur] == day {
		return
	}
	for i, d := range b.days {
		if d == day {
			b.cur = i
			return
		}
	}
	b.cur = len(b.days)
	b.days = append(b.days, day)
	if len(b.used) < len(b.days) {
		b.used = append(b.used, nil)
	}
}

func (d *stringDict) end(b *dictBatch) {
	b.ids = nil
	d.mu.RUnlock()
}

// ref returns the number of s, if it has one, and notes its use; else it
// notes s as a candidate.
func (b *dictBatch) ref(s string) (uint64, bool) {
	if s == "" {
		return 0, false // inline, it takes one byte
	}
	if sid, ok := b.ids[s]; ok {
		if b.cur == len(b.days) {
			b.setDay("") // a record of no day: never stored
		}
		used := b.used[b.cur]
		if w := sid / 64; w >= uint64(len(used)) {
			used = append(used, make([]uint64, w+1-uint64(len(used)))...)
			b.used[b.cur] = used
		}
		used[sid/64] |= 1 << (sid % 64)
		return sid, true
	}
	if len(s) <= maxDictLen {
		b.misses = append(b.misses, s)
	}
	return 0, false
}

// eachUsed calls fn with each string number the batch used and the day of
// records that used it, for each such day.
func (b *dictBatch) eachUsed(fn func(sid uint64, day string)) {
	for d, day := range b.days {
		for w, word := range b.used[d] {
			for word != 0 {
				i := bits.TrailingZeros64(word)
				word &^= 1 << i
				fn(uint64(w*64+i), day)
			}
		}
	}
}

// dictChanges is what a write changes in the dictionary, applied to memory
// once it commits.
type dictChanges struct {
	added []dictEntry
	days  map[uint64]string
}

type dictEntry struct {
	sid    uint64
	s, day string
}

// update numbers, in tx, the strings batch stored inline that the writer
// has now seen promoteAt times (with day, the latest day of the batch's
// records), and moves on the day of each string the batch used to the
// latest day of the records that used it. Called with Store.wmu held.
func (d *stringDict) update(ctx context.Context, w *batchWrite, b *dictBatch, day string) (dictChanges, error) {
	var ch dictChanges
	numbered := len(d.ids)
	for _, s := range b.misses {
		if _, ok := d.ids[s]; ok {
			// Numbered since the batch was encoded. (Writers of ids hold
			// Store.wmu too.)
			continue
		}
		n := d.seen[s] + 1
		if n < promoteAt {
			if len(d.seen) >= maxCandidates {
				clear(d.seen)
			}
			// The candidate may be part of a large record: keep a copy.
			if n == 1 {
				s = strings.Clone(s)
			}
			d.seen[s] = n
			continue
		}
		if n > promoteAt || numbered+len(ch.added) >= maxDictStrings {
			continue // numbered in this write already, or no room
		}
		s = strings.Clone(s)
		d.seen[s] = n
		stmt, err := w.s.stmt(ctx, w.tx, insertStringSQL)
		if err != nil {
			return ch, err
		}
		e := dictEntry{s: s}
		if err := stmt.QueryRowContext(ctx, s, day).Scan(&e.sid, &e.day); err != nil {
			return ch, fmt.Errorf("number strings: %w", err)
		}
		ch.added = append(ch.added, e)
	}
	b.eachUsed(func(sid uint64, on string) {
		if d.days[sid] < on && ch.days[sid] < on {
			if ch.days == nil {
				ch.days = map[uint64]string{}
			}
			ch.days[sid] = on
		}
	})
	for sid, on := range ch.days {
		if err := w.exec(ctx, updateStringDaySQL, on, sid); err != nil {
			return ch, fmt.Errorf("date strings: %w", err)
		}
	}
	return ch, nil
}

// insertStringSQL numbers a string (or finds its number, should another
// writer have given it one), and updateStringDaySQL moves its day on:
// single-row statements, so no statement journal.
const (
	insertStringSQL = `INSERT INTO strings (s, day) VALUES (?, ?)
		ON CONFLICT (s) DO UPDATE SET day = max(day, excluded.day) RETURNING sid, day`
	updateStringDaySQL = `UPDATE strings SET day = max(day, ?) WHERE sid = ?`
)

// generation returns the count of deletions, which a batch encoded
// before the last of them must be encoded again for.
func (d *stringDict) generation() uint64 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.gen
}

// apply makes a committed write's changes visible to encoders.
func (d *stringDict) apply(ch dictChanges) {
	for sid, day := range ch.days {
		d.days[sid] = max(d.days[sid], day)
	}
	if len(ch.added) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range ch.added {
		d.ids[e.s], d.strs[e.sid], d.days[e.sid] = e.sid, e.s, max(d.days[e.sid], e.day)
		delete(d.seen, e.s)
	}
}

// forgetSeen drops the counts of a write that did not commit: strings it
// numbered were rolled back, and must be seen again.
func (d *stringDict) forgetSeen(ch dictChanges) {
	for _, e := range ch.added {
		delete(d.seen, e.s)
	}
}

// expire deletes, in tx, the strings whose day is before the earliest day
// left in the store (or all of them when none is left): no record refers
// to them any more. It returns their numbers, which drop applies once tx
// commits. Called with Store.wmu held, after the parts of a day are
// deleted.
func (d *stringDict) expire(ctx context.Context, tx *sql.Tx) ([]uint64, error) {
	var earliest sql.NullString
	if err := tx.QueryRowContext(ctx, "SELECT min(day) FROM parts").Scan(&earliest); err != nil {
		return nil, err
	}
	before := earliest.String
	if !earliest.Valid {
		before = "9999-12-31"
	}
	var gone []uint64
	if err := eachRow(ctx, tx, "SELECT sid FROM strings WHERE day < ?", []any{before}, func(rows *sql.Rows) error {
		var sid uint64
		err := rows.Scan(&sid)
		gone = append(gone, sid)
		return err
	}); err != nil {
		return nil, err
	}
	if len(gone) == 0 {
		return nil, nil
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM strings WHERE day < ?", before); err != nil {
		return nil, err
	}
	return gone, nil
}

// drop forgets the strings expire deleted, once its transaction commits.
func (d *stringDict) drop(gone []uint64) {
	if len(gone) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, sid := range gone {
		if s, ok := d.strs[sid]; ok && d.ids[s] == sid {
			delete(d.ids, s)
		}
		delete(d.strs, sid)
		delete(d.days, sid)
	}
	d.gen++
}

// errUnknownString is the error of a record that refers to a string
// number the dictionary does not hold.
var errUnknownString = errors.New("unknown dictionary string")

func unknownString(sid uint64) error { return fmt.Errorf("%w %d", errUnknownString, sid) }

// known looks up only the strings this process knows: for the writer's
// own connection, which cannot run a query while it reads records.
func (d *stringDict) known(sid uint64) (string, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if s, ok := d.strs[sid]; ok {
		return s, nil
	}
	return "", unknownString(sid)
}

// lookup returns the string sid for decoding, reading it through q (the
// reader's transaction) when this process does not know it: another
// process numbered it.
func (d *stringDict) lookup(ctx context.Context, q querier) func(sid uint64) (string, error) {
	return func(sid uint64) (string, error) {
		if s, err := d.known(sid); err == nil {
			return s, nil
		}
		var (
			s  string
			ok bool
		)
		err := eachRow(ctx, q, "SELECT s FROM strings WHERE sid = ?", []any{sid}, func(rows *sql.Rows) error {
			ok = true
			return rows.Scan(&s)
		})
		if err != nil {
			return "", fmt.Errorf("dictionary string %d: %w", sid, err)
		}
		if !ok {
			return "", unknownString(sid)
		}
		d.mu.Lock()
		d.strs[sid] = s
		d.mu.Unlock()
		return s, nil
	}
}
