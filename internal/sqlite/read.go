package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apisessions/apisessions"
)

const partColumns = "p.pid, p.session, p.day, p.first_ns, p.last_ns, p.requests, p.attacks, p.blocked, p.agg"

// unixNano returns t in Unix nanoseconds, clamped to the representable
// range so that far-off filter bounds still compare right.
func unixNano(t time.Time) int64 {
	switch {
	case t.Year() < 1700:
		return math.MinInt64
	case t.Year() > 2200:
		return math.MaxInt64
	}
	return t.UnixNano()
}

// asciiLower lowers ASCII letters only, as SQLite's lower() does, so the
// needle and the haystack are folded alike.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// maxPartSpan bounds the time between the first and last request of a part:
// a day in any timezone lies within [D-14h, D+38h) UTC of its date D, and
// Write refuses records outside that (checkRecord).
const maxPartSpan = 52 * time.Hour

// driveLimit is the number of parts under which an exact filter value
// drives a listing: its parts are read and sorted, instead of walking all
// parts newest first until the page is full.
const driveLimit = 2000

// prefixEnd returns the least string greater than every string that
// starts with p, or false when there is none (p is all 0xff bytes).
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// filterValue is an exact filter: parts with value among their values of
// kind.
type filterValue struct {
	kind  int
	value string
}

func exactFilters(f apisessions.SessionFilter) []filterValue {
	var out []filterValue
	for _, e := range []filterValue{
		{kindUser, f.User}, {kindRole, f.Role}, {kindIP, f.IP}, {kindHost, f.Host}, {kindFlow, f.Flow},
		{kindAttackType, f.AttackType}, {kindMethod, f.Method},
	} {
		if e.value != "" {
			out = append(out, e)
		}
	}
	if f.Application != 0 {
		out = append(out, filterValue{kindApplication, strconv.Itoa(f.Application)})
	}
	if f.Status != 0 {
		out = append(out, filterValue{kindStatus, strconv.Itoa(f.Status)})
	}
	return out
}

// partHasValue says that part p carries value e (a value_ids row): by its
// part_vids row, or, for a common value (migrations/0006), in its cvids,
// where the parts stored after the value became common list it.
const partHasValue = `(EXISTS (SELECT 1 FROM part_vids v WHERE v.vid = e.vid AND v.pid = p.pid)
	OR (e.common AND instr(p.cvids, ',' || e.vid || ',') > 0))`

// listQuery builds the SELECT of Sessions. drive, when not nil, is the
// exact filter whose few parts the query starts from.
func listQuery(tenant int64, f apisessions.SessionFilter, cur *cursor, drive *filterValue) (string, []any) {
	var q strings.Builder
	var args []any
	switch {
	case f.SessionID != "" || f.RequestID != "" || f.SessionPrefix != "":
		// One session (or the few a prefix names): its parts by key, then
		// sorted.
		q.WriteString("SELECT " + partColumns + " FROM parts p INDEXED BY parts_key WHERE p.tenant = ?")
		args = append(args, tenant)
	case drive != nil:
		q.WriteString("SELECT " + partColumns + " FROM value_ids v CROSS JOIN part_vids d CROSS JOIN parts p WHERE v.kind = ? AND v.value = ? AND d.vid = v.vid AND p.pid = d.pid AND p.tenant = ?")
		args = append(args, drive.kind, drive.value, tenant)
	default:
		q.WriteString("SELECT " + partColumns + " FROM parts p WHERE p.tenant = ?")
		args = append(args, tenant)
	}
	if cur != nil {
		q.WriteString(" AND (p.last_ns, p.day, p.session) < (?, ?, ?)")
		args = append(args, cur.last, cur.day, cur.session)
	}
	if f.SessionID != "" {
		q.WriteString(" AND p.session = ?")
		args = append(args, f.SessionID)
	}
	if f.SessionPrefix != "" {
		q.WriteString(" AND p.session >= ?")
		args = append(args, f.SessionPrefix)
		if end, ok := prefixEnd(f.SessionPrefix); ok {
			q.WriteString(" AND p.session < ?")
			args = append(args, end)
		}
	}
	if f.RequestID != "" {
		q.WriteString(" AND p.session = (SELECT q.session FROM requests r JOIN parts q ON q.pid = r.pid WHERE r.tenant = ? AND r.id = ?)")
		args = append(args, tenant, f.RequestID)
	}
	if !f.From.IsZero() || !f.To.IsZero() {
		from, to := int64(math.MinInt64), int64(math.MaxInt64)
		if !f.From.IsZero() {
			from = unixNano(f.From)
		}
		if !f.To.IsZero() {
			to = unixNano(f.To)
		}
		// The part's span overlaps the range, and its first or last request
		// lies in it, or else some request between them does: only then are
		// its request lists read, and of those only the rows whose own span
		// overlaps the range; a list is decoded when the range falls
		// between its first and last request. The bound on last_ns keeps the
		// walk of the listing index to the parts that can overlap.
		q.WriteString(` AND p.last_ns >= ? AND p.first_ns <= ? AND (p.first_ns >= ? OR p.last_ns <= ?
			OR EXISTS (SELECT 1 FROM part_requests c WHERE c.pid = p.pid AND c.last_ns >= ? AND c.first_ns <= ?
				AND (c.first_ns >= ? OR c.last_ns <= ? OR ` + requestsBetweenFunc + `(c.list, ?, ?))))`)
		args = append(args, from, to, from, to, from, to, from, to, from, to)
		if to < math.MaxInt64-int64(maxPartSpan) {
			q.WriteString(" AND p.last_ns <= ?")
			args = append(args, to+int64(maxPartSpan))
		}
	}
	// The other filters are checked part by part, one primary-key lookup
	// each: their values are common (else one would drive), so the walk
	// fills a page soon, and building their full lists of parts would cost
	// more.
	for _, e := range exactFilters(f) {
		if drive != nil && e == *drive {
			continue
		}
		q.WriteString(" AND EXISTS (SELECT 1 FROM value_ids e WHERE e.kind = ? AND e.value = ? AND " + partHasValue + ")")
		args = append(args, e.kind, e.value)
	}
	if f.Endpoint != "" {
		q.WriteString(` AND EXISTS (SELECT 1 FROM value_ids e WHERE e.kind = ? AND e.value IN
			(SELECT endpoint FROM endpoints WHERE tenant = ? AND instr(lower(endpoint), ?) > 0) AND ` + partHasValue + ")")
		args = append(args, kindEndpoint, tenant, asciiLower(f.Endpoint))
	}
	if f.Attacks {
		q.WriteString(" AND p.attacks > 0")
	}
	if f.Blocked != nil {
		q.WriteString(" AND p.blocked = ?")
		args = append(args, *f.Blocked)
	}
	q.WriteString(" ORDER BY p.last_ns DESC, p.day DESC, p.session DESC")
	if f.Limit > 0 {
		// One more than asked tells whether a next page exists.
		q.WriteString(" LIMIT ?")
		args = append(args, f.Limit+1)
	}
	return q.String(), args
}

// driver returns the exact filter of f with the fewest parts when that is
// under driveLimit, else nil: counting a value's parts stops at the limit,
// so the probe is cheap whatever the data. A common value never drives:
// part_vids lacks its later parts (migrations/0006).
func (s *Store) driver(ctx context.Context, tx *sql.Tx, f apisessions.SessionFilter) (*filterValue, error) {
	if f.SessionID != "" || f.RequestID != "" || f.SessionPrefix != "" {
		return nil, nil
	}
	var best *filterValue
	bestN := driveLimit
	for _, e := range exactFilters(f) {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT CASE WHEN EXISTS (SELECT 1 FROM value_ids WHERE kind = ? AND value = ? AND common) THEN ?
			ELSE (SELECT count(*) FROM (SELECT 1 FROM part_vids WHERE vid = (SELECT vid FROM value_ids WHERE kind = ? AND value = ?) LIMIT ?)) END`,
			e.kind, e.value, driveLimit, e.kind, e.value, driveLimit).Scan(&n)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		if n < bestN {
			e := e
			best, bestN = &e, n
		}
	}
	return best, nil
}

// Sessions lists the parts that match f, newest first; see
// apisessions.Store.
func (s *Store) Sessions(ctx context.Context, tenant string, f apisessions.SessionFilter) (apisessions.SessionPage, error) {
	var page apisessions.SessionPage
	if f.Limit < 0 {
		return page, apisessions.Errorf(apisessions.EINVALID, "negative limit")
	}
	var cur *cursor
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return page, apisessions.Errorf(apisessions.EINVALID, "bad cursor")
		}
		cur = &c
	}
	if err := s.sync(ctx); err != nil {
		return page, fmt.Errorf("list sessions: %w", err)
	}
	tid, err := s.tenantID(ctx, tenant)
	if err != nil || tid == 0 {
		return page, err
	}
	// The choice of a driving value and the listing read one snapshot: a
	// value that a write marks common in between would lack its new parts
	// in part_vids.
	tx, err := s.reader.BeginTx(ctx, nil)
	if err != nil {
		return page, fmt.Errorf("list sessions: %w", err)
	}
	defer tx.Rollback()
	drive, err := s.driver(ctx, tx, f)
	if err != nil {
		return page, err
	}
	if afterDrive != nil {
		afterDrive()
	}
	query, args := listQuery(tid, f, cur, drive)
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return page, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanPart(rows, nil)
		if err != nil {
			return page, fmt.Errorf("list sessions: %w", err)
		}
		if f.Limit > 0 && len(page.Sessions) == f.Limit {
			last := page.Sessions[len(page.Sessions)-1]
			page.Next = cursor{last: last.LastSeen.UnixNano(), day: last.Day, session: last.ID}.encode()
			break
		}
		page.Sessions = append(page.Sessions, p.toSession())
	}
	if err := rows.Err(); err != nil {
		return apisessions.SessionPage{}, fmt.Errorf("list sessions: %w", err)
	}
	return page, nil
}

// Session returns the parts of session id (of day when not empty), oldest
// first; see apisessions.Store.
func (s *Store) Session(ctx context.Context, tenant, id, day string) ([]apisessions.Session, error) {
	if err := s.sync(ctx); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	tid, err := s.tenantID(ctx, tenant)
	if err != nil {
		return nil, err
	}
	q := "SELECT " + partColumns + " FROM parts p WHERE p.tenant = ? AND p.session = ?"
	args := []any{tid, id}
	if day != "" {
		q += " AND p.day = ?"
		args = append(args, day)
	}
	rows, err := s.reader.QueryContext(ctx, q+" ORDER BY p.day", args...)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	defer rows.Close()
	var out []apisessions.Session
	for rows.Next() {
		p, err := scanPart(rows, nil)
		if err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
		out = append(out, p.toSession())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	if len(out) == 0 {
		return nil, apisessions.Errorf(apisessions.ENOTFOUND, "no session %s", describe(id, day))
	}
	return out, nil
}

func describe(id, day string) string {
	if day != "" {
		return fmt.Sprintf("%q on %s", id, day)
	}
	return fmt.Sprintf("%q", id)
}

// SessionRequests returns the requests of session id (of day when not
// empty) in time order, then by ID; see apisessions.Store.
func (s *Store) SessionRequests(ctx context.Context, tenant, id, day string) ([]apisessions.Record, error) {
	// A new part has no row until it is flushed.
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	tid, err := s.tenantID(ctx, tenant)
	if err != nil {
		return nil, err
	}
	// The lists and the requests are read in one transaction, so that a
	// DeleteDay between them cannot split them.
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("session requests: %w", err)
	}
	defer tx.Rollback()
	q := "SELECT p.day, c.list FROM parts p JOIN part_requests c ON c.pid = p.pid WHERE p.tenant = ? AND p.session = ?"
	args := []any{tid, id}
	if day != "" {
		q += " AND p.day = ?"
		args = append(args, day)
	}
	var refs []reqRef
	days := map[int64]string{} // by rowid
	if err := eachRow(ctx, tx, q, args, func(rows *sql.Rows) error {
		var (
			d    string
			list []byte
		)
		if err := rows.Scan(&d, &list); err != nil {
			return err
		}
		n := len(refs)
		var err error
		if refs, err = decodeRequestList(list, refs); err != nil {
			return fmt.Errorf("request list: %w", err)
		}
		for _, r := range refs[n:] {
			days[r.rid] = d
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("session requests: %w", err)
	}
	if len(refs) == 0 {
		return nil, apisessions.Errorf(apisessions.ENOTFOUND, "no session %s", describe(id, day))
	}
	slices.SortFunc(refs, func(a, b reqRef) int { return cmp.Compare(a.rid, b.rid) })
	out := make([]apisessions.Record, 0, len(refs))
	dict := s.dict.lookup(ctx, tx)
	var ids []any
	err = chunks(len(refs), lookupChunk, func(lo, hi int) error {
		ids = ids[:0]
		for _, r := range refs[lo:hi] {
			ids = append(ids, r.rid)
		}
		n := len(out)
		err := eachRow(ctx, tx, "SELECT t, id, data, rid FROM requests WHERE rid IN ("+marks(hi-lo)+")", ids, func(rows *sql.Rows) error {
			var rid int64
			r := apisessions.Record{SessionID: id}
			err := scanRecord(rows, dict, &r, &rid)
			r.Day = days[rid]
			out = append(out, r)
			return err
		})
		if err == nil && len(out)-n != hi-lo {
			err = fmt.Errorf("%d of %d listed requests of session %q are missing", hi-lo-(len(out)-n), hi-lo, id)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("session requests: %w", err)
	}
	slices.SortFunc(out, func(a, b apisessions.Record) int {
		return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// eachRow runs query and calls fn on each of its rows.
func eachRow(ctx context.Context, q querier, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// scanRecord reads (t, id, data) into r, and the row's further columns
// into extra; dict looks up the strings of the record (decodeRecord).
func scanRecord(row scanner, dict func(uint64) (string, error), r *apisessions.Record, extra ...any) error {
	var (
		t    int64
		data []byte
	)
	if err := row.Scan(append([]any{&t, &r.ID, &data}, extra...)...); err != nil {
		return err
	}
	r.Time = time.Unix(0, t).UTC()
	if err := decodeRecord(data, r, dict); err != nil {
		return fmt.Errorf("request %q: %w", r.ID, err)
	}
	return nil
}

// Request returns one request by ID; see apisessions.Store.
func (s *Store) Request(ctx context.Context, tenant, id string) (apisessions.Record, error) {
	// A new part has no row until it is flushed.
	if err := s.sync(ctx); err != nil {
		return apisessions.Record{}, err
	}
	tid, err := s.tenantID(ctx, tenant)
	if err != nil {
		return apisessions.Record{}, err
	}
	// The record and the dictionary strings it refers to are read in one
	// transaction, so that a DeleteDay between them cannot split them.
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return apisessions.Record{}, fmt.Errorf("request: %w", err)
	}
	defer tx.Rollback()
	row := tx.QueryRowContext(ctx, `SELECT r.t, r.id, r.data, p.session, p.day
		FROM requests r JOIN parts p ON p.pid = r.pid WHERE r.tenant = ? AND r.id = ?`, tid, id)
	var r apisessions.Record
	err = scanRecord(row, s.dict.lookup(ctx, tx), &r, &r.SessionID, &r.Day)
	if errors.Is(err, sql.ErrNoRows) {
		return r, apisessions.Errorf(apisessions.ENOTFOUND, "no request %q", id)
	}
	if err != nil {
		return r, fmt.Errorf("request: %w", err)
	}
	return r, nil
}

// Days lists the days that hold data, oldest first; see apisessions.Store.
func (s *Store) Days(ctx context.Context) ([]string, error) {
	// A new part has no row until it is flushed.
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT DISTINCT day FROM parts ORDER BY day`)
	if err != nil {
		return nil, fmt.Errorf("days: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("days: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("days: %w", err)
	}
	return out, nil
}

// afterDrive, when a test sets it, runs between the choice of a driving
// value and the listing query of Sessions.
var afterDrive func()

// uncommon clears the mark of the common values that no part lists in its
// cvids any more, once their parts of the days that did are deleted: the
// parts that still carry such a value all have its part_vids row, so it
// may drive a listing again, and it loses its number with its last row.
func uncommon(ctx context.Context, tx *sql.Tx) error {
	common := map[int64]bool{}
	rows, err := tx.QueryContext(ctx, "SELECT vid FROM value_ids WHERE common")
	if err != nil {
		return err
	}
	for rows.Next() {
		var vid int64
		if err := rows.Scan(&vid); err != nil {
			rows.Close()
			return err
		}
		common[vid] = true
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if len(common) == 0 {
		return nil
	}
	rows, err = tx.QueryContext(ctx, "SELECT cvids FROM parts WHERE cvids <> ','")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() && len(common) > 0 {
		var list string
		if err := rows.Scan(&list); err != nil {
			return err
		}
		for _, n := range strings.Split(strings.Trim(list, ","), ",") {
			if vid, err := strconv.ParseInt(n, 10, 64); err == nil {
				delete(common, vid)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	for vid := range common {
		if _, err := tx.ExecContext(ctx, "UPDATE value_ids SET common = 0 WHERE vid = ?", vid); err != nil {
			return err
		}
	}
	return nil
}

// DeleteDay removes every part and request of day, for all tenants; see
// apisessions.Store.
func (s *Store) DeleteDay(ctx context.Context, day string) error {
	if s.opts.SessionReader {
		return errSessionReader
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// The day's parts are deleted by the values their stored aggregates
	// list, so those must be up to date; and cached parts of the day must
	// not outlive it.
	if err := s.flushLocked(ctx); err != nil {
		return fmt.Errorf("delete day: %w", err)
	}
	s.cache.parts = map[cacheKey]*part{}
	s.cache.bytes = 0
	// Values no part lists any more lose their numbers below.
	s.vids.forget()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete day: %w", err)
	}
	defer tx.Rollback()
	// part_vids is keyed by value, not by part: its rows are found from
	// the values each part's aggregate lists, not by a scan of the table.
	// Parts are read a chunk at a time so memory stays bounded whatever the
	// size of the day.
	del, err := tx.PrepareContext(ctx, "DELETE FROM part_vids WHERE vid = (SELECT vid FROM value_ids WHERE kind = ? AND value = ?) AND pid = ?")
	if err != nil {
		return fmt.Errorf("delete day: %w", err)
	}
	defer del.Close()
	var after int64
	deleted := 0
	for {
		parts, err := dayParts(ctx, tx, day, after)
		if err != nil {
			return fmt.Errorf("delete day: %w", err)
		}
		if len(parts) == 0 {
			break
		}
		for _, p := range parts {
			for _, pv := range p.values {
				if pv.kind >= kindUserAgent {
					continue
				}
				if _, err := del.ExecContext(ctx, pv.kind, pv.value, p.pid); err != nil {
					return fmt.Errorf("delete day: %w", err)
				}
			}
			if err := deleteRequests(ctx, tx, p.pid); err != nil {
				return fmt.Errorf("delete day: %w", err)
			}
		}
		deleted += len(parts)
		after = parts[len(parts)-1].pid
	}
	if deleted == 0 {
		return nil
	}
	for _, q := range []string{
		"DELETE FROM part_requests WHERE pid IN (SELECT pid FROM parts WHERE day = ?)",
		"DELETE FROM parts WHERE day = ?",
	} {
		if _, err := tx.ExecContext(ctx, q, day); err != nil {
			return fmt.Errorf("delete day: %w", err)
		}
	}
	if err := uncommon(ctx, tx); err != nil {
		return fmt.Errorf("delete day: %w", err)
	}
	gone, err := s.dict.expire(ctx, tx)
	if err != nil {
		return fmt.Errorf("delete day: strings: %w", err)
	}
	// Values no part lists any more lose their numbers, and endpoints
	// leave the filter's search list. Common values stay: parts list them
	// by number in cvids, so a number must not be given again meanwhile.
	if _, err := tx.ExecContext(ctx, `DELETE FROM value_ids WHERE NOT common AND NOT EXISTS
		(SELECT 1 FROM part_vids d WHERE d.vid = value_ids.vid)`); err != nil {
		return fmt.Errorf("delete day: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM endpoints WHERE NOT EXISTS
		(SELECT 1 FROM value_ids v WHERE v.kind = ? AND v.value = endpoints.endpoint)`, kindEndpoint); err != nil {
		return fmt.Errorf("delete day: %w", err)
	}
	// New requests take rowids from max(rid) + 1, so rowids of deleted
	// requests come again: replay must not take them for requests its parts
	// hold. Every part is stored (flushed above), so the parts are complete
	// up to the last remaining request, and no part's upto matters any more.
	for _, q := range []string{
		"UPDATE parts_flushed SET rid = (SELECT coalesce(max(rid), 0) FROM requests)",
		"UPDATE parts SET upto = 0 WHERE upto > (SELECT coalesce(max(rid), 0) FROM requests)",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("delete day: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete day: %w", err)
	}
	s.dict.drop(gone)
	s.log.Info("deleted day", "day", day, "parts", deleted)
	return nil
}

// deleteRequests deletes the requests that the part pid lists.
func deleteRequests(ctx context.Context, tx *sql.Tx, pid int64) error {
	refs, err := partRequests(ctx, tx, pid)
	if err != nil {
		return err
	}
	args := make([]any, 0, min(len(refs), lookupChunk))
	return chunks(len(refs), lookupChunk, func(lo, hi int) error {
		args = args[:0]
		for _, r := range refs[lo:hi] {
			args = append(args, r.rid)
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM requests WHERE rid IN ("+marks(hi-lo)+")", args...)
		return err
	})
}

// deleteChunk is the number of parts DeleteDay holds in memory at once.
const deleteChunk = 1000

// dayParts reads the next parts of day after pid after, in pid order.
func dayParts(ctx context.Context, tx *sql.Tx, day string, after int64) ([]*part, error) {
	rows, err := tx.QueryContext(ctx, "SELECT "+partColumns+" FROM parts p WHERE p.day = ? AND p.pid > ? ORDER BY p.pid LIMIT ?",
		day, after, deleteChunk)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var parts []*part
	for rows.Next() {
		p, err := scanPart(rows, nil)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, rows.Err()
}
