package postgres

import (
	"maps"
	"sync"
)

// partCache keeps the parts this store wrote last, with the revision it
// wrote, so that the next write of a part reads only its revision under the
// lock, not its document (most batches add to active sessions). A part
// another writer changed since has another revision and is read in full,
// so the cache never decides what is stored. Entries are never changed in
// place: a writer merges into a clone.
type partCache struct {
	mu  sync.Mutex
	max int
	m   map[tkey]cachedPart
}

type cachedPart struct {
	rev int64
	p   *part
}

func newPartCache(max int) *partCache {
	return &partCache{max: max, m: map[tkey]cachedPart{}}
}

// get returns the cached part of k if it is at revision rev. The part
// is shared: the caller clones it before changing it.
func (c *partCache) get(k tkey, rev int64) *part {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok && e.rev == rev {
		return e.p
	}
	return nil
}

// put records parts written at rev. Past max entries, it drops entries at
// random (map order) down to three quarters, so that memory stays bounded
// and active parts are soon back.
func (c *partCache) put(rev int64, parts map[tkey]*part) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, p := range parts {
		c.m[k] = cachedPart{rev: rev, p: p}
	}
	if len(c.m) > c.max {
		n := len(c.m) - c.max*3/4
		for k := range c.m {
			if n == 0 {
				break
			}
			delete(c.m, k)
			n--
		}
	}
}

// forget drops the keys, after a write that may or may not have stored
// them.
func (c *partCache) forget(keys []tkey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.m, k)
	}
}

// forgetDay drops the parts of day.
func (c *partCache) forgetDay(day string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	maps.DeleteFunc(c.m, func(k tkey, _ cachedPart) bool { return k.Day == day })
}

// clone returns a deep copy of p.
func (p *part) clone() *part {
	q := *p
	q.Key, q.User, q.Role = cloneEarliest(p.Key), cloneEarliest(p.User), cloneEarliest(p.Role)
	q.Users, q.Roles, q.Flows = maps.Clone(p.Users), maps.Clone(p.Roles), maps.Clone(p.Flows)
	q.Endpoints, q.Statuses, q.Methods = maps.Clone(p.Endpoints), maps.Clone(p.Statuses), maps.Clone(p.Methods)
	q.AttackTypes = maps.Clone(p.AttackTypes)
	q.ClientIPs, q.UserAgents, q.Hosts = maps.Clone(p.ClientIPs), maps.Clone(p.UserAgents), maps.Clone(p.Hosts)
	q.Applications = maps.Clone(p.Applications)
	return &q
}

func cloneEarliest(e *earliest) *earliest {
	if e == nil {
		return nil
	}
	c := *e
	return &c
}
