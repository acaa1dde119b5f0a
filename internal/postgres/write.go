package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/apisessions/apisessions"
)

// Write stores records of one tenant in one transaction; see
// apisessions.Store.
//
// The batch is copied into a staging table; one statement inserts the IDs
// into request_ids with ON CONFLICT DO NOTHING and moves the rows it
// inserted into requests, returning which records are new. Only those
// change session parts: their parts are locked (in a fixed order, so that
// concurrent writers do not deadlock), merged in Go and written back.
func (s *Store) Write(ctx context.Context, tenant string, recs []apisessions.Record) (apisessions.WriteStats, error) {
	if err := s.checkID("tenant", tenant); err != nil {
		return apisessions.WriteStats{}, err
	}
	if len(recs) == 0 {
		return apisessions.WriteStats{}, nil
	}
	b, err := s.prepare(recs)
	if err != nil {
		return apisessions.WriteStats{}, err
	}
	var st apisessions.WriteStats
	for attempt := 1; ; attempt++ {
		if err = s.ensurePartitions(ctx, b.days); err == nil {
			st, err = s.write(ctx, tenant, b)
			if err == nil {
				return st, nil
			}
		}
		if !retryable(err) || attempt >= s.opts.WriteAttempts || ctx.Err() != nil {
			return apisessions.WriteStats{}, fmt.Errorf("postgres: write: %w", err)
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

// batch is a validated batch, ready to copy.
type batch struct {
	recs  []*apisessions.Record // without in-batch duplicates
	rows  [][]any               // stage_requests rows (tenant filled in later)
	days  []string
	parts []partKey // the parts of the records, sorted
	dupes int       // records repeated within the batch
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
func (s *Store) prepare(recs []apisessions.Record) (*batch, error) {
	b := &batch{recs: make([]*apisessions.Record, 0, len(recs)), rows: make([][]any, 0, len(recs))}
	seen := make(map[string]bool, len(recs))
	days := map[string]bool{}
	parts := map[partKey]bool{}
	for i := range recs {
		r := &recs[i]
		if err := s.checkID(fmt.Sprintf("record %d: ID", i), r.ID); err != nil {
			return nil, err
		}
		if err := s.checkID(fmt.Sprintf("record %d: session ID", i), r.SessionID); err != nil {
			return nil, err
		}
		if _, err := parseDay(r.Day); err != nil {
			return nil, apisessions.Errorf(apisessions.EINVALID, "record %d: day must be YYYY-MM-DD", i)
		}
		if r.Time.IsZero() {
			return nil, apisessions.Errorf(apisessions.EINVALID, "record %d: time is missing", i)
		}
		if seen[r.ID] {
			b.dupes++
			continue
		}
		seen[r.ID] = true
		doc, err := json.Marshal(r)
		if err != nil {
			return nil, apisessions.Errorf(apisessions.EINVALID, "record %d: %v", i, err)
		}
		day, _ := parseDay(r.Day)
		days[r.Day] = true
		parts[partKey{r.Day, r.SessionID}] = true
		b.recs = append(b.recs, r)
		b.rows = append(b.rows, []any{nil, day, r.SessionID, r.Time.UnixNano(), r.ID, doc})
	}
	for d := range days {
		b.days = append(b.days, d)
	}
	slices.Sort(b.days)
	for k := range parts {
		b.parts = append(b.parts, k)
	}
	slices.SortFunc(b.parts, comparePartKeys)
	// Insert IDs in one order in every writer: two transactions inserting
	// overlapping IDs then wait for each other instead of deadlocking.
	slices.SortFunc(b.rows, func(x, y []any) int { return strings.Compare(x[4].(string), y[4].(string)) })
	return b, nil
}

func (s *Store) write(ctx context.Context, tenant string, b *batch) (apisessions.WriteStats, error) {
	var st apisessions.WriteStats
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, r := range b.rows {
			r[0] = tenant
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", "stage_requests"},
			[]string{"tenant", "day", "session_id", "at", "id", "doc"}, pgx.CopyFromRows(b.rows)); err != nil {
			return err
		}
		// One round trip: insert the IDs and move the new rows into
		// requests, then lock the batch's parts (all of them: which are
		// new is known only now, and a part of duplicates is rare).
		days, ids := splitKeys(b.parts)
		q := &pgx.Batch{}
		// Batches are sorted and hashed in memory; the default 4 MB
		// spills a batch of documents to disk.
		q.Queue("SET LOCAL work_mem = '64MB'")
		q.Queue(`
			WITH fresh AS (
				INSERT INTO request_ids (tenant, id, day, session_id, at)
				SELECT tenant, id, day, session_id, at FROM pg_temp.stage_requests ORDER BY id
				ON CONFLICT DO NOTHING
				RETURNING id
			)
			INSERT INTO requests (tenant, day, session_id, at, id, doc)
			SELECT s.tenant, s.day, s.session_id, s.at, s.id, s.doc
			FROM pg_temp.stage_requests s WHERE s.id IN (SELECT id FROM fresh)
			RETURNING id`)
		q.Queue(lockSQL, tenant, days, ids)
		res := tx.SendBatch(ctx, q)
		defer res.Close()
		if _, err := res.Exec(); err != nil {
			return err
		}
		rows, err := res.Query()
		if err != nil {
			return err
		}
		freshIDs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		rows, err = res.Query()
		if err != nil {
			return err
		}
		stored, err := collectLocked(rows)
		if err != nil {
			return err
		}
		if err := res.Close(); err != nil {
			return err
		}
		fresh := make(map[string]bool, len(freshIDs))
		for _, id := range freshIDs {
			fresh[id] = true
		}
		deltas := map[partKey]*part{}
		for _, r := range b.recs {
			if !fresh[r.ID] {
				continue
			}
			k := partKey{r.Day, r.SessionID}
			if p := deltas[k]; p != nil {
				p.merge(newPart(r))
			} else {
				deltas[k] = newPart(r)
			}
		}
		st = apisessions.WriteStats{Stored: len(freshIDs), Duplicates: len(b.recs) - len(freshIDs) + b.dupes, Sessions: len(deltas)}
		if len(deltas) == 0 {
			return nil
		}
		return mergeParts(ctx, tx, tenant, deltas, stored)
	})
	if err != nil {
		var pe *pgconn.PgError
		// 23514: "no partition of relation found for row".
		if errors.As(err, &pe) && pe.Code == "23514" && strings.Contains(pe.Message, "partition") {
			return st, fmt.Errorf("%w: %v", errNoPartition, err)
		}
		return st, err
	}
	return st, nil
}

func splitKeys(keys []partKey) (days, ids []string) {
	days = make([]string, len(keys))
	ids = make([]string, len(keys))
	for i, k := range keys {
		days[i], ids[i] = k.Day, k.ID
	}
	return days, ids
}

// lockSQL locks and reads the stored parts among the keys ($2 days, $3 IDs)
// in key order, so that concurrent writers lock in one order. The lateral
// subquery makes it one primary key probe per key, in one partition; a
// join lets the planner, which knows nothing of the arrays, scan and sort
// every part of the tenant.
const lockSQL = `
	SELECT t.day::text, t.id, t.doc
	FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS k(day, id, n)
	CROSS JOIN LATERAL (
		SELECT t.day, t.id, t.doc FROM sessions t
		WHERE t.tenant = $1 AND t.id = k.id AND t.day = k.day::date
		FOR UPDATE
	) t
	ORDER BY k.n`

func collectLocked(rows pgx.Rows) (map[partKey]*part, error) {
	parts, err := collectParts(rows)
	if err != nil {
		return nil, err
	}
	out := make(map[partKey]*part, len(parts))
	for _, p := range parts {
		out[partKey{p.Day, p.ID}] = p
	}
	return out, nil
}

// storeSQL writes the staged parts in one statement: it updates those that
// were locked, inserts the new ones (skipping any another writer created
// meanwhile, which it reports by leaving them out of its result) and adds
// the tags new to each part written ($2..$5: day, session, tag, existed).
const storeSQL = `
	WITH upd AS (
		-- An upsert rather than UPDATE ... FROM: it finds each row by its
		-- primary key, where a join may scan whole partitions.
		INSERT INTO sessions (tenant, day, id, first_seen, last_seen, request_count, attack_count, blocked, endpoints, doc)
		SELECT $1, day, id, first_seen, last_seen, request_count, attack_count, blocked, endpoints, doc
		FROM pg_temp.stage_sessions WHERE existed ORDER BY day, id
		ON CONFLICT (tenant, id, day) DO UPDATE SET
			first_seen = excluded.first_seen, last_seen = excluded.last_seen,
			request_count = excluded.request_count, attack_count = excluded.attack_count,
			blocked = excluded.blocked, endpoints = excluded.endpoints, doc = excluded.doc
	), ins AS (
		INSERT INTO sessions (tenant, day, id, first_seen, last_seen, request_count, attack_count, blocked, endpoints, doc)
		SELECT $1, day, id, first_seen, last_seen, request_count, attack_count, blocked, endpoints, doc
		FROM pg_temp.stage_sessions WHERE NOT existed ORDER BY day, id
		ON CONFLICT DO NOTHING
		RETURNING day, id
	), tags AS (
		INSERT INTO session_tags (tenant, day, session_id, tag)
		SELECT $1, g.day::date, g.id, g.tag
		FROM unnest($2::text[], $3::text[], $4::text[], $5::bool[]) AS g(day, id, tag, existed)
		-- An uncorrelated IN, so that it runs as one hashed subplan.
		WHERE g.existed OR (g.day::date, g.id) IN (SELECT day, id FROM ins)
	)
	SELECT day::text, id FROM ins`

// mergeParts adds the deltas into the tenant's parts; stored holds the
// parts that existed, locked.
func mergeParts(ctx context.Context, tx pgx.Tx, tenant string, deltas map[partKey]*part, stored map[partKey]*part) error {
	keys := make([]partKey, 0, len(deltas))
	for k := range deltas {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, comparePartKeys)
	for {
		rows := make([][]any, 0, len(keys))
		var tagDays, tagIDs, tagVals []string
		var tagExisted []bool
		var missing []partKey
		for _, k := range keys {
			p, existed := stored[k]
			var old map[string]bool
			if existed {
				old = p.tagSet()
				p.merge(deltas[k])
			} else {
				p = deltas[k]
				missing = append(missing, k)
			}
			for _, t := range p.tags() {
				if !old[t] {
					tagDays, tagIDs, tagVals = append(tagDays, k.Day), append(tagIDs, k.ID), append(tagVals, t)
					tagExisted = append(tagExisted, existed)
				}
			}
			row, err := partRow(p, existed)
			if err != nil {
				return err
			}
			rows = append(rows, row)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", "stage_sessions"}, stageSessionColumns, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		res, err := tx.Query(ctx, storeSQL, tenant, tagDays, tagIDs, tagVals, tagExisted)
		if err != nil {
			return err
		}
		inserted := make(map[partKey]bool, len(missing))
		var k partKey
		if _, err := pgx.ForEachRow(res, []any{&k.Day, &k.ID}, func() error {
			inserted[k] = true
			return nil
		}); err != nil {
			return err
		}
		// Parts another writer created after our lock: lock them now and
		// merge into them (rare, so not worth a fixed lock order).
		var raced []partKey
		for _, k := range missing {
			if !inserted[k] {
				raced = append(raced, k)
			}
		}
		if len(raced) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, "DELETE FROM pg_temp.stage_sessions"); err != nil {
			return err
		}
		days, ids := splitKeys(raced)
		lr, err := tx.Query(ctx, lockSQL, tenant, days, ids)
		if err != nil {
			return err
		}
		if stored, err = collectLocked(lr); err != nil {
			return err
		}
		if len(stored) != len(raced) {
			return fmt.Errorf("%d session parts neither inserted nor found", len(raced)-len(stored))
		}
		keys = raced
	}
}

func comparePartKeys(a, b partKey) int {
	if c := strings.Compare(a.Day, b.Day); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

var stageSessionColumns = []string{"day", "id", "first_seen", "last_seen", "request_count", "attack_count", "blocked", "endpoints", "doc", "existed"}

func partRow(p *part, existed bool) ([]any, error) {
	doc, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	day, err := parseDay(p.Day)
	if err != nil {
		return nil, err
	}
	return []any{day, p.ID, p.First, p.Last, p.Requests, p.Attacks, p.Blocked, p.endpointsText(), doc, existed}, nil
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
