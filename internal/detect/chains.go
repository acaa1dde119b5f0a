package detect

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
)

// chainReads maps the ID of every chained CRS rule to the collections the
// later links of its chain read or count. Coraza applies a rule's target
// exceptions (ctl:ruleRemoveTargetById) to its whole chain, so the screen
// only takes out targets the chain's later links do not read. A chain
// whose links could not be read has no entry, and the caller takes out
// nothing.
func chainReads() (map[int]map[string]bool, error) {
	files, err := fs.Glob(coreruleset.FS, "@owasp_crs/*.conf")
	if err != nil {
		return nil, fmt.Errorf("list CRS rules: %w", err)
	}
	out := map[int]map[string]bool{}
	for _, name := range files {
		b, err := fs.ReadFile(coreruleset.FS, name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		parent := 0 // the chain being read, 0 outside one
		for _, d := range directives(string(b)) {
			rest, ok := strings.CutPrefix(d, "SecRule ")
			if !ok {
				parent = 0
				continue
			}
			vars, rest, ok1 := nextToken(rest)
			_, rest, ok2 := nextToken(rest)
			actions, _, _ := nextToken(rest)
			id, chained := 0, false
			for _, a := range splitActions(actions) {
				k, v, _ := strings.Cut(strings.TrimSpace(a), ":")
				switch k {
				case "id":
					id, _ = strconv.Atoi(strings.Trim(v, "'"))
				case "chain":
					chained = true
				}
			}
			if parent != 0 {
				if !ok1 || !ok2 {
					// Unreadable link: no entry, so no target is taken out.
					delete(out, parent)
					parent = -1
				} else if parent > 0 {
					for _, v := range strings.Split(vars, "|") {
						v = strings.TrimLeft(strings.TrimSpace(v), "!&")
						n, _, _ := strings.Cut(v, ":")
						out[parent][strings.ToUpper(n)] = true
					}
				}
				if !chained {
					parent = 0
				}
				continue
			}
			if chained && id > 0 {
				parent = id
				out[id] = map[string]bool{}
			}
		}
	}
	return out, nil
}

// directives splits SecLang text into directives: comments dropped, lines
// ending in a backslash joined with the next.
func directives(text string) []string {
	var out []string
	var cur strings.Builder
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(cont)
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(line)
		out = append(out, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// updatedTargets maps the ID of every CRS rule that SecRuleUpdateTargetById
// changes to the exclusions (!VAR:key) it adds, counted per collection;
// the key "" counts the targets it adds. Coraza appends them to the rule's
// own exception slices, which the rule's text does not show.
func updatedTargets() (map[int]map[string]int, error) {
	files, err := fs.Glob(coreruleset.FS, "@owasp_crs/*.conf")
	if err != nil {
		return nil, fmt.Errorf("list CRS rules: %w", err)
	}
	out := map[int]map[string]int{}
	for _, name := range files {
		b, err := fs.ReadFile(coreruleset.FS, name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		for _, d := range directives(string(b)) {
			rest, ok := strings.CutPrefix(d, "SecRuleUpdateTargetById ")
			if !ok {
				continue
			}
			ids, rest, ok1 := nextToken(rest)
			vars, _, ok2 := nextToken(rest)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%s: unreadable %q", name, d)
			}
			var list []int
			for _, f := range strings.Fields(strings.ReplaceAll(ids, ",", " ")) {
				lo, hi, isRange := strings.Cut(f, "-")
				a, err1 := strconv.Atoi(lo)
				z := a
				var err2 error
				if isRange {
					z, err2 = strconv.Atoi(hi)
				}
				if err1 != nil || err2 != nil || z < a || z-a > 100000 {
					return nil, fmt.Errorf("%s: unreadable rule IDs in %q", name, d)
				}
				for id := a; id <= z; id++ {
					list = append(list, id)
				}
			}
			for _, id := range list {
				if out[id] == nil {
					out[id] = map[string]int{}
				}
				for _, v := range strings.Split(vars, "|") {
					v = strings.TrimSpace(v)
					n, isNeg := strings.CutPrefix(v, "!")
					n, _, _ = strings.Cut(n, ":")
					if isNeg {
						out[id][strings.ToUpper(n)]++
					} else if v != "" {
						out[id][""]++
					}
				}
			}
		}
	}
	return out, nil
}
