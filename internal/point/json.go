package point

import "slices"

// The JSON decoder indexes a document in one pass into a flat tape of
// tokens (no `any` values, no per-value allocation): points then walk the
// tape to the member they want, and string values are substrings of the
// source unless they hold escapes. The tape lives in the Evaluator and is
// reused across exchanges.

// JSON token kinds.
const (
	jObject uint8 = iota + 1
	jArray
	jKey
	jString
	jNumber
	jTrue
	jFalse
	jNull
)

// jsonTok is one token of a tape. Objects are followed by their members as
// key, value pairs; arrays by their elements. next is the index of the
// token after this value (its whole subtree for containers).
type jsonTok struct {
	start, end int32 // strings and keys: the content without quotes; containers and scalars: the raw text
	next       int32
	kind       uint8
	esc        bool // string or key holds escapes
}

// jsonResult is what building a tape gives.
type jsonResult struct {
	ok        bool // a root value was indexed
	truncated bool // a limit (or a cut input) stopped the index early
}

// buildJSON appends the tape of s to *toks. partial says s was cut by a
// limit: a broken end then closes the open values instead of failing.
func buildJSON(toks *[]jsonTok, stack *[]int32, s string, partial bool, lim Limits) jsonResult {
	t := *toks
	base := len(t)
	// Reserve the tape once from the input size (a JSON value takes at
	// least two bytes or so): growing it by append would allocate several
	// times its final size on large documents.
	if want := min(len(s)/3+16, lim.MaxElements+1); cap(t)-len(t) < want {
		t = slices.Grow(t, want)
	}
	st := (*stack)[:0]
	defer func() { *stack = st[:0] }()

	const (
		wantValue = iota
		wantKey
		wantColon
		afterValue
	)
	mode := wantValue
	first := false // just after '{' or '[': the closing bracket may come
	i := 0
	n := len(s)
	var res jsonResult
	maxTok := base + lim.MaxElements
loop:
	for {
		if i >= n {
			break
		}
		c := s[i]
		if c <= ' ' {
			if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
				i++
				continue
			}
			break
		}
		if len(t) >= maxTok {
			res.truncated = true
			break
		}
		switch mode {
		case wantValue:
			if len(t) > base && len(st) == 0 {
				break loop // a second root value: handled below as an error
			}
			switch {
			case c == '{' || c == '[':
				if len(st) >= lim.MaxDepth {
					res.truncated = true
					break loop
				}
				k := jObject
				mode = wantKey
				if c == '[' {
					k = jArray
					mode = wantValue
				}
				st = append(st, int32(len(t)))
				t = append(t, jsonTok{start: int32(i), kind: k})
				first = true
				i++
				continue
			case c == ']' && first && len(st) > 0 && t[st[len(st)-1]].kind == jArray:
				top := st[len(st)-1]
				t[top].end, t[top].next = int32(i+1), int32(len(t))
				st = st[:len(st)-1]
				i++
				mode, first = afterValue, false
				continue
			case c == '"':
				j, esc, ok := scanString(s, i)
				if !ok {
					break loop
				}
				t = append(t, jsonTok{start: int32(i + 1), end: int32(j - 1), next: int32(len(t) + 1), kind: jString, esc: esc})
				i = j
			case c == '-' || c >= '0' && c <= '9':
				j := i + 1
				for j < n && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' || s[j] == '+' || s[j] == '-') {
					j++
				}
				if j == n && partial {
					break loop // the number may be cut
				}
				t = append(t, jsonTok{start: int32(i), end: int32(j), next: int32(len(t) + 1), kind: jNumber})
				i = j
			case c == 't' || c == 'f' || c == 'n':
				lit, k := "true", jTrue
				if c == 'f' {
					lit, k = "false", jFalse
				} else if c == 'n' {
					lit, k = "null", jNull
				}
				if len(s)-i < len(lit) || s[i:i+len(lit)] != lit {
					break loop
				}
				t = append(t, jsonTok{start: int32(i), end: int32(i + len(lit)), next: int32(len(t) + 1), kind: k})
				i += len(lit)
			default:
				break loop
			}
			mode, first = afterValue, false
		case wantKey:
			switch c {
			case '"':
				j, esc, ok := scanString(s, i)
				if !ok {
					break loop
				}
				t = append(t, jsonTok{start: int32(i + 1), end: int32(j - 1), next: int32(len(t) + 1), kind: jKey, esc: esc})
				i = j
				mode = wantColon
			case '}':
				if !first {
					break loop
				}
				top := st[len(st)-1]
				t[top].end, t[top].next = int32(i+1), int32(len(t))
				st = st[:len(st)-1]
				i++
				mode = afterValue
			default:
				break loop
			}
			first = false
		case wantColon:
			if c != ':' {
				break loop
			}
			i++
			mode = wantValue
		case afterValue:
			if len(st) == 0 {
				break loop // content after the root value
			}
			top := t[st[len(st)-1]].kind
			switch {
			case c == ',':
				mode = wantValue
				if top == jObject {
					mode = wantKey
				}
				i++
			case c == '}' && top == jObject, c == ']' && top == jArray:
				top := st[len(st)-1]
				t[top].end, t[top].next = int32(i+1), int32(len(t))
				st = st[:len(st)-1]
				i++
			default:
				break loop
			}
		}
	}
	complete := i >= n && len(st) == 0 && mode == afterValue
	if complete {
		res.ok = true
		*toks = t
		return res
	}
	if !partial && !res.truncated {
		*toks = t[:base]
		return jsonResult{}
	}
	// Cut by a limit: keep what was indexed, drop a key left without its
	// value, and close the open containers at the end of the input.
	res.truncated = true
	if len(st) > 0 && len(t) > base && t[len(t)-1].kind == jKey {
		t = t[:len(t)-1]
	}
	for len(st) > 0 {
		top := st[len(st)-1]
		t[top].end, t[top].next = int32(n), int32(len(t))
		st = st[:len(st)-1]
	}
	if len(t) == base {
		*toks = t
		return jsonResult{truncated: true}
	}
	res.ok = true
	*toks = t
	return res
}

// scanString scans the JSON string starting at s[i] == '"' and returns the
// index after its closing quote and whether it holds escapes.
func scanString(s string, i int) (int, bool, bool) {
	esc := false
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return j + 1, esc, true
		case c == '\\':
			esc = true
			j++
		case c < 0x20:
			return 0, false, false
		}
	}
	return 0, false, false
}

// jsonString returns the unescaped value of a string or key token.
func jsonString(src string, tk *jsonTok) string {
	raw := src[tk.start:tk.end]
	if !tk.esc {
		return raw
	}
	// unquoteJSON wants the opening quote; the token range starts after it.
	v, _, msg := unquoteJSON(src[tk.start-1:tk.end+1], 0)
	if msg != "" {
		return raw
	}
	return v
}

// jsonKeyIs reports whether a key token equals name, without allocating
// unless the key holds escapes.
func jsonKeyIs(src string, tk *jsonTok, name string) bool {
	if !tk.esc {
		return src[tk.start:tk.end] == name
	}
	return jsonString(src, tk) == name
}

// jsonMember returns the value token of the first member named name of the
// object at o, or -1.
func jsonMember(t []jsonTok, src string, o int32, name string) int32 {
	end := t[o].next
	for k := o + 1; k < end; {
		v := k + 1
		if v >= end {
			break
		}
		if jsonKeyIs(src, &t[k], name) {
			return v
		}
		k = t[v].next
	}
	return -1
}

// jsonElement returns the n-th element of the array at a, or -1.
func jsonElement(t []jsonTok, a int32, n int) int32 {
	end := t[a].next
	for k := a + 1; k < end; k = t[k].next {
		if n == 0 {
			return k
		}
		n--
	}
	return -1
}

// jsonText returns the value of a token as points yield it: strings
// unescaped, numbers and booleans as written, null as "", containers as
// their raw JSON text.
func jsonText(src string, tk *jsonTok) string {
	switch tk.kind {
	case jString, jKey:
		return jsonString(src, tk)
	case jNull:
		return ""
	}
	return src[tk.start:tk.end]
}
