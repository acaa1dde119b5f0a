package apisessions

import (
	"context"
	"time"
)

// DefaultTenant is the tenant of a local store and of the first tenant a
// server creates.
const DefaultTenant = "default"

// SessionFilter selects session day parts. Zero fields do not filter.
type SessionFilter struct {
	// From and To bound the parts by time: a part is eligible when it has a
	// request in [From, To]. Zero means unbounded.
	From, To time.Time
	// SessionID selects one session; SessionPrefix the sessions whose ID
	// starts with it (the 16 digits a terminal table shows); RequestID the
	// session holding that request.
	SessionID     string
	SessionPrefix string
	RequestID     string
	User          string
	Role          string
	IP            string
	Host          string
	Flow          string
	// Endpoint matches normalised endpoints containing this text
	// (case-insensitive), with or without the method.
	Endpoint    string
	Application int
	AttackType  string
	Status      int
	Method      string
	// Attacks keeps only parts with at least one attack.
	Attacks bool
	// Blocked, when set, keeps parts whose blocked flag equals it.
	Blocked *bool
	// Limit is the page size; 0 means no limit.
	Limit int
	// Cursor continues a listing where the previous page stopped.
	Cursor string
}

// SessionPage is one page of a session listing, newest first (by last seen,
// then day, then ID).
type SessionPage struct {
	Sessions []Session
	// Next is the cursor of the next page, empty on the last one.
	Next string
}

// WriteStats says what a Write did.
type WriteStats struct {
	// Stored is the number of new records.
	Stored int
	// Duplicates were records whose ID was stored already: skipped.
	Duplicates int
	// Sessions is the number of distinct session day parts touched.
	Sessions int
}

// Store keeps sessions and their requests, per tenant. Implementations:
// internal/sqlite, internal/postgres. All pass internal/store/storetest.
type Store interface {
	// Write stores records of one tenant in one transaction. It is
	// idempotent on record ID: a record whose ID the tenant has already is
	// skipped, so senders may retry. Session day parts merge the same
	// whatever the order of records and batches: counts add, first and last
	// seen take min and max, sets take the union, key, user and role come
	// from the earliest request that has them.
	Write(ctx context.Context, tenant string, recs []Record) (WriteStats, error)

	// Sessions lists day parts that match f, newest first. A bad cursor is
	// EINVALID.
	Sessions(ctx context.Context, tenant string, f SessionFilter) (SessionPage, error)

	// Session returns the day parts of session id (just the part of day when
	// day is not empty), oldest first. ENOTFOUND when there is none.
	Session(ctx context.Context, tenant, id, day string) ([]Session, error)

	// SessionRequests returns the requests of session id (of day when not
	// empty) in time order, then by request ID. ENOTFOUND when there is no
	// such session.
	SessionRequests(ctx context.Context, tenant, id, day string) ([]Record, error)

	// Request returns one request by ID. ENOTFOUND when absent.
	Request(ctx context.Context, tenant, id string) (Record, error)

	// Days lists the days (YYYY-MM-DD) that hold data, for any tenant, oldest
	// first.
	Days(ctx context.Context) ([]string, error)

	// DeleteDay removes every session part and request of that day, for all
	// tenants. Deleting a day with no data is not an error.
	DeleteDay(ctx context.Context, day string) error

	// Close releases the store.
	Close() error
}

// ExpiredDays returns the days of days (YYYY-MM-DD, any order) that lie
// wholly outside the retention window ending at now, in loc: a day expires
// when its end is at or before now - retention.
func ExpiredDays(days []string, now time.Time, retention time.Duration, loc *time.Location) []string {
	if loc == nil {
		loc = time.UTC
	}
	cutoff := now.Add(-retention)
	var out []string
	for _, d := range days {
		t, err := time.ParseInLocation("2006-01-02", d, loc)
		if err != nil {
			continue
		}
		if !t.AddDate(0, 0, 1).After(cutoff) {
			out = append(out, d)
		}
	}
	return out
}
