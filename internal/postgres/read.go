package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/apisessions/apisessions"
)

// maxFilterValue bounds a filter value; longer values cannot match a tag or
// an endpoint anyone stored on purpose.
const maxFilterValue = 4096

// Sessions lists the tenant's day parts that match f, newest first.
func (s *Store) Sessions(ctx context.Context, tenant string, f apisessions.SessionFilter) (apisessions.SessionPage, error) {
	q, args, err := sessionsQuery(tenant, f)
	if err != nil {
		return apisessions.SessionPage{}, err
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return apisessions.SessionPage{}, fmt.Errorf("postgres: sessions: %w", err)
	}
	parts, err := collectParts(rows)
	if err != nil {
		return apisessions.SessionPage{}, fmt.Errorf("postgres: sessions: %w", err)
	}
	page := apisessions.SessionPage{Sessions: make([]apisessions.Session, 0, len(parts))}
	if f.Limit > 0 && len(parts) > f.Limit {
		parts = parts[:f.Limit]
		last := parts[len(parts)-1]
		page.Next = cursor{Last: last.Last, Day: last.Day, ID: last.ID}.encode()
	}
	for _, p := range parts {
		page.Sessions = append(page.Sessions, p.session())
	}
	return page, nil
}

// sessionsQuery builds the listing query. Every filter is served by a
// column of sessions or by session_tags through its index; only a time
// range that cuts into a part looks at that part's requests.
func sessionsQuery(tenant string, f apisessions.SessionFilter) (string, []any, error) {
	if f.Limit < 0 {
		return "", nil, apisessions.Errorf(apisessions.EINVALID, "limit must not be negative")
	}
	for name, v := range map[string]string{
		"session": f.SessionID, "request": f.RequestID, "user": f.User, "role": f.Role, "ip": f.IP,
		"host": f.Host, "flow": f.Flow, "endpoint": f.Endpoint, "attack type": f.AttackType, "method": f.Method,
	} {
		if len(v) > maxFilterValue {
			return "", nil, apisessions.Errorf(apisessions.EINVALID, "%s filter longer than %d bytes", name, maxFilterValue)
		}
	}
	args := []any{tenant}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where := []string{"s.tenant = $1"}
	switch {
	case !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To):
		// An inverted range matches nothing (and is no valid range).
		where = append(where, "false")
	case !f.From.IsZero() || !f.To.IsZero():
		// NULL leaves a side of the range open.
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		if !f.From.IsZero() {
			lo = clampNanos(f.From) // admin.go
		}
		if !f.To.IsZero() {
			hi = clampNanos(f.To)
		}
		a, b := arg(lo), arg(hi)
		// The part must have a request in [from, to]: overlap is
		// necessary, and sufficient when the part lies inside the range;
		// otherwise its requests are looked up by index. The newest-first
		// walk tests overlap on sessions_recent's entries and looks up
		// requests for the page's candidates only.
		where = append(where, fmt.Sprintf(`s.last_seen >= %[1]s AND s.first_seen <= %[2]s AND (
			(s.first_seen >= %[1]s AND s.last_seen <= %[2]s) OR EXISTS (
				SELECT 1 FROM requests r WHERE r.tenant = s.tenant AND r.day = s.day
				AND r.session_id = s.id AND r.at BETWEEN %[1]s AND %[2]s))`, a, b))
		if !f.To.IsZero() {
			// A part that began by the range's end ended at most the
			// longest part's length later (sessions_length gives it, as
			// halves: the length is at most twice that plus 2), so the
			// walk starts there rather than at the newest part. numeric
			// saturates where bigint would overflow; the bound itself is
			// bigint, so that it bounds the index scan.
			where = append(where, fmt.Sprintf(`s.last_seen <= (
				SELECT LEAST(%s::numeric + 2 * coalesce(max(m.last_seen / 2 - m.first_seen / 2), 0)::numeric + 2,
					9223372036854775807)::int8
				FROM sessions m WHERE m.tenant = $1)`, b))
		}
	}
	if f.SessionID != "" {
		where = append(where, "s.id = "+arg(f.SessionID))
	}
	if p := f.SessionPrefix; p != "" {
		where = append(where, "starts_with(s.id, "+arg(p)+")")
		// A range on the key as well, so that the primary key finds the
		// parts (ids compare bytewise: COLLATE "C"). Only for ASCII, so
		// that the bound stays valid UTF-8.
		if last := p[len(p)-1]; last < 0x7f && isASCII(p) {
			where = append(where, "s.id >= "+arg(p)+" AND s.id < "+arg(p[:len(p)-1]+string(last+1)))
		}
	}
	if f.RequestID != "" {
		where = append(where, "s.id IN (SELECT session_id FROM request_ids WHERE tenant = $1 AND id = "+arg(f.RequestID)+")")
	}
	var tags []string
	for _, t := range []struct{ kind, v string }{
		{tagUser, f.User}, {tagRole, f.Role}, {tagIP, f.IP}, {tagHost, f.Host}, {tagFlow, f.Flow},
		{tagAttackType, f.AttackType}, {tagMethod, f.Method},
	} {
		if t.v != "" {
			tags = append(tags, tag(t.kind, t.v))
		}
	}
	if f.Status != 0 {
		tags = append(tags, tag(tagStatus, strconv.Itoa(f.Status)))
	}
	if f.Application != 0 {
		tags = append(tags, tag(tagApplication, strconv.Itoa(f.Application)))
	}
	for _, t := range tags {
		where = append(where, "EXISTS (SELECT 1 FROM session_tags g WHERE g.tenant = $1 AND g.tag = "+arg(t)+
			" AND g.day = s.day AND g.session_id = s.id)")
	}
	if f.Endpoint != "" {
		where = append(where, "EXISTS (SELECT 1 FROM unnest(s.endpoints) e WHERE strpos(e, "+arg(strings.ToLower(pgText(f.Endpoint)))+") > 0)")
	}
	if f.Attacks {
		where = append(where, "s.attack_count > 0")
	}
	if f.Blocked != nil {
		where = append(where, "s.blocked = "+arg(*f.Blocked))
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return "", nil, err
		}
		where = append(where, fmt.Sprintf("(s.last_seen, s.day, s.id) < (%s, %s::date, %s)", arg(c.Last), arg(c.Day), arg(c.ID)))
	}
	const order = " ORDER BY s.last_seen DESC, s.day DESC, s.id DESC"
	if f.Limit <= 0 {
		return "SELECT s.day::text, s.id, s.doc FROM sessions s WHERE " + strings.Join(where, " AND ") + order, args, nil
	}
	// A page finds its keys first, then reads their documents: the walk
	// down sessions_recent then tests the time range on index entries
	// (first_seen is included), passing parts that do not match without
	// reading them, and reads the table only for the page. One more than
	// the page tells whether there is a next page.
	q := "SELECT d.day::text, d.id, d.doc FROM (SELECT s.tenant, s.day, s.id, s.last_seen FROM sessions s WHERE " +
		strings.Join(where, " AND ") + order + " LIMIT " + arg(int64(f.Limit)+1) + `) s
		JOIN sessions d ON d.tenant = s.tenant AND d.id = s.id AND d.day = s.day` + order
	return q, args, nil
}

// collectParts reads (day, id, doc) rows.
func collectParts(rows pgx.Rows) ([]*part, error) {
	var out []*part
	var day, id string
	var doc []byte
	_, err := pgx.ForEachRow(rows, []any{&day, &id, &doc}, func() error {
		p := &part{}
		if err := json.Unmarshal(doc, p); err != nil {
			return fmt.Errorf("session part %s/%s: %w", day, id, err)
		}
		p.Day, p.ID = day, id
		out = append(out, p)
		return nil
	})
	return out, err
}

// dayArg validates an optional day; it returns nil for "".
func dayArg(day string) (any, error) {
	if day == "" {
		return nil, nil
	}
	if _, err := parseDay(day); err != nil {
		return nil, err
	}
	return day, nil
}

// Session returns the day parts of session id (only that of day when day is
// not empty), oldest first.
func (s *Store) Session(ctx context.Context, tenant, id, day string) ([]apisessions.Session, error) {
	d, err := dayArg(day)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `
		SELECT s.day::text, s.id, s.doc FROM sessions s
		WHERE s.tenant = $1 AND s.id = $2 AND ($3::date IS NULL OR s.day = $3::date)
		ORDER BY s.day`, tenant, id, d)
	if err != nil {
		return nil, fmt.Errorf("postgres: session: %w", err)
	}
	parts, err := collectParts(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: session: %w", err)
	}
	if len(parts) == 0 {
		return nil, notFoundSession(id, day)
	}
	out := make([]apisessions.Session, len(parts))
	for i, p := range parts {
		out[i] = p.session()
	}
	return out, nil
}

func notFoundSession(id, day string) error {
	if day != "" {
		return apisessions.Errorf(apisessions.ENOTFOUND, "session %s has no part on %s", id, day)
	}
	return apisessions.Errorf(apisessions.ENOTFOUND, "session %s not found", id)
}

// SessionRequests returns the requests of session id (of day when not
// empty) in time order, then by request ID.
func (s *Store) SessionRequests(ctx context.Context, tenant, id, day string) ([]apisessions.Record, error) {
	d, err := dayArg(day)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `
		SELECT r.doc FROM requests r
		WHERE r.tenant = $1 AND r.session_id = $2 AND ($3::date IS NULL OR r.day = $3::date)
		ORDER BY r.at, r.id`, tenant, id, d)
	if err != nil {
		return nil, fmt.Errorf("postgres: session requests: %w", err)
	}
	recs, err := collectRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: session requests: %w", err)
	}
	if len(recs) == 0 {
		return nil, notFoundSession(id, day)
	}
	return recs, nil
}

func collectRecords(rows pgx.Rows) ([]apisessions.Record, error) {
	out := []apisessions.Record{}
	var doc []byte
	_, err := pgx.ForEachRow(rows, []any{&doc}, func() error {
		var r apisessions.Record
		if err := json.Unmarshal(doc, &r); err != nil {
			return fmt.Errorf("request: %w", err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// Request returns one request by ID.
func (s *Store) Request(ctx context.Context, tenant, id string) (apisessions.Record, error) {
	// request_ids gives the request's day, session and time, so the
	// lookup touches one partition through its index.
	rows, err := s.pool.Query(ctx, `
		SELECT r.doc FROM request_ids i
		JOIN requests r ON r.tenant = i.tenant AND r.day = i.day AND r.session_id = i.session_id
			AND r.at = i.at AND r.id = i.id
		WHERE i.tenant = $1 AND i.id = $2`, tenant, id)
	if err != nil {
		return apisessions.Record{}, fmt.Errorf("postgres: request: %w", err)
	}
	recs, err := collectRecords(rows)
	if err != nil {
		return apisessions.Record{}, fmt.Errorf("postgres: request: %w", err)
	}
	if len(recs) == 0 {
		return apisessions.Record{}, apisessions.Errorf(apisessions.ENOTFOUND, "request %s not found", id)
	}
	return recs[0], nil
}

// isASCII says whether s holds ASCII bytes only.
func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
