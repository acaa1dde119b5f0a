package detect

import (
	"hash/maphash"
	"sync"
)

// verdictCache remembers whether a rule's first-link operator matched a
// value (after the rule's transformations): API traffic repeats enum
// values, sort keys, cookies and tokens. It is bounded: a full shard is
// emptied, which only costs a recomputation.
type verdictCache struct {
	seed   maphash.Seed
	shards [16]cacheShard
	// perShard is the most entries a shard holds.
	perShard int
}

type cacheShard struct {
	mu sync.Mutex
	m  map[cacheKey]bool
}

type cacheKey struct {
	rule  int32
	value string
}

// maxCachedValue bounds the values cached: long values rarely repeat and
// would make the cache's memory depend on request sizes.
const maxCachedValue = 256

func newVerdictCache(entries int) *verdictCache {
	c := &verdictCache{seed: maphash.MakeSeed(), perShard: max(entries/16, 1)}
	for i := range c.shards {
		c.shards[i].m = map[cacheKey]bool{}
	}
	return c
}

func (c *verdictCache) shard(k cacheKey) *cacheShard {
	return &c.shards[maphash.String(c.seed, k.value)%uint64(len(c.shards))]
}

// match returns the cached verdict of rule on value, computing it with f
// on a miss.
func (c *verdictCache) match(rule int32, value string, f func(string) bool) bool {
	if c == nil || len(value) > maxCachedValue {
		return f(value)
	}
	k := cacheKey{rule, value}
	sh := c.shard(k)
	sh.mu.Lock()
	v, ok := sh.m[k]
	sh.mu.Unlock()
	if ok {
		return v
	}
	v = f(value)
	sh.mu.Lock()
	if len(sh.m) >= c.perShard {
		clear(sh.m)
	}
	// The key must not alias a buffer the caller reuses.
	sh.m[cacheKey{rule, string([]byte(value))}] = v
	sh.mu.Unlock()
	return v
}
