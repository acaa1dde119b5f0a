package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
)

// Request lists (migrations/0007). A part keeps the rowids and times of its
// requests in part_requests, in place of an index of requests by part:
// inserting each request into such an index, at a random place, cost about
// an eighth of an import. The write path collects the requests a part gains
// and stores them with the part, a row per store of the part, at most
// maxListRefs requests a row; the rows of a flush go in in pid order.
// Session show, the time filter and retention read the lists.

// reqRef is a request of a part: its rowid and time (Unix nanoseconds).
type reqRef struct{ rid, t int64 }

// requestListV1 is the format version of a list blob: after the version
// byte, the number of requests, then for each its rowid and time as
// zig-zag varint differences from the previous request's (from 0 for the
// first).
const requestListV1 = 1

// maxListRefs bounds the requests of a part_requests row, so that a part
// that gains thousands of requests between stores spreads them over rows
// of a few kilobytes.
const maxListRefs = 1024

// appendRequestList encodes refs.
func appendRequestList(b []byte, refs []reqRef) []byte {
	e := encoder{b: append(b, requestListV1)}
	e.uvarint(uint64(len(refs)))
	var prev reqRef
	for _, r := range refs {
		e.varint(r.rid - prev.rid)
		e.varint(r.t - prev.t)
		prev = r
	}
	return e.b
}

// decodeRequestList appends the requests of list to out.
func decodeRequestList(list []byte, out []reqRef) ([]reqRef, error) {
	err := eachRequest(list, func(r reqRef) bool {
		out = append(out, r)
		return true
	})
	return out, err
}

// eachRequest calls fn for each request of list, until it returns false.
func eachRequest(list []byte, fn func(reqRef) bool) error {
	if len(list) < 1 || list[0] != requestListV1 {
		return errCorrupt
	}
	d := decoder{b: list[1:]}
	n := d.count()
	var r reqRef
	for range n {
		r.rid += d.varint()
		r.t += d.varint()
		if d.err != nil {
			return d.err
		}
		if r.rid <= 0 {
			return errCorrupt
		}
		if !fn(r) {
			return nil
		}
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return errCorrupt
	}
	return nil
}

// requestsBetweenFunc is the SQL name of requestsBetween, which both
// drivers register on every connection.
const requestsBetweenFunc = "apisessions_requests_between"

// requestsBetween says whether a request of list has its time in
// [from, to]: the time filter's test of a part_requests row whose first and
// last times lie on either side of the range.
func requestsBetween(list []byte, from, to int64) (bool, error) {
	found := false
	err := eachRequest(list, func(r reqRef) bool {
		found = from <= r.t && r.t <= to
		return !found
	})
	if err != nil {
		return false, fmt.Errorf("part_requests list: %w", err)
	}
	return found, nil
}

// requestRow is a part_requests row to insert.
type requestRow struct {
	pid, rid    int64
	first, last int64
	list        []byte
}

// listRows splits the requests refs of part pid into part_requests rows,
// appending their lists to buf (which the rows share).
func listRows(rows []requestRow, buf []byte, pid int64, refs []reqRef) ([]requestRow, []byte) {
	for len(refs) > 0 {
		n := min(len(refs), maxListRefs)
		row := requestRow{pid: pid, rid: refs[0].rid, first: math.MaxInt64, last: math.MinInt64}
		for _, r := range refs[:n] {
			row.first, row.last = min(row.first, r.t), max(row.last, r.t)
		}
		start := len(buf)
		buf = appendRequestList(buf, refs[:n])
		row.list = buf[start:len(buf):len(buf)]
		rows = append(rows, row)
		refs = refs[n:]
	}
	return rows, buf
}

// listChunk is the part_requests rows of one insert statement (5
// parameters a row).
const listChunk = 200

func insertListsSQL(n int) string {
	return "INSERT OR IGNORE INTO part_requests (pid, rid, first_ns, last_ns, list) VALUES " + placeholders(n, 5)
}

// saveLists inserts the part_requests rows of parts, the requests each
// gained since it was last stored. parts are in pid order.
func (w *batchWrite) saveLists(ctx context.Context, parts []*part) error {
	var (
		rows []requestRow
		buf  []byte
	)
	for _, p := range parts {
		rows, buf = listRows(rows, buf, p.pid, p.refs)
	}
	err := insertRows(ctx, w, rows, listChunk, insertListsSQL, func(args []any, r requestRow) []any {
		return append(args, r.pid, r.rid, r.first, r.last, r.list)
	})
	if err != nil {
		return fmt.Errorf("save request lists: %w", err)
	}
	return nil
}

// partRequests returns the requests of the part pid from its lists, in
// rowid order.
func partRequests(ctx context.Context, q querier, pid int64) ([]reqRef, error) {
	var refs []reqRef
	err := eachRow(ctx, q, "SELECT list FROM part_requests WHERE pid = ?", []any{pid}, func(rows *sql.Rows) error {
		var list []byte
		if err := rows.Scan(&list); err != nil {
			return err
		}
		var err error
		if refs, err = decodeRequestList(list, refs); err != nil {
			return fmt.Errorf("part %d: request list: %w", pid, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(refs, func(a, b reqRef) int { return cmp.Compare(a.rid, b.rid) })
	return refs, nil
}

// querier is what reads go through (eachRow): a transaction or a
// connection pool.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// fillRequestLists gives the stored parts of a store written before
// migrations/0007 their lists: the requests they hold, as the requests_part
// index orders them (migrations/0008 drops the index). The requests that
// their parts do not hold yet, after parts_flushed and past the part's
// upto, or whose part waits in parts_pending, are left to replay, which
// lists them as it adds them.
func fillRequestLists(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT r.pid, r.rid, r.t FROM requests r INDEXED BY requests_part
		JOIN parts p ON p.pid = r.pid WHERE r.rid <= max((SELECT rid FROM parts_flushed), p.upto)
		ORDER BY r.pid, r.t`)
	if err != nil {
		return err
	}
	defer rows.Close()
	insert, err := tx.PrepareContext(ctx, insertListsSQL(1))
	if err != nil {
		return err
	}
	defer insert.Close()
	var (
		pid  int64
		refs []reqRef
		buf  []byte
		out  []requestRow
	)
	save := func() error {
		out, buf = listRows(out[:0], buf[:0], pid, refs)
		for _, r := range out {
			if _, err := insert.ExecContext(ctx, r.pid, r.rid, r.first, r.last, r.list); err != nil {
				return err
			}
		}
		refs = refs[:0]
		return nil
	}
	for rows.Next() {
		var (
			p int64
			r reqRef
		)
		if err := rows.Scan(&p, &r.rid, &r.t); err != nil {
			return err
		}
		if (p != pid && len(refs) > 0) || len(refs) == maxListRefs {
			if err := save(); err != nil {
				return err
			}
		}
		pid = p
		refs = append(refs, r)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(refs) > 0 {
		return save()
	}
	return nil
}
