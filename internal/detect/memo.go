package detect

import (
	"hash/maphash"
	"sync/atomic"
)

// valueMemo remembers, for a value and the collections it was seen in,
// which screened rules' first links match it: what the screen decides for
// one value depends on nothing else but the places it was seen, which the
// rules' targets check on each use. API traffic repeats most of its values
// from request to request (JSON keys, enum values, header values, tokens),
// and a remembered value costs the screen no scan, no transformation and
// no operator. It is direct-mapped and lock-free: a slot holds the last
// entry hashed to it, so the memo is bounded by its slot count and a
// collision only costs a recomputation.
type valueMemo struct {
	seed  maphash.Seed
	slots []atomic.Pointer[memoEntry]
	mask  uint64
	// want is what the memo decides: an entry lists the rules of want
	// that match, so it answers for any narrower selection.
	want []bool
}

type memoEntry struct {
	value string
	vars  uint64  // the collections (screen.varBit) the value was seen in
	hits  []int32 // the rules of want whose first link matches the value
}

// maxMemoValue bounds the values the memo holds, and with its slot count
// its memory.
const maxMemoValue = 512

// newValueMemo returns a memo of about entries slots deciding the rules of
// want; nil when entries < 1.
func newValueMemo(entries int, want []bool) *valueMemo {
	if entries < 1 {
		return nil
	}
	n := 1
	for n < entries {
		n <<= 1
	}
	return &valueMemo{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[memoEntry], n), mask: uint64(n - 1), want: want}
}

// holds reports whether the memo takes value.
func (m *valueMemo) holds(value string) bool {
	return m != nil && len(value) <= maxMemoValue
}

// slot returns the slot of value seen in vars.
func (m *valueMemo) slot(value string, vars uint64) *atomic.Pointer[memoEntry] {
	return &m.slots[(maphash.String(m.seed, value)^vars*0x9E3779B97F4A7C15)&m.mask]
}

// lookup returns the rules of want that match value seen in vars, if the
// memo holds them.
func (m *valueMemo) lookup(value string, vars uint64) ([]int32, bool) {
	if e := m.slot(value, vars).Load(); e != nil && e.vars == vars && e.value == value {
		return e.hits, true
	}
	return nil, false
}

// store records the rules of want that match value seen in vars.
func (m *valueMemo) store(value string, vars uint64, hits []int32) {
	// The entry must not alias a buffer the caller reuses.
	m.slot(value, vars).Store(&memoEntry{value: string([]byte(value)), vars: vars, hits: hits})
}
