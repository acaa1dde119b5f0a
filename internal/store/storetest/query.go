package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

// handParts is a small data set whose filter results are worked out by hand
// in testFilters. Parts, newest first: u3/21, u1/21, u2/20, u1/20.
func handParts() []apisessions.Record {
	at := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, time.UTC) }
	rec := func(id, sess string, t time.Time) apisessions.Record {
		return apisessions.Record{ID: id, SessionID: sess, Day: t.Format("2006-01-02"), Time: t, Verdict: apisessions.VerdictClean}
	}
	p1a := rec("h1a", "u1", at(20, 10, 0))
	p1a.User, p1a.Role, p1a.ClientIP, p1a.Host, p1a.Flows = "alice", "admin", "10.0.0.1", "api.example.com", []string{"login"}
	p1a.Endpoint, p1a.Status, p1a.Method, p1a.Application = "POST /api/login", 200, "POST", 1
	p1b := p1a
	p1b.ID, p1b.Time = "h1b", at(20, 11, 0)

	p2 := rec("h2", "u2", at(20, 12, 0))
	p2.User, p2.Role, p2.ClientIP, p2.Host, p2.Flows = "bob", "viewer", "10.0.0.2", "shop.example.com", []string{"checkout"}
	p2.Endpoint, p2.Status, p2.Method, p2.Application = "GET /api/orders/{int}", 404, "GET", 2
	p2.Verdict, p2.Findings, p2.Blocked = apisessions.VerdictAttack, []apisessions.Finding{{Type: apisessions.AttackSQLi}}, true

	p3 := rec("h3", "u1", at(21, 8, 0))
	p3.User, p3.ClientIP, p3.Host = "alice", "10.0.0.2", "api.example.com"
	p3.Endpoint, p3.Status, p3.Method, p3.Application = "GET /api/Users/{int}", 500, "GET", 1
	p3.Verdict, p3.Findings = apisessions.VerdictAttack, []apisessions.Finding{{Type: apisessions.AttackXSS}}

	p4 := rec("h4", "u3", at(21, 9, 0))
	p4.ClientIP, p4.Host = "10.0.0.3", "api.example.com"
	p4.Endpoint, p4.Status, p4.Method = "DELETE /api/orders/{int}", 200, "DELETE"
	p4.Verdict, p4.Findings = apisessions.VerdictSuspicious, []apisessions.Finding{{Type: apisessions.AttackScanner}}
	return []apisessions.Record{p1a, p1b, p2, p3, p4}
}

func testFilters(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	MustWrite(t, st, tenant, handParts())
	// Another tenant holds a part matching every filter: it must never show.
	other := handParts()
	for i := range other {
		other[i].ID = "other-" + other[i].ID
	}
	MustWrite(t, st, "other", other)

	at := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, time.UTC) }
	yes, no := true, false
	const (
		p1 = "u1/2026-11-20"
		p2 = "u2/2026-11-20"
		p3 = "u1/2026-11-21"
		p4 = "u3/2026-11-21"
	)
	tests := []struct {
		name string
		f    apisessions.SessionFilter
		want []string
	}{
		{"none", apisessions.SessionFilter{}, []string{p4, p3, p2, p1}},
		{"session", apisessions.SessionFilter{SessionID: "u1"}, []string{p3, p1}},
		{"session unknown", apisessions.SessionFilter{SessionID: "zz"}, nil},
		{"session prefix", apisessions.SessionFilter{SessionPrefix: "u"}, []string{p4, p3, p2, p1}},
		{"session prefix of one", apisessions.SessionFilter{SessionPrefix: "u1"}, []string{p3, p1}},
		{"session prefix whole", apisessions.SessionFilter{SessionPrefix: "u3"}, []string{p4}},
		{"session prefix unknown", apisessions.SessionFilter{SessionPrefix: "v"}, nil},
		{"session prefix and user", apisessions.SessionFilter{SessionPrefix: "u", User: "alice"}, []string{p3, p1}},
		{"request gives whole session", apisessions.SessionFilter{RequestID: "h1b"}, []string{p3, p1}},
		{"request of other tenant", apisessions.SessionFilter{RequestID: "other-h2"}, nil},
		{"user", apisessions.SessionFilter{User: "alice"}, []string{p3, p1}},
		{"user any value", apisessions.SessionFilter{User: "bob"}, []string{p2}},
		{"user unknown", apisessions.SessionFilter{User: "ALICE"}, nil},
		{"role", apisessions.SessionFilter{Role: "admin"}, []string{p1}},
		{"ip", apisessions.SessionFilter{IP: "10.0.0.2"}, []string{p3, p2}},
		{"host", apisessions.SessionFilter{Host: "shop.example.com"}, []string{p2}},
		{"flow", apisessions.SessionFilter{Flow: "checkout"}, []string{p2}},
		{"endpoint substring", apisessions.SessionFilter{Endpoint: "orders"}, []string{p4, p2}},
		{"endpoint case and method", apisessions.SessionFilter{Endpoint: "get /api/users"}, []string{p3}},
		{"endpoint upper", apisessions.SessionFilter{Endpoint: "/API/ORDERS/{INT}"}, []string{p4, p2}},
		{"endpoint like chars literal", apisessions.SessionFilter{Endpoint: "%"}, nil},
		{"endpoint underscore literal", apisessions.SessionFilter{Endpoint: "api_"}, nil},
		{"application", apisessions.SessionFilter{Application: 1}, []string{p3, p1}},
		{"application 2", apisessions.SessionFilter{Application: 2}, []string{p2}},
		{"attack type", apisessions.SessionFilter{AttackType: "sqli"}, []string{p2}},
		{"attack type of suspicious only", apisessions.SessionFilter{AttackType: "scanner"}, nil},
		{"status", apisessions.SessionFilter{Status: 404}, []string{p2}},
		{"status shared", apisessions.SessionFilter{Status: 200}, []string{p4, p1}},
		{"method", apisessions.SessionFilter{Method: "GET"}, []string{p3, p2}},
		{"attacks", apisessions.SessionFilter{Attacks: true}, []string{p3, p2}},
		{"blocked", apisessions.SessionFilter{Blocked: &yes}, []string{p2}},
		{"not blocked", apisessions.SessionFilter{Blocked: &no}, []string{p4, p3, p1}},
		{"user and status", apisessions.SessionFilter{User: "alice", Status: 500}, []string{p3}},
		{"ip attacks not blocked", apisessions.SessionFilter{IP: "10.0.0.2", Attacks: true, Blocked: &no}, []string{p3}},
		{"session and method", apisessions.SessionFilter{SessionID: "u1", Method: "POST"}, []string{p1}},
		{"host and endpoint", apisessions.SessionFilter{Host: "api.example.com", Endpoint: "orders"}, []string{p4}},
		{"contradiction", apisessions.SessionFilter{User: "alice", Flow: "checkout"}, nil},
		{"from", apisessions.SessionFilter{From: at(21, 0, 0)}, []string{p4, p3}},
		{"to inclusive", apisessions.SessionFilter{To: at(20, 11, 0)}, []string{p1}},
		{"from inclusive", apisessions.SessionFilter{From: at(21, 9, 0)}, []string{p4}},
		{"range in a gap", apisessions.SessionFilter{From: at(20, 10, 30), To: at(20, 10, 45)}, nil},
		{"range on one request", apisessions.SessionFilter{From: at(20, 10, 59), To: at(20, 11, 30)}, []string{p1}},
		{"range and user", apisessions.SessionFilter{From: at(20, 0, 0), To: at(20, 23, 0), User: "alice"}, []string{p1}},
		{"range other zone", apisessions.SessionFilter{From: at(21, 8, 0).In(time.FixedZone("M", -3600))}, []string{p4, p3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, limit := range []int{0, 1, 3} {
				f := tt.f
				f.Limit = limit
				got := keys(listAll(t, st, tenant, f))
				if !slices.Equal(got, tt.want) && len(got)+len(tt.want) > 0 {
					t.Fatalf("limit %d: got %v, want %v", limit, got, tt.want)
				}
			}
		})
	}
}

// testFiltersModel compares every filter on generated data with the model.
func testFiltersModel(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	recs := Generate(7, "fm-", 300, 20, 3)
	m := newModel()
	m.add(recs)
	MustWrite(t, st, tenant, recs)
	all := m.sessions()
	mid := all[len(all)/2].LastSeen
	var fs []apisessions.SessionFilter
	for _, v := range poolUsers[2:] {
		fs = append(fs, apisessions.SessionFilter{User: v})
	}
	for _, v := range poolRoles[2:] {
		fs = append(fs, apisessions.SessionFilter{Role: v})
	}
	for _, v := range poolIPs {
		fs = append(fs, apisessions.SessionFilter{IP: v})
	}
	for _, v := range poolHosts {
		fs = append(fs, apisessions.SessionFilter{Host: v})
	}
	for _, v := range poolFlows {
		fs = append(fs, apisessions.SessionFilter{Flow: v})
	}
	for _, v := range []string{"users", "post /api/", "{UUID}/items", "GET /api/orders"} {
		fs = append(fs, apisessions.SessionFilter{Endpoint: v})
	}
	for _, v := range poolTypes {
		fs = append(fs, apisessions.SessionFilter{AttackType: string(v)})
	}
	for _, v := range []int{1, 2, 3} {
		fs = append(fs, apisessions.SessionFilter{Application: v})
	}
	for _, v := range []int{200, 404, 500} {
		fs = append(fs, apisessions.SessionFilter{Status: v})
	}
	for _, v := range []string{"GET", "POST", "DELETE"} {
		fs = append(fs, apisessions.SessionFilter{Method: v})
	}
	yes, no := true, false
	fs = append(fs,
		apisessions.SessionFilter{Attacks: true},
		apisessions.SessionFilter{Blocked: &yes},
		apisessions.SessionFilter{Blocked: &no},
		apisessions.SessionFilter{SessionID: "sess-0003"},
		apisessions.SessionFilter{RequestID: recs[17].ID},
		apisessions.SessionFilter{From: mid},
		apisessions.SessionFilter{To: mid},
		apisessions.SessionFilter{From: base.Add(30 * time.Hour), To: base.Add(31 * time.Hour)},
		apisessions.SessionFilter{User: "alice", Method: "POST", Attacks: true},
		apisessions.SessionFilter{IP: "10.0.0.1", Host: "api.example.com", Status: 200, From: base.Add(12 * time.Hour)},
		apisessions.SessionFilter{Role: "admin", Flow: "login", Endpoint: "api", Blocked: &no},
		apisessions.SessionFilter{AttackType: "sqli", Application: 2, To: base.Add(48 * time.Hour)},
	)
	for i, f := range fs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			// Alternately whole and paged: both ways are covered, at half the
			// cost (the suite runs under -race in CI).
			f.Limit = []int{0, 4}[i%2]
			sameSessions(t, fmt.Sprintf("filter %+v", f), listAll(t, st, tenant, f), m.filter(f))
		})
	}
}

func testTimeRange(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	t0 := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	// One part with requests at 01:00, 12:00 and 23:00 only, the one in
	// the middle written last.
	recs := []apisessions.Record{
		{ID: "a", SessionID: "s", Day: "2026-11-20", Time: t0},
		{ID: "b", SessionID: "s", Day: "2026-11-20", Time: t0.Add(22 * time.Hour)},
	}
	MustWrite(t, st, tenant, recs)
	// A read between the writes, so that a store that writes parts behind
	// stores this one twice.
	listAll(t, st, tenant, apisessions.SessionFilter{})
	MustWrite(t, st, tenant, []apisessions.Record{{ID: "c", SessionID: "s", Day: "2026-11-20", Time: t0.Add(11 * time.Hour)}})
	tests := []struct {
		name     string
		from, to time.Time
		want     int
	}{
		{"covering", t0.Add(-time.Hour), t0.Add(23 * time.Hour), 1},
		{"gap", t0.Add(time.Hour), t0.Add(10 * time.Hour), 0},
		{"gap after the middle", t0.Add(11*time.Hour + time.Nanosecond), t0.Add(21 * time.Hour), 0},
		{"middle", t0.Add(10 * time.Hour), t0.Add(12 * time.Hour), 1},
		{"middle exactly", t0.Add(11 * time.Hour), t0.Add(11 * time.Hour), 1},
		{"first exactly", t0, t0, 1},
		{"last exactly", t0.Add(22 * time.Hour), t0.Add(22 * time.Hour), 1},
		{"before", t0.Add(-2 * time.Hour), t0.Add(-time.Microsecond), 0},
		{"after", t0.Add(22*time.Hour + time.Microsecond), time.Time{}, 0},
		{"to only", time.Time{}, t0.Add(time.Minute), 1},
		{"from only", t0.Add(time.Minute), time.Time{}, 1},
		{"inverted", t0.Add(23 * time.Hour), t0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := listAll(t, st, tenant, apisessions.SessionFilter{From: tt.from, To: tt.to})
			if len(got) != tt.want {
				t.Fatalf("%d parts, want %d", len(got), tt.want)
			}
		})
	}
}

// tieParts returns records making 24 parts with heavy ties on last seen:
// eight sessions on three days, each part one request at one of three
// instants. Days follow a day timezone, not the UTC date, so a tie may span
// days.
func tieParts() []apisessions.Record {
	// 10:00 to 12:00 UTC on the 21st is on the 20th, 21st and 22nd in some
	// timezone.
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	var recs []apisessions.Record
	for s := range 8 {
		for d, day := range []string{"2026-11-20", "2026-11-21", "2026-11-22"} {
			recs = append(recs, apisessions.Record{
				ID: fmt.Sprintf("tie-%d-%d", s, d), SessionID: fmt.Sprintf("t%02d", s), Day: day,
				Time: t0.Add(time.Duration((s+d)%3) * time.Hour), Method: []string{"GET", "POST"}[s%2],
			})
		}
	}
	return recs
}

func testNewestFirst(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	recs := tieParts()
	MustWrite(t, st, tenant, recs)
	m := newModel()
	m.add(recs)
	got := listAll(t, st, tenant, apisessions.SessionFilter{})
	sameSessions(t, "listing", got, m.sessions())
	for i := 1; i < len(got); i++ {
		if NewestFirst(got[i-1], got[i]) >= 0 {
			t.Fatalf("parts %d and %d out of order: %v", i-1, i, keys(got[i-1:i+1]))
		}
	}
}

func testPaging(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	recs := tieParts()
	MustWrite(t, st, tenant, recs)
	m := newModel()
	m.add(recs)
	for _, f := range []apisessions.SessionFilter{{}, {Method: "POST"}, {From: recs[0].Time.Add(time.Hour)}} {
		want := m.filter(f)
		for _, limit := range []int{1, 2, 3, 5, 8, 13, len(want) - 1, len(want), len(want) + 1} {
			f.Limit = limit
			sameSessions(t, fmt.Sprintf("limit %d filter %+v", limit, f), listAll(t, st, tenant, f), want)
		}
		// The first page holds exactly Limit parts and a cursor when more
		// remain; the page that ends the listing has no cursor.
		f.Limit = len(want)
		p, err := st.Sessions(t.Context(), tenant, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Sessions) != len(want) {
			t.Fatalf("page of %d, want %d", len(p.Sessions), len(want))
		}
		if p.Next != "" {
			// A store may not know that the page is the last; the next
			// page must then be empty and final.
			f.Cursor = p.Next
			p2, err := st.Sessions(t.Context(), tenant, f)
			if err != nil || len(p2.Sessions) != 0 || p2.Next != "" {
				t.Fatalf("page after the last: %d parts, next %q, err %v", len(p2.Sessions), p2.Next, err)
			}
		}
	}
	// Parts written between pages do not duplicate or lose older parts.
	f := apisessions.SessionFilter{Limit: 5}
	p, err := st.Sessions(t.Context(), tenant, f)
	if err != nil {
		t.Fatal(err)
	}
	newer := apisessions.Record{ID: "late", SessionID: "t99", Day: "2026-11-23", Time: recs[0].Time.Add(48 * time.Hour)}
	MustWrite(t, st, tenant, []apisessions.Record{newer})
	f.Cursor = p.Next
	rest := listAll(t, st, tenant, f)
	got := append(p.Sessions, rest...)
	sameSessions(t, "paging across a write", got, m.sessions())
}

func testBadCursor(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	MustWrite(t, st, tenant, tieParts())
	for _, c := range []string{"x", "not a cursor", "%%%", "eyJ9", "AAAA", strings.Repeat("A", 10000), "\x00\xff"} {
		_, err := st.Sessions(t.Context(), tenant, apisessions.SessionFilter{Limit: 2, Cursor: c})
		wantCode(t, fmt.Sprintf("cursor %.20q", c), err, apisessions.EINVALID)
	}
	_, err := st.Sessions(t.Context(), tenant, apisessions.SessionFilter{Limit: -1})
	wantCode(t, "negative limit", err, apisessions.EINVALID)
}

func testSession(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	recs := Generate(11, "s-", 120, 4, 3)
	m := newModel()
	m.add(recs)
	MustWrite(t, st, tenant, recs)
	for _, id := range []string{"sess-0000", "sess-0001", "sess-0002", "sess-0003"} {
		var want []apisessions.Session
		for _, s := range m.sessions() {
			if s.ID == id {
				want = append(want, s)
			}
		}
		slices.Reverse(want)
		got, err := st.Session(t.Context(), tenant, id, "")
		if err != nil {
			t.Fatal(err)
		}
		sameSessions(t, "all parts of "+id, got, want)
		for _, w := range want {
			got, err := st.Session(t.Context(), tenant, id, w.Day)
			if err != nil {
				t.Fatal(err)
			}
			sameSessions(t, "part "+w.Day, got, []apisessions.Session{w})
		}
	}
	_, err := st.Session(t.Context(), tenant, "no-such-session", "")
	wantCode(t, "unknown session", err, apisessions.ENOTFOUND)
	_, err = st.Session(t.Context(), tenant, "sess-0000", "2026-12-31")
	wantCode(t, "unknown day", err, apisessions.ENOTFOUND)
	_, err = st.Session(t.Context(), "other", "sess-0000", "")
	wantCode(t, "other tenant", err, apisessions.ENOTFOUND)
}

func testSessionRequests(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	t0 := time.Date(2026, 11, 21, 23, 59, 0, 0, time.UTC)
	// Written out of order, with a tie on time broken by ID.
	recs := []apisessions.Record{
		{ID: "r3", SessionID: "s", Day: "2026-11-22", Time: t0.Add(2 * time.Minute)},
		{ID: "r2b", SessionID: "s", Day: "2026-11-21", Time: t0.Add(30 * time.Second)},
		{ID: "r1", SessionID: "s", Day: "2026-11-21", Time: t0},
		{ID: "r2a", SessionID: "s", Day: "2026-11-21", Time: t0.Add(30 * time.Second)},
		{ID: "x1", SessionID: "other-session", Day: "2026-11-21", Time: t0},
	}
	MustWrite(t, st, tenant, recs[:2])
	MustWrite(t, st, tenant, recs[2:])
	m := newModel()
	m.add(recs)
	tests := []struct {
		day  string
		want []string
	}{
		{"", []string{"r1", "r2a", "r2b", "r3"}},
		{"2026-11-21", []string{"r1", "r2a", "r2b"}},
		{"2026-11-22", []string{"r3"}},
	}
	for _, tt := range tests {
		got, err := st.SessionRequests(t.Context(), tenant, "s", tt.day)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range got {
			ids = append(ids, r.ID)
		}
		if !slices.Equal(ids, tt.want) {
			t.Fatalf("day %q: %v, want %v", tt.day, ids, tt.want)
		}
		sameRecords(t, "records", got, m.records("s", tt.day))
	}
	_, err := st.SessionRequests(t.Context(), tenant, "nope", "")
	wantCode(t, "unknown session", err, apisessions.ENOTFOUND)
	_, err = st.SessionRequests(t.Context(), tenant, "s", "2026-11-23")
	wantCode(t, "unknown day", err, apisessions.ENOTFOUND)
	_, err = st.SessionRequests(t.Context(), "other", "s", "")
	wantCode(t, "other tenant", err, apisessions.ENOTFOUND)
}

func testRequest(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	recs := Generate(12, "rq-", 50, 5, 2)
	MustWrite(t, st, tenant, recs)
	for _, r := range []apisessions.Record{recs[0], recs[25], recs[49]} {
		got, err := st.Request(t.Context(), tenant, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameRecords(t, r.ID, []apisessions.Record{got}, []apisessions.Record{r})
	}
	_, err := st.Request(t.Context(), tenant, "rq-missing")
	wantCode(t, "unknown request", err, apisessions.ENOTFOUND)
	_, err = st.Request(t.Context(), "other", recs[0].ID)
	wantCode(t, "other tenant", err, apisessions.ENOTFOUND)
}

func testTenantIsolation(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	a := Generate(13, "ti-", 150, 8, 2)
	// Tenant b has the same request and session IDs with other contents.
	b := Generate(14, "ti-", 150, 8, 2)
	for i := range b {
		b[i].User, b[i].Host = "b-user", "b.example.com"
	}
	ma, mb := newModel(), newModel()
	wa, wb := ma.add(a), mb.add(b)
	if ws := MustWrite(t, st, "a", a); ws != wa {
		t.Fatalf("tenant a stats %+v, want %+v", ws, wa)
	}
	if ws := MustWrite(t, st, "b", b); ws != wb {
		t.Fatalf("tenant b: same IDs as tenant a must be new records: %+v, want %+v", ws, wb)
	}
	sameSessions(t, "tenant a", listAll(t, st, "a", apisessions.SessionFilter{}), ma.sessions())
	sameSessions(t, "tenant b", listAll(t, st, "b", apisessions.SessionFilter{}), mb.sessions())
	for _, tc := range []struct {
		tenant string
		m      *model
		recs   []apisessions.Record
	}{{"a", ma, a}, {"b", mb, b}} {
		r := tc.recs[42]
		got, err := st.Request(t.Context(), tc.tenant, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameRecords(t, "request of "+tc.tenant, []apisessions.Record{got}, []apisessions.Record{r})
		reqs, err := st.SessionRequests(t.Context(), tc.tenant, r.SessionID, "")
		if err != nil {
			t.Fatal(err)
		}
		sameRecords(t, "session requests of "+tc.tenant, reqs, tc.m.records(r.SessionID, ""))
	}
	if got := listAll(t, st, "a", apisessions.SessionFilter{User: "b-user"}); len(got) != 0 {
		t.Fatalf("tenant a sees tenant b's user in %d parts", len(got))
	}
	if got := listAll(t, st, "a", apisessions.SessionFilter{Host: "b.example.com"}); len(got) != 0 {
		t.Fatalf("tenant a sees tenant b's host in %d parts", len(got))
	}
	// An empty tenant sees nothing through any method.
	if got := listAll(t, st, "c", apisessions.SessionFilter{}); len(got) != 0 {
		t.Fatalf("tenant c lists %d parts", len(got))
	}
	if got := listAll(t, st, "c", apisessions.SessionFilter{RequestID: a[0].ID}); len(got) != 0 {
		t.Fatalf("tenant c finds %d parts by request", len(got))
	}
	_, err := st.Request(t.Context(), "c", a[0].ID)
	wantCode(t, "Request", err, apisessions.ENOTFOUND)
	_, err = st.Session(t.Context(), "c", a[0].SessionID, "")
	wantCode(t, "Session", err, apisessions.ENOTFOUND)
	_, err = st.SessionRequests(t.Context(), "c", a[0].SessionID, "")
	wantCode(t, "SessionRequests", err, apisessions.ENOTFOUND)
	// A cursor of tenant a used by tenant c still shows nothing of a.
	p, err := st.Sessions(t.Context(), "a", apisessions.SessionFilter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := st.Sessions(t.Context(), "c", apisessions.SessionFilter{Limit: 2, Cursor: p.Next})
	if err == nil && len(p2.Sessions) != 0 {
		t.Fatalf("tenant c pages into %d parts of tenant a", len(p2.Sessions))
	}
}

func testDaysDeleteDay(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	if days, err := st.Days(t.Context()); err != nil || len(days) != 0 {
		t.Fatalf("empty store: days %v, %v", days, err)
	}
	a := Generate(15, "dd-", 200, 10, 3) // 2026-11-20..22
	b := Generate(16, "dd-", 50, 3, 1)   // 2026-11-20
	late := apisessions.Record{ID: "late", SessionID: "x", Day: "2026-11-25", Time: base.Add(5 * 24 * time.Hour)}
	ma, mb := newModel(), newModel()
	ma.add(a)
	mb.add(append(b, late))
	MustWrite(t, st, "a", a)
	MustWrite(t, st, "b", append(slices.Clone(b), late))
	days, err := st.Days(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"2026-11-20", "2026-11-21", "2026-11-22", "2026-11-25"}; !slices.Equal(days, want) {
		t.Fatalf("days %v, want %v", days, want)
	}
	for _, day := range []string{"2026-11-20", "2026-11-24"} {
		if err := st.DeleteDay(t.Context(), day); err != nil {
			t.Fatalf("DeleteDay(%s): %v", day, err)
		}
		ma.deleteDay(day)
		mb.deleteDay(day)
	}
	days, err = st.Days(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"2026-11-21", "2026-11-22", "2026-11-25"}; !slices.Equal(days, want) {
		t.Fatalf("days after delete %v, want %v", days, want)
	}
	sameSessions(t, "tenant a", listAll(t, st, "a", apisessions.SessionFilter{}), ma.sessions())
	sameSessions(t, "tenant b", listAll(t, st, "b", apisessions.SessionFilter{}), mb.sessions())
	var gone apisessions.Record
	for _, r := range a {
		if r.Day == "2026-11-20" {
			gone = r
			break
		}
	}
	_, err = st.Request(t.Context(), "a", gone.ID)
	wantCode(t, "deleted request", err, apisessions.ENOTFOUND)
	_, err = st.Session(t.Context(), "a", gone.SessionID, "2026-11-20")
	wantCode(t, "deleted part", err, apisessions.ENOTFOUND)
	_, err = st.SessionRequests(t.Context(), "a", gone.SessionID, "2026-11-20")
	wantCode(t, "deleted part requests", err, apisessions.ENOTFOUND)
	reqs, err := st.SessionRequests(t.Context(), "a", gone.SessionID, "")
	if err == nil {
		sameRecords(t, "surviving requests", reqs, ma.records(gone.SessionID, ""))
	} else {
		wantCode(t, "session without surviving parts", err, apisessions.ENOTFOUND)
	}
	// A deleted record is gone: writing it again stores it again.
	if ws := MustWrite(t, st, "a", []apisessions.Record{gone}); ws.Stored != 1 {
		t.Fatalf("rewrite of deleted record: %+v", ws)
	}
}

func testInvalidRecords(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	good := Generate(17, "iv-", 1, 1, 1)[0]
	tests := []struct {
		name   string
		tenant string
		mod    func(r *apisessions.Record)
	}{
		{"empty tenant", "", func(r *apisessions.Record) {}},
		{"no id", tenant, func(r *apisessions.Record) { r.ID = "" }},
		{"no session", tenant, func(r *apisessions.Record) { r.SessionID = "" }},
		{"no time", tenant, func(r *apisessions.Record) { r.Time = time.Time{} }},
		{"no day", tenant, func(r *apisessions.Record) { r.Day = "" }},
		{"bad day", tenant, func(r *apisessions.Record) { r.Day = "2026-13-01" }},
		{"day with time", tenant, func(r *apisessions.Record) { r.Day = "2026-11-20T00:00" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := good
			bad.ID = "iv-bad"
			tt.mod(&bad)
			_, err := st.Write(t.Context(), tt.tenant, []apisessions.Record{good, bad})
			wantCode(t, "Write", err, apisessions.EINVALID)
			if got := listAll(t, st, tenant, apisessions.SessionFilter{}); len(got) != 0 {
				t.Fatalf("a rejected batch stored %d parts", len(got))
			}
			_, err = st.Request(t.Context(), tenant, good.ID)
			wantCode(t, "good record of a rejected batch", err, apisessions.ENOTFOUND)
		})
	}
}

func testLargeBatch(t *testing.T, open func(t *testing.T) apisessions.Store) {
	st := open(t)
	// More records, parts and IDs than any one multi-row statement should
	// take, kept small enough for -race.
	recs := Generate(18, "lb-", 1200, 600, 1)
	m := newModel()
	want := m.add(recs)
	if ws := MustWrite(t, st, tenant, recs); ws != want {
		t.Fatalf("stats %+v, want %+v", ws, want)
	}
	sameSessions(t, "sessions", listAll(t, st, tenant, apisessions.SessionFilter{Limit: 300}), m.sessions())
}
