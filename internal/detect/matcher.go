package detect

// acMatcher is an Aho-Corasick automaton compiled to a dense DFA over the
// byte classes the patterns use. Each state carries the rules whose atoms
// end there (through the dictionary suffix links), so a scan reports every
// occurrence, overlapping ones included, as rule lists.
//
// The CRS atoms make tens of thousands of states, a table of many
// megabytes, and a scan does one lookup a byte: states are numbered breadth
// first, so that the shallow ones, where text that matches no atom keeps
// the scan, share a few hundred kilobytes that stay in the CPU's caches;
// and a transition into a state that has rules is stored complemented, so
// that the scan reads out only there.
type acMatcher struct {
	class  [256]uint16
	nclass int
	delta  []int32   // state*nclass + class -> state, ^state when it has rules
	out    [][]int32 // state -> rules
}

func newACMatcher(patterns []string, rules [][]int32) *acMatcher {
	m := &acMatcher{nclass: 1}
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			if m.class[p[i]] == 0 {
				m.class[p[i]] = uint16(m.nclass)
				m.nclass++
			}
		}
	}
	nc := m.nclass
	// Trie.
	goTo := make([]int32, nc)
	for i := range goTo {
		goTo[i] = -1
	}
	var own [][]int32
	own = append(own, nil)
	for pi, p := range patterns {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := int(m.class[p[i]])
			next := goTo[int(s)*nc+c]
			if next < 0 {
				next = int32(len(own))
				goTo[int(s)*nc+c] = next
				own = append(own, nil)
				for j := 0; j < nc; j++ {
					goTo = append(goTo, -1)
				}
			}
			s = next
		}
		own[s] = append(own[s], rules[pi]...)
	}
	n := len(own)
	delta := make([]int32, n*nc)
	out := make([][]int32, n)
	fail := make([]int32, n)
	// Breadth-first: a state's failure target is always shallower.
	queue := make([]int32, 1, n)
	for c := 0; c < nc; c++ {
		if t := goTo[c]; t > 0 {
			delta[c] = t
			fail[t] = 0
			queue = append(queue, t)
		}
	}
	out[0] = own[0]
	for qi := 1; qi < len(queue); qi++ {
		s := queue[qi]
		out[s] = mergeRules(own[s], out[fail[s]])
		for c := 0; c < nc; c++ {
			t := goTo[int(s)*nc+c]
			if t < 0 {
				delta[int(s)*nc+c] = delta[int(fail[s])*nc+c]
				continue
			}
			delta[int(s)*nc+c] = t
			fail[t] = delta[int(fail[s])*nc+c]
			queue = append(queue, t)
		}
	}
	// Renumber in breadth-first order (queue, the root first).
	num := make([]int32, n)
	for i, s := range queue {
		num[s] = int32(i)
	}
	m.delta = make([]int32, n*nc)
	m.out = make([][]int32, n)
	for i, s := range queue {
		m.out[i] = out[s]
		for c := 0; c < nc; c++ {
			t := delta[int(s)*nc+c]
			if len(out[t]) > 0 {
				m.delta[i*nc+c] = ^num[t]
			} else {
				m.delta[i*nc+c] = num[t]
			}
		}
	}
	return m
}

func mergeRules(a, b []int32) []int32 {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := append([]int32(nil), a...)
	for _, x := range b {
		found := false
		for _, y := range out {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

// scan runs the automaton over each value of vs (restarting at each value)
// and calls f with the value index and the rules of every state reached
// that has some, once per state and value: the rules of a state are the
// same wherever the value reaches it. m's marks hold the states reported
// for the value at hand (by generation, so they need no clearing).
func (m *acMatcher) scan(vs *valueSet, marks *acMarks, f func(vi int, rules []int32)) {
	if len(marks.state) != len(m.out) {
		marks.state = make([]uint32, len(m.out))
		marks.gen = 0
	}
	start := 0
	nc := m.nclass
	for vi, end := range vs.ends {
		if marks.gen == ^uint32(0) {
			clear(marks.state)
			marks.gen = 0
		}
		marks.gen++
		gen := marks.gen
		s := int32(0)
		for _, b := range vs.buf[start:end] {
			s = m.delta[int(s)*nc+int(m.class[b])]
			if s < 0 {
				s = ^s
				if marks.state[s] != gen {
					marks.state[s] = gen
					f(vi, m.out[s])
				}
			}
		}
		start = end
	}
}

// acMarks is the per-scan memory of scan, reused between scans.
type acMarks struct {
	state []uint32
	gen   uint32
}
