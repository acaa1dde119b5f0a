package httpapi

import (
	"net/url"
	"strconv"
	"time"

	"github.com/apisessions/apisessions"
)

// Paging of GET /sessions.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
	// maxFilterValue bounds every text filter: longer values cannot match
	// anything a record holds (wire.Limits.MaxString is larger, but
	// nobody searches by 64 KiB).
	maxFilterValue = 4096
)

// filterParams documents the query parameters of GET /sessions; parseFilter
// accepts exactly these.
var filterParams = []queryParam{
	{"from", "string", "requests at or after this time (RFC 3339, or YYYY-MM-DD for the start of that day UTC)"},
	{"to", "string", "requests at or before this time (RFC 3339, or YYYY-MM-DD for the end of that day UTC)"},
	{"session", "string", "session ID"},
	{"session_prefix", "string", "sessions whose ID starts with this"},
	{"request", "string", "the session holding this request ID"},
	{"user", "string", "user"},
	{"role", "string", "role"},
	{"ip", "string", "client IP"},
	{"host", "string", "host"},
	{"flow", "string", "business flow"},
	{"endpoint", "string", "endpoint containing this text, case-insensitive"},
	{"app", "integer", "application ID"},
	{"attack_type", "string", "attack type (sqli, xss, ...)"},
	{"status", "integer", "response status"},
	{"method", "string", "HTTP method"},
	{"attacks", "boolean", "only parts with at least one attack"},
	{"blocked", "boolean", "parts whose blocked flag (set by a node) equals this"},
	{"limit", "integer", "page size, default 50, at most 1000"},
	{"cursor", "string", "the next cursor of the previous page"},
}

// parseFilter reads a session filter from query parameters. Unknown and
// repeated parameters are refused, so that a typo does not silently list
// everything.
func parseFilter(q url.Values) (apisessions.SessionFilter, error) {
	f := apisessions.SessionFilter{Limit: DefaultLimit}
	known := map[string]bool{}
	for _, p := range filterParams {
		known[p.Name] = true
	}
	for k, vs := range q {
		if !known[k] {
			return f, apisessions.Errorf(apisessions.EINVALID, "unknown query parameter %q", clip(k))
		}
		if len(vs) != 1 {
			return f, apisessions.Errorf(apisessions.EINVALID, "query parameter %q given %d times", k, len(vs))
		}
		if len(vs[0]) > maxFilterValue {
			return f, apisessions.Errorf(apisessions.EINVALID, "query parameter %q longer than %d bytes", k, maxFilterValue)
		}
	}
	var err error
	str := func(k string) string { return q.Get(k) }
	f.SessionID, f.SessionPrefix, f.RequestID = str("session"), str("session_prefix"), str("request")
	f.User, f.Role, f.IP, f.Host = str("user"), str("role"), str("ip"), str("host")
	f.Flow, f.Endpoint, f.AttackType, f.Method = str("flow"), str("endpoint"), str("attack_type"), str("method")
	f.Cursor = str("cursor")
	if f.From, err = parseTime(q, "from", false); err != nil {
		return f, err
	}
	if f.To, err = parseTime(q, "to", true); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return f, apisessions.Errorf(apisessions.EINVALID, "to is before from")
	}
	if f.Application, err = parseInt(q, "app", 0, 1<<31-1); err != nil {
		return f, err
	}
	if f.Status, err = parseInt(q, "status", 0, 999); err != nil {
		return f, err
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = parseInt(q, "limit", 1, 1<<31-1); err != nil {
			return f, err
		}
		// A larger page is clipped rather than refused: the caller pages
		// on with the cursor either way.
		f.Limit = min(f.Limit, MaxLimit)
	}
	if v := q.Get("attacks"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, apisessions.Errorf(apisessions.EINVALID, "attacks: want true or false")
		}
		f.Attacks = b
	}
	if v := q.Get("blocked"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, apisessions.Errorf(apisessions.EINVALID, "blocked: want true or false")
		}
		f.Blocked = &b
	}
	return f, nil
}

// encodeFilter is the inverse of parseFilter, for the client. A zero Limit
// is sent as MaxLimit: the store's "no limit" does not exist over HTTP.
func encodeFilter(f apisessions.SessionFilter) url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.From.IsZero() {
		q.Set("from", f.From.Format(time.RFC3339Nano))
	}
	if !f.To.IsZero() {
		q.Set("to", f.To.Format(time.RFC3339Nano))
	}
	set("session", f.SessionID)
	set("session_prefix", f.SessionPrefix)
	set("request", f.RequestID)
	set("user", f.User)
	set("role", f.Role)
	set("ip", f.IP)
	set("host", f.Host)
	set("flow", f.Flow)
	set("endpoint", f.Endpoint)
	set("attack_type", f.AttackType)
	set("method", f.Method)
	set("cursor", f.Cursor)
	if f.Application != 0 {
		q.Set("app", strconv.Itoa(f.Application))
	}
	if f.Status != 0 {
		q.Set("status", strconv.Itoa(f.Status))
	}
	if f.Attacks {
		q.Set("attacks", "true")
	}
	if f.Blocked != nil {
		q.Set("blocked", strconv.FormatBool(*f.Blocked))
	}
	limit := f.Limit
	if limit <= 0 || limit > MaxLimit {
		limit = MaxLimit
	}
	q.Set("limit", strconv.Itoa(limit))
	return q
}

func parseTime(q url.Values, k string, endOfDay bool) (time.Time, error) {
	v := q.Get(k)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1).Add(-time.Nanosecond)
		}
		return t, nil
	}
	return time.Time{}, apisessions.Errorf(apisessions.EINVALID, "%s: want an RFC 3339 time or YYYY-MM-DD", k)
}

func parseInt(q url.Values, k string, lo, hi int) (int, error) {
	v := q.Get(k)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, apisessions.Errorf(apisessions.EINVALID, "%s: want an integer from %d to %d", k, lo, hi)
	}
	return n, nil
}

// clip bounds a client-supplied string quoted in a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// validDay checks a ?day= value.
func validDay(day string) error {
	if day == "" {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return apisessions.Errorf(apisessions.EINVALID, "day: want YYYY-MM-DD")
	}
	return nil
}
