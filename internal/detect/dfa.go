package detect

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"sync"
	"sync/atomic"
	"unicode"
	"unsafe"
)

// lazyDFA answers "does the pattern match anywhere in s" for ASCII input
// with a DFA built on demand from the program Go's regexp compiles (the
// technique of RE2's DFA): a state is the set of instructions threads wait
// on plus the class of the previous byte, which is all the zero-width
// assertions (^ $ \A \z \b \B) need besides the next byte. Each state and
// transition is computed once and shared by all goroutines; a matched value
// costs one table lookup per byte instead of running Go's NFA over CRS's
// large patterns. Anything else (non-ASCII input, a full state cache) goes
// to the regexp itself, so the answer is always regexp.MatchString's.
type lazyDFA struct {
	re   *regexp.Regexp
	prog *syntax.Prog
	mu   sync.Mutex // guards states and the creation of transitions
	// start is read without d.mu: a reset replaces it while other
	// goroutines match.
	start atomic.Pointer[dfaState]
	// class maps an ASCII byte to its byte class.
	class  [0x80]uint8
	nclass int
	// states interns states by their key.
	states map[string]*dfaState
	// bytes estimates the memory the states take (stateBytes).
	bytes int
	// resets counts how often the state cache was emptied.
	resets atomic.Int64
	// seen and gen are closure's set of instructions visited (seen[pc]
	// == gen marks pc in the current closure), stack its work list, kept
	// between calls. Guarded by mu.
	seen  []uint32
	gen   uint32
	stack []uint32
}

// maxDFAStates and maxDFABytes bound the states one pattern keeps (a state
// is 8 bytes a byte class, 10 to 60 classes for CRS patterns, plus its
// instruction list, kept twice: in the state and in its key); past either
// the cache starts over. The byte bound keeps all CRS patterns together
// under about 150 MiB whatever values attackers send.
const (
	maxDFAStates = 1000
	maxDFABytes  = 512 << 10
)

// stateBytes estimates the memory of a state with n instructions.
func (d *lazyDFA) stateBytes(n int) int { return 96 + 8*d.nclass + 8*n + 64 }

// Previous-byte classes: what the assertions before the next byte depend on.
const (
	ctxText = iota // at the beginning of the text
	ctxNewline
	ctxWord
	ctxOther
)

// ctxRune is a representative rune of each class, for EmptyOpContext.
var ctxRune = [4]rune{-1, '\n', 'a', ' '}

type dfaState struct {
	pcs []uint32 // instructions waiting to consume the next byte, sorted
	ctx uint8
	// next holds the state after a byte of each class; matchState when
	// the pattern has matched by then.
	next []atomic.Pointer[dfaState]
	// endMatch is 1 when the pattern matches at the end of the text from
	// this state, 2 when it does not, 0 while unknown.
	endMatch atomic.Uint32
}

// matchState marks a transition on which the pattern has matched.
var matchState = &dfaState{}

func newLazyDFA(re *regexp.Regexp) *lazyDFA {
	parsed, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return nil
	}
	d := &lazyDFA{re: re, prog: prog}
	d.classes()
	d.reset()
	return d
}

// classes splits ASCII into the byte classes no instruction or assertion
// tells apart, so that a state keeps one transition per class.
func (d *lazyDFA) classes() {
	var cut [129]bool
	mark := func(lo, hi rune) { // the range lo..hi inclusive
		if lo < 0x80 {
			cut[lo] = true
		}
		if hi+1 < 0x80 {
			cut[hi+1] = true
		}
	}
	for _, r := range []rune{'\n', '0', '9', 'A', 'Z', '_', 'a', 'z'} {
		mark(r, r)
	}
	mark('0', '9')
	mark('A', 'Z')
	mark('a', 'z')
	for i := range d.prog.Inst {
		in := &d.prog.Inst[i]
		switch in.Op {
		case syntax.InstRune, syntax.InstRune1:
			for j := 0; j < len(in.Rune); j += 2 {
				lo, hi := in.Rune[j], in.Rune[j]
				if j+1 < len(in.Rune) {
					hi = in.Rune[j+1]
				}
				mark(lo, hi)
				if syntax.Flags(in.Arg)&syntax.FoldCase != 0 {
					for r := lo; r <= hi && r < 0x80; r++ {
						for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
							mark(f, f)
						}
					}
				}
			}
		}
	}
	n := -1
	for c := 0; c < 0x80; c++ {
		if c == 0 || cut[c] {
			n++
		}
		d.class[c] = uint8(n)
	}
	d.nclass = n + 1
}

// reset empties the state cache; d.mu is held or d is not yet shared.
func (d *lazyDFA) reset() {
	d.states = map[string]*dfaState{}
	d.bytes = 0
	d.start.Store(d.intern(nil, ctxText))
}

func (d *lazyDFA) intern(pcs []uint32, ctx uint8) *dfaState {
	key := make([]byte, 0, 1+4*len(pcs))
	key = append(key, ctx)
	for _, pc := range pcs {
		key = append(key, byte(pc), byte(pc>>8), byte(pc>>16), byte(pc>>24))
	}
	if s, ok := d.states[unsafe.String(unsafe.SliceData(key), len(key))]; ok {
		return s
	}
	s := &dfaState{pcs: pcs, ctx: ctx, next: make([]atomic.Pointer[dfaState], d.nclass)}
	d.states[string(key)] = s
	d.bytes += d.stateBytes(len(pcs))
	return s
}

// MatchString reports whether the pattern matches s, as regexp.MatchString.
func (d *lazyDFA) MatchString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return d.re.MatchString(s)
		}
	}
	st := d.start.Load()
	for i := 0; i < len(s); i++ {
		c := s[i]
		n := st.next[d.class[c]].Load()
		if n == nil {
			var ok bool
			if n, ok = d.step(st, c); !ok {
				return d.re.MatchString(s)
			}
		}
		if n == matchState {
			return true
		}
		st = n
	}
	switch st.endMatch.Load() {
	case 1:
		return true
	case 2:
		return false
	}
	d.mu.Lock()
	m := d.closure(st, syntax.EmptyOpContext(ctxRune[st.ctx], -1), nil)
	d.mu.Unlock()
	if m {
		st.endMatch.Store(1)
	} else {
		st.endMatch.Store(2)
	}
	return m
}

// step computes and records the transition of st on byte c. ok is false
// when the state cache was full and started over: st is then stale.
func (d *lazyDFA) step(st *dfaState, c byte) (*dfaState, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := st.next[d.class[c]].Load(); n != nil {
		return n, true
	}
	if len(d.states) >= maxDFAStates || d.bytes >= maxDFABytes {
		d.resets.Add(1)
		d.reset()
		return nil, false
	}
	var runes []uint32
	if d.closure(st, syntax.EmptyOpContext(ctxRune[st.ctx], rune(c)), &runes) {
		st.next[d.class[c]].Store(matchState)
		return matchState, true
	}
	var out []uint32
	r := rune(c)
	for _, pc := range runes {
		in := &d.prog.Inst[pc]
		var ok bool
		switch in.Op {
		case syntax.InstRune:
			ok = in.MatchRune(r)
		case syntax.InstRune1:
			ok = r == in.Rune[0]
		case syntax.InstRuneAny:
			ok = true
		case syntax.InstRuneAnyNotNL:
			ok = r != '\n'
		}
		if ok {
			out = append(out, in.Out)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	ctx := uint8(ctxOther)
	switch {
	case c == '\n':
		ctx = ctxNewline
	case syntax.IsWordChar(r):
		ctx = ctxWord
	}
	n := d.intern(out, ctx)
	st.next[d.class[c]].Store(n)
	return n, true
}

// closure follows the empty transitions from st's instructions and from the
// program's start (the search is unanchored) under the assertions flags. It
// reports whether a match instruction is reached; otherwise it collects the
// instructions that consume a rune into runes when runes is not nil. d.mu
// is held.
func (d *lazyDFA) closure(st *dfaState, flags syntax.EmptyOp, runes *[]uint32) bool {
	if d.seen == nil || d.gen == ^uint32(0) {
		d.seen = make([]uint32, len(d.prog.Inst))
		d.gen = 0
	}
	d.gen++
	seen, gen := d.seen, d.gen
	stack := append(d.stack[:0], uint32(d.prog.Start))
	stack = append(stack, st.pcs...)
	defer func() { d.stack = stack }()
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[pc] == gen {
			continue
		}
		seen[pc] = gen
		in := &d.prog.Inst[pc]
		switch in.Op {
		case syntax.InstMatch:
			return true
		case syntax.InstFail:
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, in.Out, in.Arg)
		case syntax.InstCapture, syntax.InstNop:
			stack = append(stack, in.Out)
		case syntax.InstEmptyWidth:
			if syntax.EmptyOp(in.Arg)&^flags == 0 {
				stack = append(stack, in.Out)
			}
		default: // the rune instructions
			if runes != nil {
				*runes = append(*runes, pc)
			}
		}
	}
	return false
}
