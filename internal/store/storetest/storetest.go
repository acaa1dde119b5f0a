// Package storetest is the conformance suite of apisessions.Store: every
// store implementation runs it from its own tests with
//
//	storetest.Run(t, func(t *testing.T) apisessions.Store { ... })
//
// The open function must return a new, empty store each time and arrange its
// cleanup (t.Cleanup). The suite fixes what the root package leaves open; see
// ExpectedSession for the aggregation rules. Beyond them:
//
//   - Write rejects, with EINVALID and storing nothing, an empty tenant and a
//     batch with a record lacking ID, SessionID or Time or whose Day is not
//     YYYY-MM-DD. A store may also reject a record whose Time is not on its
//     Day in any timezone (UTC-12 to UTC+14); the suite writes none.
//     WriteStats.Sessions counts the parts that received new records.
//   - The RequestID filter selects every part of the session holding that
//     request (none when the tenant has no such request).
//   - User, Role, IP, Host, Flow, Application, AttackType, Status and Method
//     match one value of the part exactly; Endpoint matches a substring of
//     an endpoint case-insensitively. A negative Limit is EINVALID.
//   - Nil and empty slices are equivalent; times may come back in any
//     location and must keep microsecond precision.
package storetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

// tenant is the tenant most tests write to.
const tenant = apisessions.DefaultTenant

// Run runs every conformance test against stores made by open.
func Run(t *testing.T, open func(t *testing.T) apisessions.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) apisessions.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"WriteStats", testWriteStats},
		{"Idempotent", testIdempotent},
		{"MergeOrderIndependent", testMergeOrder},
		{"SessionByHand", testSessionByHand},
		{"Filters", testFilters},
		{"FiltersModel", testFiltersModel},
		{"TimeRange", testTimeRange},
		{"NewestFirst", testNewestFirst},
		{"Paging", testPaging},
		{"BadCursor", testBadCursor},
		{"Session", testSession},
		{"SessionRequests", testSessionRequests},
		{"Request", testRequest},
		{"TenantIsolation", testTenantIsolation},
		{"DaysDeleteDay", testDaysDeleteDay},
		{"InvalidRecords", testInvalidRecords},
		{"LargeBatch", testLargeBatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

// MustWrite writes recs and fails the test on error.
func MustWrite(tb testing.TB, st apisessions.Store, tenant string, recs []apisessions.Record) apisessions.WriteStats {
	tb.Helper()
	ws, err := st.Write(tb.Context(), tenant, recs)
	if err != nil {
		tb.Fatalf("Write(%d records): %v", len(recs), err)
	}
	return ws
}

// listAll pages through the listing of f (with f.Limit as page size) and
// returns every part, failing on a duplicate or a page larger than asked.
func listAll(t *testing.T, st apisessions.Store, tenant string, f apisessions.SessionFilter) []apisessions.Session {
	t.Helper()
	var out []apisessions.Session
	seen := map[partKey]bool{}
	for page := 0; ; page++ {
		p, err := st.Sessions(t.Context(), tenant, f)
		if err != nil {
			t.Fatalf("Sessions(%+v): %v", f, err)
		}
		if f.Limit > 0 && len(p.Sessions) > f.Limit {
			t.Fatalf("page of %d parts with limit %d", len(p.Sessions), f.Limit)
		}
		for _, s := range p.Sessions {
			k := partKey{s.ID, s.Day}
			if seen[k] {
				t.Fatalf("part %v listed twice (page %d, limit %d)", k, page, f.Limit)
			}
			seen[k] = true
		}
		out = append(out, p.Sessions...)
		if p.Next == "" {
			return out
		}
		if f.Limit == 0 {
			t.Fatalf("Next cursor %q without a limit", p.Next)
		}
		if page > 10000 {
			t.Fatal("paging does not end")
		}
		f.Cursor = p.Next
	}
}

// normSession makes a session comparable: UTC times, nil for empty slices.
func normSession(s apisessions.Session) apisessions.Session {
	s.FirstSeen, s.LastSeen = utc(s.FirstSeen), utc(s.LastSeen)
	s.Users, s.Roles, s.Flows = nilEmpty(s.Users), nilEmpty(s.Roles), nilEmpty(s.Flows)
	s.Methods, s.AttackTypes = nilEmpty(s.Methods), nilEmpty(s.AttackTypes)
	s.ClientIPs, s.UserAgents, s.Hosts = nilEmpty(s.ClientIPs), nilEmpty(s.UserAgents), nilEmpty(s.Hosts)
	s.Applications, s.Endpoints, s.Statuses = nilEmpty(s.Applications), nilEmpty(s.Endpoints), nilEmpty(s.Statuses)
	return s
}

// normRecord makes a record comparable: UTC time, nil for empty slices.
func normRecord(r apisessions.Record) apisessions.Record {
	r.Time = utc(r.Time)
	r.Params, r.Flows, r.Findings = nilEmpty(r.Params), nilEmpty(r.Flows), nilEmpty(r.Findings)
	if r.Findings != nil {
		fs := make([]apisessions.Finding, len(r.Findings))
		for i, f := range r.Findings {
			f.RuleIDs = nilEmpty(f.RuleIDs)
			fs[i] = f
		}
		r.Findings = fs
	}
	if r.Content != nil {
		c := *r.Content
		c.Headers = nilEmpty(c.Headers)
		r.Content = &c
	}
	return r
}

func nilEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// sameJSON fails when got and want differ, showing the first difference.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if string(g) == string(w) {
		return
	}
	gl, wl := strings.Split(string(g), "\n"), strings.Split(string(w), "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var a, b string
		if i < len(gl) {
			a = gl[i]
		}
		if i < len(wl) {
			b = wl[i]
		}
		if a != b {
			lo := max(0, i-6)
			t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\ncontext (want):\n%s", what, i+1, a, b,
				strings.Join(wl[lo:min(len(wl), i+3)], "\n"))
		}
	}
}

func sameSessions(t *testing.T, what string, got, want []apisessions.Session) {
	t.Helper()
	g := make([]apisessions.Session, len(got))
	for i, s := range got {
		g[i] = normSession(s)
	}
	w := make([]apisessions.Session, len(want))
	for i, s := range want {
		w[i] = normSession(s)
	}
	if len(g) != len(w) {
		t.Fatalf("%s: %d parts, want %d: got %v want %v", what, len(g), len(w), keys(g), keys(w))
	}
	sameJSON(t, what, g, w)
	// JSON hides time zones but not instants; check instants exactly too.
	for i := range g {
		if !g[i].FirstSeen.Equal(w[i].FirstSeen) || !g[i].LastSeen.Equal(w[i].LastSeen) {
			t.Fatalf("%s: part %d times %v..%v, want %v..%v", what, i, g[i].FirstSeen, g[i].LastSeen, w[i].FirstSeen, w[i].LastSeen)
		}
	}
}

func sameRecords(t *testing.T, what string, got, want []apisessions.Record) {
	t.Helper()
	g := make([]apisessions.Record, len(got))
	for i, r := range got {
		g[i] = normRecord(r)
	}
	w := make([]apisessions.Record, len(want))
	for i, r := range want {
		w[i] = normRecord(r)
	}
	if len(g) != len(w) {
		t.Fatalf("%s: %d records, want %d", what, len(g), len(w))
	}
	sameJSON(t, what, g, w)
	for i := range g {
		if !g[i].Time.Equal(w[i].Time) {
			t.Fatalf("%s: record %s time %v, want %v", what, w[i].ID, g[i].Time, w[i].Time)
		}
	}
}

func keys(ss []apisessions.Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID + "/" + s.Day
	}
	return out
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := apisessions.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func testRoundTrip(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	t0 := time.Date(2026, 11, 21, 13, 14, 15, 123456000, time.UTC)
	full := FullRecord("req-full", "sess-rt", t0)
	// A record in another location must come back as the same instant.
	minimal := apisessions.Record{
		ID: "req-min", SessionID: "sess-rt", Day: "2026-11-21",
		Time: t0.Add(time.Second).In(time.FixedZone("X", 5*3600)),
	}
	if ws := MustWrite(t, st, tenant, []apisessions.Record{full, minimal}); ws != (apisessions.WriteStats{Stored: 2, Sessions: 1}) {
		t.Fatalf("stats %+v", ws)
	}
	for _, want := range []apisessions.Record{full, minimal} {
		got, err := st.Request(t.Context(), tenant, want.ID)
		if err != nil {
			t.Fatalf("Request(%s): %v", want.ID, err)
		}
		sameRecords(t, "Request "+want.ID, []apisessions.Record{got}, []apisessions.Record{want})
	}
	got, err := st.SessionRequests(t.Context(), tenant, "sess-rt", "")
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, "SessionRequests", got, []apisessions.Record{full, minimal})
}

func testWriteStats(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	if ws, err := st.Write(t.Context(), tenant, nil); err != nil || ws != (apisessions.WriteStats{}) {
		t.Fatalf("empty Write: %+v, %v", ws, err)
	}
	recs := Generate(1, "ws-", 30, 4, 2)
	m := newModel()
	// A record repeated inside one batch is stored once.
	batch := append(slices.Clone(recs), recs[3], recs[7])
	want := m.add(batch)
	if want.Duplicates != 2 {
		t.Fatalf("model: %+v", want)
	}
	if ws := MustWrite(t, st, tenant, batch); ws != want {
		t.Fatalf("stats %+v, want %+v", ws, want)
	}
	sameSessions(t, "sessions", listAll(t, st, tenant, apisessions.SessionFilter{}), m.sessions())
}

func testIdempotent(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	old := Generate(2, "old-", 200, 12, 2)
	fresh := Generate(3, "new-", 100, 12, 2)
	m := newModel()
	m.add(old)
	MustWrite(t, st, tenant, old)
	before := listAll(t, st, tenant, apisessions.SessionFilter{})
	sameSessions(t, "first write", before, m.sessions())

	if ws := MustWrite(t, st, tenant, old); ws != (apisessions.WriteStats{Duplicates: len(old)}) {
		t.Fatalf("rewrite stats %+v", ws)
	}
	sameSessions(t, "after rewrite", listAll(t, st, tenant, apisessions.SessionFilter{}), before)

	mixed := append(slices.Clone(old[50:150]), fresh...)
	rand.New(rand.NewPCG(4, 4)).Shuffle(len(mixed), func(i, j int) { mixed[i], mixed[j] = mixed[j], mixed[i] })
	want := m.add(mixed)
	if ws := MustWrite(t, st, tenant, mixed); ws != want {
		t.Fatalf("mixed stats %+v, want %+v", ws, want)
	}
	got := listAll(t, st, tenant, apisessions.SessionFilter{})
	sameSessions(t, "after mixed", got, m.sessions())

	once := open(t)
	MustWrite(t, once, tenant, append(slices.Clone(old), fresh...))
	sameSessions(t, "against one write", got, listAll(t, once, tenant, apisessions.SessionFilter{}))
	for _, s := range got {
		recs, err := st.SessionRequests(t.Context(), tenant, s.ID, s.Day)
		if err != nil {
			t.Fatal(err)
		}
		sameRecords(t, "requests of "+s.ID, recs, m.records(s.ID, s.Day))
	}
}

func testMergeOrder(t *testing.T, open func(t *testing.T) apisessions.Store) {
	recs := Generate(5, "mo-", 400, 15, 3)
	m := newModel()
	m.add(recs)
	want := m.sessions()

	once := open(t)
	MustWrite(t, once, tenant, recs)
	sameSessions(t, "one batch", listAll(t, once, tenant, apisessions.SessionFilter{}), want)

	for seed := range uint64(3) {
		rng := rand.New(rand.NewPCG(seed, 99))
		shuffled := slices.Clone(recs)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		st := open(t)
		for len(shuffled) > 0 {
			n := min(len(shuffled), 1+rng.IntN(60))
			MustWrite(t, st, tenant, shuffled[:n])
			shuffled = shuffled[n:]
		}
		got := listAll(t, st, tenant, apisessions.SessionFilter{})
		sameSessions(t, fmt.Sprintf("shuffled batches (seed %d)", seed), got, want)
		for _, s := range want[:5] {
			parts, err := st.Session(t.Context(), tenant, s.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			wantParts := slices.DeleteFunc(slices.Clone(want), func(p apisessions.Session) bool { return p.ID != s.ID })
			slices.Reverse(wantParts) // one session: newest first → oldest first
			sameSessions(t, "Session "+s.ID, parts, wantParts)
		}
	}
}

// testSessionByHand checks one part against values worked out by hand, so
// that the model the other tests rely on is itself checked.
func testSessionByHand(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	r := func(id string, sec int) apisessions.Record {
		return apisessions.Record{ID: id, SessionID: "s1", Day: "2026-11-22", Time: t0.Add(time.Duration(sec) * time.Second)}
	}
	a := r("a", 10) // earliest: no key, no user
	a.Method, a.Endpoint, a.Host, a.ClientIP, a.Status = "GET", "GET /api/items", "api.example.com", "10.0.0.2", 200
	b := r("b", 20)
	b.Method, b.Endpoint, b.Host, b.ClientIP, b.UserAgent, b.Status = "POST", "POST /api/login", "api.example.com", "10.0.0.1", "curl/8", 200
	b.Key = apisessions.Key{Point: "request.cookies.sid", Value: "k-b"}
	b.User, b.Flows, b.Application = "bob", []string{"login", "login"}, 2
	c := r("c", 30)
	c.Method, c.Endpoint, c.Host, c.ClientIP, c.Status = "GET", "GET /api/items", "shop.example.com", "10.0.0.2", 500
	c.Key = apisessions.Key{Point: "request.headers.authorization", Value: "k-c"}
	c.User, c.Role, c.Flows, c.Application, c.Blocked = "alice", "admin", []string{"checkout", "login"}, 1, true
	c.Verdict = apisessions.VerdictAttack
	c.Findings = []apisessions.Finding{{Type: "sqli"}, {Type: "sqli"}, {Type: "xss"}}
	d := r("d", 30) // same time as c: later by ID
	d.Method, d.Endpoint, d.Status, d.User = "GET", "GET /api/items", 200, "bob"
	d.Verdict, d.Findings = apisessions.VerdictSuspicious, []apisessions.Finding{{Type: "scanner"}}

	// Written newest first in two batches: order must not matter.
	MustWrite(t, st, tenant, []apisessions.Record{d, c})
	MustWrite(t, st, tenant, []apisessions.Record{b, a})
	want := apisessions.Session{
		ID: "s1", Day: "2026-11-22", FirstSeen: t0.Add(10 * time.Second), LastSeen: t0.Add(30 * time.Second),
		RequestCount: 4, AttackCount: 1, Blocked: true,
		Key:  apisessions.Key{Point: "request.cookies.sid", Value: "k-b"},
		User: "bob", Role: "admin",
		Users:        []apisessions.NameCount{{Name: "bob", Requests: 2}, {Name: "alice", Requests: 1}},
		Roles:        []apisessions.NameCount{{Name: "admin", Requests: 1}},
		ClientIPs:    []string{"10.0.0.1", "10.0.0.2"},
		UserAgents:   []string{"curl/8"},
		Hosts:        []string{"api.example.com", "shop.example.com"},
		Applications: []int{1, 2},
		Flows:        []apisessions.NameCount{{Name: "login", Requests: 2}, {Name: "checkout", Requests: 1}},
		Endpoints:    []apisessions.EndpointCount{{Endpoint: "GET /api/items", Requests: 3}, {Endpoint: "POST /api/login", Requests: 1}},
		Statuses:     []apisessions.StatusCount{{Status: 200, Requests: 3}, {Status: 500, Requests: 1}},
		Methods:      []apisessions.NameCount{{Name: "GET", Requests: 3}, {Name: "POST", Requests: 1}},
		AttackTypes:  []apisessions.NameCount{{Name: "sqli", Requests: 1}, {Name: "xss", Requests: 1}},
	}
	sameSessions(t, "model", []apisessions.Session{ExpectedSession([]apisessions.Record{c, a, d, b})}, []apisessions.Session{want})
	got, err := st.Session(t.Context(), tenant, "s1", "2026-11-22")
	if err != nil {
		t.Fatal(err)
	}
	sameSessions(t, "store", got, []apisessions.Session{want})
}
