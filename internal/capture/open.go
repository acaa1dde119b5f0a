// Package capture turns recorded or live HTTP traffic into exchanges.
//
// The readers here stream traffic files: JSON lines (SPEC §2, one exchange
// per line) and HAR 1.2 (browser devtools, proxies). Both read in constant
// memory whatever the size of the file: one line or entry is held at a time,
// and a line or entry longer than Options.MaxRecordBytes is refused rather
// than buffered. A bad line or entry is counted, reported to Options.OnError
// with its 1-based number and skipped; the rest of the file is read.
package capture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apisessions/apisessions"
)

// Input formats accepted by Open and NewReader.
const (
	FormatJSONL = "jsonl"
	FormatHAR   = "har"
)

// DefaultMaxRecordBytes is the default of Options.MaxRecordBytes.
const DefaultMaxRecordBytes = 16 << 20

// Options configure the readers.
type Options struct {
	// MaxRecordBytes bounds one JSON line or one HAR entry. Bodies make
	// records long, but a record is held in memory whole while it is
	// decoded, so an unbounded one would let a single line exhaust memory.
	// A longer JSON line is a bad line (skipped without being buffered); a
	// longer HAR entry ends the file with an error, since JSON gives no way
	// to find where the next entry starts without reading this one. Zero
	// means DefaultMaxRecordBytes; at most 1 GiB.
	MaxRecordBytes int
	// ClientIP is the client IP given to exchanges of a HAR file, which
	// records the server's address but not the client's. JSON lines carry
	// their own client_ip and ignore it.
	ClientIP string
	// OnError, when set, is told about each bad line or entry: its 1-based
	// line (JSON lines) or entry (HAR) number and why it was skipped. The
	// error never quotes a value of the input.
	OnError func(pos int64, err error)
	// Stdin is what Open reads for the path "-"; os.Stdin when nil.
	Stdin io.Reader
}

// DefaultOptions returns the default options.
func DefaultOptions() Options {
	return Options{MaxRecordBytes: DefaultMaxRecordBytes}
}

// maxRecordLimit caps MaxRecordBytes: past it a "limit" no longer bounds
// anything a machine has.
const maxRecordLimit = 1 << 30

func (o Options) maxRecord() int {
	switch {
	case o.MaxRecordBytes <= 0:
		return DefaultMaxRecordBytes
	case o.MaxRecordBytes > maxRecordLimit:
		return maxRecordLimit
	}
	return o.MaxRecordBytes
}

// Reader reads exchanges from a traffic file, one at a time.
type Reader interface {
	// Next returns the next exchange, a new value the caller may keep. It
	// returns io.EOF at the end of the input. Bad lines or entries are
	// skipped (see Malformed); any other error (reading the input, a HAR
	// file whose JSON breaks off) ends the input and is returned again by
	// later calls.
	Next() (*apisessions.Exchange, error)
	// Pos returns the 1-based line (JSON lines) or entry (HAR) number of the
	// exchange Next returned last; 0 before the first.
	Pos() int64
	// Offset returns the bytes of input consumed so far, for progress.
	Offset() int64
	// Malformed returns how many lines or entries were skipped as bad.
	Malformed() int
}

// Open opens a traffic file for reading. format is FormatJSONL, FormatHAR
// or "" to pick it from the extension (.jsonl, .ndjson → JSON lines;
// .har → HAR) or, for ".json", "-" (stdin) and unknown extensions, from the
// first bytes (a HAR file is an object whose first key is "log"). The
// caller closes the returned Closer when done.
func Open(path, format string, opts Options) (Reader, io.Closer, error) {
	var (
		in     io.Reader
		closer io.Closer = io.NopCloser(nil)
	)
	if path == "-" {
		in = opts.Stdin
		if in == nil {
			in = os.Stdin
		}
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		in, closer = f, f
	}
	if format == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".jsonl", ".ndjson":
			format = FormatJSONL
		case ".har":
			format = FormatHAR
		}
	}
	if format == "" {
		br := bufio.NewReaderSize(in, 64<<10)
		format = sniff(br)
		in = br
	}
	r, err := NewReader(in, format, opts)
	if err != nil {
		closer.Close()
		return nil, nil, err
	}
	return r, closer, nil
}

// NewReader returns a reader of format (FormatJSONL or FormatHAR) over r.
func NewReader(r io.Reader, format string, opts Options) (Reader, error) {
	switch format {
	case FormatJSONL:
		return NewJSONLReader(r, opts), nil
	case FormatHAR:
		return NewHARReader(r, opts), nil
	}
	return nil, apisessions.Errorf(apisessions.EINVALID, "unknown format %q (want %s or %s)", format, FormatJSONL, FormatHAR)
}

// sniff tells HAR from JSON lines by the first key of the input: a HAR
// file is one object whose first key is "log" (every tool writes it so),
// which no exchange line has. It falls back to JSON lines.
func sniff(br *bufio.Reader) string {
	head, _ := br.Peek(512)
	head = bytes.TrimPrefix(head, utf8BOM)
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) == 0 || head[0] != '{' {
		return FormatJSONL
	}
	head = bytes.TrimLeft(head[1:], " \t\r\n")
	if bytes.HasPrefix(head, []byte(`"log"`)) {
		return FormatHAR
	}
	return FormatJSONL
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// errTooLong is the reason a record over Options.MaxRecordBytes is refused.
func errTooLong(what string, max int) error {
	return fmt.Errorf("%s longer than the %d-byte limit (MaxRecordBytes)", what, max)
}

// describeJSONError turns an encoding/json error into a message that names
// the field and the problem but never quotes a value of the input, since
// these messages go to logs and terminals.
func describeJSONError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		if strings.Contains(se.Error(), "unexpected end") {
			return errors.New("JSON breaks off")
		}
		return fmt.Errorf("invalid JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		got, _, _ := strings.Cut(te.Value, " ")
		if te.Field == "" {
			return fmt.Errorf("want %s, got %s", kindOf(te.Type.Kind().String()), got)
		}
		return fmt.Errorf("%s: want %s, got %s", te.Field, kindOf(te.Type.Kind().String()), got)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("JSON breaks off")
	}
	return err
}

// kindOf names a Go kind the way a JSON user thinks of it.
func kindOf(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "float32", "float64", "int", "int64", "int32", "uint", "uint64":
		return "a number"
	}
	return k
}
