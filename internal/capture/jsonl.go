package capture

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/jsonstring"
)

// JSONLReader reads the JSON-lines format of SPEC §2: one exchange per line,
//
//	{"id": "r-1", "time": "2026-11-20T10:00:00.123Z", "client_ip": "203.0.113.7",
//	 "request":  {"method": "POST", "url": "https://h/p?q", "headers": [["Name", "value"]],
//	              "body": "...", "body_base64": false},
//	 "response": {"status": 200, "headers": [...], "body": "...", "body_base64": false,
//	              "duration_ms": 12.5}}
//
// Only request.method and request.url are required. id may be a string or a
// number; time is RFC 3339, returned in UTC, and a missing time is the zero
// time. Blank lines are skipped without
// counting as bad; unknown fields are ignored so that newer writers can add
// fields.
type JSONLReader struct {
	br   *bufio.Reader
	opts Options
	max  int

	line      []byte // the current line when it spans bufio chunks
	lineNo    int64
	pos       int64
	off       int64
	malformed int
	err       error
	bomDone   bool
}

var _ Reader = (*JSONLReader)(nil)

// jsonlBufSize is the read buffer: a line shorter than it is decoded in
// place without a copy.
const jsonlBufSize = 64 << 10

// NewJSONLReader returns a reader of JSON lines from r.
func NewJSONLReader(r io.Reader, opts Options) *JSONLReader {
	return newJSONLReaderSize(r, opts, jsonlBufSize)
}

// newJSONLReaderSize lets tests use a tiny buffer, so that lines cross
// buffer boundaries everywhere.
func newJSONLReaderSize(r io.Reader, opts Options, size int) *JSONLReader {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < size {
		br = bufio.NewReaderSize(r, size)
	}
	return &JSONLReader{br: br, opts: opts, max: opts.maxRecord()}
}

// Next implements Reader.
func (r *JSONLReader) Next() (*apisessions.Exchange, error) {
	for {
		line, _, err := r.nextLine()
		if err != nil {
			return nil, err
		}
		ex, derr := ParseJSONL(line)
		if derr != nil {
			r.bad(derr)
			continue
		}
		r.pos = r.lineNo
		return ex, nil
	}
}

// NextRaw returns the next line that is not blank, without its end of line
// and without decoding it, and its 1-based line number: for callers that
// decode lines elsewhere with ParseJSONL, on other goroutines say, since
// decoding costs far more than finding where lines end. The slice is valid
// until the next call. A line over MaxRecordBytes is counted and reported
// to OnError as Next does; a line that is not a valid exchange is returned
// like any other, and counting and reporting it is then the caller's
// (Malformed does not count it). Pos returns the number of the line
// NextRaw returned last. The errors are those of Next.
func (r *JSONLReader) NextRaw() ([]byte, int64, error) {
	line, no, err := r.nextLine()
	if err != nil {
		return nil, 0, err
	}
	r.pos = no
	return line, no, nil
}

// nextLine returns the next line that is not blank and its number,
// reporting lines over the limit on the way.
func (r *JSONLReader) nextLine() ([]byte, int64, error) {
	for r.err == nil {
		line, tooLong, err := r.readLine()
		if err != nil && !(err == io.EOF && (len(line) > 0 || tooLong)) {
			r.err = err
			if err != io.EOF {
				r.err = fmt.Errorf("line %d: read: %w", r.lineNo+1, err)
			}
			break
		}
		r.lineNo++
		if tooLong {
			r.bad(errTooLong("line", r.max))
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		return line, r.lineNo, nil
	}
	return nil, 0, r.err
}

func (r *JSONLReader) bad(err error) {
	r.malformed++
	if r.opts.OnError != nil {
		r.opts.OnError(r.lineNo, err)
	}
}

// readLine returns the next line without its end of line. A line longer
// than the limit is read through and dropped chunk by chunk (tooLong), so
// that it never sits in memory whole. The returned slice is valid until the
// next call.
func (r *JSONLReader) readLine() (line []byte, tooLong bool, err error) {
	if cap(r.line) > 4*jsonlBufSize {
		// One long line must not keep its buffer for the rest of the file.
		r.line = nil
	}
	r.line = r.line[:0]
	// The limit is on the content; leave room for "\r\n".
	limit := r.max + 2
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.off += int64(len(chunk))
		if !r.bomDone {
			r.bomDone = true
			chunk = bytes.TrimPrefix(chunk, utf8BOM)
		}
		switch {
		case tooLong:
		case len(r.line)+len(chunk) > limit:
			tooLong, r.line = true, r.line[:0]
		case err == nil && len(r.line) == 0:
			// The whole line is in the read buffer: no copy.
			line = chunk
		default:
			r.line = append(r.line, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if line == nil {
			line = r.line
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > r.max {
			tooLong, line = true, nil
		}
		return line, tooLong, err
	}
}

// Pos implements Reader.
func (r *JSONLReader) Pos() int64 { return r.pos }

// Offset implements Reader.
func (r *JSONLReader) Offset() int64 { return r.off }

// Malformed implements Reader.
func (r *JSONLReader) Malformed() int { return r.malformed }

type jsonlRecord struct {
	ID       json.RawMessage `json:"id"`
	Time     string          `json:"time"`
	ClientIP string          `json:"client_ip"`
	Request  *jsonlRequest   `json:"request"`
	Response *jsonlResponse  `json:"response"`
}

type jsonlRequest struct {
	Method     string     `json:"method"`
	URL        string     `json:"url"`
	Headers    [][]string `json:"headers"`
	Body       string     `json:"body"`
	BodyBase64 bool       `json:"body_base64"`
}

type jsonlResponse struct {
	Status     int        `json:"status"`
	Headers    [][]string `json:"headers"`
	Body       string     `json:"body"`
	BodyBase64 bool       `json:"body_base64"`
	DurationMS float64    `json:"duration_ms"`
}

// maxDurationMS keeps duration_ms inside time.Duration (about 292 years).
const maxDurationMS = float64(1<<63-1) / float64(time.Millisecond)

// ParseJSONL decodes one line of the JSON-lines format (see JSONLReader),
// without its end of line, into a new exchange. The exchange keeps no
// reference to line, which the caller may reuse. The error names the field
// and the problem but never quotes a value; it is the one Next reports for
// the line. ParseJSONL sets no size limit: the caller bounds the line (as
// the reader does with Options.MaxRecordBytes). It is safe for concurrent
// use.
func ParseJSONL(line []byte) (*apisessions.Exchange, error) {
	d := jsonlDecoder{b: line}
	if ex, ok := d.exchange(); ok {
		return ex, nil
	}
	// The fast decoder declined the line: encoding/json decides, and words
	// the error.
	return decodeJSONLine(line)
}

// decodeJSONLine decodes one line with encoding/json, the reference
// ParseJSONL's fast path must agree with. Errors name the field, never its
// value.
func decodeJSONLine(line []byte) (*apisessions.Exchange, error) {
	var rec jsonlRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return nil, describeJSONError(err)
	}
	ex := &apisessions.Exchange{}
	var err error
	if ex.ID, err = decodeID(rec.ID); err != nil {
		return nil, err
	}
	if ex.Time, err = parseTime("time", rec.Time); err != nil {
		return nil, err
	}
	if ex.ClientIP, err = parseIP("client_ip", rec.ClientIP); err != nil {
		return nil, err
	}
	q := rec.Request
	if q == nil {
		return nil, errors.New("request missing")
	}
	if err := checkRequestLine(q.Method, q.URL); err != nil {
		return nil, err
	}
	ex.Request.Method, ex.Request.URL = q.Method, q.URL
	if ex.Request.Headers, err = pairsToHeaders("request.headers", q.Headers); err != nil {
		return nil, err
	}
	if ex.Request.Body, err = body("request.body", q.Body, q.BodyBase64); err != nil {
		return nil, err
	}
	if p := rec.Response; p != nil {
		if p.Status < 100 || p.Status > 999 {
			return nil, errors.New("response.status: want a status code from 100 to 999")
		}
		if p.DurationMS < 0 || p.DurationMS > maxDurationMS {
			return nil, errors.New("response.duration_ms: want a positive number of milliseconds")
		}
		resp := &apisessions.Response{
			Status:   p.Status,
			Duration: time.Duration(p.DurationMS * float64(time.Millisecond)),
		}
		if resp.Headers, err = pairsToHeaders("response.headers", p.Headers); err != nil {
			return nil, err
		}
		if resp.Body, err = body("response.body", p.Body, p.BodyBase64); err != nil {
			return nil, err
		}
		ex.Response = resp
	}
	return ex, nil
}

// decodeID accepts a string or a number (some exporters number their
// requests) and returns it as text.
func decodeID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", describeJSONError(err)
		}
		return s, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw), nil
	}
	return "", errors.New("id: want a string or a number")
}

func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		// time's error quotes the input; ours does not.
		return time.Time{}, fmt.Errorf("%s: want an RFC 3339 time such as 2026-11-20T10:00:00Z", field)
	}
	// In UTC, so that equal instants compare and print the same.
	return t.UTC(), nil
}

// parseIP checks a client IP and returns it in canonical form. An
// "ip:port" is accepted, since some capture tools record the peer address.
func parseIP(field, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String(), nil
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().String(), nil
	}
	return "", fmt.Errorf("%s: not an IP address", field)
}

// checkRequestLine checks what both formats require of a request: a method
// and a URL. Errors name the field, never the value.
func checkRequestLine(method, url string) error {
	if err := checkMethod(method); err != nil {
		return fmt.Errorf("request.method %w", err)
	}
	if url == "" {
		return errors.New("request.url missing")
	}
	return nil
}

// checkMethod refuses an empty method or one that is not an HTTP token,
// which could not have been on the wire.
func checkMethod(m string) error {
	if m == "" {
		return errors.New("missing")
	}
	if len(m) > 64 {
		return errors.New("too long")
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`"(),/:;<=>?@[\]{}`), c) >= 0 {
			return errors.New("is not an HTTP token")
		}
	}
	return nil
}

func pairsToHeaders(field string, pairs [][]string) (apisessions.Headers, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	hs := make(apisessions.Headers, 0, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("%s[%d]: want a [name, value] pair", field, i)
		}
		if p[0] == "" {
			return nil, fmt.Errorf("%s[%d]: empty header name", field, i)
		}
		hs = append(hs, apisessions.Header{Name: p[0], Value: p[1]})
	}
	return hs, nil
}

// body returns the body bytes; with isBase64 the text is base64 (padded or
// not), which is how binary and compressed bodies travel in JSON.
func body(field, text string, isBase64 bool) ([]byte, error) {
	if text == "" {
		return nil, nil
	}
	if !isBase64 {
		return []byte(text), nil
	}
	b, err := decodeBase64(text)
	if err != nil {
		return nil, fmt.Errorf("%s: body_base64 is set but the body is not base64", field)
	}
	return b, nil
}

func decodeBase64(s string) ([]byte, error) {
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		// Some writers use the URL alphabet.
		enc = base64.URLEncoding
		if len(s)%4 != 0 {
			enc = base64.RawURLEncoding
		}
		if b2, err2 := enc.DecodeString(s); err2 == nil {
			return b2, nil
		}
		return nil, err
	}
	return b, nil
}

// decodeBase64Bytes is decodeBase64 on bytes, which saves a copy of the
// text.
func decodeBase64Bytes(s []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(b, s)
	if err != nil {
		enc = base64.URLEncoding
		if len(s)%4 != 0 {
			enc = base64.RawURLEncoding
		}
		n2, err2 := enc.Decode(b, s)
		if err2 == nil {
			return b[:n2], nil
		}
		return nil, err
	}
	return b[:n], nil
}

// jsonlDecoder is the fast path of ParseJSONL: a decoder of the shape
// the format defines, without reflection and without the separate
// validation pass of encoding/json, which together cost most of an import
// (about 13 µs a line). It takes only what it is sure encoding/json reads
// the same way and declines everything else (ok false): errors of any kind,
// a key that only matches a field ignoring case, a repeated key, escaped
// keys, invalid UTF-8 (which encoding/json replaces), nulls inside headers,
// deep nesting. ParseJSONL then asks encoding/json,
// so results and error messages are those of encoding/json by
// construction; FuzzJSONL checks that the two agree.
type jsonlDecoder struct {
	b []byte
	i int
	// scratch holds the last unescaped string; reused.
	scratch []byte
	// escaped says whether the last string read had escapes.
	escaped bool
}

// maxFastDepth is the nesting the fast decoder skips in unknown fields;
// deeper input goes to encoding/json, which has its own limit.
const maxFastDepth = 64

// jsonlMessage is what the fast decoder reads of one side of an exchange.
type jsonlMessage struct {
	present    bool
	method     string
	url        string
	status     int
	headers    apisessions.Headers
	body       []byte // aliases the line or scratch until copied
	bodyOwned  bool   // body is already a copy
	bodyBase64 bool
	durationMS float64
}

// Field bits, to decline repeated keys (encoding/json merges them).
const (
	fID = 1 << iota
	fTime
	fClientIP
	fRequest
	fResponse
	fMethod
	fURL
	fHeaders
	fBody
	fBodyBase64
	fStatus
	fDurationMS
)

func (d *jsonlDecoder) exchange() (*apisessions.Exchange, bool) {
	var (
		id, ts, ip string
		req, resp  jsonlMessage
		seen       int
	)
	if !d.consume('{') {
		return nil, false
	}
	if !d.consume('}') {
		for {
			key, ok := d.key()
			if !ok {
				return nil, false
			}
			var bit int
			switch string(key) {
			case "id":
				bit = fID
				if id, ok = d.id(); !ok {
					return nil, false
				}
			case "time":
				bit = fTime
				if ts, ok = d.stringOrNull(); !ok {
					return nil, false
				}
			case "client_ip":
				bit = fClientIP
				if ip, ok = d.stringOrNull(); !ok {
					return nil, false
				}
			case "request":
				bit = fRequest
				if !d.message(&req, false) {
					return nil, false
				}
			case "response":
				bit = fResponse
				if !d.message(&resp, true) {
					return nil, false
				}
			default:
				if !unknownKey(key, "id", "time", "client_ip", "request", "response") || !d.skip(0) {
					return nil, false
				}
			}
			if seen&bit != 0 {
				return nil, false
			}
			seen |= bit
			if d.consume(',') {
				continue
			}
			if d.consume('}') {
				break
			}
			return nil, false
		}
	}
	if d.ws(); d.i != len(d.b) {
		return nil, false
	}
	return buildExchange(id, ts, ip, &req, &resp)
}

// buildExchange checks the fields as decodeJSONLine does; any problem
// declines the line, for decodeJSONLine to report it in its words.
func buildExchange(id, ts, ip string, req, resp *jsonlMessage) (*apisessions.Exchange, bool) {
	ex := &apisessions.Exchange{ID: id}
	var err error
	if ex.Time, err = parseTime("time", ts); err != nil {
		return nil, false
	}
	if ex.ClientIP, err = parseIP("client_ip", ip); err != nil {
		return nil, false
	}
	if !req.present || checkMethod(req.method) != nil || req.url == "" {
		return nil, false
	}
	ex.Request.Method, ex.Request.URL, ex.Request.Headers = req.method, req.url, req.headers
	var ok bool
	if ex.Request.Body, ok = req.finalBody(); !ok {
		return nil, false
	}
	if resp.present {
		if resp.status < 100 || resp.status > 999 || resp.durationMS < 0 || resp.durationMS > maxDurationMS {
			return nil, false
		}
		r := &apisessions.Response{
			Status:   resp.status,
			Headers:  resp.headers,
			Duration: time.Duration(resp.durationMS * float64(time.Millisecond)),
		}
		if r.Body, ok = resp.finalBody(); !ok {
			return nil, false
		}
		ex.Response = r
	}
	return ex, true
}

// finalBody returns the body as body() would, owning its bytes.
func (m *jsonlMessage) finalBody() ([]byte, bool) {
	switch {
	case len(m.body) == 0:
		return nil, true
	case m.bodyBase64:
		b, err := decodeBase64Bytes(m.body)
		return b, err == nil
	case m.bodyOwned:
		return m.body, true
	}
	return bytes.Clone(m.body), true
}

// message reads the request or response object (null: absent, which only
// a response may be).
func (d *jsonlDecoder) message(m *jsonlMessage, isResponse bool) bool {
	if d.null() {
		return isResponse
	}
	if !d.consume('{') {
		return false
	}
	m.present = true
	if d.consume('}') {
		return true
	}
	var seen int
	for {
		key, ok := d.key()
		if !ok {
			return false
		}
		var bit int
		switch {
		case string(key) == "method" && !isResponse:
			bit = fMethod
			m.method, ok = d.stringOrNull()
		case string(key) == "url" && !isResponse:
			bit = fURL
			m.url, ok = d.stringOrNull()
		case string(key) == "status" && isResponse:
			bit = fStatus
			m.status, ok = d.int()
		case string(key) == "duration_ms" && isResponse:
			bit = fDurationMS
			m.durationMS, ok = d.float()
		case string(key) == "headers":
			bit = fHeaders
			m.headers, ok = d.headers()
		case string(key) == "body":
			bit = fBody
			ok = d.body(m)
		case string(key) == "body_base64":
			bit = fBodyBase64
			m.bodyBase64, ok = d.bool()
		case isResponse:
			ok = unknownKey(key, "status", "headers", "body", "body_base64", "duration_ms") && d.skip(1)
		default:
			ok = unknownKey(key, "method", "url", "headers", "body", "body_base64") && d.skip(1)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		if d.consume(',') {
			continue
		}
		return d.consume('}')
	}
}

// unknownKey says whether key matches none of the fields, even ignoring
// case as encoding/json does. Non-ASCII keys are declined, since Unicode
// folding can match an ASCII name (the Kelvin sign folds to k).
func unknownKey(key []byte, fields ...string) bool {
	for _, c := range key {
		if c >= 0x80 {
			return false
		}
	}
	for _, f := range fields {
		if bytes.EqualFold(key, []byte(f)) {
			return false
		}
	}
	return true
}

// key reads an object key and its colon; escaped keys are declined.
func (d *jsonlDecoder) key() ([]byte, bool) {
	k, ok := d.str()
	if !ok || d.escaped || !d.consume(':') {
		return nil, false
	}
	return k, true
}

func (d *jsonlDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// consume skips white space and c, if c is next.
func (d *jsonlDecoder) consume(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// literal consumes lit, if next.
func (d *jsonlDecoder) literal(lit string) bool {
	d.ws()
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

func (d *jsonlDecoder) null() bool { return d.literal("null") }

// bool reads true or false (null leaves a bool false in encoding/json).
func (d *jsonlDecoder) bool() (bool, bool) {
	switch {
	case d.literal("true"):
		return true, true
	case d.literal("false"), d.null():
		return false, true
	}
	return false, false
}

// stringOrNull reads a string into a new Go string; null is "".
func (d *jsonlDecoder) stringOrNull() (string, bool) {
	if d.null() {
		return "", true
	}
	s, ok := d.str()
	return string(s), ok
}

// id reads the id as decodeID would: a string, or a number kept as written.
func (d *jsonlDecoder) id() (string, bool) {
	d.ws()
	if d.i < len(d.b) && (d.b[d.i] == '-' || d.b[d.i] >= '0' && d.b[d.i] <= '9') {
		n, ok := d.number()
		return string(n), ok
	}
	return d.stringOrNull()
}

// int reads a number without fraction or exponent, as encoding/json fills
// an int; others are declined.
func (d *jsonlDecoder) int() (int, bool) {
	if d.null() {
		return 0, true
	}
	n, ok := d.number()
	if !ok || len(n) > 18 {
		return 0, false
	}
	neg := n[0] == '-'
	if neg {
		n = n[1:]
	}
	v := 0
	for _, c := range n {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// float reads a number as encoding/json fills a float64.
func (d *jsonlDecoder) float() (float64, bool) {
	if d.null() {
		return 0, true
	}
	n, ok := d.number()
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return f, err == nil
}

// number reads a number by the JSON grammar and returns it as written.
func (d *jsonlDecoder) number() ([]byte, bool) {
	d.ws()
	b, i := d.b, d.i
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	n := b[d.i:i]
	d.i = i
	return n, true
}

// headers reads [[name, value], ...] straight into Headers, as
// pairsToHeaders would have them. Anything pairsToHeaders refuses, and
// nulls inside, are declined.
func (d *jsonlDecoder) headers() (apisessions.Headers, bool) {
	if d.null() {
		return nil, true
	}
	if !d.consume('[') {
		return nil, false
	}
	if d.consume(']') {
		return nil, true
	}
	hs := make(apisessions.Headers, 0, 8)
	for {
		if !d.consume('[') {
			return nil, false
		}
		name, ok := d.str()
		if !ok || len(name) == 0 || !d.consume(',') {
			return nil, false
		}
		h := apisessions.Header{Name: string(name)}
		value, ok := d.str()
		if !ok || !d.consume(']') {
			return nil, false
		}
		h.Value = string(value)
		hs = append(hs, h)
		if d.consume(',') {
			continue
		}
		return hs, d.consume(']')
	}
}

// body reads a body string, keeping its bytes for finalBody.
func (d *jsonlDecoder) body(m *jsonlMessage) bool {
	if d.null() {
		m.body, m.bodyOwned = nil, false
		return true
	}
	s, ok := d.str()
	if !ok {
		return false
	}
	m.body, m.bodyOwned = s, false
	if d.escaped {
		// s is the scratch buffer, which the next string overwrites.
		m.body, m.bodyOwned = bytes.Clone(s), true
	}
	return true
}

// str reads a string and returns its text: a slice of the line, or of the
// scratch buffer when it had escapes (valid until the next string).
// Control characters, bad escapes and invalid UTF-8 are declined.
func (d *jsonlDecoder) str() ([]byte, bool) {
	d.escaped = false
	if !d.consume('"') {
		return nil, false
	}
	start := d.i
	ascii := true
	for i := d.i; i < len(d.b); i++ {
		switch c := d.b[i]; {
		case c == '"':
			s := d.b[start:i]
			d.i = i + 1
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case c == '\\':
			d.i = i
			return d.unescape(start)
		case c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, false
}

// unescape finishes a string that has escapes, from its start; d.i is at
// the first backslash. Escapes decode as encoding/json decodes them
// (jsonstring); text that is not valid UTF-8 is declined.
func (d *jsonlDecoder) unescape(start int) ([]byte, bool) {
	d.escaped = true
	out, end, p := jsonstring.Append(d.scratch[:0], d.b, start-1)
	if p != jsonstring.OK {
		return nil, false
	}
	d.i, d.scratch = end, out
	return out, utf8.Valid(out)
}

// skip reads past a value of a field the format does not define, checking
// it as strictly as encoding/json would.
func (d *jsonlDecoder) skip(depth int) bool {
	if depth > maxFastDepth {
		return false
	}
	d.ws()
	if d.i >= len(d.b) {
		return false
	}
	switch d.b[d.i] {
	case '"':
		_, ok := d.str()
		return ok
	case '{':
		d.i++
		if d.consume('}') {
			return true
		}
		for {
			if _, ok := d.str(); !ok || !d.consume(':') || !d.skip(depth+1) {
				return false
			}
			if d.consume(',') {
				continue
			}
			return d.consume('}')
		}
	case '[':
		d.i++
		if d.consume(']') {
			return true
		}
		for {
			if !d.skip(depth + 1) {
				return false
			}
			if d.consume(',') {
				continue
			}
			return d.consume(']')
		}
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.null()
	}
	_, ok := d.number()
	return ok
}
