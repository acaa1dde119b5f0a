package capture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/apisessions/apisessions"
)

// HARReader reads the entries of a HAR 1.2 file (log.entries) one at a
// time: the file is walked with json.Decoder tokens and only the current
// entry is decoded, so a file of any size is read in constant memory.
//
// What is taken from an entry: startedDateTime (the exchange time), time
// (the duration), request method, url, headers, cookies and postData (text,
// or params when the text is absent), response status, headers, cookies and
// content (text, base64 when encoding is "base64"). serverIPAddress is the
// server's address, not the client's: the client IP is Options.ClientIP. HAR
// has no request ID, so Exchange.ID is empty.
//
// Decisions where HAR is loose:
//   - HTTP/2 pseudo-headers (":authority", ":path", ...) that devtools list
//     among the headers are dropped: they are not headers and the URL
//     already says the same.
//   - cookies are turned into a Cookie (request) or Set-Cookie (response)
//     header only when the headers have none, since most tools record both.
//   - A response with status 0 (devtools' record of a request that got no
//     answer: blocked, aborted, failed) is no response.
//   - content.text is decoded ("HTTP decoded" in HAR 1.2) while the headers
//     still say Content-Encoding: gzip; that stale header is dropped unless
//     the text really starts with the gzip magic, so that consumers do not
//     try to decompress plain text.
//
// A bad entry (a field of the wrong type, no method or url, bad base64) is
// skipped and counted. JSON that breaks off, or an entry longer than
// Options.MaxRecordBytes, ends the file with an error: no entry after it can
// be found without reading it.
type HARReader struct {
	br   *budgetReader
	dec  *json.Decoder
	opts Options
	max  int

	state     harState
	raw       json.RawMessage // values skipped outside the entries, reused
	entryNo   int64
	pos       int64
	malformed int
	err       error
}

var _ Reader = (*HARReader)(nil)

type harState int

const (
	harStart   harState = iota // before the top-level '{'
	harTop                     // among the top-level keys
	harLog                     // among the keys of "log"
	harEntries                 // inside "entries"
)

// errRecordTooLarge is returned by budgetReader when a HAR entry goes past
// Options.MaxRecordBytes.
var errRecordTooLarge = errors.New("record too large")

// budgetReader stops the JSON decoder from buffering more than a budget of
// bytes for one value; Reset starts the budget of the next one. Reads are
// cut to the budget, so the error fires only when the value being decoded
// really needs more.
type budgetReader struct {
	r    io.Reader
	left int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errRecordTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// NewHARReader returns a reader of the entries of the HAR file in r.
func NewHARReader(r io.Reader, opts Options) *HARReader {
	max := opts.maxRecord()
	// Windows tools start files with a UTF-8 byte order mark, which JSON
	// does not allow. A small bufio.Reader costs nothing here: reads larger
	// than its buffer go straight through.
	bb := bufio.NewReaderSize(r, 16)
	if head, _ := bb.Peek(len(utf8BOM)); bytes.Equal(head, utf8BOM) {
		bb.Discard(len(utf8BOM))
	}
	br := &budgetReader{r: bb, left: int64(max)}
	return &HARReader{br: br, dec: json.NewDecoder(br), opts: opts, max: max}
}

// Pos implements Reader.
func (r *HARReader) Pos() int64 { return r.pos }

// Offset implements Reader.
func (r *HARReader) Offset() int64 { return r.dec.InputOffset() }

// Malformed implements Reader.
func (r *HARReader) Malformed() int { return r.malformed }

// Next implements Reader.
func (r *HARReader) Next() (*apisessions.Exchange, error) {
	for r.err == nil {
		ex, err := r.step()
		if err != nil {
			r.err = err
			break
		}
		if ex != nil {
			return ex, nil
		}
	}
	return nil, r.err
}

// step advances by one token or one entry; it returns an exchange, or
// (nil, nil) to be called again.
func (r *HARReader) step() (*apisessions.Exchange, error) {
	r.br.left = int64(r.max)
	switch r.state {
	case harStart:
		if err := r.expectDelim('{', "not a HAR file: want a JSON object"); err != nil {
			return nil, err
		}
		r.state = harTop
	case harTop, harLog:
		key, end, err := r.key()
		if err != nil {
			return nil, err
		}
		switch {
		case end && r.state == harTop:
			return nil, errors.New(`not a HAR file: no "log" object`)
		case end:
			return nil, errors.New("not a HAR file: no log.entries array")
		case r.state == harTop && key == "log":
			if err := r.expectDelim('{', "log: want an object"); err != nil {
				return nil, err
			}
			r.state = harLog
		case r.state == harLog && key == "entries":
			if err := r.expectDelim('[', "log.entries: want an array"); err != nil {
				return nil, err
			}
			r.state = harEntries
		default:
			if err := r.dec.Decode(&r.raw); err != nil {
				return nil, r.fatal(err, "")
			}
		}
	case harEntries:
		if !r.dec.More() {
			r.finish()
			return nil, io.EOF
		}
		r.entryNo++
		// Decoding straight into the entry (not through a RawMessage)
		// scans it once. The decoder reads the whole value before filling
		// the struct, so a type error leaves the stream at the next entry
		// and only this one is bad; any other error broke the JSON.
		var e harEntry
		err := r.dec.Decode(&e)
		var te *json.UnmarshalTypeError
		if err != nil && !errors.As(err, &te) {
			return nil, r.fatal(err, fmt.Sprintf("entry %d: ", r.entryNo))
		}
		var ex *apisessions.Exchange
		if err != nil {
			err = describeJSONError(err)
		} else {
			ex, err = harExchange(&e, r.opts.ClientIP)
		}
		if err != nil {
			r.malformed++
			if r.opts.OnError != nil {
				r.opts.OnError(r.entryNo, err)
			}
			return nil, nil
		}
		r.pos = r.entryNo
		return ex, nil
	}
	return nil, nil
}

// finish reads what follows the entries (the rest of "log" and of the top
// object) so that Offset reaches the end of a well-formed file. What is
// there is of no use, and every entry has been read, so a damaged tail is
// not worth an error.
func (r *HARReader) finish() {
	if _, err := r.dec.Token(); err != nil { // the ']' of entries
		return
	}
	for depth := 2; depth > 0; {
		r.br.left = int64(r.max)
		_, end, err := r.key()
		if err != nil {
			return
		}
		if end {
			depth--
			continue
		}
		if err := r.dec.Decode(&r.raw); err != nil {
			return
		}
	}
	r.raw = nil
}

func (r *HARReader) expectDelim(d json.Delim, msg string) error {
	tok, err := r.dec.Token()
	if err != nil {
		if err == io.EOF {
			return errors.New(msg)
		}
		return r.fatal(err, "")
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return errors.New(msg)
	}
	return nil
}

// key reads the next key of the current object, or its end.
func (r *HARReader) key() (key string, end bool, err error) {
	tok, err := r.dec.Token()
	if err != nil {
		return "", false, r.fatal(err, "")
	}
	switch t := tok.(type) {
	case string:
		return t, false, nil
	case json.Delim:
		if t == '}' {
			return "", true, nil
		}
	}
	return "", false, errors.New("not a HAR file: malformed object")
}

// fatal describes an error that ends the file.
func (r *HARReader) fatal(err error, prefix string) error {
	switch {
	case errors.Is(err, errRecordTooLarge):
		return fmt.Errorf("%s%w", prefix, errTooLong("HAR value", r.max))
	case err == io.EOF:
		return fmt.Errorf("%sHAR file breaks off", prefix)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%sJSON breaks off", prefix)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// The decoder's offset is not a file offset; the entry number
		// and the message say enough.
		return fmt.Errorf("%sinvalid JSON: %s", prefix, se.Error())
	}
	return fmt.Errorf("%sread: %w", prefix, err)
}

type harNV struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type harCookie struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Path     string `json:"path"`
	Domain   string `json:"domain"`
	HTTPOnly bool   `json:"httpOnly"`
	Secure   bool   `json:"secure"`
}

type harEntry struct {
	StartedDateTime string       `json:"startedDateTime"`
	Time            float64      `json:"time"`
	Request         *harRequest  `json:"request"`
	Response        *harResponse `json:"response"`
}

type harRequest struct {
	Method   string       `json:"method"`
	URL      string       `json:"url"`
	Headers  []harNV      `json:"headers"`
	Cookies  []harCookie  `json:"cookies"`
	PostData *harPostData `json:"postData"`
}

type harPostData struct {
	MimeType string     `json:"mimeType"`
	Text     string     `json:"text"`
	Encoding string     `json:"encoding"` // not in HAR 1.2, but some tools write it
	Params   []harParam `json:"params"`
}

type harParam struct {
	Name        string `json:"name"`
	Value       string `json:"value"`
	FileName    string `json:"fileName"`
	ContentType string `json:"contentType"`
}

type harResponse struct {
	Status  int         `json:"status"`
	Headers []harNV     `json:"headers"`
	Cookies []harCookie `json:"cookies"`
	Content *harContent `json:"content"`
}

type harContent struct {
	MimeType string `json:"mimeType"`
	Text     string `json:"text"`
	Encoding string `json:"encoding"`
}

// harExchange turns one entry into an exchange. Errors name the field,
// never its value.
func harExchange(e *harEntry, clientIP string) (*apisessions.Exchange, error) {
	ex := &apisessions.Exchange{ClientIP: clientIP}
	var err error
	if ex.Time, err = parseTime("startedDateTime", e.StartedDateTime); err != nil {
		return nil, err
	}
	q := e.Request
	if q == nil {
		return nil, errors.New("request missing")
	}
	if err := checkRequestLine(q.Method, q.URL); err != nil {
		return nil, err
	}
	ex.Request.Method, ex.Request.URL = q.Method, q.URL
	ex.Request.Headers = harHeaders(q.Headers)
	if _, ok := ex.Request.Headers.Get("Cookie"); !ok && len(q.Cookies) > 0 {
		parts := make([]string, 0, len(q.Cookies))
		for _, c := range q.Cookies {
			parts = append(parts, c.Name+"="+c.Value)
		}
		ex.Request.Headers = append(ex.Request.Headers, apisessions.Header{Name: "Cookie", Value: strings.Join(parts, "; ")})
	}
	if pd := q.PostData; pd != nil {
		if ex.Request.Body, err = harPostBody(pd); err != nil {
			return nil, err
		}
	}
	p := e.Response
	if p == nil || p.Status == 0 {
		return ex, nil
	}
	if p.Status < 100 || p.Status > 999 {
		return nil, errors.New("response.status: want a status code from 100 to 999")
	}
	resp := &apisessions.Response{Status: p.Status, Headers: harHeaders(p.Headers)}
	if e.Time > 0 && e.Time <= maxDurationMS {
		// HAR writes -1 for a timing it does not know.
		resp.Duration = time.Duration(e.Time * float64(time.Millisecond))
	}
	if len(resp.Headers.Values("Set-Cookie")) == 0 {
		for _, c := range p.Cookies {
			resp.Headers = append(resp.Headers, apisessions.Header{Name: "Set-Cookie", Value: setCookieLine(c)})
		}
	}
	if c := p.Content; c != nil && c.Text != "" {
		switch c.Encoding {
		case "":
			resp.Body = []byte(c.Text)
		case "base64":
			if resp.Body, err = decodeBase64(c.Text); err != nil {
				return nil, errors.New("response.content.text: encoding is base64 but the text is not")
			}
		default:
			return nil, errors.New("response.content.encoding: want base64 or none")
		}
		resp.Headers = dropStaleContentEncoding(resp.Headers, resp.Body)
	}
	ex.Response = resp
	return ex, nil
}

func harHeaders(nvs []harNV) apisessions.Headers {
	if len(nvs) == 0 {
		return nil
	}
	hs := make(apisessions.Headers, 0, len(nvs))
	for _, h := range nvs {
		if h.Name == "" || h.Name[0] == ':' {
			continue
		}
		hs = append(hs, apisessions.Header{Name: h.Name, Value: h.Value})
	}
	return hs
}

func setCookieLine(c harCookie) string {
	var b strings.Builder
	b.WriteString(c.Name)
	b.WriteByte('=')
	b.WriteString(c.Value)
	if c.Path != "" {
		b.WriteString("; Path=" + c.Path)
	}
	if c.Domain != "" {
		b.WriteString("; Domain=" + c.Domain)
	}
	if c.Secure {
		b.WriteString("; Secure")
	}
	if c.HTTPOnly {
		b.WriteString("; HttpOnly")
	}
	return b.String()
}

// dropStaleContentEncoding removes Content-Encoding from headers whose body
// HAR already recorded decoded (see HARReader).
func dropStaleContentEncoding(hs apisessions.Headers, body []byte) apisessions.Headers {
	ce, ok := hs.Get("Content-Encoding")
	if !ok {
		return hs
	}
	ce = strings.ToLower(strings.TrimSpace(ce))
	if ce == "identity" || (ce == "gzip" || ce == "x-gzip") && bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
		return hs
	}
	out := hs[:0]
	for _, h := range hs {
		if !strings.EqualFold(h.Name, "Content-Encoding") {
			out = append(out, h)
		}
	}
	return out
}

// harPostBody returns the request body: postData.text, or, when a tool
// recorded only the parsed params, the body rebuilt from them in the
// encoding its mimeType names.
func harPostBody(pd *harPostData) ([]byte, error) {
	if pd.Text != "" {
		if pd.Encoding == "base64" {
			b, err := decodeBase64(pd.Text)
			if err != nil {
				return nil, errors.New("request.postData.text: encoding is base64 but the text is not")
			}
			return b, nil
		}
		return []byte(pd.Text), nil
	}
	if len(pd.Params) == 0 {
		return nil, nil
	}
	mt, params, _ := mime.ParseMediaType(pd.MimeType)
	if mt == "multipart/form-data" {
		boundary := params["boundary"]
		if boundary == "" {
			return nil, errors.New("request.postData: multipart params without a boundary in mimeType")
		}
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		if err := w.SetBoundary(boundary); err != nil {
			return nil, errors.New("request.postData.mimeType: bad multipart boundary")
		}
		for _, p := range pd.Params {
			h := textproto.MIMEHeader{}
			disp := fmt.Sprintf(`form-data; name=%q`, p.Name)
			if p.FileName != "" {
				disp += fmt.Sprintf(`; filename=%q`, p.FileName)
			}
			h.Set("Content-Disposition", disp)
			if p.ContentType != "" {
				h.Set("Content-Type", p.ContentType)
			}
			part, err := w.CreatePart(h)
			if err != nil {
				return nil, err
			}
			io.WriteString(part, p.Value)
		}
		w.Close()
		return buf.Bytes(), nil
	}
	var b strings.Builder
	for i, p := range pd.Params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.Name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.Value))
	}
	return []byte(b.String()), nil
}
