package postgres

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apisessions/apisessions"
)

// part is the merged state of one session day part, kept as JSON in
// sessions.doc. Merging two parts is commutative and associative, so the
// stored result does not depend on the order or split of the batches.
type part struct {
	Day      string `json:"-"`
	ID       string `json:"-"`
	First    int64  `json:"first"` // Unix nanoseconds
	Last     int64  `json:"last"`
	Requests int    `json:"requests"`
	Attacks  int    `json:"attacks"`
	Blocked  bool   `json:"blocked,omitempty"`

	// Key, User and Role come from the earliest request that has them;
	// ties in time go to the smaller request ID so that the choice does
	// not depend on arrival order.
	Key  *earliest `json:"key,omitempty"`
	User *earliest `json:"user,omitempty"`
	Role *earliest `json:"role,omitempty"`

	Users       map[string]int `json:"users,omitempty"`
	Roles       map[string]int `json:"roles,omitempty"`
	Flows       map[string]int `json:"flows,omitempty"`
	Endpoints   map[string]int `json:"endpoints,omitempty"`
	Statuses    map[int]int    `json:"statuses,omitempty"`
	Methods     map[string]int `json:"methods,omitempty"`
	AttackTypes map[string]int `json:"attack_types,omitempty"`

	ClientIPs    map[string]bool `json:"client_ips,omitempty"`
	UserAgents   map[string]bool `json:"user_agents,omitempty"`
	Hosts        map[string]bool `json:"hosts,omitempty"`
	Applications map[int]bool    `json:"applications,omitempty"`
}

// earliest is a value with the time and ID of the request that carried it.
type earliest struct {
	Point string `json:"point,omitempty"` // the key's point; empty for user and role
	Value string `json:"value"`
	At    int64  `json:"at"`
	RID   string `json:"rid"`
}

func (e *earliest) before(o *earliest) bool {
	if o == nil {
		return true
	}
	if e.At != o.At {
		return e.At < o.At
	}
	return e.RID < o.RID
}

func pickEarliest(a, b *earliest) *earliest {
	if a == nil {
		return b
	}
	if b == nil || a.before(b) {
		return a
	}
	return b
}

// partKey identifies a part within a tenant.
type partKey struct{ Day, ID string }

// newPart returns the part made of one request.
func newPart(r *apisessions.Record) *part {
	p := &part{Day: r.Day, ID: r.SessionID}
	p.add(r)
	return p
}

// add adds one request into p: the same as merging newPart(r), without
// building that part's maps (a batch adds thousands of requests into a few
// hundred parts).
func (p *part) add(r *apisessions.Record) {
	at := r.Time.UnixNano()
	if p.Requests == 0 {
		p.First, p.Last = at, at
	} else {
		p.First = min(p.First, at)
		p.Last = max(p.Last, at)
	}
	p.Requests++
	malicious := r.Malicious()
	if malicious {
		p.Attacks++
	}
	p.Blocked = p.Blocked || r.Blocked
	if r.Key.Value != "" || r.Key.Point != "" {
		p.Key = pickNew(p.Key, earliest{Point: r.Key.Point, Value: r.Key.Value, At: at, RID: r.ID})
	}
	if r.User != "" {
		p.User = pickNew(p.User, earliest{Value: r.User, At: at, RID: r.ID})
		p.Users = addOne(p.Users, r.User)
	}
	if r.Role != "" {
		p.Role = pickNew(p.Role, earliest{Value: r.Role, At: at, RID: r.ID})
		p.Roles = addOne(p.Roles, r.Role)
	}
	for i, f := range r.Flows {
		// A request counts once per flow even if a flow is listed twice.
		if f != "" && !slices.Contains(r.Flows[:i], f) {
			p.Flows = addOne(p.Flows, f)
		}
	}
	if r.Endpoint != "" {
		p.Endpoints = addOne(p.Endpoints, r.Endpoint)
	}
	p.Statuses = addOne(p.Statuses, r.Status)
	if r.Method != "" {
		p.Methods = addOne(p.Methods, r.Method)
	}
	// Attack types count malicious requests only: findings of a
	// suspicious request are not attacks. A type counts once per request.
	if malicious {
		for i, f := range r.Findings {
			if f.Type != "" && !slices.ContainsFunc(r.Findings[:i], func(g apisessions.Finding) bool { return g.Type == f.Type }) {
				p.AttackTypes = addOne(p.AttackTypes, string(f.Type))
			}
		}
	}
	if r.ClientIP != "" {
		p.ClientIPs = addMember(p.ClientIPs, r.ClientIP)
	}
	if r.UserAgent != "" {
		p.UserAgents = addMember(p.UserAgents, r.UserAgent)
	}
	if r.Host != "" {
		p.Hosts = addMember(p.Hosts, r.Host)
	}
	if r.Application != 0 {
		p.Applications = addMember(p.Applications, r.Application)
	}
}

// pickNew returns the earlier of cur and e, allocating only when e wins.
func pickNew(cur *earliest, e earliest) *earliest {
	if cur != nil && cur.before(&e) {
		return cur
	}
	return &e
}

func addOne[K comparable](m map[K]int, k K) map[K]int {
	if m == nil {
		m = make(map[K]int, 1)
	}
	m[k]++
	return m
}

func addMember[K comparable](m map[K]bool, k K) map[K]bool {
	if m == nil {
		m = make(map[K]bool, 1)
	}
	m[k] = true
	return m
}

// merge adds o into p.
func (p *part) merge(o *part) {
	if p.Requests == 0 {
		p.First, p.Last = o.First, o.Last
	} else if o.Requests != 0 {
		p.First = min(p.First, o.First)
		p.Last = max(p.Last, o.Last)
	}
	p.Requests += o.Requests
	p.Attacks += o.Attacks
	p.Blocked = p.Blocked || o.Blocked
	p.Key = pickEarliest(p.Key, o.Key)
	p.User = pickEarliest(p.User, o.User)
	p.Role = pickEarliest(p.Role, o.Role)
	p.Users = addCounts(p.Users, o.Users)
	p.Roles = addCounts(p.Roles, o.Roles)
	p.Flows = addCounts(p.Flows, o.Flows)
	p.Endpoints = addCounts(p.Endpoints, o.Endpoints)
	p.Statuses = addCounts(p.Statuses, o.Statuses)
	p.Methods = addCounts(p.Methods, o.Methods)
	p.AttackTypes = addCounts(p.AttackTypes, o.AttackTypes)
	p.ClientIPs = addSet(p.ClientIPs, o.ClientIPs)
	p.UserAgents = addSet(p.UserAgents, o.UserAgents)
	p.Hosts = addSet(p.Hosts, o.Hosts)
	p.Applications = addSet(p.Applications, o.Applications)
}

func addCounts[K comparable](dst, src map[K]int) map[K]int {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[K]int, len(src))
	}
	for k, n := range src {
		dst[k] += n
	}
	return dst
}

func addSet[K comparable](dst, src map[K]bool) map[K]bool {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[K]bool, len(src))
	}
	for k := range src {
		dst[k] = true
	}
	return dst
}

// session renders the part as the domain type. Lists are in a fixed order
// (counts descending then name; sets and statuses ascending) so that equal
// parts render equally. Empty lists are empty, not nil.
func (p *part) session() apisessions.Session {
	s := apisessions.Session{
		ID:           p.ID,
		Day:          p.Day,
		FirstSeen:    time.Unix(0, p.First).UTC(),
		LastSeen:     time.Unix(0, p.Last).UTC(),
		RequestCount: p.Requests,
		AttackCount:  p.Attacks,
		Blocked:      p.Blocked,
		Users:        nameCounts(p.Users),
		Roles:        nameCounts(p.Roles),
		ClientIPs:    sortedSet(p.ClientIPs),
		UserAgents:   sortedSet(p.UserAgents),
		Hosts:        sortedSet(p.Hosts),
		Applications: sortedSet(p.Applications),
		Flows:        nameCounts(p.Flows),
		Methods:      nameCounts(p.Methods),
		AttackTypes:  nameCounts(p.AttackTypes),
		Endpoints:    []apisessions.EndpointCount{},
		Statuses:     []apisessions.StatusCount{},
	}
	if p.Key != nil {
		s.Key = apisessions.Key{Point: p.Key.Point, Value: p.Key.Value}
	}
	if p.User != nil {
		s.User = p.User.Value
	}
	if p.Role != nil {
		s.Role = p.Role.Value
	}
	for _, nc := range nameCounts(p.Endpoints) {
		s.Endpoints = append(s.Endpoints, apisessions.EndpointCount{Endpoint: nc.Name, Requests: nc.Requests})
	}
	for st, n := range p.Statuses {
		s.Statuses = append(s.Statuses, apisessions.StatusCount{Status: st, Requests: n})
	}
	slices.SortFunc(s.Statuses, func(a, b apisessions.StatusCount) int { return cmp.Compare(a.Status, b.Status) })
	return s
}

func nameCounts(m map[string]int) []apisessions.NameCount {
	out := make([]apisessions.NameCount, 0, len(m))
	for k, n := range m {
		out = append(out, apisessions.NameCount{Name: k, Requests: n})
	}
	slices.SortFunc(out, func(a, b apisessions.NameCount) int {
		if c := cmp.Compare(b.Requests, a.Requests); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

func sortedSet[K cmp.Ordered](m map[K]bool) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Tag kinds: the prefixes of sessions.tags elements.
const (
	tagUser        = "u"
	tagRole        = "r"
	tagIP          = "ip"
	tagHost        = "h"
	tagFlow        = "f"
	tagStatus      = "s"
	tagMethod      = "m"
	tagAttackType  = "a"
	tagApplication = "app"
)

// maxTagValue bounds a value kept verbatim in a tag; a GIN entry must fit in
// about a third of a page, and long values are rare in filters.
const maxTagValue = 200

// tag returns the tags element for a filterable value. Values that are too
// long, or that PostgreSQL text cannot hold (NUL, invalid UTF-8), become a
// hash under a different separator, so they still match exactly and never
// collide with a verbatim value.
func tag(kind, value string) string {
	if len(value) <= maxTagValue && pgSafe(value) {
		return kind + ":" + value
	}
	sum := sha256.Sum256([]byte(value))
	return kind + "#" + hex.EncodeToString(sum[:])
}

// pgSafe reports whether PostgreSQL text can hold s unchanged.
func pgSafe(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// pgText makes s storable as text, replacing what text cannot hold. Only
// for columns that serve search, never for values read back.
func pgText(s string) string {
	if pgSafe(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// tags returns the sessions.tags of the part, sorted.
func (p *part) tags() []string {
	var t []string
	for k := range p.Users {
		t = append(t, tag(tagUser, k))
	}
	for k := range p.Roles {
		t = append(t, tag(tagRole, k))
	}
	for k := range p.ClientIPs {
		t = append(t, tag(tagIP, k))
	}
	for k := range p.Hosts {
		t = append(t, tag(tagHost, k))
	}
	for k := range p.Flows {
		t = append(t, tag(tagFlow, k))
	}
	for k := range p.Statuses {
		t = append(t, tag(tagStatus, strconv.Itoa(k)))
	}
	for k := range p.Methods {
		t = append(t, tag(tagMethod, k))
	}
	for k := range p.AttackTypes {
		t = append(t, tag(tagAttackType, k))
	}
	for k := range p.Applications {
		t = append(t, tag(tagApplication, strconv.Itoa(k)))
	}
	slices.Sort(t)
	if t == nil {
		t = []string{}
	}
	return t
}

// endpointsText returns the part's endpoints lower-cased for the
// case-insensitive substring filter, sorted.
func (p *part) endpointsText() []string {
	out := make([]string, 0, len(p.Endpoints))
	for k := range p.Endpoints {
		out = append(out, strings.ToLower(pgText(k)))
	}
	slices.Sort(out)
	return out
}

// newTags returns the tags of d that p lacks: what merging d into p adds.
func (p *part) newTags(d *part) []string {
	var t []string
	t = appendNew(t, tagUser, p.Users, d.Users, identity)
	t = appendNew(t, tagRole, p.Roles, d.Roles, identity)
	t = appendNew(t, tagIP, p.ClientIPs, d.ClientIPs, identity)
	t = appendNew(t, tagHost, p.Hosts, d.Hosts, identity)
	t = appendNew(t, tagFlow, p.Flows, d.Flows, identity)
	t = appendNew(t, tagStatus, p.Statuses, d.Statuses, strconv.Itoa)
	t = appendNew(t, tagMethod, p.Methods, d.Methods, identity)
	t = appendNew(t, tagAttackType, p.AttackTypes, d.AttackTypes, identity)
	t = appendNew(t, tagApplication, p.Applications, d.Applications, strconv.Itoa)
	slices.Sort(t)
	return t
}

func identity(s string) string { return s }

// appendNew appends the tags of the keys of d that have is missing.
func appendNew[K comparable, V any](t []string, kind string, have, d map[K]V, text func(K) string) []string {
	for k := range d {
		if _, ok := have[k]; !ok {
			t = append(t, tag(kind, text(k)))
		}
	}
	return t
}
