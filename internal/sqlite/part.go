package sqlite

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apisessions/apisessions"
)

// Kinds of the values a part collects. Kinds before kindUserAgent are also
// rows of part_vids, the side table that filters look parts up in; user
// agents are listed but not filtered on.
const (
	kindUser = iota
	kindRole
	kindIP
	kindHost
	kindFlow
	kindEndpoint
	kindApplication
	kindAttackType
	kindStatus
	kindMethod
	kindUserAgent
	numKinds
)

// earliest identifies the request a part's key, user or role came from, so
// that merging keeps the value of the earliest request (by time, then ID)
// whatever the order records arrive in.
type earliest struct {
	t  int64
	id string
}

func (e earliest) set() bool { return e.id != "" }

func (e earliest) before(o earliest) bool {
	return !o.set() || e.t < o.t || (e.t == o.t && e.id < o.id)
}

// part is a session day part as the write path merges it: the stored
// aggregate plus the records of a batch.
type part struct {
	pid          int64 // 0 until numbered
	session, day string
	first, last  int64 // Unix nanoseconds
	requests     int
	attacks      int
	blocked      bool
	key          apisessions.Key
	keyFrom      earliest
	user, role   string
	userFrom     earliest
	roleFrom     earliest
	// values counts the requests that carried each value: a slice rather
	// than maps, so that a cached part costs a third of the memory and
	// little work for the GC. New values are appended; unsorted says they
	// may no longer be ordered by kind, as kindValues wants them.
	values   []partValue
	unsorted bool
	// index locates the values of a part that has more than indexFrom of
	// them (a session of thousands of distinct endpoints or user agents),
	// where a scan of values per request would make merging quadratic.
	index map[kindValue]int
	// unsaved counts the filter values the part gained since it was last
	// stored (values not marked saved): the part_vids rows to insert.
	unsaved int
	// refs lists the requests the part gained since it was last stored:
	// the part_requests rows to insert (reqlist.go).
	refs []reqRef
	// tenant, upto, pending, dirty, stamp and bytes serve the write-behind
	// cache (behind.go): the part's tenant ID; as replay loads it, the last
	// request rowid its stored row holds (every write of a part records
	// it); whether its row waits for a flush (in
	// parts_pending); whether it changed since it was stored; the write
	// batch that last touched it; and an estimate of the memory it holds.
	tenant  int64
	upto    int64
	pending bool
	dirty   bool
	stamp   uint64
	bytes   int
}

// partValue is one value of a part and the number of its requests that
// carried it; saved says it has its part_vids row (or needs none).
type partValue struct {
	value string
	n     int
	kind  int
	saved bool
}

// kindValue is the key of a value in a part's index.
type kindValue struct {
	kind  int
	value string
}

// Estimates of the memory a part holds: its fields, each value it counts
// (the string and its slot in values), past indexFrom values each value's
// index entry, and each request it lists until it is stored.
const (
	partBytes  = 320
	valueBytes = 64
	indexBytes = 64
	refBytes   = 16
)

// indexFrom is the number of values above which a part indexes them.
const indexFrom = 64

func newPart(session, day string) *part {
	return &part{session: session, day: day, bytes: partBytes + len(session) + len(day)}
}

// kindValues returns the values of kind.
func (p *part) kindValues(kind int) []partValue {
	p.sortValues()
	lo := 0
	for lo < len(p.values) && p.values[lo].kind < kind {
		lo++
	}
	hi := lo
	for hi < len(p.values) && p.values[hi].kind == kind {
		hi++
	}
	return p.values[lo:hi]
}

// sortValues orders the values by kind, and the index after them.
func (p *part) sortValues() {
	if !p.unsorted {
		return
	}
	slices.SortStableFunc(p.values, func(a, b partValue) int { return cmp.Compare(a.kind, b.kind) })
	p.unsorted = false
	if p.index != nil {
		for i, pv := range p.values {
			p.index[kindValue{pv.kind, pv.value}] = i
		}
	}
}

// count adds a request that carried v.
func (p *part) count(kind int, v string) {
	if v == "" {
		return
	}
	if p.index == nil && len(p.values) > indexFrom {
		p.index = make(map[kindValue]int, 2*len(p.values))
		for i, pv := range p.values {
			p.index[kindValue{pv.kind, pv.value}] = i
		}
		p.bytes += len(p.values) * indexBytes
	}
	if p.index != nil {
		if i, ok := p.index[kindValue{kind, v}]; ok {
			p.values[i].n++
			return
		}
	} else {
		for i := range p.values {
			if pv := &p.values[i]; pv.kind == kind && pv.value == v {
				pv.n++
				return
			}
		}
	}
	// A new value is copied: it may share the memory of a larger string of
	// the record, which the cached part would keep alive.
	v = strings.Clone(v)
	saved := kind >= kindUserAgent
	if n := len(p.values); n > 0 && p.values[n-1].kind > kind {
		p.unsorted = true
	}
	p.values = append(p.values, partValue{value: v, n: 1, kind: kind, saved: saved})
	p.bytes += len(v) + valueBytes
	if p.index != nil {
		p.index[kindValue{kind, v}] = len(p.values) - 1
		p.bytes += indexBytes
	}
	if !saved {
		p.unsaved++
	}
}

// addAllValues marks every filter value of the part unsaved, so the next
// flush inserts (or finds) all its part_vids rows.
func (p *part) addAllValues() {
	p.unsaved = 0
	for i := range p.values {
		if pv := &p.values[i]; pv.kind < kindUserAgent {
			pv.saved = false
			p.unsaved++
		}
	}
}

// markSaved records that the part's values have their part_vids rows and
// its requests their part_requests rows. It returns the bytes the part no
// longer holds.
func (p *part) markSaved() int {
	freed := len(p.refs) * refBytes
	p.bytes -= freed
	p.refs = nil
	if p.unsaved == 0 {
		return freed
	}
	for i := range p.values {
		p.values[i].saved = true
	}
	p.unsaved = 0
	return freed
}

// addStored merges a record that is stored at rowid rid, and lists it.
func (p *part) addStored(rid int64, r *apisessions.Record) {
	p.refs = append(p.refs, reqRef{rid, r.Time.UnixNano()})
	p.bytes += refBytes
	p.add(r)
}

// add merges one new record into the part.
func (p *part) add(r *apisessions.Record) {
	t := r.Time.UnixNano()
	if p.requests == 0 || t < p.first {
		p.first = t
	}
	if p.requests == 0 || t > p.last {
		p.last = t
	}
	p.requests++
	from := earliest{t, r.ID}
	if r.Key != (apisessions.Key{}) && from.before(p.keyFrom) {
		p.key, p.keyFrom = r.Key, from
	}
	if r.User != "" && from.before(p.userFrom) {
		p.user, p.userFrom = r.User, from
	}
	if r.Role != "" && from.before(p.roleFrom) {
		p.role, p.roleFrom = r.Role, from
	}
	p.blocked = p.blocked || r.Blocked
	p.count(kindUser, r.User)
	p.count(kindRole, r.Role)
	p.count(kindIP, r.ClientIP)
	p.count(kindHost, r.Host)
	p.count(kindEndpoint, r.Endpoint)
	p.count(kindMethod, r.Method)
	p.count(kindUserAgent, r.UserAgent)
	p.count(kindStatus, strconv.Itoa(r.Status))
	if r.Application != 0 {
		p.count(kindApplication, strconv.Itoa(r.Application))
	}
	for i, f := range r.Flows {
		// A request counts once per flow however often it lists it.
		if !slices.Contains(r.Flows[:i], f) {
			p.count(kindFlow, f)
		}
	}
	if r.Malicious() {
		p.attacks++
		for i, f := range r.Findings {
			if !slices.ContainsFunc(r.Findings[:i], func(g apisessions.Finding) bool { return g.Type == f.Type }) {
				p.count(kindAttackType, string(f.Type))
			}
		}
	}
}

// appendAggregate encodes what the part's columns do not hold.
func (p *part) appendAggregate(b []byte) []byte {
	e := encoder{b: append(b, partV1)}
	e.str(p.key.Point)
	e.str(p.key.Value)
	e.varint(p.keyFrom.t)
	e.str(p.keyFrom.id)
	e.str(p.user)
	e.varint(p.userFrom.t)
	e.str(p.userFrom.id)
	e.str(p.role)
	e.varint(p.roleFrom.t)
	e.str(p.roleFrom.id)
	for k := range numKinds {
		vs := p.kindValues(k)
		e.uvarint(uint64(len(vs)))
		for _, pv := range vs {
			e.str(pv.value)
			e.uvarint(uint64(pv.n))
		}
	}
	return e.b
}

// decodeAggregate decodes a blob of appendAggregate into p, made by newPart.
func (p *part) decodeAggregate(b []byte) error {
	if len(b) < 1 || b[0] != partV1 {
		return errCorrupt
	}
	d := decoder{b: b[1:]}
	p.key.Point, p.key.Value = d.str(), d.str()
	p.keyFrom.t, p.keyFrom.id = d.varint(), d.str()
	p.user = d.str()
	p.userFrom.t, p.userFrom.id = d.varint(), d.str()
	p.role = d.str()
	p.roleFrom.t, p.roleFrom.id = d.varint(), d.str()
	for k := range numKinds {
		n := d.count()
		for range n {
			v := d.str()
			c := d.uvarint()
			if c > 1<<40 {
				d.fail()
			}
			p.values = append(p.values, partValue{value: v, n: int(c), kind: k, saved: true})
			p.bytes += len(v) + valueBytes
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

// session renders the part as the root package's Session, in the orders the
// conformance suite fixes (storetest.ExpectedSession).
func (p *part) toSession() apisessions.Session {
	s := apisessions.Session{
		ID: p.session, Day: p.day,
		FirstSeen: time.Unix(0, p.first).UTC(), LastSeen: time.Unix(0, p.last).UTC(),
		RequestCount: p.requests, AttackCount: p.attacks, Blocked: p.blocked,
		Key: p.key, User: p.user, Role: p.role,
		Users:       nameCounts(p.kindValues(kindUser)),
		Roles:       nameCounts(p.kindValues(kindRole)),
		ClientIPs:   sortedValues(p.kindValues(kindIP)),
		UserAgents:  sortedValues(p.kindValues(kindUserAgent)),
		Hosts:       sortedValues(p.kindValues(kindHost)),
		Flows:       nameCounts(p.kindValues(kindFlow)),
		Methods:     nameCounts(p.kindValues(kindMethod)),
		AttackTypes: nameCounts(p.kindValues(kindAttackType)),
	}
	for _, nc := range nameCounts(p.kindValues(kindEndpoint)) {
		s.Endpoints = append(s.Endpoints, apisessions.EndpointCount{Endpoint: nc.Name, Requests: nc.Requests})
	}
	for _, pv := range p.kindValues(kindStatus) {
		if st, err := strconv.Atoi(pv.value); err == nil {
			s.Statuses = append(s.Statuses, apisessions.StatusCount{Status: st, Requests: pv.n})
		}
	}
	slices.SortFunc(s.Statuses, func(a, b apisessions.StatusCount) int { return cmp.Compare(a.Status, b.Status) })
	for _, pv := range p.kindValues(kindApplication) {
		if a, err := strconv.Atoi(pv.value); err == nil {
			s.Applications = append(s.Applications, a)
		}
	}
	slices.Sort(s.Applications)
	return s
}

func nameCounts(vs []partValue) []apisessions.NameCount {
	out := make([]apisessions.NameCount, 0, len(vs))
	for _, pv := range vs {
		out = append(out, apisessions.NameCount{Name: pv.value, Requests: pv.n})
	}
	slices.SortFunc(out, func(a, b apisessions.NameCount) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), strings.Compare(a.Name, b.Name))
	})
	return out
}

func sortedValues(vs []partValue) []string {
	out := make([]string, 0, len(vs))
	for _, pv := range vs {
		out = append(out, pv.value)
	}
	slices.Sort(out)
	return out
}
