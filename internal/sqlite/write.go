package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apisessions/apisessions"
)

// Rows per multi-row statement. One statement per few hundred rows removes
// most of the per-statement cost while staying far below SQLite's limit of
// 32766 bound parameters.
const (
	requestChunk = 400 // 5 parameters a row
	valueChunk   = 500 // 3 parameters a row
	lookupChunk  = 500 // 1 parameter a row
	pendingChunk = 500 // 4 parameters a row
)

// Limits of a record's key fields: they are index keys.
const (
	maxIDLen = 512
)

func placeholders(n, cols int) string {
	row := "(" + marks(cols) + ")"
	return strings.TrimSuffix(strings.Repeat(row+",", n), ",")
}

// marks returns n parameters for an IN list: "?,?,?".
func marks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// The multi-row statements all resolve conflicts with OR IGNORE or OR
// REPLACE: a multi-row statement that could abort half-way makes SQLite
// keep a statement journal, which cost more than the inserts themselves.
// (None conflicts in practice: the batch checked IDs and loaded parts first.)

func insertRequestsSQL(n int) string {
	return "INSERT OR IGNORE INTO requests (pid, t, id, tenant, data) VALUES " + placeholders(n, 5)
}

func insertValuesSQL(n int) string {
	return "INSERT OR IGNORE INTO part_vids (vid, pid) VALUES " + placeholders(n, 2)
}

func insertValueIDsSQL(n int) string {
	return "INSERT OR IGNORE INTO value_ids (kind, value) VALUES " + placeholders(n, 2)
}

func lookupValueIDsSQL(n int) string {
	return "SELECT vid, value, common FROM value_ids WHERE kind = ? AND value IN (" + marks(n) + ")"
}

// markCommonSQL marks a value common (migrations/0006): single-row, so no
// statement journal.
const markCommonSQL = `UPDATE value_ids SET common = 1 WHERE vid = ?`

func insertEndpointsSQL(n int) string {
	return "INSERT OR IGNORE INTO endpoints (tenant, endpoint) VALUES " + placeholders(n, 2)
}

// insertPendingSQL names new parts until the flush stores them. The table
// is small and appended to, so the statement journal its explicit pids
// make SQLite keep costs little.
func insertPendingSQL(n int) string {
	return "INSERT INTO parts_pending (pid, tenant, session, day) VALUES " + placeholders(n, 4)
}

// insertPartSQL stores a new part at a flush: single-row, like
// updatePartSQL, so no statement journal either.
const insertPartSQL = `INSERT INTO parts (pid, tenant, session, day, first_ns, last_ns, requests, attacks, blocked, agg, upto, cvids) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// updatePartSQL rewrites one stored part at a flush, appending the common
// values it gained to cvids: single-row, so no statement journal either.
const updatePartSQL = `UPDATE parts SET first_ns = ?, last_ns = ?, requests = ?, attacks = ?, blocked = ?, agg = ?, upto = ?, cvids = cvids || ? WHERE pid = ?`

func loadPartsSQL(n int) string {
	return "SELECT pid, session, day, first_ns, last_ns, requests, attacks, blocked, agg FROM parts WHERE tenant = ? AND session IN (" +
		marks(n) + ")"
}

// writerQueries lists the queries the writer prepares at Open through
// database/sql: the multi-row ones at every length stmtChunks runs them
// with.
func writerQueries() []string {
	return laddered([]string{insertStringSQL}, []chunked{{lookupValueIDsSQL, lookupChunk}, {loadPartsSQL, lookupChunk}})
}

// writerExecs lists the inserts and updates the writer runs at the driver
// level (wtx.go), prepared at Open like writerQueries.
func writerExecs() []string {
	return laddered([]string{insertPartSQL, updatePartSQL, markCommonSQL, updateStringDaySQL}, []chunked{
		{insertRequestsSQL, requestChunk}, {insertValuesSQL, valueChunk}, {insertEndpointsSQL, valueChunk},
		{insertValueIDsSQL, valueChunk}, {insertPendingSQL, pendingChunk}, {insertListsSQL, listChunk},
	})
}

// chunked is a multi-row statement and its chunk size.
type chunked struct {
	sql  func(n int) string
	size int
}

// laddered returns qs and each statement of ms at every length stmtChunks
// runs it with.
func laddered(qs []string, ms []chunked) []string {
	for _, m := range ms {
		for _, n := range ladder(m.size) {
			qs = append(qs, m.sql(n))
		}
	}
	return qs
}

// checkRecord says why a record cannot be stored. days holds the start of
// the last day checked: a batch's records mostly share their day.
func checkRecord(i int, r *apisessions.Record, days *dayStart) error {
	switch {
	case r.ID == "":
		return apisessions.Errorf(apisessions.EINVALID, "record %d: no ID", i)
	case len(r.ID) > maxIDLen:
		return apisessions.Errorf(apisessions.EINVALID, "record %d: ID longer than %d bytes", i, maxIDLen)
	case r.SessionID == "":
		return apisessions.Errorf(apisessions.EINVALID, "record %d: no session ID", i)
	case len(r.SessionID) > maxIDLen:
		return apisessions.Errorf(apisessions.EINVALID, "record %d: session ID longer than %d bytes", i, maxIDLen)
	case r.Time.IsZero():
		return apisessions.Errorf(apisessions.EINVALID, "record %d: no time", i)
	case r.Time.Year() < 1700 || r.Time.Year() > 2200:
		return apisessions.Errorf(apisessions.EINVALID, "record %d: time out of range", i)
	}
	d, ok := days.parse(r.Day)
	if !ok {
		return apisessions.Errorf(apisessions.EINVALID, "record %d: day %q is not YYYY-MM-DD", i, r.Day)
	}
	// A day in any timezone (UTC-12 to UTC+14) lies within [D-14h, D+38h)
	// of its UTC date D; listing relies on it (maxPartSpan).
	if r.Time.Before(d.Add(-14*time.Hour)) || !r.Time.Before(d.Add(38*time.Hour)) {
		return apisessions.Errorf(apisessions.EINVALID, "record %d: time %s is not on day %s in any timezone", i, r.Time.UTC().Format(time.RFC3339), r.Day)
	}
	return nil
}

// dayStart remembers the last day parsed and its start (UTC).
type dayStart struct {
	day   string
	start time.Time
}

// parse returns the start of day, or false when day is not YYYY-MM-DD.
func (c *dayStart) parse(day string) (time.Time, bool) {
	if day == c.day && day != "" {
		return c.start, true
	}
	if len(day) != 10 {
		return time.Time{}, false
	}
	start, err := time.Parse("2006-01-02", day)
	if err != nil {
		return time.Time{}, false
	}
	c.day, c.start = day, start
	return start, true
}

func validDay(day string) bool {
	if len(day) != 10 {
		return false
	}
	_, err := time.Parse("2006-01-02", day)
	return err == nil
}

type partKey struct{ session, day string }

// afterEncode, when a test sets it, runs between the encoding of a Write's
// records and its taking the writer lock.
var afterEncode func()

// Write stores the records of one tenant in one transaction; see
// apisessions.Store.
func (s *Store) Write(ctx context.Context, tenant string, recs []apisessions.Record) (apisessions.WriteStats, error) {
	var st apisessions.WriteStats
	if tenant == "" {
		return st, apisessions.Errorf(apisessions.EINVALID, "no tenant")
	}
	if s.opts.SessionReader {
		return st, errSessionReader
	}
	var days dayStart
	for i := range recs {
		if err := checkRecord(i, &recs[i], &days); err != nil {
			return st, err
		}
	}
	if len(recs) == 0 {
		return st, nil
	}
	// What needs no database happens before the writer lock, so that
	// concurrent Writes prepare their batches while one holds it.
	pre := prepareBatch(recs, &s.dict)
	defer pre.release()
	if afterEncode != nil {
		afterEncode()
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if pre.dict.gen != s.dict.generation() {
		// DeleteDay deleted strings since: the records may refer to them.
		pre.encode(recs, &s.dict)
	}
	if s.cache.replay {
		if err := s.flushLocked(ctx); err != nil {
			return st, fmt.Errorf("write: %w", err)
		}
	}
	wt, err := s.beginWrite(ctx)
	if err != nil {
		return st, fmt.Errorf("write: %w", err)
	}
	defer wt.rollback()
	tid, err := s.createTenant(ctx, wt.tx, tenant)
	if err != nil {
		return st, err
	}
	// From here on the cache holds the batch's merges: if the transaction
	// does not commit, the cache is dropped and rebuilt from stored requests.
	var dictChanged dictChanges
	fail := func(err error) (apisessions.WriteStats, error) {
		s.dict.forgetSeen(dictChanged)
		s.cache.reset()
		s.vids.forget()
		s.nextPid = 0
		s.pending.Store(true)
		return apisessions.WriteStats{}, fmt.Errorf("write: %w", err)
	}
	w := batchWrite{s: s, wt: wt, tx: wt.tx, tenant: tid}
	if st, err = w.run(ctx, recs, pre); err != nil {
		return fail(err)
	}
	flush := s.cache.full(s.opts)
	var drained []*part
	if flush {
		if err := s.flushTx(ctx, wt, s.cache.dirty); err != nil {
			return fail(err)
		}
	} else if drained = s.cache.drainable(s.opts); len(drained) > 0 {
		if _, err := s.storeParts(ctx, wt, drained); err != nil {
			return fail(err)
		}
	}
	if dictChanged, err = s.dict.update(ctx, &w, &pre.dict, pre.day); err != nil {
		return fail(err)
	}
	if err := wt.commit(); err != nil {
		return fail(fmt.Errorf("commit: %w", err))
	}
	s.dict.apply(dictChanged)
	s.kickCheckpoint()
	if flush {
		s.flushed()
		s.cache.drop()
	}
	s.cache.drained(drained)
	s.pending.Store(len(s.cache.dirty) > 0)
	s.tmu.Lock()
	s.tenants[tenant] = tid
	s.tmu.Unlock()
	return st, nil
}

// preparedBatch is the part of a Write done before it takes the writer:
// the records' IDs without repeats, the parts they go to, and their
// encoded blobs. The writer then hashes no ID or part key per record.
type preparedBatch struct {
	// groups maps each part key to its index in keys.
	groups map[partKey]int
	// ids lists the batch's record IDs once each, in batch order, and
	// first the index of the record of each; fresh maps each ID to that
	// record; repeats counts the other records.
	ids     []string
	first   []int
	fresh   map[string]int
	repeats int
	// stored marks, by record index, the records the tenant has already
	// (found in the transaction); rids gives the rowid of each of the
	// others, once inserted.
	stored []bool
	rids   []int64
	// keys lists the batch's parts; group gives the index in keys of each
	// record's part, by record index.
	keys  []partKey
	group []int
	// blobs holds the encoded records back to back: record i is
	// blobs[ends[i-1]:ends[i]] (from 0 for the first).
	blobs []byte
	ends  []int
	// dict is what encoding used and noted of the string dictionary; day
	// is the latest day of the records.
	dict dictBatch
	day  string
}

// batchPool recycles preparedBatch buffers: the encoded records of an
// import batch take megabytes, which allocating afresh for every batch made
// a good part of the garbage collector's work.
var batchPool = sync.Pool{New: func() any { return &preparedBatch{fresh: map[string]int{}, groups: map[partKey]int{}} }}

// maxPooledBlobs bounds the encoded bytes a recycled batch keeps, so that
// one batch of huge records does not pin its memory for good.
const maxPooledBlobs = 16 << 20

func prepareBatch(recs []apisessions.Record, dict *stringDict) *preparedBatch {
	pre := batchPool.Get().(*preparedBatch)
	n := len(recs)
	pre.ids = slices.Grow(pre.ids[:0], n)
	pre.first = slices.Grow(pre.first[:0], n)
	pre.stored = resize(pre.stored, n)
	pre.rids = resize(pre.rids, n)
	pre.group = resize(pre.group, n)
	pre.ends = resize(pre.ends, n)
	pre.keys = pre.keys[:0]
	pre.repeats = 0
	for i := range recs {
		r := &recs[i]
		if _, ok := pre.fresh[r.ID]; ok {
			pre.repeats++
			continue
		}
		pre.fresh[r.ID] = i
		pre.ids = append(pre.ids, r.ID)
		pre.first = append(pre.first, i)
		k := partKey{r.SessionID, r.Day}
		g, ok := pre.groups[k]
		if !ok {
			g = len(pre.keys)
			pre.groups[k] = g
			pre.keys = append(pre.keys, k)
		}
		pre.group[i] = g
	}
	pre.encode(recs, dict)
	return pre
}

// encode encodes the records into pre.blobs, numbering strings by dict.
func (pre *preparedBatch) encode(recs []apisessions.Record, dict *stringDict) {
	dict.begin(&pre.dict)
	defer dict.end(&pre.dict)
	blobs := pre.blobs[:0]
	pre.day = ""
	for i := range recs {
		pre.dict.setDay(recs[i].Day)
		blobs = appendRecord(blobs, &recs[i], &pre.dict)
		pre.ends[i] = len(blobs)
		pre.day = max(pre.day, recs[i].Day)
	}
	pre.blobs = blobs
}

// resize returns s with length n and zero elements, reusing its array.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// release returns pre to the pool once its Write is done with it. Its
// strings are the records': they are dropped, not kept alive.
func (pre *preparedBatch) release() {
	if cap(pre.blobs) > maxPooledBlobs {
		return
	}
	clear(pre.fresh)
	clear(pre.groups)
	clear(pre.ids[:cap(pre.ids)])
	clear(pre.keys[:cap(pre.keys)])
	clear(pre.dict.misses[:cap(pre.dict.misses)])
	pre.ids, pre.keys, pre.dict.misses = pre.ids[:0], pre.keys[:0], pre.dict.misses[:0]
	batchPool.Put(pre)
}

// blob returns the encoded record i.
func (pre *preparedBatch) blob(i int) []byte {
	start := 0
	if i > 0 {
		start = pre.ends[i-1]
	}
	return pre.blobs[start:pre.ends[i]:pre.ends[i]]
}

// batchWrite is the work of one Write transaction.
type batchWrite struct {
	s *Store
	// wt is the transaction, tx its database/sql side.
	wt     *writerTx
	tx     *sql.Tx
	tenant int64
	args   []any
}

func (w *batchWrite) run(ctx context.Context, recs []apisessions.Record, pre *preparedBatch) (apisessions.WriteStats, error) {
	var st apisessions.WriteStats
	st.Duplicates = pre.repeats

	// The parts of the batch's records, by index in pre.keys: from the
	// cache, else stored, else new (numbered now, with no row yet).
	c := &w.s.cache
	c.stamp++
	parts := make([]*part, len(pre.keys))
	cached := make([]bool, len(pre.keys))
	missing := map[partKey]int{}
	var sessions []string
	for g, k := range pre.keys {
		p := c.parts[cacheKey{w.tenant, k.session, k.day}]
		parts[g], cached[g] = p, p != nil
		if p == nil {
			missing[k] = g
			sessions = append(sessions, k.session)
		}
	}
	if err := w.loadParts(ctx, sessions, missing, parts); err != nil {
		return st, err
	}
	if err := w.numberParts(ctx, pre, parts); err != nil {
		return st, err
	}

	// The requests go in first: the insert skips those the tenant has
	// stored already, and tells which they were.
	dups, err := w.saveRequests(ctx, recs, pre, parts)
	if err != nil {
		return st, err
	}
	st.Duplicates += dups
	st.Stored = len(pre.ids) - dups
	if st.Stored == 0 {
		return st, nil
	}
	order := make([]*part, 0, len(parts))
	for _, i := range pre.first {
		if pre.stored[i] {
			continue
		}
		g := pre.group[i]
		p := parts[g]
		if p.stamp != c.stamp {
			p.stamp = c.stamp
			order = append(order, p)
			if cached[g] {
				c.bytes -= p.bytes
			}
		}
		p.addStored(pre.rids[i], &recs[i])
	}
	st.Sessions = len(order)

	// New parts wait for the flush like the changes of stored parts
	// (behind.go), named meanwhile in parts_pending.
	var created []*part
	for _, p := range order {
		p.tenant = w.tenant
		if p.pending && !p.dirty {
			created = append(created, p)
		}
	}
	if err := w.savePending(ctx, created); err != nil {
		return st, err
	}
	for _, p := range order {
		if !p.dirty {
			if len(c.dirty) == 0 {
				c.since = time.Now()
			}
			p.dirty = true
			c.dirty = append(c.dirty, p)
		}
		c.parts[cacheKey{w.tenant, p.session, p.day}] = p
		c.bytes += p.bytes
	}
	return st, nil
}

// chunks calls fn for each run of at most size elements of n.
func chunks(n, size int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; lo += size {
		if err := fn(lo, min(n, lo+size)); err != nil {
			return err
		}
	}
	return nil
}

// stmtChunks calls fn for runs of n elements whose lengths are on the
// ladder of size (ladder): the largest that fits each time. The writer's
// multi-row statements are prepared at Open for every length on their
// ladder, so a write prepares none: preparing a statement of a few hundred
// rows, for the last run of each batch, cost more than running it.
func stmtChunks(n, size int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; {
		m := size
		for m > n-lo {
			m /= 2
		}
		if err := fn(lo, lo+m); err != nil {
			return err
		}
		lo += m
	}
	return nil
}

// ladder returns the run lengths stmtChunks uses for size: size, then
// halves down to 1.
func ladder(size int) []int {
	var out []int
	for m := size; m >= 1; m /= 2 {
		out = append(out, m)
	}
	return out
}

// loadParts reads the stored parts among the keys of missing (of sessions)
// into parts, at the index missing gives.
func (w *batchWrite) loadParts(ctx context.Context, sessions []string, missing map[partKey]int, parts []*part) error {
	return stmtChunks(len(sessions), lookupChunk, func(lo, hi int) error {
		stmt, err := w.s.stmt(ctx, w.tx, loadPartsSQL(hi-lo))
		if err != nil {
			return err
		}
		args := append(w.args[:0], w.tenant)
		for _, id := range sessions[lo:hi] {
			args = append(args, id)
		}
		w.args = args
		rows, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("load parts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			// Only the parts not cached already: the cache is newer.
			p, err := scanPart(rows, func(k partKey) bool {
				g, want := missing[k]
				return want && parts[g] == nil
			})
			if err != nil {
				return err
			}
			if p != nil {
				parts[missing[partKey{p.session, p.day}]] = p
			}
		}
		return rows.Err()
	})
}

type scanner interface{ Scan(...any) error }

// scanPart reads a parts row (pid, session, day, first_ns, last_ns,
// requests, attacks, blocked, agg). When want rejects the part's key it
// returns nil without decoding the aggregate.
func scanPart(row scanner, want func(partKey) bool) (*part, error) {
	return scanPartWith(row, want)
}

// scanPartWith is scanPart for rows with more columns after the part's,
// scanned into extra.
func scanPartWith(row scanner, want func(partKey) bool, extra ...any) (*part, error) {
	var (
		pid               int64
		session, day      string
		first, last       int64
		requests, attacks int
		blocked           bool
		agg               []byte
	)
	if err := row.Scan(append([]any{&pid, &session, &day, &first, &last, &requests, &attacks, &blocked, &agg}, extra...)...); err != nil {
		return nil, err
	}
	if want != nil && !want(partKey{session, day}) {
		return nil, nil
	}
	p := newPart(session, day)
	p.pid, p.first, p.last, p.requests, p.attacks, p.blocked = pid, first, last, requests, attacks, blocked
	if err := p.decodeAggregate(agg); err != nil {
		return nil, fmt.Errorf("part %d: %w", pid, err)
	}
	return p, nil
}

// numberParts makes a new part for each key of the batch that has none,
// with the pid after the largest stored or pending. A new part that gets
// no request (all its records were stored already) is dropped with its
// pid, which nothing refers to.
func (w *batchWrite) numberParts(ctx context.Context, pre *preparedBatch, parts []*part) error {
	s := w.s
	for g, p := range parts {
		if p != nil {
			continue
		}
		if s.nextPid == 0 {
			// The write transaction holds the database's write lock, so
			// no other writer, in this process or another, takes pids
			// meanwhile.
			if err := w.tx.QueryRowContext(ctx, `SELECT max(coalesce((SELECT max(pid) FROM parts), 0),
				coalesce((SELECT max(pid) FROM parts_pending), 0)) + 1`).Scan(&s.nextPid); err != nil {
				return fmt.Errorf("number parts: %w", err)
			}
		}
		p = newPart(pre.keys[g].session, pre.keys[g].day)
		p.pid, p.pending = s.nextPid, true
		s.nextPid++
		parts[g] = p
	}
	return nil
}

// insertRows inserts rows with the multi-row statement that sql gives for
// n rows, in the runs of stmtChunks; bind appends the values of a row.
func insertRows[T any](ctx context.Context, w *batchWrite, rows []T, size int, sql func(n int) string, bind func(args []any, r T) []any) error {
	return stmtChunks(len(rows), size, func(lo, hi int) error {
		args := w.args[:0]
		for _, r := range rows[lo:hi] {
			args = bind(args, r)
		}
		w.args = args
		return w.exec(ctx, sql(hi-lo), args...)
	})
}

// savePending names new parts in parts_pending until a flush stores them.
func (w *batchWrite) savePending(ctx context.Context, fresh []*part) error {
	err := insertRows(ctx, w, fresh, pendingChunk, insertPendingSQL, func(args []any, p *part) []any {
		return append(args, p.pid, w.tenant, p.session, p.day)
	})
	if err != nil {
		return fmt.Errorf("save new parts: %w", err)
	}
	return nil
}

// splitValues numbers the values of rows, a flush's values of parts it
// stores, and splits them into the part_vids rows to insert and, by part
// index (of nparts), the common values to append to the part's cvids
// ("12,40,"). A value becomes common when this store has given it
// CommonParts rows; value_ids records it in the same transaction. (After a
// replay, which stores every value of its parts again, a part may list a
// common value twice, which filters do not mind.)
func (w *batchWrite) splitValues(ctx context.Context, rows []valueRow, nparts int) ([]vidPid, []string, error) {
	if err := w.numberValues(ctx, rows); err != nil {
		return nil, nil, err
	}
	pairs := make([]vidPid, 0, len(rows))
	cvids := make([]string, nparts)
	var list []byte // the cvids entries of the part of the last row
	limit := w.s.opts.CommonParts
	for i, r := range rows {
		k := kindValue{r.kind, r.value}
		info := w.s.vids.ids[k]
		if !info.common && info.rows >= limit {
			if err := w.exec(ctx, markCommonSQL, info.vid); err != nil {
				return nil, nil, fmt.Errorf("mark common value: %w", err)
			}
			info.common = true
			w.s.vids.ids[k] = info
		}
		if info.common {
			list = append(strconv.AppendInt(list, info.vid, 10), ',')
		} else {
			info.rows++
			w.s.vids.ids[k] = info
			pairs = append(pairs, vidPid{info.vid, r.pid})
		}
		// The rows of a part are consecutive.
		if i+1 == len(rows) || rows[i+1].part != r.part {
			cvids[r.part] += string(list)
			list = list[:0]
		}
	}
	return pairs, cvids, nil
}

// exec runs a cached statement of the writer in the write's transaction.
func (w *batchWrite) exec(ctx context.Context, query string, args ...any) error {
	_, err := w.wt.exec(ctx, query, args...)
	return err
}

// saveValues inserts the part_vids rows pairs (from splitValues), in key
// order, and the endpoints of rows that their tenant's list lacks.
func (w *batchWrite) saveValues(ctx context.Context, rows []valueRow, pairs []vidPid) error {
	type endpoint struct {
		tenant int64
		value  string
	}
	endpoints := map[endpoint]bool{}
	for _, r := range rows {
		if r.kind == kindEndpoint {
			endpoints[endpoint{r.tenant, r.value}] = true
		}
	}
	slices.SortFunc(pairs, func(a, b vidPid) int { return cmp.Or(cmp.Compare(a.vid, b.vid), cmp.Compare(a.pid, b.pid)) })
	err := insertRows(ctx, w, pairs, valueChunk, insertValuesSQL, func(args []any, r vidPid) []any {
		return append(args, r.vid, r.pid)
	})
	if err != nil {
		return fmt.Errorf("save part values: %w", err)
	}
	eps := make([]endpoint, 0, len(endpoints))
	for e := range endpoints {
		eps = append(eps, e)
	}
	err = insertRows(ctx, w, eps, valueChunk, insertEndpointsSQL, func(args []any, e endpoint) []any {
		return append(args, e.tenant, e.value)
	})
	if err != nil {
		return fmt.Errorf("save endpoints: %w", err)
	}
	return nil
}

// saveRequests inserts the batch's records (the first of each ID), encoded
// before the transaction; parts are the batch's by index in pre.keys. The
// insert skips the IDs the tenant has stored already: it marks their
// records in pre.stored and returns their number. Checking every ID first
// cost a lookup per record, for duplicates that are rare but on re-import.
func (w *batchWrite) saveRequests(ctx context.Context, recs []apisessions.Record, pre *preparedBatch, parts []*part) (int, error) {
	// New requests take rowids from max(rid) + 1 in order, so the rows a
	// statement inserted are those past the largest rowid before it.
	last, err := lastRequest(ctx, w.tx)
	if err != nil {
		return 0, fmt.Errorf("save requests: %w", err)
	}
	dups := 0
	err = stmtChunks(len(pre.first), requestChunk, func(lo, hi int) error {
		args := w.args[:0]
		for _, i := range pre.first[lo:hi] {
			r := &recs[i]
			args = append(args, parts[pre.group[i]].pid, r.Time.UnixNano(), r.ID, w.tenant, pre.blob(i))
		}
		w.args = args
		n, err := w.wt.exec(ctx, insertRequestsSQL(hi-lo), args...)
		if err != nil {
			return fmt.Errorf("save requests: %w", err)
		}
		if int(n) < hi-lo {
			if err := w.markStored(ctx, recs, pre.first[lo:hi], pre.stored, last); err != nil {
				return err
			}
			dups += hi - lo - int(n)
		}
		for _, i := range pre.first[lo:hi] {
			if !pre.stored[i] {
				last++
				pre.rids[i] = last
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	// The parts list their requests by these rowids (reqlist.go): make sure
	// they are the ones SQLite gave.
	top, err := lastRequest(ctx, w.tx)
	if err != nil {
		return 0, fmt.Errorf("save requests: %w", err)
	}
	if top != last {
		return 0, fmt.Errorf("save requests: the last request has rowid %d, not %d", top, last)
	}
	return dups, nil
}

// lastRequest returns the largest request rowid, 0 when there is none.
func lastRequest(ctx context.Context, tx *sql.Tx) (int64, error) {
	var rid int64
	err := tx.QueryRowContext(ctx, "SELECT coalesce(max(rid), 0) FROM requests").Scan(&rid)
	return rid, err
}

// markStored marks in stored the records among idx that the statement just
// run did not insert: those whose ID has no row past rowid after.
func (w *batchWrite) markStored(ctx context.Context, recs []apisessions.Record, idx []int, stored []bool, after int64) error {
	rows, err := w.tx.QueryContext(ctx, "SELECT id FROM requests WHERE rid > ?", after)
	if err != nil {
		return fmt.Errorf("save requests: %w", err)
	}
	defer rows.Close()
	inserted := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("save requests: %w", err)
		}
		inserted[id] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("save requests: %w", err)
	}
	for _, i := range idx {
		stored[i] = !inserted[recs[i].ID]
	}
	return nil
}

// vidPid is a part_vids row.
type vidPid struct{ vid, pid int64 }

// numberValues makes sure every value of rows has its number in value_ids
// and in w.s.vids: it numbers the values the store lacks and reads those
// the cache lacks.
func (w *batchWrite) numberValues(ctx context.Context, rows []valueRow) error {
	v := &w.s.vids
	if v.ids == nil || len(v.ids) > maxCachedVids {
		v.ids = make(map[kindValue]vidInfo)
	}
	var missing []kindValue
	seen := map[kindValue]bool{}
	for _, r := range rows {
		k := kindValue{r.kind, r.value}
		if _, ok := v.ids[k]; !ok && !seen[k] {
			seen[k] = true
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.SortFunc(missing, func(a, b kindValue) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), strings.Compare(a.value, b.value))
	})
	err := insertRows(ctx, w, missing, valueChunk, insertValueIDsSQL, func(args []any, k kindValue) []any {
		return append(args, k.kind, k.value)
	})
	if err != nil {
		return fmt.Errorf("number values: %w", err)
	}
	// Read the numbers back, a kind at a time.
	for lo := 0; lo < len(missing); {
		kind := missing[lo].kind
		hi := lo
		for hi < len(missing) && missing[hi].kind == kind {
			hi++
		}
		err := stmtChunks(hi-lo, lookupChunk, func(a, b int) error {
			return w.readValueIDs(ctx, kind, missing[lo+a:lo+b])
		})
		if err != nil {
			return err
		}
		lo = hi
	}
	for _, k := range missing {
		if _, ok := v.ids[k]; !ok {
			return fmt.Errorf("number values: value %d %q has no number", k.kind, k.value)
		}
	}
	return nil
}

// readValueIDs reads the numbers of values of one kind into w.s.vids.
func (w *batchWrite) readValueIDs(ctx context.Context, kind int, values []kindValue) error {
	stmt, err := w.s.stmt(ctx, w.tx, lookupValueIDsSQL(len(values)))
	if err != nil {
		return err
	}
	args := append(w.args[:0], kind)
	for _, k := range values {
		args = append(args, k.value)
	}
	w.args = args
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return fmt.Errorf("number values: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			vid    int64
			value  string
			common bool
		)
		if err := rows.Scan(&vid, &value, &common); err != nil {
			return fmt.Errorf("number values: %w", err)
		}
		w.s.vids.ids[kindValue{kind, value}] = vidInfo{vid: vid, common: common}
	}
	return rows.Err()
}
