package detect

import (
	"encoding/json"
	"strings"
)

// maxPointLen bounds the point strings built from attacker-chosen names so
// that a finding stays small whatever the request holds.
const maxPointLen = 512

// argSource tells pointOf where an argument that Coraza only names ARGS
// came from.
type argSource interface {
	// inQuery reports whether the query string holds an argument of that name.
	inQuery(name string) bool
	// bodyDecoder is the point decoder of the request body: "json",
	// "form", "multipart", "xml" or "" when unknown.
	bodyDecoder() string
}

// pointOf maps a Coraza variable and key (ARGS_GET and "id",
// ARGS_POST and "json.items.0.sku", REQUEST_HEADERS and "user-agent") to a
// point in the product grammar (request.query.id,
// request.body|json.items[0].sku, request.header.user-agent). It returns ""
// for variables that name no place in the exchange (TX, counters).
func pointOf(variable, key string, src argSource) string {
	var p string
	switch variable {
	case "ARGS_GET", "ARGS_GET_NAMES":
		p = "request.query" + nameStep(key)
	case "ARGS_POST", "ARGS_POST_NAMES":
		p = bodyArgPoint(key, src)
	case "ARGS", "ARGS_NAMES":
		if key != "" && src != nil && src.inQuery(key) {
			p = "request.query" + nameStep(key)
		} else {
			p = bodyArgPoint(key, src)
		}
	case "REQUEST_HEADERS", "REQUEST_HEADERS_NAMES":
		p = "request.header" + nameStep(key)
	case "REQUEST_COOKIES", "REQUEST_COOKIES_NAMES":
		p = "request.cookie" + nameStep(key)
	case "REQUEST_FILENAME", "REQUEST_BASENAME":
		p = "request.path"
	case "REQUEST_URI", "REQUEST_URI_RAW", "REQUEST_LINE", "QUERY_STRING", "REQUEST_PROTOCOL", "URI_PARSE_ERROR":
		p = "request.url"
	case "REQUEST_METHOD":
		p = "request.method"
	case "FILES", "FILES_NAMES", "FILES_SIZES", "FILES_TMPNAMES":
		p = "request.body|multipart" + nameStep(key)
	case "XML":
		p = "request.body|xml"
	case "REQUEST_BODY", "REQUEST_BODY_LENGTH", "REQBODY_ERROR", "REQBODY_ERROR_MSG",
		"REQBODY_PROCESSOR_ERROR", "REQBODY_PROCESSOR_ERROR_MSG", "MULTIPART_STRICT_ERROR",
		"MULTIPART_UNMATCHED_BOUNDARY", "MULTIPART_PART_HEADERS", "MULTIPART_FILENAME",
		"MULTIPART_NAME", "FILES_COMBINED_SIZE", "ARGS_COMBINED_SIZE", "FULL_REQUEST",
		"FULL_REQUEST_LENGTH", "INBOUND_DATA_ERROR", "ARGUMENTS_LIMIT_REACHED":
		p = "request.body"
	case "RESPONSE_HEADERS", "RESPONSE_HEADERS_NAMES":
		p = "response.header" + nameStep(key)
	case "RESPONSE_STATUS":
		p = "response.status"
	case "RESPONSE_BODY", "RESPONSE_CONTENT_LENGTH", "OUTBOUND_DATA_ERROR":
		p = "response.body"
	default:
		return ""
	}
	if len(p) > maxPointLen {
		// Cut at a step boundary so the point still parses.
		cut := strings.LastIndexAny(p[:maxPointLen], ".[")
		p = p[:cut]
	}
	return p
}

// bodyArgPoint maps a body argument name. Coraza flattens JSON as
// "json.a.b.0.c"; array indexes become [N] steps.
func bodyArgPoint(key string, src argSource) string {
	dec := ""
	if src != nil {
		dec = src.bodyDecoder()
	}
	if rest, ok := strings.CutPrefix(key, "json."); ok && (dec == "json" || dec == "") {
		var b strings.Builder
		b.WriteString("request.body|json")
		for _, seg := range strings.Split(rest, ".") {
			if isIndex(seg) {
				b.WriteString("[" + seg + "]")
			} else {
				b.WriteString(nameStep(seg))
			}
		}
		return b.String()
	}
	if key == "json" && (dec == "json" || dec == "") {
		return "request.body|json"
	}
	switch dec {
	case "multipart", "xml":
	default:
		dec = "form"
	}
	if key == "" {
		return "request.body|" + dec
	}
	return "request.body|" + dec + nameStep(key)
}

// nameStep renders one name step: ".name" for plain identifiers,
// `["odd name"]` (a JSON string) for anything else.
func nameStep(name string) string {
	if name == "" {
		return ""
	}
	if isIdent(name) {
		return "." + name
	}
	// JSON escaping, as the grammar wants; invalid UTF-8 becomes U+FFFD.
	q, _ := json.Marshal(name)
	return "[" + string(q) + "]"
}

// isIdent reports whether s is a plain identifier: a letter or '_' then
// letters, digits, '_' or '-' (header names such as User-Agent).
func isIdent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-'):
		default:
			return false
		}
	}
	return s != ""
}

func isIndex(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
