package point

import (
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"io"
	"slices"
	"strings"
	"unsafe"
)

// appendForm appends the pairs of an application/x-www-form-urlencoded
// text (a query string or a form body). Names and values are
// percent-decoded with '+' as space; empty parts are skipped.
func appendForm(out []pair, s string) []pair {
	for s != "" {
		var part string
		part, s, _ = strings.Cut(s, "&")
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		out = append(out, pair{name: percentDecode(name, true), value: percentDecode(value, true)})
	}
	return out
}

// appendCookies appends the cookies of a Cookie header ("a=1; b=2").
// Values are kept as sent (quotes included); parts without '=' are skipped.
func appendCookies(out []pair, s string) []pair {
	for s != "" {
		var part string
		part, s, _ = strings.Cut(s, ";")
		name, value, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			continue
		}
		out = append(out, pair{name: name, value: strings.TrimSpace(value)})
	}
	return out
}

// appendSetCookie appends the cookie a Set-Cookie header sets; its
// attributes (Path, Expires ...) are not cookies.
func appendSetCookie(out []pair, s string) []pair {
	if k := strings.IndexByte(s, ';'); k >= 0 {
		s = s[:k]
	}
	name, value, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return out
	}
	return append(out, pair{name: name, value: strings.TrimSpace(value)})
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// UnescapeForm decodes a name or value of a query string or form body as
// points read it: %XX escapes, '+' as a space, and a '%' not followed by
// two hex digits kept as it is. Code that compares what it reads in a
// query with point values decodes it so.
func UnescapeForm(s string) string { return percentDecode(s, true) }

// percentDecode decodes %XX escapes (and '+' as space when plus is set).
// It is lenient, as servers are: a '%' not followed by two hex digits is
// kept as it is, so that what an attacker sends is still observed. It
// allocates only when there is something to decode.
func percentDecode(s string, plus bool) string {
	i := 0
	for ; i < len(s); i++ {
		if s[i] == '%' || plus && s[i] == '+' {
			break
		}
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+' && plus:
			b = append(b, ' ')
		case c == '%' && i+2 < len(s):
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, h<<4|l)
				i += 2
			} else {
				b = append(b, c)
			}
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// decodeBase64 decodes standard or URL-safe base64, padded or not,
// ignoring surrounding whitespace and line breaks.
func decodeBase64(s string, scratch *[]byte) (string, bool) {
	b, ok := decodeBase64Bytes(s, scratch)
	return string(b), ok
}

// decodeBase64Bytes is decodeBase64 into *scratch: the result is valid
// until the next use of scratch.
func decodeBase64Bytes(s string, scratch *[]byte) ([]byte, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, "=")
	if s == "" {
		return nil, false
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		if strings.ContainsAny(s, "+/") {
			return nil, false
		}
		enc = base64.RawURLEncoding
	}
	// The scratch buffer holds the input copy then the output, so that a
	// decode allocates nothing once the buffer has grown.
	n := enc.DecodedLen(len(s))
	if cap(*scratch) < len(s)+n {
		*scratch = make([]byte, len(s)+n)
	}
	buf := (*scratch)[:len(s)+n]
	copy(buf, s)
	m, err := enc.Decode(buf[len(s):], buf[:len(s)])
	if err != nil {
		return nil, false
	}
	return buf[len(s) : len(s)+m], true
}

// jwtPayload returns the decoded payload of a JWT ("Bearer " prefix
// optional), in *scratch. The signature is not checked: this is
// observation.
func jwtPayload(s string, scratch *[]byte) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 7 && strings.EqualFold(s[:7], "bearer ") {
		s = strings.TrimSpace(s[7:])
	}
	_, rest, ok := strings.Cut(s, ".")
	if !ok {
		return nil, false
	}
	payload, _, ok := strings.Cut(rest, ".")
	if !ok || payload == "" {
		return nil, false
	}
	v, ok := decodeBase64Bytes(payload, scratch)
	if !ok || len(v) == 0 {
		return nil, false
	}
	return v, true
}

// gunzip inflates gzip, zlib or raw deflate data, stopping at limit bytes
// of output. cut says the limit was reached; a stream that breaks after
// some output (such as a body cut by the body limit) yields that output.
func gunzip(s string, limit int) (out string, cut, ok bool) {
	if s == "" {
		return "", false, false
	}
	src := strings.NewReader(s)
	var r io.Reader
	switch {
	case len(s) >= 2 && s[0] == 0x1f && s[1] == 0x8b:
		zr, err := gzip.NewReader(src)
		if err != nil {
			return "", false, false
		}
		zr.Multistream(false)
		r = zr
	case len(s) >= 2 && s[0]&0x0f == 8 && (uint(s[0])<<8|uint(s[1]))%31 == 0:
		zr, err := zlib.NewReader(src)
		if err != nil {
			return "", false, false
		}
		r = zr
	default:
		r = flate.NewReader(src)
	}
	b, cut, err := readAtMost(r, limit, len(s))
	if err != nil && len(b) == 0 {
		return "", cut, false
	}
	// b is never written again, so the string can share its memory: a
	// copy would double the peak of an 8 MiB decompression.
	return unsafe.String(unsafe.SliceData(b), len(b)), cut, true
}

// readAtMost reads r up to limit bytes; cut says more was there. The
// buffer doubles from a guess based on the input size, so the bytes
// allocated stay within twice the output.
func readAtMost(r io.Reader, limit, inputSize int) (b []byte, cut bool, err error) {
	b = make([]byte, 0, min(limit, max(4*inputSize, 512)))
	for {
		if len(b) >= limit {
			var one [1]byte
			n, _ := io.ReadFull(r, one[:])
			return b, n > 0, nil
		}
		if len(b) == cap(b) {
			b = slices.Grow(b, min(limit, 2*cap(b))-len(b))
		}
		n, err := r.Read(b[len(b):min(cap(b), limit)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, false, nil
		}
		if err != nil {
			return b, false, err
		}
	}
}
