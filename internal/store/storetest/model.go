package storetest

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/apisessions/apisessions"
)

// The suite checks stores against this reference model: a plain in-memory
// computation of what every store must return. It is written for clarity,
// not speed, and is itself checked against hand-written expectations.

// partKey names one session day part.
type partKey struct{ id, day string }

// model holds the records of one tenant, deduplicated by ID (first wins).
type model struct {
	byID map[string]apisessions.Record
	// groups and parts cache the records by part and the parts newest
	// first; nil after a change.
	groups map[partKey][]apisessions.Record
	parts  []apisessions.Session
}

func newModel() *model { return &model{byID: map[string]apisessions.Record{}} }

// add applies a batch as Write must: it returns the stats Write must report.
func (m *model) add(recs []apisessions.Record) apisessions.WriteStats {
	var st apisessions.WriteStats
	parts := map[partKey]bool{}
	for _, r := range recs {
		if _, ok := m.byID[r.ID]; ok {
			st.Duplicates++
			continue
		}
		m.byID[r.ID] = r
		m.groups, m.parts = nil, nil
		st.Stored++
		parts[partKey{r.SessionID, r.Day}] = true
	}
	st.Sessions = len(parts)
	return st
}

// deleteDay drops the records of day.
func (m *model) deleteDay(day string) {
	for id, r := range m.byID {
		if r.Day == day {
			delete(m.byID, id)
			m.groups, m.parts = nil, nil
		}
	}
}

// records returns the records of one part (or every part of id when day is
// empty) in the order SessionRequests must return them.
func (m *model) records(id, day string) []apisessions.Record {
	m.group()
	if day != "" {
		return m.groups[partKey{id, day}]
	}
	var out []apisessions.Record
	for k, recs := range m.groups {
		if k.id == id {
			out = append(out, recs...)
		}
	}
	slices.SortFunc(out, recordOrder)
	return out
}

// group fills m.groups: the records of each part in time order.
func (m *model) group() {
	if m.groups != nil {
		return
	}
	m.groups = map[partKey][]apisessions.Record{}
	for _, r := range m.byID {
		k := partKey{r.SessionID, r.Day}
		m.groups[k] = append(m.groups[k], r)
	}
	for _, recs := range m.groups {
		slices.SortFunc(recs, recordOrder)
	}
}

// recordOrder is time order, then request ID.
func recordOrder(a, b apisessions.Record) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// sessions returns every part, newest first.
func (m *model) sessions() []apisessions.Session {
	if m.parts == nil {
		m.group()
		m.parts = make([]apisessions.Session, 0, len(m.groups))
		for _, recs := range m.groups {
			m.parts = append(m.parts, ExpectedSession(recs))
		}
		slices.SortFunc(m.parts, NewestFirst)
	}
	return slices.Clone(m.parts)
}

// NewestFirst is the listing order of SessionPage: last seen descending,
// then day descending, then ID descending.
func NewestFirst(a, b apisessions.Session) int {
	if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
		return c
	}
	if c := strings.Compare(b.Day, a.Day); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// ExpectedSession computes the session day part that the records (all of one
// session ID and day) must produce. It states the aggregation contract that
// the root package leaves open, which every store follows:
//
//   - AttackCount counts malicious requests (verdict attack); AttackTypes
//     counts, per type, the malicious requests with a finding of that type.
//   - Blocked is set when any request was blocked.
//   - Key, User and Role come from the earliest request (by time, then
//     request ID) that has a non-empty one.
//   - Users, Roles, Flows, Methods, AttackTypes, Endpoints and Statuses count
//     requests (a request counts once per value). Statuses are ordered by
//     status (0, no response, is kept); the others by count descending, then
//     by value ascending, and leave empty names out. This matches
//     apisessions.Summarize.
//   - ClientIPs, UserAgents and Hosts are distinct non-empty values in
//     ascending order; Applications distinct non-zero IDs ascending.
//   - Times are returned in UTC.
func ExpectedSession(recs []apisessions.Record) apisessions.Session {
	recs = slices.Clone(recs)
	slices.SortFunc(recs, recordOrder)
	s := apisessions.Session{ID: recs[0].SessionID, Day: recs[0].Day}
	users, roles, flows, methods, types := counter{}, counter{}, counter{}, counter{}, counter{}
	endpoints, statuses := counter{}, map[int]int{}
	ips, uas, hosts, apps := set[string]{}, set[string]{}, set[string]{}, set[int]{}
	for i, r := range recs {
		if i == 0 {
			s.FirstSeen = r.Time.UTC()
		}
		s.LastSeen = r.Time.UTC()
		s.RequestCount++
		if r.Malicious() {
			s.AttackCount++
			seen := set[string]{}
			for _, f := range r.Findings {
				if f.Type != "" && !seen[string(f.Type)] {
					seen[string(f.Type)] = true
					types[string(f.Type)]++
				}
			}
		}
		s.Blocked = s.Blocked || r.Blocked
		if s.Key == (apisessions.Key{}) {
			s.Key = r.Key
		}
		if s.User == "" {
			s.User = r.User
		}
		if s.Role == "" {
			s.Role = r.Role
		}
		users.add(r.User)
		roles.add(r.Role)
		seen := set[string]{}
		for _, f := range r.Flows {
			if f != "" && !seen[f] {
				seen[f] = true
				flows[f]++
			}
		}
		methods.add(r.Method)
		endpoints.add(r.Endpoint)
		statuses[r.Status]++
		ips.add(r.ClientIP)
		uas.add(r.UserAgent)
		hosts.add(r.Host)
		if r.Application != 0 {
			apps[r.Application] = true
		}
	}
	s.Users, s.Roles, s.Flows = users.list(), roles.list(), flows.list()
	s.Methods, s.AttackTypes = methods.list(), types.list()
	for _, nc := range endpoints.list() {
		s.Endpoints = append(s.Endpoints, apisessions.EndpointCount{Endpoint: nc.Name, Requests: nc.Requests})
	}
	for st, n := range statuses {
		s.Statuses = append(s.Statuses, apisessions.StatusCount{Status: st, Requests: n})
	}
	slices.SortFunc(s.Statuses, func(a, b apisessions.StatusCount) int {
		return cmp.Compare(a.Status, b.Status)
	})
	s.ClientIPs, s.UserAgents, s.Hosts = ips.sorted(), uas.sorted(), hosts.sorted()
	s.Applications = apps.sorted()
	return s
}

type counter map[string]int

func (c counter) add(v string) {
	if v != "" {
		c[v]++
	}
}

func (c counter) list() []apisessions.NameCount {
	var out []apisessions.NameCount
	for n, k := range c {
		out = append(out, apisessions.NameCount{Name: n, Requests: k})
	}
	slices.SortFunc(out, func(a, b apisessions.NameCount) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), strings.Compare(a.Name, b.Name))
	})
	return out
}

type set[T cmp.Ordered] map[T]bool

func (s set[T]) add(v T) {
	var zero T
	if v != zero {
		s[v] = true
	}
}

func (s set[T]) sorted() []T {
	var out []T
	for v := range s {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// filter applies f (without paging) to the model's parts, newest first.
func (m *model) filter(f apisessions.SessionFilter) []apisessions.Session {
	reqSession := ""
	if f.RequestID != "" {
		r, ok := m.byID[f.RequestID]
		if !ok {
			return nil
		}
		reqSession = r.SessionID
	}
	var out []apisessions.Session
	for _, s := range m.sessions() {
		if matches(s, m.records(s.ID, s.Day), f, reqSession) {
			out = append(out, s)
		}
	}
	return out
}

func matches(s apisessions.Session, recs []apisessions.Record, f apisessions.SessionFilter, reqSession string) bool {
	if !f.From.IsZero() || !f.To.IsZero() {
		in := false
		for _, r := range recs {
			if (f.From.IsZero() || !r.Time.Before(f.From)) && (f.To.IsZero() || !r.Time.After(f.To)) {
				in = true
			}
		}
		if !in {
			return false
		}
	}
	names := func(ncs []apisessions.NameCount, v string) bool {
		return slices.ContainsFunc(ncs, func(nc apisessions.NameCount) bool { return nc.Name == v })
	}
	switch {
	case f.SessionID != "" && s.ID != f.SessionID,
		!strings.HasPrefix(s.ID, f.SessionPrefix),
		f.RequestID != "" && s.ID != reqSession,
		f.User != "" && !names(s.Users, f.User),
		f.Role != "" && !names(s.Roles, f.Role),
		f.IP != "" && !slices.Contains(s.ClientIPs, f.IP),
		f.Host != "" && !slices.Contains(s.Hosts, f.Host),
		f.Flow != "" && !names(s.Flows, f.Flow),
		f.Application != 0 && !slices.Contains(s.Applications, f.Application),
		f.AttackType != "" && !names(s.AttackTypes, f.AttackType),
		f.Status != 0 && !slices.ContainsFunc(s.Statuses, func(sc apisessions.StatusCount) bool { return sc.Status == f.Status }),
		f.Method != "" && !names(s.Methods, f.Method),
		f.Attacks && s.AttackCount == 0,
		f.Blocked != nil && s.Blocked != *f.Blocked:
		return false
	}
	if f.Endpoint != "" && !slices.ContainsFunc(s.Endpoints, func(e apisessions.EndpointCount) bool {
		return strings.Contains(strings.ToLower(e.Endpoint), strings.ToLower(f.Endpoint))
	}) {
		return false
	}
	return true
}

// utc returns t in UTC, so that comparisons do not depend on the location a
// store returns.
func utc(t time.Time) time.Time { return t.UTC() }
