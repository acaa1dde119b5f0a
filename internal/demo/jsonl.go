package demo

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/jsonstring"
)

// timeLayout is the time format of the JSON-lines import format: RFC 3339 in
// UTC with milliseconds, as SPEC §2 shows.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// AppendJSONL appends ex to dst as one line of the JSON-lines import format
// (SPEC §2), newline included, and returns the extended slice. Empty id,
// client_ip and bodies are left out, as is the response when ex has none; a
// body that is not valid UTF-8 is written base64 with "body_base64": true.
func AppendJSONL(dst []byte, ex *apisessions.Exchange) []byte {
	dst = append(dst, '{')
	if ex.ID != "" {
		dst = append(dst, `"id":`...)
		dst = jsonstring.AppendQuote(dst, ex.ID)
		dst = append(dst, ',')
	}
	dst = append(dst, `"time":"`...)
	dst = appendTime(dst, ex.Time)
	dst = append(dst, '"')
	if ex.ClientIP != "" {
		dst = append(dst, `,"client_ip":`...)
		dst = jsonstring.AppendQuote(dst, ex.ClientIP)
	}
	dst = append(dst, `,"request":{"method":`...)
	dst = jsonstring.AppendQuote(dst, ex.Request.Method)
	dst = append(dst, `,"url":`...)
	dst = jsonstring.AppendQuote(dst, ex.Request.URL)
	dst = appendHeaders(dst, ex.Request.Headers)
	dst = appendBody(dst, ex.Request.Body)
	dst = append(dst, '}')
	if r := ex.Response; r != nil {
		dst = append(dst, `,"response":{"status":`...)
		dst = strconv.AppendInt(dst, int64(r.Status), 10)
		dst = appendHeaders(dst, r.Headers)
		dst = appendBody(dst, r.Body)
		dst = append(dst, `,"duration_ms":`...)
		dst = strconv.AppendFloat(dst, float64(r.Duration)/float64(time.Millisecond), 'f', -1, 64)
		dst = append(dst, '}')
	}
	return append(dst, '}', '\n')
}

// appendTime writes t in UTC as timeLayout does, without the layout
// interpreter: it is a tenth of the cost of a line otherwise.
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(dst, timeLayout)
	}
	h, mi, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	dst = append(dst, byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10), 'T')
	dst = append(dst, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':')
	dst = append(dst, byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
	return dst
}

func appendHeaders(dst []byte, hs apisessions.Headers) []byte {
	dst = append(dst, `,"headers":[`...)
	for i, h := range hs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '[')
		dst = jsonstring.AppendQuote(dst, h.Name)
		dst = append(dst, ',')
		dst = jsonstring.AppendQuote(dst, h.Value)
		dst = append(dst, ']')
	}
	return append(dst, ']')
}

func appendBody(dst []byte, b []byte) []byte {
	if len(b) == 0 {
		return dst
	}
	dst = append(dst, `,"body":`...)
	if utf8.Valid(b) {
		return jsonstring.AppendQuote(dst, b)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, `","body_base64":true`...)
}

// WriteJSONL generates the traffic of opts (see Generate) and writes it to w
// in the JSON-lines import format. It returns the number of exchanges
// written. Memory stays constant whatever the number of exchanges.
func WriteJSONL(w io.Writer, opts TrafficOptions) (int, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	buf := make([]byte, 0, 16<<10)
	n := 0
	err := Generate(opts, func(ex *apisessions.Exchange) error {
		buf = AppendJSONL(buf[:0], ex)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("write traffic: %w", err)
	}
	return n, nil
}
