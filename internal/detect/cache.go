package detect

import (
	"hash/maphash"
	"sync/atomic"
)

// verdictCache remembers whether a rule's first-link operator matched a
// value (after the rule's transformations): API traffic repeats enum
// values, sort keys, cookies and tokens. It is direct-mapped and lock-free:
// a slot holds the last entry hashed to it, so the cache is bounded by its
// slot count and a collision only costs a recomputation.
type verdictCache struct {
	seed  maphash.Seed
	slots []atomic.Pointer[cacheEntry]
	mask  uint64
}

type cacheEntry struct {
	rule  int32
	match bool
	value string
}

// maxCachedValue bounds the values cached: long values rarely repeat and
// would make the cache's memory depend on request sizes.
const maxCachedValue = 256

// minCachedValue is the shortest value the screen caches verdicts for.
const minCachedValue = 32

// newVerdictCache returns a cache of about entries slots (a power of two);
// nil when entries < 1.
func newVerdictCache(entries int) *verdictCache {
	if entries < 1 {
		return nil
	}
	n := 1
	for n < entries {
		n <<= 1
	}
	return &verdictCache{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[cacheEntry], n), mask: uint64(n - 1)}
}

// match returns the cached verdict of rule on value, computing it with f
// on a miss.
func (c *verdictCache) match(rule int32, value string, f func(string) bool) bool {
	return c.matchHashed(rule, value, c.hash(value), f)
}

// hash is the hash of value matchHashed takes (0 for a value the cache
// does not hold).
func (c *verdictCache) hash(value string) uint64 {
	if c == nil || len(value) > maxCachedValue {
		return 0
	}
	return maphash.String(c.seed, value)
}

// matchHashed is match with the value's hash computed once by the caller,
// who checks a value against many rules.
func (c *verdictCache) matchHashed(rule int32, value string, h uint64, f func(string) bool) bool {
	if c == nil || len(value) > maxCachedValue {
		return f(value)
	}
	slot := &c.slots[(h^uint64(rule)*0x9E3779B97F4A7C15)&c.mask]
	if e := slot.Load(); e != nil && e.rule == rule && e.value == value {
		return e.match
	}
	m := f(value)
	// The entry must not alias a buffer the caller reuses.
	slot.Store(&cacheEntry{rule: rule, match: m, value: string([]byte(value))})
	return m
}
