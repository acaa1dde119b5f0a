package sessionize

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apisessions/apisessions"
)

// flowRule is a configured business-flow rule.
type flowRule struct {
	name    string
	method  string // "" matches any
	pattern string
}

func compileFlowRule(r apisessions.FlowRule) (flowRule, error) {
	if strings.TrimSpace(r.Name) == "" {
		return flowRule{}, fmt.Errorf("name: empty")
	}
	if r.Path == "" {
		return flowRule{}, fmt.Errorf("path: empty")
	}
	return flowRule{name: r.Name, method: strings.TrimSpace(r.Method), pattern: r.Path}, nil
}

// ruleFlows adds the flows of the configured rules matching the request.
func (s *Sessionizer) ruleFlows(flows []string, method, path string) []string {
	for _, r := range s.flowRules {
		if r.method != "" && !strings.EqualFold(r.method, method) {
			continue
		}
		if globMatch(r.pattern, path) {
			flows = addFlow(flows, r.name)
		}
	}
	return flows
}

// addFlow appends name unless present: a request is in a flow once.
func addFlow(flows []string, name string) []string {
	if slices.Contains(flows, name) {
		return flows
	}
	if flows == nil {
		flows = make([]string, 0, 4) // room for the usual few flows
	}
	return append(flows, name)
}

// globMatch matches s against a pattern where '*' stands for any run of
// characters, '/' included, and every other character for itself. Linear
// backtracking over the last star: O(len(p)·len(s)) at worst, no recursion.
func globMatch(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// keywordRule is a default business-flow rule: a flow and the keywords that
// tag it.
type keywordRule struct {
	flow     string
	keywords []string
}

// defaultKeywordRules are SPEC §5's defaults, in its order, with a few
// documented additions ("oauth", "signin", "registration", "subscribe")
// whose stems the listed keywords miss as prefixes.
//
// Matching: the path (no query) is split into segments on '/', each segment
// into words on '-', '_', '.', '~', '+', ',', ';', '=', '@' and '%', at a
// lower-to-upper case change (camelCase) and between letters and digits.
// A keyword matches when a word, or two adjacent words written together
// ("sign-up" → "signup"), starts with it, ignoring ASCII case: /api/v1/login,
// /userLogin, /auth/refresh-token, /orders/42, /payments, /sign-up all
// match. Words in falseFriends never match, so /authors and /payload do not.
func defaultKeywordRules() []keywordRule {
	return []keywordRule{
		{"Auth", []string{"login", "auth", "token", "oauth", "signin"}},
		{"Account creation", []string{"register", "registration", "signup"}},
		{"Account management", []string{"account", "profile", "password"}},
		{"Billing", []string{"pay", "billing", "checkout", "order", "subscription", "subscribe"}},
		{"Admin", []string{"admin"}},
		{"SMS gateway", []string{"sms", "otp"}},
		{"AI/LLM", []string{"chat", "completion", "llm"}},
	}
}

// falseFriends start with a keyword but are other words. Read only.
var falseFriends = [...]string{"author", "authors", "authored", "authorship", "payload", "payloads"}

// keywordFlows adds the default flows whose keywords match a word of path,
// in the order of rules.
func keywordFlows(rules []keywordRule, flows []string, path string) []string {
	var words [maxWords]wordSpan
	ws := splitWords(path, words[:0])
	var matched uint64 // bit r: rule r matched
	for i, w := range ws {
		word := path[w.start:w.end]
		if isFalseFriend(word) {
			continue
		}
		for r := range rules {
			if matched&(1<<r) == 0 && wordMatches(path, ws, i, rules[r].keywords) {
				matched |= 1 << r
			}
		}
	}
	for r := range rules {
		if matched&(1<<r) != 0 {
			flows = addFlow(flows, rules[r].flow)
		}
	}
	return flows
}

// wordSpan is a word of a path: path[start:end]; joined marks a word that
// follows the previous one inside the same segment.
type wordSpan struct {
	start, end int
	joined     bool
}

// maxWords bounds the words looked at: keywords live in the first segments
// of real APIs, and a hostile path must not cost more than this.
const maxWords = 64

// splitWords appends the words of path to dst.
func splitWords(path string, dst []wordSpan) []wordSpan {
	start := -1
	inSeg := false
	for i := 0; i <= len(path); i++ {
		var c byte
		sep := i == len(path)
		if !sep {
			c = path[i]
			switch c {
			case '/', '?', '#':
				sep = true
			case '-', '_', '.', '~', '+', ',', ';', '=', '@', '%':
				sep = true
			}
		}
		if !sep && start >= 0 && wordBreak(path[i-1], c) {
			dst = append(dst, wordSpan{start, i, inSeg})
			inSeg = true
			start = -1
			if len(dst) == maxWords {
				return dst
			}
		}
		if sep {
			if start >= 0 {
				dst = append(dst, wordSpan{start, i, inSeg})
				inSeg = true
				start = -1
				if len(dst) == maxWords {
					return dst
				}
			}
			if i < len(path) && (c == '/' || c == '?' || c == '#') {
				inSeg = false
				if c != '/' {
					return dst
				}
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	return dst
}

// wordBreak reports a word boundary between prev and c inside a run of
// word characters: lower→upper, letter↔digit.
func wordBreak(prev, c byte) bool {
	pl, pu, pd := prev >= 'a' && prev <= 'z', prev >= 'A' && prev <= 'Z', prev >= '0' && prev <= '9'
	cl, cu, cd := c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9'
	switch {
	case pl && cu:
		return true
	case (pl || pu) && cd, pd && (cl || cu):
		return true
	}
	return false
}

// anyWordMatches reports whether a word of ws (spans of text) starts with
// one of the keywords.
func anyWordMatches(text string, ws []wordSpan, keywords []string) bool {
	for i, w := range ws {
		if !isFalseFriend(text[w.start:w.end]) && wordMatches(text, ws, i, keywords) {
			return true
		}
	}
	return false
}

// wordMatches reports whether word i, or word i written together with the
// next word of its segment ("sign-up", "log_in"), starts with a keyword.
func wordMatches(text string, ws []wordSpan, i int, keywords []string) bool {
	word := text[ws[i].start:ws[i].end]
	for _, kw := range keywords {
		if hasPrefixFold(word, kw) {
			return true
		}
		if i+1 < len(ws) && ws[i+1].joined && len(word) < len(kw) && hasPrefixFold(kw, word) {
			next := text[ws[i+1].start:ws[i+1].end]
			if hasPrefixFold(next, kw[len(word):]) {
				return true
			}
		}
	}
	return false
}

func isFalseFriend(word string) bool {
	for _, f := range falseFriends {
		if len(word) == len(f) && hasPrefixFold(word, f) {
			return true
		}
	}
	return false
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lowerASCII(s[i]) != lowerASCII(prefix[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
