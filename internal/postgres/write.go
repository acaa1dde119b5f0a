package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/apisessions/apisessions"
)

// Write stores records of one tenant in one transaction; see
// apisessions.Store.
//
// Writes are group-committed: a committer goroutine takes every batch
// waiting and stores them in one transaction (all of a batch or none of
// it). Concurrent senders mostly write the same active sessions, so
// grouping merges each part once per group instead of once per batch.
// Options.Committers committers may run at once, so that one inserts and
// copies requests while another merges parts; they, and several stores
// (servers) on one database, stay correct because parts are locked.
//
// In the transaction, the record IDs are copied into request_ids (see
// insertIDs for IDs stored before); only new records are copied into
// requests and change session parts. The parts are then locked in a fixed
// order (so that writers do not deadlock), merged in Go (from the store's
// cache when no one else wrote them since), staged by COPY and written back
// by one statement; the filter tags new to them follow by COPY.
func (s *Store) Write(ctx context.Context, tenant string, recs []apisessions.Record) (apisessions.WriteStats, error) {
	if err := s.checkID("tenant", tenant); err != nil {
		return apisessions.WriteStats{}, err
	}
	if len(recs) == 0 {
		return apisessions.WriteStats{}, nil
	}
	b, err := s.prepare(tenant, recs)
	if err != nil {
		return apisessions.WriteStats{}, err
	}
	req := &writeReq{b: b, done: make(chan writeResult, 1)}
	select {
	case s.queue <- req:
	case <-ctx.Done():
		return apisessions.WriteStats{}, ctx.Err()
	case <-s.closing:
		return apisessions.WriteStats{}, errClosed
	}
	select {
	case res := <-req.done:
		return res.st, res.err
	case <-ctx.Done():
		// The group may still commit the batch; a retry then finds its
		// records stored, which is what idempotent writes are for.
		return apisessions.WriteStats{}, ctx.Err()
	case <-s.stopped:
		select {
		case res := <-req.done:
			return res.st, res.err
		default:
			return apisessions.WriteStats{}, errClosed
		}
	}
}

var errClosed = errors.New("postgres: store closed")

type writeReq struct {
	b    *batch
	done chan writeResult // buffered: the committer never blocks on it
}

type writeResult struct {
	st  apisessions.WriteStats
	err error
}

// commitLoop is a group committer; Close stops it after the group in
// progress.
func (s *Store) commitLoop() {
	for {
		var group []*writeReq
		select {
		case req := <-s.queue:
			group = append(group, req)
		case <-s.closing:
			return
		}
		n := len(group[0].b.recs)
	more:
		for n < s.opts.MaxGroupRecords {
			select {
			case req := <-s.queue:
				group = append(group, req)
				n += len(req.b.recs)
			default:
				break more
			}
		}
		s.commitGroup(group)
	}
}

// commitGroup stores a group and answers its writers. When a statement of
// the group fails, each batch is tried alone, so that one batch cannot fail
// the others; a lost connection or a timeout fails them all at once.
func (s *Store) commitGroup(group []*writeReq) {
	stats, err := s.writeWithRetry(group)
	var pe *pgconn.PgError
	if err != nil && len(group) > 1 && errors.As(err, &pe) {
		for _, req := range group {
			st, err := s.writeWithRetry([]*writeReq{req})
			req.done <- writeResult{st[0], err}
		}
		return
	}
	for i, req := range group {
		if err != nil {
			req.done <- writeResult{err: err}
		} else {
			req.done <- writeResult{st: stats[i]}
		}
	}
}

func (s *Store) writeWithRetry(group []*writeReq) ([]apisessions.WriteStats, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
	defer cancel()
	days := map[string]bool{}
	for _, req := range group {
		for _, d := range req.b.days {
			days[d] = true
		}
	}
	var dayList []string
	for d := range days {
		dayList = append(dayList, d)
	}
	slices.Sort(dayList)
	for attempt := 1; ; attempt++ {
		err := s.ensurePartitions(ctx, dayList)
		if err == nil {
			var st []apisessions.WriteStats
			if st, err = s.write(ctx, group); err == nil {
				return st, nil
			}
		}
		if !retryable(err) || attempt >= s.opts.WriteAttempts || ctx.Err() != nil {
			return make([]apisessions.WriteStats, len(group)), fmt.Errorf("postgres: write: %w", err)
		}
		if errors.Is(err, errNoPartition) {
			// Someone dropped a partition this store believed in.
			s.forgetDays()
		}
		s.log.Debug("postgres write retried", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
		}
	}
}

// batch is one writer's validated batch, ready to copy.
type batch struct {
	tenant string
	recs   []*apisessions.Record // without in-batch duplicates
	rows   [][]any               // requests rows, in the order of requests_session
	days   []string
	dupes  int // records repeated within the batch
	// deltas are the batch's records added up by part. They are made by
	// the writer rather than by the committer, whose work is what ingest
	// waits for; a group whose records are all new merges them.
	deltas map[partKey]*part
}

// tkey names a part across tenants.
type tkey struct {
	Tenant string
	partKey
}

func compareTKeys(a, b tkey) int {
	if c := strings.Compare(a.Tenant, b.Tenant); c != 0 {
		return c
	}
	return comparePartKeys(a.partKey, b.partKey)
}

func (s *Store) checkID(what, id string) error {
	switch {
	case id == "":
		return apisessions.Errorf(apisessions.EINVALID, "%s is empty", what)
	case len(id) > s.opts.MaxIDLength:
		return apisessions.Errorf(apisessions.EINVALID, "%s longer than %d bytes", what, s.opts.MaxIDLength)
	case !pgSafe(id):
		return apisessions.Errorf(apisessions.EINVALID, "%s is not valid UTF-8 or holds NUL", what)
	}
	return nil
}

// prepare validates the records, drops in-batch repeats of an ID (the first
// wins, as it would across batches) and encodes them.
func (s *Store) prepare(tenant string, recs []apisessions.Record) (*batch, error) {
	b := &batch{tenant: tenant, recs: make([]*apisessions.Record, 0, len(recs)), rows: make([][]any, len(recs)), deltas: map[partKey]*part{}}
	docs := make([][]byte, 0, len(recs))
	seen := make(map[string]bool, len(recs))
	days := map[string]time.Time{} // parsed once per batch, not per record
	for i := range recs {
		r := &recs[i]
		// The labels are formatted on failure only: this runs per record.
		if s.checkID("", r.ID) != nil {
			return nil, s.checkID(fmt.Sprintf("record %d: ID", i), r.ID)
		}
		if s.checkID("", r.SessionID) != nil {
			return nil, s.checkID(fmt.Sprintf("record %d: session ID", i), r.SessionID)
		}
		day, ok := days[r.Day]
		if !ok {
			var err error
			if day, err = parseDay(r.Day); err != nil {
				return nil, apisessions.Errorf(apisessions.EINVALID, "record %d: day must be YYYY-MM-DD", i)
			}
		}
		if r.Time.IsZero() {
			return nil, apisessions.Errorf(apisessions.EINVALID, "record %d: time is missing", i)
		}
		if seen[r.ID] {
			b.dupes++
			continue
		}
		seen[r.ID] = true
		doc, err := marshalDoc(r)
		if err != nil {
			return nil, apisessions.Errorf(apisessions.EINVALID, "record %d: %v", i, err)
		}
		days[r.Day] = day
		if p := b.deltas[partKey{r.Day, r.SessionID}]; p != nil {
			p.add(r)
		} else {
			b.deltas[partKey{r.Day, r.SessionID}] = newPart(r)
		}
		b.recs = append(b.recs, r)
		docs = append(docs, doc)
	}
	for d := range days {
		b.days = append(b.days, d)
	}
	slices.Sort(b.days)
	// Rows in the order of the requests_session index (tenant, session,
	// time, ID): consecutive rows then mostly go to the same index page,
	// which costs PostgreSQL less than scattered inserts.
	order := make([]int32, len(b.recs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int {
		x, y := b.recs[i], b.recs[j]
		return cmp.Or(strings.Compare(x.SessionID, y.SessionID), x.Time.Compare(y.Time), strings.Compare(x.ID, y.ID))
	})
	b.rows = b.rows[:len(b.recs)]
	for n, i := range order {
		r := b.recs[i]
		b.rows[n] = []any{tenant, days[r.Day], r.SessionID, r.Time.UnixNano(), r.ID, docs[i]}
	}
	return b, nil
}

// write stores a group of batches in one transaction and returns each
// batch's stats.
func (s *Store) write(ctx context.Context, group []*writeReq) ([]apisessions.WriteStats, error) {
	// A record ID in two batches of the group is stored for the first.
	owner := map[rid]int{}
	var reqRows [][]any
	parts := map[tkey]bool{}
	repeats := false // a record in two batches of the group
	for i, req := range group {
		for _, row := range req.b.rows {
			k := rid{req.b.tenant, row[4].(string)}
			if _, ok := owner[k]; ok {
				repeats = true
				continue // counted as a duplicate of its batch below
			}
			owner[k] = i
			reqRows = append(reqRows, row)
		}
		for k := range req.b.deltas {
			parts[tkey{req.b.tenant, k}] = true
		}
	}
	// Insert IDs in one order in every writer (byte order, the "C"
	// collation's): two transactions inserting overlapping IDs then wait
	// for each other instead of deadlocking.
	slices.SortFunc(reqRows, func(x, y []any) int {
		return cmp.Or(strings.Compare(x[0].(string), y[0].(string)), strings.Compare(x[4].(string), y[4].(string)))
	})
	allKeys := make([]tkey, 0, len(parts))
	for k := range parts {
		allKeys = append(allKeys, k)
	}
	s.startWriting(allKeys)
	defer s.doneWriting(allKeys)

	stats := make([]apisessions.WriteStats, len(group))
	// The revision of every part this transaction writes; never 0, the
	// revision of parts written without one.
	rev := rand.Int64() | 1
	merging := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		fresh, err := insertIDs(ctx, tx, reqRows)
		if err != nil {
			return err
		}
		// The new requests, batch by batch in the order of the
		// requests_session index (see prepare).
		freshRows := make([][]any, 0, len(reqRows))
		for i, req := range group {
			if fresh == nil && !repeats {
				freshRows = append(freshRows, req.b.rows...)
				continue
			}
			for _, r := range req.b.rows {
				k := rid{req.b.tenant, r[4].(string)}
				if owner[k] == i && (fresh == nil || fresh[k]) {
					freshRows = append(freshRows, r)
				}
			}
		}
		// COPY routes each row to its day's partition.
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"requests"},
			[]string{"tenant", "day", "session_id", "at", "id", "doc"}, pgx.CopyFromRows(freshRows)); err != nil {
			return err
		}
		var deltas map[tkey]*part
		if fresh == nil && !repeats {
			deltas = mergeDeltas(group, stats)
		} else {
			deltas = addFresh(group, fresh, owner, stats)
		}
		if len(deltas) == 0 {
			return nil
		}
		// Lock the parts last, so that another transaction of this
		// store inserts its IDs and copies its requests meanwhile. This
		// store's committers merge parts one at a time, from their part
		// locks to the parts' upsert: they would wait for each other's
		// part locks anyway, and so each finds the parts the other wrote
		// in the cache. Unless another group of this store writes one of
		// the parts too, the tags and the commit follow outside, so that
		// the next committer merges its parts meanwhile (the part locks,
		// held to the commit, would keep it off the parts this one wrote,
		// but waiting for them in the database costs it more CPU than
		// waiting here).
		s.merging.Lock()
		merging = true
		keys := make([]tkey, 0, len(deltas))
		for k := range deltas {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareTKeys)
		stored, err := s.lockParts(ctx, tx, keys)
		if err != nil {
			return err
		}
		written, tags, err := mergeParts(ctx, tx, keys, deltas, stored, rev, s.lockParts)
		if err != nil {
			return err
		}
		// Cached before the commit, so that a transaction waiting for
		// these locks finds them when it gets them. Should the commit
		// fail, the stored revisions are not rev and the entries are
		// never used.
		s.parts.put(rev, written)
		if !s.shared(allKeys) {
			s.merging.Unlock()
			merging = false
		}
		return copyTags(ctx, tx, tags)
	})
	if merging {
		s.merging.Unlock()
	}
	if err != nil {
		s.parts.forget(allKeys)
		var pe *pgconn.PgError
		// 23514: "no partition of relation found for row".
		if errors.As(err, &pe) && pe.Code == "23514" && strings.Contains(pe.Message, "partition") {
			return nil, fmt.Errorf("%w: %v", errNoPartition, err)
		}
		return nil, err
	}
	return stats, nil
}

// startWriting counts keys among the parts that groups of this store are
// writing, until doneWriting.
func (s *Store) startWriting(keys []tkey) {
	s.writingMu.Lock()
	defer s.writingMu.Unlock()
	for _, k := range keys {
		s.writing[k]++
	}
}

func (s *Store) doneWriting(keys []tkey) {
	s.writingMu.Lock()
	defer s.writingMu.Unlock()
	for _, k := range keys {
		if s.writing[k] <= 1 {
			delete(s.writing, k)
		} else {
			s.writing[k]--
		}
	}
}

// shared reports whether another group of this store is writing one of
// the keys (of a group that called startWriting with them).
func (s *Store) shared(keys []tkey) bool {
	s.writingMu.Lock()
	defer s.writingMu.Unlock()
	for _, k := range keys {
		if s.writing[k] > 1 {
			return true
		}
	}
	return false
}

// mergeDeltas returns the group's parts to add, when every record of the
// group is new and in one batch only: the batches' deltas, merged. It sets
// each batch's stats. A delta stays shared with its batch (whose deltas
// are never changed: a retry writes them again) until a second batch
// merges into a clone of it.
func mergeDeltas(group []*writeReq, stats []apisessions.WriteStats) map[tkey]*part {
	deltas := map[tkey]*part{}
	shared := map[tkey]bool{}
	for i, req := range group {
		for k, d := range req.b.deltas {
			tk := tkey{req.b.tenant, k}
			p, ok := deltas[tk]
			switch {
			case !ok:
				deltas[tk], shared[tk] = d, true
				continue
			case shared[tk]:
				p = p.clone()
				deltas[tk], shared[tk] = p, false
			}
			p.merge(d)
		}
		stats[i] = apisessions.WriteStats{Stored: len(req.b.recs), Duplicates: req.b.dupes, Sessions: len(req.b.deltas)}
	}
	return deltas
}

// addFresh returns the group's parts to add, made of the records that are
// new (fresh; nil: all) in the batch that owns them, and sets each batch's
// stats.
func addFresh(group []*writeReq, fresh map[rid]bool, owner map[rid]int, stats []apisessions.WriteStats) map[tkey]*part {
	deltas := map[tkey]*part{}
	for i, req := range group {
		touched := map[tkey]bool{}
		for _, r := range req.b.recs {
			k := rid{req.b.tenant, r.ID}
			if owner[k] != i || fresh != nil && !fresh[k] {
				continue
			}
			pk := tkey{req.b.tenant, partKey{r.Day, r.SessionID}}
			touched[pk] = true
			stats[i].Stored++
			if p := deltas[pk]; p != nil {
				p.add(r)
			} else {
				deltas[pk] = newPart(r)
			}
		}
		stats[i].Duplicates = len(req.b.recs) + req.b.dupes - stats[i].Stored
		stats[i].Sessions = len(touched)
	}
	return deltas
}

// rid names a record across tenants.
type rid struct{ tenant, id string }

// insertIDs inserts the IDs of the requests rows into request_ids and
// returns which were new; nil means all of them. Rows are sorted by tenant
// and ID, the one order every writer inserts in, so that two transactions
// inserting overlapping IDs wait for each other instead of deadlocking.
//
// Almost every ID is new (a node resends a batch only when it missed the
// answer), so the IDs are first copied, the cheapest insert PostgreSQL
// has: about half the server time of an INSERT ... ON CONFLICT, which
// probes the index twice and logs each row twice. A savepoint keeps the
// transaction usable when the copy meets an ID stored before (unique
// violation); the IDs are then inserted with ON CONFLICT DO NOTHING, which
// returns the new ones. The savepoint is left open (the rest of the
// transaction runs in it and commits with it), saving a round trip.
func insertIDs(ctx context.Context, tx pgx.Tx, reqRows [][]any) (map[rid]bool, error) {
	if _, err := tx.Exec(ctx, "SAVEPOINT request_ids"); err != nil {
		return nil, err
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"request_ids"}, []string{"tenant", "id", "day", "session_id", "at"},
		pgx.CopyFromSlice(len(reqRows), func(i int) ([]any, error) {
			r := reqRows[i]
			return []any{r[0], r[4], r[1], r[2], r[3]}, nil
		}))
	var pe *pgconn.PgError
	if err == nil || !errors.As(err, &pe) || pe.Code != "23505" { // unique_violation
		return nil, err
	}
	if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT request_ids"); err != nil {
		return nil, err
	}
	tenants, ids, days, sessions := make([]string, len(reqRows)), make([]string, len(reqRows)), make([]string, len(reqRows)), make([]string, len(reqRows))
	ats := make([]int64, len(reqRows))
	for i, r := range reqRows {
		tenants[i], ids[i], sessions[i], ats[i] = r[0].(string), r[4].(string), r[2].(string), r[3].(int64)
		days[i] = r[1].(time.Time).Format(time.DateOnly)
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO request_ids (tenant, id, day, session_id, at)
		SELECT t, i, d::date, s, a FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[]) AS u(t, i, d, s, a)
		ON CONFLICT DO NOTHING
		RETURNING tenant, id`, tenants, ids, days, sessions, ats)
	if err != nil {
		return nil, err
	}
	fresh := map[rid]bool{}
	var k rid
	if _, err := pgx.ForEachRow(rows, []any{&k.tenant, &k.id}, func() error {
		fresh[k] = true
		return nil
	}); err != nil {
		return nil, err
	}
	return fresh, nil
}

func splitKeys(keys []tkey) (tenants, days, ids []string) {
	tenants = make([]string, len(keys))
	days = make([]string, len(keys))
	ids = make([]string, len(keys))
	for i, k := range keys {
		tenants[i], days[i], ids[i] = k.Tenant, k.Day, k.ID
	}
	return tenants, days, ids
}

// lockSQL locks the stored parts among the keys ($1 tenants, $2 days, $3
// IDs) in key order, so that concurrent writers lock in one order, and
// returns their revisions. The lateral subquery makes it one primary key
// probe per key, in one partition; a join lets the planner, which knows
// nothing of the arrays, scan and sort every part of the tenant.
const lockSQL = `
	SELECT t.tenant, t.day::text, t.id, t.rev
	FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS k(tenant, day, id, n)
	CROSS JOIN LATERAL (
		SELECT t.tenant, t.day, t.id, t.rev FROM sessions t
		WHERE t.tenant = k.tenant AND t.id = k.id AND t.day = k.day::date
		FOR UPDATE
	) t
	ORDER BY k.n`

// docsSQL reads the documents of parts ($1 tenants, $2 days, $3 IDs).
const docsSQL = `
	SELECT t.tenant, t.day::text, t.id, t.doc
	FROM unnest($1::text[], $2::text[], $3::text[]) AS k(tenant, day, id)
	CROSS JOIN LATERAL (
		SELECT t.tenant, t.day, t.id, t.doc FROM sessions t
		WHERE t.tenant = k.tenant AND t.id = k.id AND t.day = k.day::date
	) t`

// lockParts locks the stored parts among keys, which are sorted, and
// returns them: from the cache when the stored revision is the cached one,
// otherwise read. Cached parts are cloned: the merge changes them.
func (s *Store) lockParts(ctx context.Context, tx pgx.Tx, keys []tkey) (map[tkey]*part, error) {
	tenants, days, ids := splitKeys(keys)
	rows, err := tx.Query(ctx, lockSQL, tenants, days, ids)
	if err != nil {
		return nil, err
	}
	revs := map[tkey]int64{}
	var k tkey
	var rev int64
	if _, err := pgx.ForEachRow(rows, []any{&k.Tenant, &k.Day, &k.ID, &rev}, func() error {
		revs[k] = rev
		return nil
	}); err != nil {
		return nil, err
	}
	out := make(map[tkey]*part, len(revs))
	var read []tkey
	for _, k := range keys {
		rev, ok := revs[k]
		if !ok {
			continue
		}
		if p := s.parts.get(k, rev); p != nil {
			out[k] = p.clone()
		} else {
			read = append(read, k)
		}
	}
	if len(read) == 0 {
		return out, nil
	}
	tenants, days, ids = splitKeys(read)
	rows, err = tx.Query(ctx, docsSQL, tenants, days, ids)
	if err != nil {
		return nil, err
	}
	var doc []byte
	_, err = pgx.ForEachRow(rows, []any{&k.Tenant, &k.Day, &k.ID, &doc}, func() error {
		p := &part{}
		if err := json.Unmarshal(doc, p); err != nil {
			return fmt.Errorf("session part %s/%s: %w", k.Day, k.ID, err)
		}
		p.Day, p.ID = k.Day, k.ID
		out[k] = p
		return nil
	})
	return out, err
}

// storeSQL writes the staged parts in one statement: it updates those that
// were locked and inserts the new ones, skipping any another writer created
// meanwhile, which it reports by leaving them out of its result.
const storeSQL = `
	WITH upd AS (
		-- An upsert rather than UPDATE ... FROM: it finds each row by its
		-- primary key, where a join may scan whole partitions.
		INSERT INTO sessions (tenant, day, id, first_seen, last_seen, request_count, attack_count, blocked, endpoints, doc, rev)
		SELECT tenant, day, id, first_seen, last_seen, request_count, attack_count, blocked, endpoints, doc, rev
		FROM pg_temp.stage_sessions WHERE existed ORDER BY tenant, day, id
		ON CONFLICT (tenant, id, day) DO UPDATE SET
			first_seen = excluded.first_seen, last_seen = excluded.last_seen,
			request_count = excluded.request_count, attack_count = excluded.attack_count,
			blocked = excluded.blocked, endpoints = excluded.endpoints, doc = excluded.doc, rev = excluded.rev
	)
	INSERT INTO sessions (tenant, day, id, first_seen, last_seen, request_count, attack_count, blocked, endpoints, doc, rev)
	SELECT tenant, day, id, first_seen, last_seen, request_count, attack_count, blocked, endpoints, doc, rev
	FROM pg_temp.stage_sessions WHERE NOT existed ORDER BY tenant, day, id
	ON CONFLICT DO NOTHING
	RETURNING tenant, day::text, id`

// tagRow is a row of session_tags.
type tagRow struct {
	k   tkey
	tag string
}

// mergeParts adds the deltas into the parts of keys (sorted), written at
// revision rev, and returns the parts written and the tags new to them,
// which the caller copies with copyTags in the same transaction; stored
// holds the parts that existed, locked. lock locks parts another writer
// created meanwhile.
func mergeParts(ctx context.Context, tx pgx.Tx, keys []tkey, deltas map[tkey]*part, stored map[tkey]*part, rev int64,
	lock func(context.Context, pgx.Tx, []tkey) (map[tkey]*part, error)) (map[tkey]*part, []tagRow, error) {
	written := make(map[tkey]*part, len(deltas))
	var tagRows []tagRow
	for {
		rows := make([][]any, 0, len(keys))
		tags := make([][]string, len(keys)) // what each part adds to session_tags
		var missing []tkey
		for i, k := range keys {
			p, existed := stored[k]
			if existed {
				tags[i] = p.newTags(deltas[k])
				p.merge(deltas[k])
			} else {
				p = deltas[k]
				tags[i] = p.tags()
				missing = append(missing, k)
			}
			row, err := partRow(k.Tenant, p, existed, rev)
			if err != nil {
				return nil, nil, err
			}
			rows = append(rows, row)
			written[k] = p
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", "stage_sessions"}, stageSessionColumns, pgx.CopyFromRows(rows)); err != nil {
			return nil, nil, err
		}
		res, err := tx.Query(ctx, storeSQL)
		if err != nil {
			return nil, nil, err
		}
		inserted := make(map[tkey]bool, len(missing))
		var k tkey
		if _, err := pgx.ForEachRow(res, []any{&k.Tenant, &k.Day, &k.ID}, func() error {
			inserted[k] = true
			return nil
		}); err != nil {
			return nil, nil, err
		}
		// The tags of the parts written: all those locked, and the new
		// ones this statement inserted (a part another writer inserted
		// first is merged below, adding the tags it lacks).
		for i, k := range keys {
			if _, existed := stored[k]; !existed && !inserted[k] {
				continue
			}
			for _, t := range tags[i] {
				tagRows = append(tagRows, tagRow{k, t})
			}
		}
		// Parts another writer created after our lock: lock them now and
		// merge into them (in key order too).
		var raced []tkey
		for _, k := range missing {
			if !inserted[k] {
				raced = append(raced, k)
			}
		}
		if len(raced) == 0 {
			return written, tagRows, nil
		}
		if _, err := tx.Exec(ctx, "DELETE FROM pg_temp.stage_sessions"); err != nil {
			return nil, nil, err
		}
		if stored, err = lock(ctx, tx, raced); err != nil {
			return nil, nil, err
		}
		if len(stored) != len(raced) {
			return nil, nil, fmt.Errorf("%d session parts neither inserted nor found", len(raced)-len(stored))
		}
		keys = raced
	}
}

// copyTags copies the rows into session_tags. COPY rather than an INSERT of
// arrays: a third less server time per row.
func copyTags(ctx context.Context, tx pgx.Tx, tagRows []tagRow) error {
	if len(tagRows) == 0 {
		return nil
	}
	// In the index's order (tenant, tag, day, session): consecutive rows
	// then mostly go to the same index page, which PostgreSQL inserts into
	// for about a quarter less time than scattered rows.
	slices.SortFunc(tagRows, func(a, b tagRow) int {
		return cmp.Or(strings.Compare(a.k.Tenant, b.k.Tenant), strings.Compare(a.tag, b.tag), comparePartKeys(a.k.partKey, b.k.partKey))
	})
	days := map[string]time.Time{}
	for _, r := range tagRows {
		if _, ok := days[r.k.Day]; !ok {
			day, err := parseDay(r.k.Day)
			if err != nil {
				return err
			}
			days[r.k.Day] = day
		}
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"session_tags"}, []string{"tenant", "day", "session_id", "tag"},
		pgx.CopyFromSlice(len(tagRows), func(i int) ([]any, error) {
			r := tagRows[i]
			return []any{r.k.Tenant, days[r.k.Day], r.k.ID, r.tag}, nil
		}))
	return err
}

func comparePartKeys(a, b partKey) int {
	if c := strings.Compare(a.Day, b.Day); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

var stageSessionColumns = []string{"tenant", "day", "id", "first_seen", "last_seen", "request_count", "attack_count", "blocked", "endpoints", "doc", "rev", "existed"}

func partRow(tenant string, p *part, existed bool, rev int64) ([]any, error) {
	doc, err := marshalDoc(p)
	if err != nil {
		return nil, err
	}
	day, err := parseDay(p.Day)
	if err != nil {
		return nil, err
	}
	return []any{tenant, day, p.ID, p.First, p.Last, p.Requests, p.Attacks, p.Blocked, p.endpointsText(), doc, rev, existed}, nil
}

// marshalDoc encodes a record or part document. It writes the bytes
// json.Marshal writes (write_test.go checks), with github.com/goccy/go-json,
// in about 40% of the CPU time: every record is encoded once on its way in.
func marshalDoc(v any) ([]byte, error) {
	return gojson.Marshal(v)
}

// retryable reports whether a failed write may succeed when tried again.
func retryable(err error) bool {
	if errors.Is(err, errNoPartition) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40P01", // deadlock_detected
			"40001", // serialization_failure
			"42P07": // duplicate_table: a partition created concurrently by a process without our lock
			return true
		}
	}
	return false
}
