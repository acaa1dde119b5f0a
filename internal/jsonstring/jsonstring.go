// Package jsonstring reads JSON string literals (RFC 8259 §7) without
// encoding/json: the one unescaping loop the JSON-lines reader and the
// point grammar share.
package jsonstring

import "unicode/utf8"

// Problem says why a string literal does not read.
type Problem uint8

// Problems of Append; OK is none.
const (
	OK           Problem = iota
	ControlChar          // a byte below 0x20 inside the string
	BadEscape            // a backslash followed by no known escape
	BadUnicode           // \u not followed by four hex digits
	Unterminated         // no closing quote
)

// String names the problem in a few words, for messages.
func (p Problem) String() string {
	switch p {
	case OK:
		return "ok"
	case ControlChar:
		return "control character"
	case BadEscape:
		return "bad escape"
	case BadUnicode:
		return `bad \u escape`
	case Unterminated:
		return "unterminated string"
	}
	return "unknown problem"
}

// Append reads the JSON string literal whose opening quote is s[i] and
// appends its value to dst. It returns dst, the index after the closing
// quote, and OK; or, when the literal is bad, the Problem and the index
// where it broke (dst then holds a partial value).
//
// Escapes decode as encoding/json decodes them: a surrogate pair is one
// rune, a lone surrogate escape becomes U+FFFD. Bytes that are not valid
// UTF-8 are appended as they are (encoding/json would replace them with
// U+FFFD): callers that need valid text check the result.
func Append[T ~string | ~[]byte](dst []byte, s T, i int) ([]byte, int, Problem) {
	j := i + 1
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			return dst, j + 1, OK
		case c < 0x20:
			return dst, j, ControlChar
		case c != '\\':
			// Copy the run up to the next quote, backslash or control byte.
			k := j + 1
			for k < len(s) && s[k] != '"' && s[k] != '\\' && s[k] >= 0x20 {
				k++
			}
			dst = append(dst, s[j:k]...)
			j = k
			continue
		}
		if j+1 >= len(s) {
			break
		}
		switch e := s[j+1]; e {
		case '"', '\\', '/':
			dst = append(dst, e)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s, j+2)
			if !ok {
				return dst, j, BadUnicode
			}
			j += 6
			switch {
			case r >= 0xd800 && r < 0xdc00:
				// A high surrogate: one rune with the low one after it.
				if r2, ok := hex4(s, j+2); ok && j+1 < len(s) && s[j] == '\\' && s[j+1] == 'u' && r2 >= 0xdc00 && r2 < 0xe000 {
					r = (r-0xd800)<<10 | (r2 - 0xdc00) + 0x10000
					j += 6
				} else {
					r = utf8.RuneError
				}
			case r >= 0xdc00 && r < 0xe000:
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			return dst, j, BadEscape
		}
		j += 2
	}
	return dst, len(s), Unterminated
}

// hex4 reads four hex digits at s[i:].
func hex4[T ~string | ~[]byte](s T, i int) (rune, bool) {
	if i < 0 || i+4 > len(s) {
		return 0, false
	}
	var r rune
	for k := i; k < i+4; k++ {
		c := s[k]
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
