// Package wire is the batch format nodes send to the server: a short magic
// and version header, then a gzip-compressed JSON body holding the batch ID,
// the node name, the creation time and the export records.
//
//	offset 0: "APSB"          magic
//	offset 4: 0x01            format version
//	offset 5: gzip member     {"id":"<32 hex>","node":"...","created":"<RFC 3339>",
//	                           "records":[<apisessions.Record JSON>, ...]}
//
// The records use the JSON form of apisessions.Record, so the batch is
// readable with zcat after the first five bytes. Decoding is strict (unknown
// fields, duplicate or missing batch fields, trailing data are refused) and
// bounded by Limits at every step, so that a hostile node cannot make the
// server allocate more than the decompressed limit.
//
// The JSON is read and written with github.com/goccy/go-json rather than
// encoding/json: ingest CPU is mostly JSON decoding, which it does in about
// 40% of the time. It accepts exactly what encoding/json accepts, with the
// same values and errors, and writes the same bytes; decoder_test.go checks
// both against encoding/json, with fuzz targets.
package wire

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/apisessions/apisessions"
)

const (
	// Magic starts every batch, so that a wrong body (plain JSON, a
	// gzip file, an HTML error page) is named as such at once.
	Magic = "APSB"
	// Version is the format version this build writes and reads. A change
	// that an older server could misread gets a new version.
	Version = 1
	// ContentType is the media type of a batch in HTTP.
	ContentType = "application/vnd.apisessions.batch"
)

// noSizeLimits are limits no batch reaches, so that Encode checks
// structure only. (MaxContentBody is halved so its base64 length cannot
// overflow.)
func noSizeLimits() Limits {
	return Limits{MaxCompressed: math.MaxInt64, MaxDecompressed: math.MaxInt64,
		MaxRecords: math.MaxInt, MaxString: math.MaxInt, MaxList: math.MaxInt,
		MaxContentBody: math.MaxInt / 2}
}

// headerLen is the length of magic plus version byte.
const headerLen = len(Magic) + 1

// Batch is a list of export records from one node. ID is the idempotency
// key: a node resends a batch with the same ID until the server accepts it,
// and the server stores a batch ID once.
type Batch struct {
	ID      string
	Node    string
	Created time.Time
	Records []apisessions.Record
}

// NewID returns a random 128-bit batch ID in lowercase hex.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand aborts the program instead
	return hex.EncodeToString(b[:])
}

// Marshal returns the encoded batch; see Encode.
func Marshal(b *Batch) ([]byte, error) {
	var buf bytes.Buffer
	if err := Encode(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Encode writes b in the current format version. It refuses, with the
// error Decode would give, a batch that is malformed whatever the limits: a
// bad ID, no node or creation time, a record without ID, session ID, day or
// time. Sizes are the receiver's policy, configurable on the server: the
// sender checks them with the server's Limits (CheckRecord) before it
// batches, and bounds its batches by records and bytes.
func Encode(w io.Writer, b *Batch) error {
	if err := CheckBatch(b, noSizeLimits()); err != nil {
		return err
	}
	if _, err := w.Write(append([]byte(Magic), Version)); err != nil {
		return fmt.Errorf("write batch: %w", err)
	}
	// BestSpeed: export records are repetitive JSON, so the faster level
	// loses little ratio and keeps the node's CPU for detection (see the
	// benchmarks in wire_test.go).
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return fmt.Errorf("write batch: %w", err)
	}
	bw := bufio.NewWriterSize(zw, 32<<10)
	enc := gojson.NewEncoder(bw)
	// Attack payloads are full of <, > and &; escaping them would only
	// grow the batch. Nothing renders the batch as HTML.
	enc.SetEscapeHTML(false)

	head := struct {
		ID      string    `json:"id"`
		Node    string    `json:"node"`
		Created time.Time `json:"created"`
	}{b.ID, b.Node, b.Created}
	hj, err := gojson.Marshal(head)
	if err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	// Reopen the header object to append the records list to it, so that
	// records stream into the compressor one by one.
	bw.Write(hj[:len(hj)-1])
	bw.WriteString(`,"records":[`)
	for i := range b.Records {
		if i > 0 {
			bw.WriteByte(',')
		}
		if err := enc.Encode(&b.Records[i]); err != nil {
			return fmt.Errorf("encode record %d: %w", i, err)
		}
	}
	bw.WriteString("]}")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write batch: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write batch: %w", err)
	}
	return nil
}

// Decode reads one batch from r under lim (zero fields take their
// defaults). Every rejection is an *apisessions.Error with code EINVALID, or
// ETOOLARGE for sizes and record count; Reason gives its metric label.
// A failure of r itself (a dropped connection) is returned wrapped, as an
// internal error, except an *http.MaxBytesError, which is ETOOLARGE.
func Decode(r io.Reader, lim Limits) (*Batch, error) {
	lim = lim.WithDefaults()
	cr := &boundedReader{r: r, n: lim.MaxCompressed, what: "compressed batch", lim: lim.MaxCompressed}
	br := bufio.NewReaderSize(cr, 32<<10)

	var hdr [headerLen]byte
	if n, err := io.ReadFull(br, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, newError(ReasonMagic, "batch is %d bytes, too short for the %q header", n, Magic)
		}
		return nil, classify(err)
	}
	if string(hdr[:len(Magic)]) != Magic {
		return nil, newError(ReasonMagic, "input is not an apisessions batch: it does not start with %q", Magic)
	}
	if v := hdr[len(Magic)]; v != Version {
		return nil, newError(ReasonVersion, "batch format version %d is not supported: this build reads version %d", v, Version)
	}

	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, classify(decompressError(err))
	}
	// One gzip member only: a second member would be unread data the
	// sender thinks was delivered.
	zr.Multistream(false)
	dr := &boundedReader{r: zr, n: lim.MaxDecompressed, what: "decompressed batch", lim: lim.MaxDecompressed, inflating: true}
	dec := gojson.NewDecoder(dr)
	dec.DisallowUnknownFields()

	b, err := decodeBody(dec, lim)
	if err != nil {
		return nil, classify(err)
	}
	// Reading to EOF makes gzip verify its checksum and length.
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return nil, newError(ReasonDecode, "data after the end of the batch object")
		}
		return nil, classify(err)
	}
	if _, err := br.ReadByte(); err == nil {
		return nil, newError(ReasonDecode, "data after the end of the compressed body")
	} else if err != io.EOF {
		return nil, classify(err)
	}
	if err := checkBatchHeader(b.ID, b.Node, b.Created); err != nil {
		return nil, err
	}
	return b, nil
}

func decodeBody(dec *gojson.Decoder, lim Limits) (*Batch, error) {
	if err := expectDelim(dec, '{', "the batch must be a JSON object"); err != nil {
		return nil, err
	}
	b := &Batch{}
	var seenID, seenNode, seenCreated, seenRecords bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var seen *bool
		switch key {
		case "id":
			seen, err = &seenID, dec.Decode(&b.ID)
		case "node":
			seen, err = &seenNode, dec.Decode(&b.Node)
		case "created":
			seen, err = &seenCreated, dec.Decode(&b.Created)
		case "records":
			seen = &seenRecords
			b.Records, err = decodeRecords(dec, lim)
		default:
			return nil, newError(ReasonDecode, "unknown batch field %q", clip(key))
		}
		if err != nil {
			return nil, fieldError("batch field "+key, err)
		}
		if *seen {
			return nil, newError(ReasonDecode, "duplicate batch field %q", key)
		}
		*seen = true
	}
	if err := expectDelim(dec, '}', "the batch object is not closed"); err != nil {
		return nil, err
	}
	if !seenRecords {
		return nil, newError(ReasonDecode, "batch has no records field")
	}
	return b, nil
}

// recordChunk is how many records decodeRecords allocates at a time.
const recordChunk = 128

func decodeRecords(dec *gojson.Decoder, lim Limits) ([]apisessions.Record, error) {
	if err := expectDelim(dec, '[', "records must be a JSON list"); err != nil {
		return nil, err
	}
	// Records are decoded into chunks and joined once at the end: growing
	// one slice would copy every record about once more, through write
	// barriers, and leave garbage twice the batch.
	var chunks [][]apisessions.Record
	cur := make([]apisessions.Record, 0, recordChunk)
	n := 0
	for dec.More() {
		// Checked before decoding the next record, so an oversized batch
		// costs at most one record more than the limit.
		if n >= lim.MaxRecords {
			return nil, newError(ReasonTooLarge, "batch has more than %d records", lim.MaxRecords)
		}
		if len(cur) == cap(cur) {
			chunks = append(chunks, cur)
			cur = make([]apisessions.Record, 0, recordChunk)
		}
		cur = cur[:len(cur)+1]
		r := &cur[len(cur)-1]
		if err := dec.Decode(r); err != nil {
			return nil, fieldError(fmt.Sprintf("record %d", n), err)
		}
		if err := checkRecord(n, r, lim); err != nil {
			return nil, err
		}
		n++
	}
	if err := expectDelim(dec, ']', "records list is not closed"); err != nil {
		return nil, err
	}
	if len(chunks) == 0 {
		return cur, nil
	}
	recs := make([]apisessions.Record, 0, n)
	for _, c := range chunks {
		recs = append(recs, c...)
	}
	return append(recs, cur...), nil
}

func expectDelim(dec *gojson.Decoder, want gojson.Delim, msg string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(gojson.Delim); !ok || d != want {
		return newError(ReasonDecode, "%s", msg)
	}
	return nil
}

// fieldError names where a JSON error happened. Errors that are not about
// the JSON itself (sizes, decompression, reading) pass unchanged.
func fieldError(where string, err error) error {
	var ae *apisessions.Error
	var se *gojson.SyntaxError
	var te *gojson.UnmarshalTypeError
	switch {
	case errors.As(err, &ae), isTransport(err):
		return err
	case errors.As(err, &se):
		return newError(ReasonDecode, "%s: malformed JSON at byte %d: %s", where, se.Offset, se.Error())
	case errors.As(err, &te) && te.Field == "":
		return newError(ReasonDecode, "%s: a JSON %s cannot be a %s", where, te.Value, te.Type)
	case errors.As(err, &te):
		return newError(ReasonDecode, "%s: field %s: a JSON %s cannot be a %s", where, te.Field, te.Value, te.Type)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		// Inside a value, the end of the input is always early.
		return newError(ReasonDecode, "%s: the JSON ends early", where)
	}
	// encoding/json reports unknown fields and bad times only as text.
	return newError(ReasonDecode, "%s: %s", where, clip(err.Error()))
}

// classify turns any error of the decoding path into the error Decode
// returns.
func classify(err error) error {
	var ae *apisessions.Error
	var te *tooLargeError
	var de *decompressErr
	var re *readError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &te):
		return newError(ReasonTooLarge, "%s is over the limit of %d bytes", te.what, te.lim)
	case errors.As(err, &mbe):
		return newError(ReasonTooLarge, "compressed batch is over the limit of %d bytes", mbe.Limit)
	case errors.As(err, &re):
		return fmt.Errorf("read batch: %w", re.err)
	case errors.As(err, &de):
		return newError(ReasonDecompress, "corrupt compressed body: %s", clip(de.err.Error()))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return newError(ReasonDecode, "the batch JSON ends early")
	}
	return fieldError("batch", err)
}

func isTransport(err error) bool {
	var te *tooLargeError
	var de *decompressErr
	var re *readError
	var mbe *http.MaxBytesError
	return errors.As(err, &te) || errors.As(err, &de) || errors.As(err, &re) || errors.As(err, &mbe)
}

// clip bounds text copied from the input into an error message.
func clip(s string) string {
	const max = 120
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// tooLargeError is returned by a boundedReader past its limit.
type tooLargeError struct {
	what string
	lim  int64
}

func (e *tooLargeError) Error() string { return fmt.Sprintf("%s over %d bytes", e.what, e.lim) }

// readError is a failure of the caller's reader, kept apart from corrupt
// input: it is not the sender's fault.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// decompressErr is a gzip failure: corrupt, truncated or not gzip.
type decompressErr struct{ err error }

func (e *decompressErr) Error() string { return e.err.Error() }

func decompressError(err error) error {
	if isTransport(err) {
		return err
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &decompressErr{err}
}

// boundedReader reads at most lim bytes and fails beyond. It fails only
// when there is more data, so that input of exactly lim bytes is accepted.
type boundedReader struct {
	r    io.Reader
	n    int64 // bytes still allowed
	what string
	lim  int64
	// inflating marks the reader over gzip, whose errors are corrupt
	// input, not transport failures.
	inflating bool
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		// Probe one byte to tell "exactly at the limit" from "over it".
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			return 0, &tooLargeError{what: b.what, lim: b.lim}
		}
		return 0, b.wrap(err)
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	return n, b.wrap(err)
}

func (b *boundedReader) wrap(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if b.inflating {
		return decompressError(err)
	}
	if isTransport(err) {
		return err
	}
	return &readError{err}
}
