package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/apisessions/apisessions/internal/capture"
	"github.com/apisessions/apisessions/internal/point"
)

// pointsTableWidth is how many characters of a value the table shows: enough
// to recognise a token or an e-mail, short enough for one terminal line.
// --json prints values whole.
const pointsTableWidth = 60

// pointsMaxReported is how many bad lines are reported one by one; the
// summary counts them all. A file in the wrong format would otherwise print
// one message per line.
const pointsMaxReported = 20

func runPoints(ctx context.Context, e *env) error {
	fs := newFlags(e, "points", "FILE")
	asJSON := fs.Bool("json", false, `print one JSON object per point per line: {"exchange": ID, "point": POINT, "value": VALUE}`)
	only := fs.String("point", "", "evaluate this point (e.g. 'request.body|json.username') instead of listing all")
	format := fs.String("format", "", "input format, jsonl or har (default: from the extension or the content)")
	clientIP := fs.String("client-ip", "", "client IP given to the exchanges of a HAR file, which does not record it")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: apisessions points [flags] FILE\n\n"+
			"Print every point and value of each exchange of a JSON-lines or HAR file\n"+
			"(FILE \"-\" reads stdin), to pick the parameters of a configuration.\n\n")
		fs.PrintDefaults()
	}
	args, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		fs.Usage()
		return usageErrorf("want one FILE, got %d arguments", len(args))
	}
	path := args[0]
	var p *point.Point
	if *only != "" {
		if p, err = point.Parse(*only); err != nil {
			return usageErrorf("--point %s: %v", *only, err)
		}
	}
	if *format != "" && *format != capture.FormatJSONL && *format != capture.FormatHAR {
		return usageErrorf("--format %s: want jsonl or har", *format)
	}
	if *clientIP != "" {
		a, err := netip.ParseAddr(*clientIP)
		if err != nil {
			return usageErrorf("--client-ip %s: not an IP address", *clientIP)
		}
		*clientIP = a.Unmap().String()
	}

	unit := "line" // or "entry" for HAR, set once the format is known
	reported := 0
	opts := capture.DefaultOptions()
	opts.ClientIP = *clientIP
	opts.Stdin = e.stdin
	opts.OnError = func(pos int64, err error) {
		if reported++; reported <= pointsMaxReported {
			fmt.Fprintf(e.stderr, "%s: %s %d: %v (skipped)\n", path, unit, pos, err)
		} else if reported == pointsMaxReported+1 {
			fmt.Fprintf(e.stderr, "%s: more bad %s, not shown\n", path, strings.TrimPrefix(count(2, unit), "2 "))
		}
	}
	r, closer, err := capture.Open(path, *format, opts)
	if err != nil {
		return err
	}
	defer closer.Close()
	if _, isHAR := r.(*capture.HARReader); isHAR {
		unit = "entry"
	} else {
		unit = "line"
	}

	out := bufio.NewWriterSize(e.stdout, 64<<10)
	var pw pointsWriter
	if *asJSON {
		pw = newJSONPointsWriter(out)
	} else {
		pw = newTablePointsWriter(out)
	}
	ev := point.NewEvaluator(point.DefaultLimits())
	var exchanges, points, truncated int
	var readErr error
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ex, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		exchanges++
		id := ex.ID
		if id == "" {
			id = strconv.FormatInt(r.Pos(), 10)
		}
		ev.Reset(ex)
		if p != nil {
			for _, v := range ev.Values(p) {
				pw.write(id, p.String(), v)
				points++
			}
		} else {
			ev.List(func(pt, v string) bool {
				pw.write(id, pt, v)
				points++
				return true
			})
		}
		if ev.Truncated() {
			truncated++
			fmt.Fprintf(e.stderr, "%s: %s %d: a limit was hit; points of this exchange are incomplete\n", path, unit, r.Pos())
		}
		if err := pw.endExchange(); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	summary := count(exchanges, "exchange") + ", " + count(points, "point")
	if n := r.Malformed(); n > 0 {
		summary += ", " + count(n, "bad "+unit) + " skipped"
	}
	if truncated > 0 {
		summary += fmt.Sprintf(", %d truncated at a limit", truncated)
	}
	fmt.Fprintf(e.stderr, "%s: %s\n", path, summary)
	if readErr != nil {
		return fmt.Errorf("%s: %w", path, readErr)
	}
	if exchanges == 0 && r.Malformed() > 0 {
		return errors.New("no exchange could be read: is the format right? (--format jsonl or har)")
	}
	return nil
}

// parseInterspersed parses flags wherever they appear among the arguments
// ("points FILE --json" as well as "points --json FILE"), as people type
// them, and returns the other arguments. After "--" everything is an
// argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		before := args
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageErrorf("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		if k := len(before) - len(args) - 1; k >= 0 && before[k] == "--" {
			return append(rest, args...), nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

// count says "1 point", "2 points", "3 bad entries".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// pointsWriter prints the points of exchanges.
type pointsWriter interface {
	write(exchange, point, value string)
	// endExchange is called after the points of each exchange; it returns
	// the first write error.
	endExchange() error
}

// jsonPointsWriter prints one JSON object per point per line.
type jsonPointsWriter struct {
	enc *json.Encoder
	err error
}

func newJSONPointsWriter(w io.Writer) *jsonPointsWriter {
	enc := json.NewEncoder(w)
	// Values are shown to people and piped to jq, not embedded in HTML.
	enc.SetEscapeHTML(false)
	return &jsonPointsWriter{enc: enc}
}

type pointRow struct {
	Exchange string `json:"exchange"`
	Point    string `json:"point"`
	Value    string `json:"value"`
}

func (j *jsonPointsWriter) write(exchange, pt, value string) {
	if j.err == nil {
		j.err = j.enc.Encode(pointRow{exchange, pt, value})
	}
}

func (j *jsonPointsWriter) endExchange() error { return j.err }

// tablePointsWriter prints an aligned table, one block per exchange. The
// columns are aligned within a block, since aligning the whole file would
// mean holding it in memory.
type tablePointsWriter struct {
	out    io.Writer
	tw     *tabwriter.Writer
	blocks int
	rows   int
}

func newTablePointsWriter(w io.Writer) *tablePointsWriter {
	return &tablePointsWriter{out: w, tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
}

func (t *tablePointsWriter) write(exchange, pt, value string) {
	if t.rows == 0 {
		if t.blocks == 0 {
			fmt.Fprintln(t.tw, "EXCHANGE\tPOINT\tVALUE")
		} else {
			fmt.Fprintln(t.tw)
		}
	}
	t.rows++
	fmt.Fprintf(t.tw, "%s\t%s\t%s\n", tableCell(exchange, pointsTableWidth), tableCell(pt, 4*pointsTableWidth), tableCell(value, pointsTableWidth))
}

func (t *tablePointsWriter) endExchange() error {
	if t.rows > 0 {
		t.blocks++
	}
	t.rows = 0
	return t.tw.Flush()
}

// tableCell makes s safe and short for a terminal: control and other
// non-printing characters (which could move the cursor, break the table or
// disguise a value: escape sequences, bidi overrides) are escaped Go-style,
// invalid UTF-8 is shown as \xNN, and the result is cut after max
// characters (an escape counts for its length) with "…" and the number of
// bytes cut.
func tableCell(s string, max int) string {
	var b strings.Builder
	n := 0 // characters written
	for i := 0; i < len(s); {
		if n >= max {
			fmt.Fprintf(&b, "…(+%d bytes)", len(s)-i)
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		esc := ""
		switch {
		case r == utf8.RuneError && size == 1:
			esc = fmt.Sprintf(`\x%02x`, s[i])
		case r == '\\':
			esc = `\\`
		case r == '\n':
			esc = `\n`
		case r == '\r':
			esc = `\r`
		case r == '\t':
			esc = `\t`
		case r < 0x80 && (r < ' ' || r == 0x7f):
			esc = fmt.Sprintf(`\x%02x`, r)
		case !unicode.IsPrint(r) && r != ' ':
			esc = fmt.Sprintf(`\u%04x`, r)
		}
		if esc != "" {
			b.WriteString(esc)
			n += len(esc)
		} else {
			b.WriteRune(r)
			n++
		}
		i += size
	}
	return b.String()
}
