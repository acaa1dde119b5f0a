package sessionize

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/jsonstring"
	"github.com/apisessions/apisessions/internal/point"
)

// Masking of what leaves the node beyond configured parameters: finding
// payloads and the stored content of malicious requests (SPEC §6).
//
// Two mechanisms work together:
//
//   - structure: fields whose name says they hold a secret (password,
//     passwd, pwd, pass, secret, token, apikey, passphrase: see
//     isSecretName) in JSON and form bodies and in the query, the
//     Authorization and Cookie headers (cookie names kept), and the
//     built-in session headers are replaced by "***";
//   - values: every value that must not leave (what mask points select,
//     raw values of hashed parameters, the raw grouping key when it is
//     exported hashed, built-in credentials, the secret fields above) is
//     replaced wherever it appears whole, and inside longer text when it has
//     at least minSubstring bytes.

// maxMaskParse bounds the body parsed as JSON or form for masking; a larger
// body is masked by pattern and by value only. Masking runs on malicious
// requests only, so this is about a hostile body's cost, not throughput.
const maxMaskParse = 1 << 20

// maxMaskDepth bounds JSON nesting walked when masking; deeper bodies fall
// back to pattern masking.
const maxMaskDepth = 64

// secretWords are the name prefixes of fields masked by default, matched on
// the words of a name as business flows are (newPassword, access_token,
// client-secret, X-Api-Key → api key).
func secretWords() []string {
	return []string{"password", "passwd", "pwd", "secret", "token", "apikey", "passphrase", "credential"}
}

// secretExact are short names masked only as a whole word ("pass", not
// "passenger").
func secretExact() []string { return []string{"pass", "pin"} }

// masker holds what masking needs, built once per Sessionizer.
type masker struct {
	words, exact []string
	// paths are the JSON paths of the request body that protected points
	// (mask rules, hashed parameters) read: every member there is masked,
	// a duplicate key's later values too (a point reads the first).
	paths []jsonPath
	// headers are the request header names protected points read: stored
	// content keeps their values as "***" whole,
	// whatever a point read (a header past the evaluator's header bound is
	// not read, yet is stored). Finding payloads on them are masked by
	// value, so that the attack in them stays readable.
	headers []string
	// anchors are lower-case parts of secret names searched for in bodies
	// that do not parse; each hit is checked as a field name.
	anchors [][]byte
}

func newMasker() *masker {
	return &masker{
		words:   secretWords(),
		exact:   secretExact(),
		anchors: [][]byte{[]byte("pass"), []byte("pwd"), []byte("secret"), []byte("token"), []byte("credential"), []byte("pin"), []byte("api")},
	}
}

// isSecretName reports whether a field or header name says its value is a
// secret.
func (m *masker) isSecretName(name string) bool {
	var buf [maxWords]wordSpan
	ws := splitWords(name, buf[:0])
	if anyWordMatches(name, ws, m.words) {
		return true
	}
	for _, w := range ws {
		word := name[w.start:w.end]
		for _, e := range m.exact {
			if len(word) == len(e) && hasPrefixFold(word, e) {
				return true
			}
		}
	}
	return false
}

// secrets is the set of values that must not leave, longest first (after
// sorted) so a secret inside another is not replaced first. It holds at
// most maxSecrets values: a request with more (a body of thousands of token
// fields) would make masking quadratic, so past the bound the set is "over"
// and scrub masks every text whole.
type secrets struct {
	vals []string
	seen map[string]struct{}
	over bool
	// search are the values scrub looks for inside text: those of at
	// least minSubstring bytes, ASCII lower-cased, longest
	// first (set by sorted; computed by scrub when unset).
	search [][]byte
	// lower is scrub's buffer for the lower-cased text.
	lower *[]byte
}

// maxSecrets bounds the values a secrets set tracks (see secrets). Scrubbing
// costs one substring search per value (and per escaped form) over each
// text, so this bounds its cost to a few hundred searches.
const maxSecrets = 256

// newSecrets returns a set holding vs.
func newSecrets(vs ...string) secrets {
	var s secrets
	for _, v := range vs {
		s = s.add(v)
	}
	return s
}

// add returns the set with v in it. Callers use the returned set only: the
// map is shared with the receiver.
func (s secrets) add(v string) secrets {
	v = strings.TrimSpace(v)
	if v == "" || v == maskedValue {
		return s
	}
	if _, ok := s.seen[v]; ok {
		return s
	}
	if len(s.vals) >= maxSecrets {
		s.over = true
		return s
	}
	if s.seen == nil {
		s.seen = make(map[string]struct{}, 32)
	}
	s.seen[v] = struct{}{}
	s.vals = append(s.vals, v)
	return s
}

// sorted adds the forms a secret takes inside JSON text and URLs (a
// payload or a body holds it escaped) and orders the set longest first.
func (s secrets) sorted() secrets { return s.sortedWith(nil) }

// sortedWith is sorted with extra values added as they are.
func (s secrets) sortedWith(extra []string) secrets {
	for _, v := range s.vals[:len(s.vals):len(s.vals)] {
		if e := jsonEscape(v); e != v {
			s = s.add(e)
		}
		if e := url.QueryEscape(v); e != v {
			s = s.add(e)
			// A URL path, or a browser's query, writes a space as %20.
			if p := strings.ReplaceAll(e, "+", "%20"); p != e {
				s = s.add(p)
			}
		}
		// A JSON string, decoded, holds invalid UTF-8 as U+FFFD: the
		// stored JSON body and payloads hold the value that way.
		if !utf8.ValidString(v) {
			s = s.add(replaceInvalidUTF8(v))
		}
	}
	for _, v := range extra {
		s = s.add(v)
	}
	sort.SliceStable(s.vals, func(i, j int) bool { return len(s.vals[i]) > len(s.vals[j]) })
	s.search = searchForms(s.vals)
	s.lower = new([]byte)
	return s
}

// searchForms returns the lower-cased values of vals (sorted longest first)
// long enough to be searched inside text, in one buffer. A value equal to
// another once lowered costs one more search that finds nothing.
func searchForms(vals []string) [][]byte {
	n := 0
	for _, v := range vals {
		if len(v) >= minSubstring {
			n += len(v)
		}
	}
	if n == 0 {
		return nil
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, 0, len(vals))
	for _, v := range vals {
		if len(v) < minSubstring {
			continue
		}
		start := len(buf)
		buf = appendLower(buf, v)
		out = append(out, buf[start:len(buf):len(buf)])
	}
	return out
}

// minBase64Secret and maxBase64Secret bound the secrets looked for
// base64-encoded: from 6 bytes, the encoding has at least 6 characters of
// its own, which random base64 text (an image, a signature) seldom holds by
// chance; up to 64, the personal data and passwords a client may also send
// encoded (a token longer than that is opaque already, and three more
// searches of its length per text would cost more than they find).
const (
	minBase64Secret = 6
	maxBase64Secret = 64
)

// addBase64Cores adds the base64 cores of v (see base64Cores).
func (s secrets) addBase64Cores(v string) secrets {
	var buf [2 + maxBase64Secret]byte
	var enc [(2+maxBase64Secret)*4/3 + 4]byte
	for o := 0; o < 3; o++ {
		for c, ok := base64Core(v, o, buf[:0], enc[:0]); ok; ok = false {
			s = s.add(c)
			if strings.ContainsAny(c, "+/") {
				u := []byte(c)
				for i, b := range u {
					switch b {
					case '+':
						u[i] = '-'
					case '/':
						u[i] = '_'
					}
				}
				s = s.add(string(u))
			}
		}
	}
	return s
}

// base64Cores returns the characters that v encodes to in base64 text
// wherever it lies in the encoded bytes (three alignments), in the
// standard alphabet: a base64 header, JWT segment or field holding v among
// other bytes holds one of them (or its URL-alphabet form).
func base64Cores(v string) []string {
	var out []string
	for o := 0; o < 3; o++ {
		if c, ok := base64Core(v, o, nil, nil); ok {
			out = append(out, c)
		}
	}
	return out
}

// base64Core returns the characters v encodes to when o bytes come before
// it in its group of three; false when fewer than minSubstring.
func base64Core(v string, o int, buf, enc []byte) (string, bool) {
	for range o {
		buf = append(buf, 0)
	}
	buf = append(buf, v...)
	enc = base64.RawStdEncoding.AppendEncode(enc, buf)
	skip := 0
	if o > 0 {
		skip = o + 1 // characters that hold bits of the bytes before
	}
	end := 8 * len(buf) / 6 // the last one holds bits of the bytes after
	if end-skip < minSubstring {
		return "", false
	}
	return string(enc[skip:end]), true
}

// replaceInvalidUTF8 replaces each invalid byte of v with U+FFFD, as the
// JSON walk decodes strings.
func replaceInvalidUTF8(v string) string {
	b := make([]byte, 0, len(v)+8)
	for len(v) > 0 {
		r, n := utf8.DecodeRuneInString(v)
		b = utf8.AppendRune(b, r)
		v = v[n:]
	}
	return string(b)
}

// jsonEscape returns v as it appears inside a JSON string.
func jsonEscape(v string) string {
	plain := true
	for i := 0; i < len(v) && plain; i++ {
		c := v[i]
		plain = c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	if plain {
		return v // nothing json.Marshal would escape
	}
	b, err := json.Marshal(v)
	if err != nil || len(b) < 2 {
		return v
	}
	return string(b[1 : len(b)-1])
}

// is reports whether v is one of the secrets (always, once over the bound).
func (s secrets) is(v string) bool {
	if s.over {
		return true
	}
	_, ok := s.seen[v]
	return ok
}

// scrub replaces every secret in text: all of it when it is one, occurrences
// of those long enough otherwise, in any ASCII case (see fold.go); all of it once the set is over its bound.
func (s secrets) scrub(text string) string {
	if text == "" {
		return text
	}
	if s.is(strings.TrimSpace(text)) {
		return maskedValue
	}
	search := s.search
	if search == nil {
		if search = searchForms(s.vals); search == nil {
			return text
		}
	}
	var buf []byte
	if s.lower != nil {
		buf = *s.lower
	}
	buf = appendLower(buf[:0], text)
	for _, x := range search {
		if bytes.Contains(buf, x) {
			text = replaceFold(text, buf, x, maskedValue)
			buf = appendLower(buf[:0], text)
		}
	}
	if s.lower != nil {
		*s.lower = buf
	}
	return text
}

// secretsOf gathers the values of ex that must not leave the node.
func (s *Sessionizer) secretsOf(ex *apisessions.Exchange, prot *protected, keyRaw string, keyHashed bool) secrets {
	var sec secrets
	for _, l := range [...][]string{prot.masked, prot.hashed, prot.conts} {
		for _, v := range l {
			sec = sec.add(v)
		}
	}
	if keyHashed {
		sec = sec.add(keyRaw)
	}
	h := ex.Request.Headers
	for _, name := range []string{"Authorization", "Proxy-Authorization"} {
		for _, v := range h.Values(name) {
			sec = sec.add(v)
			if scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " "); ok {
				sec = sec.add(cred)
				sec = basicSecrets(scheme, cred, sec)
			}
		}
	}
	for _, name := range sessionHeaders {
		for _, v := range h.Values(name) {
			sec = sec.add(v)
		}
	}
	for _, line := range h.Values("Cookie") {
		sec = cookieSecrets(line, sec)
	}
	// Secret fields of the query and the body.
	sec = s.mask.formSecrets(ex.RawQuery(), sec)
	body := ex.Request.Body
	if len(body) <= maxMaskParse {
		switch bodyKind(ex) {
		case kindJSON:
			if _, err := s.mask.maskJSON(body, secrets{}, func(v string) { sec = sec.add(v) }); err != nil {
				sec = s.mask.patternSecrets(body, sec)
			}
		case kindForm:
			sec = s.mask.formSecrets(string(body), sec)
		default:
			sec = s.mask.multipartSecrets(ex, body, sec)
			sec = s.mask.patternSecrets(body, sec)
		}
	} else {
		sec = s.mask.patternSecrets(body[:maxMaskParse], sec)
	}
	// What mask rules and hashed parameters select is also looked for
	// base64-encoded (as is: those forms are not escaped again); the
	// default secrets are masked where they are sent, and sent that way.
	var enc secrets
	for _, l := range [...][]string{prot.masked, prot.hashed, prot.conts} {
		for _, v := range l {
			if len(v) >= minBase64Secret && len(v) <= maxBase64Secret {
				enc = enc.addBase64Cores(v)
			}
		}
	}
	return sec.sortedWith(enc.vals)
}

// minCookieSecret is the shortest value of a cookie other than the session
// cookies taken as a secret elsewhere in the request: long enough for an
// opaque token, longer than the flags and languages cookies also carry
// ("true", "en"), which would otherwise be masked wherever they are a whole
// value.
const minCookieSecret = 16

// cookieSecrets adds the values of a Cookie line that must not leave
// through another place (a header or a query repeating a cookie): every
// value of a session cookie, repeated names included, and the values of
// other cookies from minCookieSecret bytes.
func cookieSecrets(line string, sec secrets) secrets {
	for line != "" {
		var part string
		part, line, _ = strings.Cut(line, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		session := false
		for _, name := range sessionCookies {
			if k == name {
				session = true
				break
			}
		}
		if session || len(v) >= minCookieSecret {
			sec = sec.add(v)
		}
	}
	return sec
}

// basicSecrets adds what a Basic credential decodes to ("user:password")
// and its password, which a request may also carry in the clear.
func basicSecrets(scheme, cred string, sec secrets) secrets {
	if !strings.EqualFold(scheme, "Basic") {
		return sec
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return sec
	}
	sec = sec.add(string(b))
	if _, pass, ok := strings.Cut(string(b), ":"); ok {
		sec = sec.add(pass)
	}
	return sec
}

// maskPayload masks a finding's payload: all of it when its point is under
// a mask rule, on the path of a protected point from its container (see
// protect.go; present says which are in this exchange) or is a cookie; a
// header payload as stored content masks that
// header (Authorization keeps its scheme, Cookie its names, session and
// secret-named headers are masked whole), since a payload cut at its length
// bound may hold a token no secret matches whole; else every secret in it.
//
// The point is parsed once here: it decides both the mask rule and the
// source (a payload of a point that does not parse is compared with the
// mask rules as text).
//
// maskedBody is the request body when it is a protected container (stored
// as "***"): a payload that is a piece of it is masked whole, as it is not
// among the secrets.
func (s *Sessionizer) maskPayload(pt, payload string, sec secrets, present []bool, maskedBody []byte) string {
	if len(maskedBody) > 0 && len(payload) >= minSubstring && bytes.Contains(maskedBody, []byte(payload)) {
		return maskedValue
	}
	p, err := point.Parse(pt)
	if err != nil {
		if s.maskedText(pt) {
			return maskedValue
		}
		return sec.scrub(payload)
	}
	if s.maskedBy(p) >= 0 || s.onPresent(p, present) {
		return maskedValue
	}
	if !p.Response() {
		switch p.Source() {
		case point.SourceCookie:
			return maskedValue
		case point.SourceHeader:
			return s.maskHeader(p.Name(), payload, sec)
		}
	}
	return sec.scrub(payload)
}

// maskJSONPayload masks a payload that is a JSON object or array (a body,
// a member holding an object) field by field, as stored JSON bodies are: a
// secret under 4 bytes is then masked where it is a whole value, which
// scrubbing the text leaves. Other payloads are returned as they are.
func (m *masker) maskJSONPayload(payload string, sec secrets, atBody bool) string {
	t := strings.TrimLeft(payload, " \t\r\n")
	if t == "" || (t[0] != '{' && t[0] != '[') {
		return payload
	}
	var paths []jsonPath
	if atBody {
		paths = m.paths // the paths are from the body's root
	}
	b, err := m.maskJSONAt([]byte(payload), sec, nil, paths)
	if err != nil {
		return payload // cut at the payload bound, or not JSON: scrubbed only
	}
	return sec.scrub(string(b))
}

// maskBodyPayload masks a payload on the whole request body as the stored
// body is (by scrub already): a JSON or form body field by field, and
// "***" whole when a protected point still reads its value from it.
func (s *Sessionizer) maskBodyPayload(w *worker, ex *apisessions.Exchange, payload string, sec secrets, prot *protected) string {
	if bodyKind(ex) == kindForm {
		payload = s.mask.maskForm(payload, sec)
	}
	if s.bodyHolds(w, ex.Request.Headers, []byte(payload), prot) {
		return maskedValue
	}
	return payload
}

// content builds the masked content of a malicious request. bodyMasked: the
// body is the container of a protected point, stored as "***".
func (s *Sessionizer) content(ex *apisessions.Exchange, sec secrets, bodyMasked bool) *apisessions.Content {
	c := &apisessions.Content{
		Method:  ex.Request.Method,
		Target:  s.maskTarget(ex.Target(), sec),
		Headers: make(apisessions.Headers, 0, len(ex.Request.Headers)),
	}
	for _, h := range ex.Request.Headers {
		v := maskedValue
		if !slices.ContainsFunc(s.mask.headers, func(n string) bool { return strings.EqualFold(n, h.Name) }) {
			v = s.maskHeader(h.Name, h.Value, sec)
		}
		// A name is kept as sent unless it holds a protected value.
		c.Headers = append(c.Headers, apisessions.Header{Name: sec.scrub(h.Name), Value: v})
	}
	if bodyMasked || encodedBody(ex) {
		if len(ex.Request.Body) > 0 {
			c.Body = maskedValue
		}
		return c
	}
	body := s.maskBody(ex, sec)
	if len(body) > s.bodyLimit {
		body = body[:s.bodyLimit]
		c.Truncated = true
		// Cut at a rune start so a UTF-8 body stays text.
		for n := 0; n < utf8.UTFMax && len(body) > 0 && !utf8.Valid(body); n++ {
			body = body[:len(body)-1]
		}
	}
	if utf8.Valid(body) {
		c.Body = string(body)
	} else {
		c.Body = base64.StdEncoding.EncodeToString(body)
		c.BodyBase64 = true
	}
	return c
}

// encodedBody reports a request body sent with a Content-Encoding: its
// bytes, compressed, hide every field from masking, and would decompress
// back to them, so the content stores it as "***".
func encodedBody(ex *apisessions.Exchange) bool {
	for _, v := range ex.Request.Headers.Values("Content-Encoding") {
		if ce := strings.TrimSpace(v); ce != "" && !strings.EqualFold(ce, "identity") {
			return true
		}
	}
	return false
}

// maskHeader masks one request header value.
func (s *Sessionizer) maskHeader(name, v string, sec secrets) string {
	switch {
	case strings.EqualFold(name, "Authorization"), strings.EqualFold(name, "Proxy-Authorization"):
		// Keep the scheme: which kind of credential was sent matters.
		if scheme, _, ok := strings.Cut(strings.TrimSpace(v), " "); ok {
			return scheme + " " + maskedValue
		}
		return maskedValue
	case strings.EqualFold(name, "Cookie"):
		return sec.scrub(maskCookies(v)) // a name may hold a protected value
	}
	for _, h := range sessionHeaders {
		if strings.EqualFold(name, h) {
			return maskedValue
		}
	}
	if s.mask.isSecretName(name) {
		return maskedValue
	}
	return sec.scrub(v)
}

// maskCookies keeps cookie names and masks every value.
func maskCookies(line string) string {
	var b strings.Builder
	for i, part := range strings.Split(line, ";") {
		if i > 0 {
			b.WriteString("; ")
		}
		name, _, ok := strings.Cut(strings.TrimSpace(part), "=")
		b.WriteString(name)
		if ok {
			b.WriteString("=" + maskedValue)
		}
	}
	return b.String()
}

// maskTarget masks the query of a request target; the path is scrubbed of
// secrets only.
func (s *Sessionizer) maskTarget(target string, sec secrets) string {
	if sec.is(target) {
		return maskedValue // a protected request.url
	}
	path, query, hasQuery := strings.Cut(target, "?")
	// Segment by segment as the exported path is (a short value is masked
	// where it is a whole segment), then every value inside the rest.
	path = sec.scrub(scrubPath(path, sec.vals))
	if !hasQuery {
		return path
	}
	return path + "?" + s.mask.maskForm(query, sec)
}

type bodyType int

const (
	kindOther bodyType = iota
	kindJSON
	kindForm
)

// bodyKind tells JSON and form bodies apart by Content-Type, else by look.
func bodyKind(ex *apisessions.Exchange) bodyType {
	ct, _ := ex.Request.Headers.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		switch {
		case mt == "application/json" || strings.HasSuffix(mt, "+json"):
			return kindJSON
		case mt == "application/x-www-form-urlencoded":
			return kindForm
		}
	}
	t := bytes.TrimSpace(ex.Request.Body)
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return kindJSON
	}
	return kindOther
}

// maskBody returns the request body with secrets masked, unbounded (the
// caller cuts it).
func (s *Sessionizer) maskBody(ex *apisessions.Exchange, sec secrets) []byte {
	body := ex.Request.Body
	if len(body) == 0 {
		return nil
	}
	var out []byte
	if len(body) <= maxMaskParse {
		switch bodyKind(ex) {
		case kindJSON:
			b, err := s.mask.maskJSON(body, sec, nil)
			if err != nil {
				// Not the error: json syntax errors quote body bytes.
				s.log.Debug("content body is not JSON this masker parses: masked by pattern")
			}
			out = b
		case kindForm:
			out = []byte(s.mask.maskForm(string(body), sec))
		}
	}
	if out == nil {
		// Only what can be kept is worth masking, plus a margin so a value
		// straddling the cut is still recognised whole.
		if limit := s.bodyLimit + maskMargin; len(body) > limit {
			body = body[:limit]
		}
		out = s.mask.maskPatterns(body)
	}
	return []byte(sec.scrub(string(out)))
}

// maskMargin is how far past the content limit an unparsed body is masked.
const maskMargin = 4 << 10

// maskForm masks an urlencoded list (query or form body): secret names and
// secret values become "***"; everything else is kept byte for byte.
func (m *masker) maskForm(q string, sec secrets) string {
	if q == "" {
		return q
	}
	var b strings.Builder
	b.Grow(len(q))
	for i, pair := range strings.Split(q, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		k, v, ok := strings.Cut(pair, "=")
		// Decoded as points decode them, so a value compares equal to what
		// a point read there, stray '%' and all.
		dk, dv := point.UnescapeForm(k), point.UnescapeForm(v)
		switch {
		case ok && v != "" && (m.isSecretName(dk) || sec.is(dv)):
			b.WriteString(k + "=" + maskedValue)
		case !ok && sec.is(dk):
			b.WriteString(maskedValue)
		default:
			b.WriteString(pair)
		}
	}
	return sec.scrub(b.String())
}

// formSecrets adds the values of secret-named fields of an urlencoded list.
func (m *masker) formSecrets(q string, sec secrets) secrets {
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		k, v, ok := strings.Cut(pair, "=")
		if !ok || v == "" {
			continue
		}
		dv := point.UnescapeForm(v)
		if m.isSecretName(point.UnescapeForm(k)) {
			sec = sec.add(dv)
			sec = sec.add(v)
		} else if nestedText(dv) {
			// JSON or a form sent as one value: its secret fields.
			sec = m.patternSecrets([]byte(dv), sec)
		}
	}
	return sec
}

// nestedText reports whether a value may hold secret-named fields of its
// own: JSON or an urlencoded list sent as one form value or JSON string.
func nestedText(v string) bool {
	return len(v) > 4 && (strings.ContainsRune(v, '=') || (strings.ContainsRune(v, ':') && strings.ContainsAny(v, "{[")))
}

// maxPartValue bounds what is read of one multipart field's value.
const maxPartValue = 64 << 10

// multipartSecrets adds the values of secret-named fields (not files) of a
// multipart/form-data body, which the stored content keeps as sent; scrub
// then masks them there.
func (m *masker) multipartSecrets(ex *apisessions.Exchange, body []byte, sec secrets) secrets {
	ct, _ := ex.Request.Headers.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return sec
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := r.NextPart()
		if err != nil {
			return sec // the end, or a body cut short: what was read counts
		}
		if part.FileName() == "" && m.isSecretName(part.FormName()) {
			v, _ := io.ReadAll(io.LimitReader(part, maxPartValue))
			sec = sec.add(string(v))
		}
	}
}

// patternSecrets adds secret-named field values found by pattern in a body
// that is neither parsed JSON nor a form.
func (m *masker) patternSecrets(body []byte, sec secrets) secrets {
	for _, f := range m.scanFields(body) {
		v := string(body[f.start:f.end])
		if f.quoted {
			if uq, err := jsonUnquote(v); err == nil {
				v = uq
			}
		}
		sec = sec.add(v)
	}
	return sec
}

// nestedSecrets reports the secret-named field values found by pattern in
// v, JSON-unquoted.
func (m *masker) nestedSecrets(v string, report func(string)) {
	b := []byte(v)
	for _, f := range m.scanFields(b) {
		fv := string(b[f.start:f.end])
		if f.quoted {
			if uq, err := jsonUnquote(fv); err == nil {
				fv = uq
			}
		}
		report(fv)
	}
}

// jsonUnquote returns the value of a JSON string literal; text that is not
// one is returned as it is.
func jsonUnquote(v string) (string, error) {
	if len(v) < 2 || v[0] != '"' {
		return v, nil
	}
	b, _, p := jsonstring.Append(nil, v, 0)
	if p != jsonstring.OK {
		return v, errors.New("json string: " + p.String())
	}
	return string(b), nil
}

// maskPatterns masks secret-named fields by pattern in a body that could not
// be parsed: `"password": "..."` (the value a string, number or literal) and
// `password=...`.
func (m *masker) maskPatterns(body []byte) []byte {
	fields := m.scanFields(body)
	if len(fields) == 0 {
		return body
	}
	out := make([]byte, 0, len(body))
	last := 0
	for _, f := range fields {
		out = append(out, body[last:f.start]...)
		if f.quoted {
			out = append(out, `"***"`...)
		} else {
			out = append(out, maskedValue...)
		}
		last = f.end
	}
	return append(out, body[last:]...)
}

// field is the value of a secret-named field found in unparsed text.
type field struct {
	start, end int  // body[start:end] is the value, quotes included
	quoted     bool // a JSON string
}

// maxFieldName bounds how far around an anchor a field name is looked for.
const maxFieldName = 128

// scanFields finds the values of secret-named fields in text that is not
// parsed, in order and without overlap. Rather than a regular expression over
// every byte (slow on large bodies), it searches the anchors and looks
// around each hit for a name: quoted and followed by ':' (JSON), or after a
// separator and followed by '=' (form).
func (m *masker) scanFields(body []byte) []field {
	// ASCII only, byte for byte: bytes.ToLower rewrites invalid UTF-8 and
	// would shift positions against body.
	lower := make([]byte, len(body))
	for i, c := range body {
		lower[i] = lowerASCII(c)
	}
	var hits []int
	for _, a := range m.anchors {
		for i := 0; ; {
			k := bytes.Index(lower[i:], a)
			if k < 0 {
				break
			}
			hits = append(hits, i+k)
			i += k + len(a)
		}
	}
	if len(hits) == 0 {
		return nil
	}
	sort.Ints(hits)
	var out []field
	end := 0 // fields must not overlap
	for _, h := range hits {
		if h < end {
			continue
		}
		f, ok := m.jsonFieldAt(body, h)
		if !ok {
			f, ok = m.formFieldAt(body, h)
		}
		if ok && f.start >= end {
			out = append(out, f)
			end = f.end
		}
	}
	return out
}

// jsonFieldAt reads `"name" : value` around position h inside name.
func (m *masker) jsonFieldAt(b []byte, h int) (field, bool) {
	lo := max(0, h-maxFieldName)
	q1 := bytes.LastIndexByte(b[lo:h], '"')
	if q1 < 0 {
		return field{}, false
	}
	q1 += lo
	q2 := bytes.IndexByte(b[h:min(len(b), h+maxFieldName)], '"')
	if q2 < 0 {
		return field{}, false
	}
	q2 += h
	name := b[q1+1 : q2]
	if bytes.ContainsAny(name, "\\:,{}") || !m.isSecretName(string(name)) {
		return field{}, false
	}
	i := skipSpace(b, q2+1)
	if i >= len(b) || b[i] != ':' {
		return field{}, false
	}
	i = skipSpace(b, i+1)
	if i >= len(b) {
		return field{}, false
	}
	if b[i] == '"' {
		j := i + 1
		for j < len(b) && b[j] != '"' {
			if b[j] == '\\' {
				j++
			}
			j++
		}
		return field{start: i, end: min(j+1, len(b)), quoted: true}, true
	}
	j := i
	for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || (b[j] >= '0' && b[j] <= '9') || (b[j] >= 'a' && b[j] <= 'z') || (b[j] >= 'A' && b[j] <= 'Z')) {
		j++
	}
	if j == i {
		return field{}, false
	}
	return field{start: i, end: j}, true
}

// formFieldAt reads `name=value` around position h inside name.
func (m *masker) formFieldAt(b []byte, h int) (field, bool) {
	isSep := func(c byte) bool {
		return c == '&' || c == '?' || c == ';' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
	}
	s := h
	for s > 0 && h-s < maxFieldName && !isSep(b[s-1]) && b[s-1] != '=' {
		s--
	}
	e := h
	for e < len(b) && e-h < maxFieldName && b[e] != '=' && !isSep(b[e]) {
		e++
	}
	if e >= len(b) || b[e] != '=' || !m.isSecretName(string(b[s:e])) {
		return field{}, false
	}
	v := e + 1
	j := v
	for j < len(b) && !isSep(b[j]) && b[j] != '&' {
		j++
	}
	return field{start: v, end: j}, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// errTooDeep stops the JSON walk on nesting past maxMaskDepth.
var errTooDeep = errors.New("json nesting too deep to mask")

// errNotJSON is a body the JSON walk does not read: the caller falls back
// to pattern masking.
var errNotJSON = errors.New("body is not one JSON value")

// maskJSON rewrites a JSON body with secret-named fields (all their leaves)
// and secret values replaced by "***", keeping key order. With onSecret set
// it reports the values of secret-named fields instead of caring about the
// output. Invalid JSON is an error: the caller falls back to patterns.
//
// It reads the bytes itself rather than through encoding/json's Decoder,
// whose Token allocates per token (most of the cost of a malicious
// request's content): the same values are accepted, decoded and written
// (FuzzMaskJSONSame checks it against a Decoder walk).
func (m *masker) maskJSON(body []byte, sec secrets, onSecret func(string)) ([]byte, error) {
	return m.maskJSONAt(body, sec, onSecret, m.paths)
}

// maskJSONAt is maskJSON with the protected paths given (none for a JSON
// text that is not the body).
func (m *masker) maskJSONAt(body []byte, sec secrets, onSecret func(string), paths []jsonPath) ([]byte, error) {
	w := jsonWalker{m: m, b: body, sec: sec, onSecret: onSecret, paths: paths}
	w.out = make([]byte, 0, len(body)+16)
	if err := w.value(false, 0); err != nil {
		return nil, err
	}
	if w.ws(); w.i != len(w.b) {
		return nil, errNotJSON // trailing data
	}
	return w.out, nil
}

type jsonWalker struct {
	m        *masker
	b        []byte
	i        int
	sec      secrets
	onSecret func(string)
	out      []byte
	scratch  []byte
	// paths are the protected paths; at is the path of the current value
	// (tracked only when there are paths).
	paths []jsonPath
	at    jsonPath
}

// jsonStep is a member name, or an array index when idx >= 0, or any
// element of an array when idx is anyIndex.
type jsonStep struct {
	name string
	idx  int
}

// anyIndex in a protected path matches every element of an array.
const anyIndex = -2

// jsonPath is where a value lies in a JSON text, from its root.
type jsonPath []jsonStep

// bodyJSONPaths returns the JSON paths a point reads in the request body:
// its names and indexes after a first json decoder, up to the next decoder
// (what a point reads through base64 or another decoder lies inside the
// value there). A GraphQL variable is read in the "variables" member of
// the JSON envelope, or of each operation of a batch (the point reads the
// first). None for a point that does not read the body as JSON.
func bodyJSONPaths(p *point.Point) []jsonPath {
	steps := p.Steps()
	if p.Response() || p.Source() != point.SourceBody || len(steps) < 2 || steps[0].Kind != point.StepDecode {
		return nil
	}
	switch {
	case steps[0].Decoder == point.DecoderJSON:
		if jp, ok := namePath(steps[1:]); ok {
			return []jsonPath{jp}
		}
	case steps[0].Decoder == point.DecoderGraphQL && steps[1].Kind == point.StepName && steps[1].Name == "variables":
		if jp, ok := namePath(steps[1:]); ok && len(jp) > 1 {
			return []jsonPath{jp, append(jsonPath{{idx: anyIndex}}, jp...)}
		}
	}
	return nil
}

// namePath returns the JSON path of the leading name and index steps.
func namePath(steps []point.Step) (jsonPath, bool) {
	var jp jsonPath
	for _, st := range steps {
		if st.Kind == point.StepName {
			jp = append(jp, jsonStep{name: st.Name, idx: -1})
		} else if st.Kind == point.StepIndex {
			jp = append(jp, jsonStep{idx: st.Index})
		} else {
			break
		}
	}
	return jp, len(jp) > 0
}

// onPath reports whether the current value lies at one of the protected
// paths.
func (w *jsonWalker) onPath() bool {
	for _, p := range w.paths {
		if len(p) != len(w.at) {
			continue
		}
		same := true
		for i := range p {
			if p[i] != w.at[i] && (p[i].idx != anyIndex || w.at[i].idx < 0) {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}

func (w *jsonWalker) ws() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c, taking it
// when it is.
func (w *jsonWalker) next(c byte) bool {
	w.ws()
	if w.i < len(w.b) && w.b[w.i] == c {
		w.i++
		return true
	}
	return false
}

func (w *jsonWalker) value(secret bool, depth int) error {
	if depth > maxMaskDepth {
		return errTooDeep
	}
	w.ws()
	if w.i >= len(w.b) {
		return errNotJSON
	}
	switch c := w.b[w.i]; c {
	case '{':
		w.i++
		w.out = append(w.out, '{')
		if w.next('}') {
			w.out = append(w.out, '}')
			return nil
		}
		for n := 0; ; n++ {
			if w.ws(); w.i >= len(w.b) || w.b[w.i] != '"' {
				return errNotJSON
			}
			key, err := w.str()
			if err != nil {
				return err
			}
			if !w.next(':') {
				return errNotJSON
			}
			if n > 0 {
				w.out = append(w.out, ',')
			}
			w.out = jsonstring.AppendQuote(w.out, key)
			w.out = append(w.out, ':')
			sub := secret || w.m.isSecretName(key)
			if len(w.paths) > 0 {
				w.at = append(w.at[:depth], jsonStep{name: key, idx: -1})
				sub = sub || w.onPath()
			}
			if err := w.value(sub, depth+1); err != nil {
				return err
			}
			if w.next(',') {
				continue
			}
			if w.next('}') {
				w.out = append(w.out, '}')
				return nil
			}
			return errNotJSON
		}
	case '[':
		w.i++
		w.out = append(w.out, '[')
		if w.next(']') {
			w.out = append(w.out, ']')
			return nil
		}
		for n := 0; ; n++ {
			if n > 0 {
				w.out = append(w.out, ',')
			}
			sub := secret
			if len(w.paths) > 0 {
				w.at = append(w.at[:depth], jsonStep{idx: n})
				sub = sub || w.onPath()
			}
			if err := w.value(sub, depth+1); err != nil {
				return err
			}
			if w.next(',') {
				continue
			}
			if w.next(']') {
				w.out = append(w.out, ']')
				return nil
			}
			return errNotJSON
		}
	case '"':
		v, err := w.str()
		if err != nil {
			return err
		}
		w.leaf(secret, v, true)
	case 't', 'f', 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if bytes.HasPrefix(w.b[w.i:], []byte(lit)) {
				w.i += len(lit)
				if lit == "null" {
					w.out = append(w.out, lit...)
				} else {
					w.leaf(secret, lit, false)
				}
				return nil
			}
		}
		return errNotJSON
	default:
		n := jsonNumber(w.b[w.i:])
		if n == 0 {
			return errNotJSON
		}
		v := string(w.b[w.i : w.i+n])
		w.i += n
		w.leaf(secret, v, false)
	}
	return nil
}

// str reads the string at w.i (its opening quote) and returns its value,
// invalid UTF-8 replaced byte by byte with U+FFFD as encoding/json does.
func (w *jsonWalker) str() (string, error) {
	b, end, p := jsonstring.Append(w.scratch[:0], w.b, w.i)
	w.scratch = b
	if p != jsonstring.OK {
		return "", errNotJSON
	}
	w.i = end
	if utf8.Valid(b) {
		return string(b), nil
	}
	v := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		v = utf8.AppendRune(v, r)
		b = b[n:]
	}
	return string(v), nil
}

// jsonNumber returns the length of the JSON number at the start of b, 0
// when there is none (RFC 8259 §6: no leading zeros, no bare '.' or 'e').
func jsonNumber(b []byte) int {
	i := 0
	digits := func() int {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return 0
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0
		}
	}
	return i
}

// leaf writes a scalar: "***" when secret or one of the secrets, else as
// read (a string quoted again).
func (w *jsonWalker) leaf(secret bool, v string, quoted bool) {
	if w.onSecret != nil {
		switch {
		case secret:
			w.onSecret(v)
		case quoted && nestedText(v):
			// JSON or a form sent as a string: its secret fields.
			w.m.nestedSecrets(v, w.onSecret)
		}
	}
	switch {
	case secret || w.sec.is(v):
		w.out = jsonstring.AppendQuote(w.out, maskedValue)
	case quoted:
		w.out = jsonstring.AppendQuote(w.out, v)
	default:
		w.out = append(w.out, v...)
	}
}
