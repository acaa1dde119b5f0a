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
	"time"

	"github.com/apisessions/apisessions"
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
		ex, derr := decodeJSONLine(line)
		if derr != nil {
			r.bad(derr)
			continue
		}
		r.pos = r.lineNo
		return ex, nil
	}
	return nil, r.err
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

// decodeJSONLine decodes one line. Errors name the field, never its value.
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
	if err := checkMethod(q.Method); err != nil {
		return nil, fmt.Errorf("request.method %w", err)
	}
	if q.URL == "" {
		return nil, errors.New("request.url missing")
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
