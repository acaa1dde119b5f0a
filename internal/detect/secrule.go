package detect

import (
	"strconv"
	"strings"
)

// secRule is the first link of a SecRule as the fast path needs it.
type secRule struct {
	variables []string // collection names, without keys, exclusions dropped
	keys      []string // per variable: the selected key, "" for all
	counts    bool     // some variable is a count (&ARGS)
	negated   bool     // the operator is negated (!@rx)
	operator  string   // "rx", "pm", ...
	argument  string
	phase     int
	transform []string // t: names after the last t:none
	multi     bool     // multiMatch
	chain     bool     // the rule has further links
	skip      int      // skip:N
	// negations counts the exclusions (!VAR:key) per collection.
	negations map[string]int
	// countVars and countKeys are the counted collections (&VAR:key), keys
	// as written ("/.../" for a regex).
	countVars, countKeys []string
}

// parseSecRule reads `SecRule VARIABLES "OPERATOR" "ACTIONS"` (the raw text
// Coraza keeps for the first link of a rule). ok is false for anything else
// (SecAction, SecMarker).
func parseSecRule(raw string) (r secRule, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(raw), "SecRule ")
	if !found {
		return r, false
	}
	vars, rest, ok := nextToken(rest)
	if !ok {
		return r, false
	}
	op, rest, ok := nextToken(rest)
	if !ok {
		return r, false
	}
	actions, _, ok := nextToken(rest)
	if !ok {
		return r, false
	}
	for _, v := range strings.Split(vars, "|") {
		v = strings.TrimSpace(v)
		switch {
		case v == "":
		case strings.HasPrefix(v, "!"):
			// An exclusion only narrows what the rule reads.
			name, _, _ := strings.Cut(v[1:], ":")
			if r.negations == nil {
				r.negations = map[string]int{}
			}
			r.negations[strings.ToUpper(name)]++
		case strings.HasPrefix(v, "&"):
			r.counts = true
			name, key, _ := strings.Cut(v[1:], ":")
			r.countVars = append(r.countVars, strings.ToUpper(name))
			r.countKeys = append(r.countKeys, strings.Trim(key, "'"))
		default:
			name, key, _ := strings.Cut(v, ":")
			key = strings.Trim(key, "'")
			if strings.HasPrefix(key, "/") {
				key = "" // a key regex or an XPath: take every key
			}
			r.variables = append(r.variables, strings.ToUpper(name))
			r.keys = append(r.keys, key)
		}
	}
	op = strings.TrimSpace(op)
	if strings.HasPrefix(op, "!") {
		r.negated = true
		op = strings.TrimSpace(op[1:])
	}
	if strings.HasPrefix(op, "@") {
		name, arg, _ := strings.Cut(op[1:], " ")
		r.operator, r.argument = name, strings.TrimLeft(arg, " ")
	} else {
		r.operator, r.argument = "rx", op
	}
	r.phase = 2 // Coraza's default phase
	for _, a := range splitActions(actions) {
		k, v, _ := strings.Cut(a, ":")
		k = strings.TrimSpace(k)
		v = strings.Trim(strings.TrimSpace(v), "'")
		switch k {
		case "t":
			if v == "none" {
				r.transform = r.transform[:0]
			} else {
				r.transform = append(r.transform, v)
			}
		case "phase":
			switch v {
			case "1", "request_headers":
				r.phase = 1
			case "2", "request":
				r.phase = 2
			case "3", "response_headers":
				r.phase = 3
			case "4", "response":
				r.phase = 4
			case "5", "logging":
				r.phase = 5
			default:
				return r, false
			}
		case "multiMatch":
			r.multi = true
		case "chain":
			r.chain = true
		case "skip":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return r, false
			}
			r.skip = n
		}
	}
	return r, true
}

// nextToken reads one SecLang argument: a double-quoted string (\" is a
// quote) or a run of non-space characters.
func nextToken(s string) (tok, rest string, ok bool) {
	s = strings.TrimLeft(s, " \t\r\n\\")
	if s == "" {
		return "", "", false
	}
	if s[0] != '"' {
		i := strings.IndexAny(s, " \t\r\n")
		if i < 0 {
			return s, "", true
		}
		return s[:i], s[i:], true
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == '"':
			b.WriteByte('"')
			i++
		case s[i] == '"':
			return b.String(), s[i+1:], true
		default:
			b.WriteByte(s[i])
		}
	}
	return "", "", false
}

// splitActions splits an action list on commas outside single quotes.
func splitActions(s string) []string {
	var out []string
	quoted := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}
