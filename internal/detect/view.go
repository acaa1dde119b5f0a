package detect

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/apisessions/apisessions"
	"github.com/tidwall/gjson"
)

// A request's variables as Coraza would hold them once the request body is
// processed, built from the exchange without a Coraza transaction, for the
// pre-decision (prejudge.go). The building mirrors what Engine.run feeds
// Coraza and Coraza's own code (v3.8.1: Transaction.ProcessURI,
// AddRequestHeader, the cookie parser, the urlencoded and JSON body
// processors, whose JSON flattening runs on the same gjson). Where the
// request takes a path not mirrored here (XML or multipart bodies, several
// Content-Type headers, limits reached, a body Coraza would fail to parse,
// line breaks where a rule's anchors would see them), newView says so and
// the caller runs Coraza.

// viewEntry is one value of a collection.
type viewEntry struct {
	variable string
	key      string
	value    string
}

// reqView is the request-phase variables of one exchange.
type reqView struct {
	entries []viewEntry
	// vars lists, by variable, the indexes of its entries: built on first
	// use (byVariable), so that a rule reading a few variables does not
	// walk all the entries of a large body for each.
	vars     []varEntries
	indexed  bool
	method   string
	proto    string
	basename string
	// headers are the request headers as Coraza receives them.
	headers []apisessions.Header
	bodyLen int
}

// varEntries are the indexes in reqView.entries of one variable's entries.
type varEntries struct {
	variable string
	idx      []int32
}

// byVariable returns the indexes of the entries of variable, in order.
func (v *reqView) byVariable(variable string) []int32 {
	if !v.indexed {
		v.index()
	}
	for i := range v.vars {
		if v.vars[i].variable == variable {
			return v.vars[i].idx
		}
	}
	return nil
}

// index builds vars, reusing the memory of an earlier request's.
func (v *reqView) index() {
	v.indexed = true
	n := 0
	for i := range v.entries {
		name := v.entries[i].variable
		j := 0
		for j < n && v.vars[j].variable != name {
			j++
		}
		if j == n {
			if n < len(v.vars) {
				v.vars[n] = varEntries{name, v.vars[n].idx[:0]}
			} else {
				v.vars = append(v.vars, varEntries{variable: name})
			}
			n++
		}
		v.vars[j].idx = append(v.vars[j].idx, int32(i))
	}
	v.vars = v.vars[:n]
}

// count returns the number of values of variable (with key, case-blind,
// when key is not empty).
func (v *reqView) count(variable, key string) int {
	idx := v.byVariable(variable)
	if key == "" {
		return len(idx)
	}
	n := 0
	for _, i := range idx {
		if strings.EqualFold(v.entries[i].key, key) {
			n++
		}
	}
	return n
}

// singleVariables are the collections holding one value, present (maybe
// empty) in every transaction.
var singleVariables = map[string]bool{
	"REQUEST_URI": true, "REQUEST_URI_RAW": true, "REQUEST_LINE": true, "REQUEST_FILENAME": true,
	"REQUEST_BASENAME": true, "REQUEST_METHOD": true, "REQUEST_PROTOCOL": true, "QUERY_STRING": true,
	"REQUEST_BODY": true,
}

// Body processors the view mirrors.
const (
	bodyNone       = ""
	bodyURLEncoded = "URLENCODED"
	bodyJSON       = "JSON"
)

// newView builds the view of ex as Engine.run would present it to Coraza
// with the protocol proto; ok is false where the view could differ from
// Coraza's variables.
func newView(ex *apisessions.Exchange, proto string, o *Options) (v *reqView, ok bool) {
	v = &reqView{}
	if !v.build(ex, proto, o) {
		return nil, false
	}
	return v, true
}

// build is newView into v, reusing its memory.
func (v *reqView) build(ex *apisessions.Exchange, proto string, o *Options) bool {
	req := &ex.Request
	*v = reqView{entries: v.entries[:0], vars: v.vars[:cap(v.vars)], headers: v.headers[:0], proto: proto}
	add := func(variable, key, value string) {
		v.entries = append(v.entries, viewEntry{variable, key, value})
	}
	method := req.Method
	if method == "" {
		method = "GET"
	}
	v.method = method
	uri := targetOf(ex)
	add("REQUEST_METHOD", "", method)
	add("REQUEST_PROTOCOL", "", proto)
	add("REQUEST_URI_RAW", "", uri)
	add("REQUEST_LINE", "", method+" "+uri+" "+proto)

	// Transaction.ProcessURI.
	if i := strings.Index(uri, "#"); i != -1 {
		uri = uri[:i]
	}
	path, query := "", ""
	if u, err := url.ParseRequestURI(uri); err != nil {
		add("REQUEST_URI", "", uri)
		if i := strings.Index(uri, "?"); i != -1 {
			path, query = uri[:i], uri[i+1:]
		} else {
			path = uri
		}
	} else {
		add("REQUEST_URI", "", u.String())
		path, query = u.Path, u.RawQuery
	}
	add("QUERY_STRING", "", query)
	if !addArgs(query, "ARGS_GET", "ARGS_GET_NAMES", o.MaxArgs, add) {
		return false // Coraza would mark the request partial
	}
	basename := path
	if i := strings.LastIndexAny(path, "/\\"); i != -1 && len(path) > i+1 {
		basename = path[i+1:]
	}
	v.basename = basename
	add("REQUEST_BASENAME", "", basename)
	add("REQUEST_FILENAME", "", path)

	// Headers as Engine.run adds them.
	cts := 0
	contentType := ""
	v.headers = corazaHeaders(v.headers, ex)
	for _, h := range v.headers {
		add("REQUEST_HEADERS", h.Name, h.Value)
		add("REQUEST_HEADERS_NAMES", h.Name, h.Name)
		switch strings.ToLower(h.Name) {
		case "content-type":
			cts++
			contentType = h.Value
		case "cookie":
			for _, c := range parseCookies(h.Value) {
				add("REQUEST_COOKIES", c[0], c[1])
				add("REQUEST_COOKIES_NAMES", c[0], c[0])
			}
		}
	}

	// The request body.
	body := req.Body
	if len(body) > o.BodyLimit {
		return false // partial
	}
	v.bodyLen = len(body)
	if len(body) == 0 {
		add("REQUEST_BODY", "", "")
		return true
	}
	if cts != 1 {
		// None: CRS 920640 flags the request; several: which one selects
		// the processor is not mirrored.
		return false
	}
	switch bodyProcessorOf(contentType) {
	case bodyJSON:
		if !jsonArgs(string(body), o, add) {
			return false
		}
		add("REQUEST_BODY", "", "")
	case bodyURLEncoded:
		// Also what CRS 901340 forces for an unknown type.
		b := string(body)
		if !addArgs(b, "ARGS_POST", "ARGS_POST_NAMES", o.MaxArgs, add) {
			return false
		}
		add("REQUEST_BODY", "", b)
	default:
		return false
	}
	return true
}

// addArgs adds the arguments of an urlencoded query or body to the
// collection (ARGS_GET or ARGS_POST) and its names collection, to ARGS and
// to ARGS_NAMES, as Coraza splits and decodes them. It reports false when there are more
// than max arguments (Coraza would mark the request partial).
func addArgs(q, collection, names string, max int, add func(variable, key, value string)) bool {
	n := 0
	for q != "" {
		pair := q
		if i := strings.IndexByte(pair, '&'); i >= 0 {
			pair, q = pair[:i], pair[i+1:]
		} else {
			q = ""
		}
		if pair == "" {
			continue
		}
		if n >= max {
			return false
		}
		n++
		key, value, _ := strings.Cut(pair, "=")
		key, value = decodeQueryComponent(key), decodeQueryComponent(value)
		addArg(add, collection, names, key, value)
	}
	return true
}

// addArg adds one argument to its collection (ARGS_GET or ARGS_POST), its
// names collection, ARGS and ARGS_NAMES, as Coraza does.
func addArg(add func(variable, key, value string), collection, names, key, value string) {
	add(collection, key, value)
	add("ARGS", key, value)
	add(names, key, key)
	add("ARGS_NAMES", key, key)
}

// bodyProcessorOf is the body processor Coraza ends with for a request
// with this one Content-Type: URLENCODED or MULTIPART from the header
// itself, then XML or JSON from the coraza.conf-recommended rules 200000,
// 200001 and 200006 (in that order, on the lower-cased value), and
// URLENCODED for anything else (CRS 901340 forces the body variable, and
// Coraza then parses it as urlencoded). "" for a processor not mirrored.
func bodyProcessorOf(ct string) string {
	l := strings.ToLower(ct)
	p := bodyURLEncoded
	if strings.HasPrefix(strings.TrimSpace(l), "multipart/form-data") {
		p = "MULTIPART"
	}
	if reXMLType.MatchString(l) {
		p = "XML"
	}
	if strings.HasPrefix(l, "application/json") || reJSONSubtype.MatchString(l) {
		p = bodyJSON
	}
	if strings.Contains(l, "\n") {
		return "" // the rules' anchors see lines
	}
	switch p {
	case bodyURLEncoded, bodyJSON:
		return p
	}
	return ""
}

// jsonArgs adds the arguments Coraza's JSON body processor flattens body
// into (readJSON in v3.8.1, on the same gjson); false where Coraza would
// fail or truncate (nesting over the limit, invalid JSON, argument limit,
// its byte budget).
func jsonArgs(body string, o *Options, add func(variable, key, value string)) bool {
	if jsonDeeper(body, o.MaxJSONDepth) || !gjson.Valid(body) {
		return false
	}
	budget := max(len(body)*8, 4096)
	used, args, lens := 0, 0, 0
	var walk func(r gjson.Result, key []byte, depth int) bool
	walk = func(r gjson.Result, key []byte, depth int) bool {
		if depth <= 0 {
			return false
		}
		arrayLen := 0
		ok := true
		r.ForEach(func(k, val gjson.Result) bool {
			if args >= o.MaxArgs {
				ok = false
				return false
			}
			n := len(key)
			key = append(key, '.')
			if k.Type == gjson.String {
				key = append(key, k.Str...)
			} else {
				key = strconv.AppendInt(key, int64(k.Num), 10)
				arrayLen++
			}
			var s string
			switch val.Type {
			case gjson.JSON:
				if !walk(val, key, depth-1) {
					ok = false
					return false
				}
				key = key[:n]
				return true
			case gjson.String:
				s = val.Str
			case gjson.Null:
				s = ""
			default:
				s = val.Raw
			}
			if used+len(key)+len(s) > budget {
				ok = false
				return false
			}
			addArg(add, "ARGS_POST", "ARGS_POST_NAMES", string(key), s)
			used += len(key) + len(s)
			args++
			key = key[:n]
			return true
		})
		if !ok {
			return false
		}
		if arrayLen > 0 {
			if lens >= o.MaxArgs {
				return false
			}
			l := strconv.Itoa(arrayLen)
			if used+len(key)+len(l) > budget {
				return false
			}
			addArg(add, "ARGS_POST", "ARGS_POST_NAMES", string(key), l)
			used += len(key) + len(l)
			lens++
		}
		return true
	}
	return walk(gjson.Parse(body), []byte("json"), o.MaxJSONDepth)
}

// parseCookies splits a Cookie header as Coraza does (internal/cookies),
// in order: name and value pairs.
func parseCookies(raw string) [][2]string {
	raw = trimCTLAndSpace(raw)
	var out [][2]string
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, ";")
		part = trimCTLAndSpace(part)
		if part == "" {
			continue
		}
		name, val, _ := strings.Cut(part, "=")
		name, val = trimCTLAndSpace(name), trimCTLAndSpace(val)
		if name == "" && val == "" {
			continue
		}
		out = append(out, [2]string{name, val})
	}
	return out
}

func trimCTLAndSpace(s string) string {
	start := 0
	for start < len(s) && (s[start] <= 0x20 || s[start] == 0x7f) {
		start++
	}
	end := len(s)
	for end > start && (s[end-1] <= 0x20 || s[end-1] == 0x7f) {
		end--
	}
	return s[start:end]
}
