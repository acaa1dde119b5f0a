package sessionize

import "strings"

// Placeholders of normalised endpoints.
const (
	phInt   = "{int}"
	phUUID  = "{uuid}"
	phHex   = "{hex}"
	phToken = "{token}"
)

// minHexLen: shorter all-hex segments are too often words ("cafe", "add",
// "deadbeef" as a literal) to replace; object IDs (Mongo: 24, SHA-1: 40)
// are longer.
const minHexLen = 16

// minTokenLen: opaque tokens (base64/base64url keys, IDs like
// "Xk9fPq2LmN3oRt7uVw1Y") are long; shorter mixed-case segments are names.
const minTokenLen = 20

// Endpoint returns the normalised endpoint "METHOD /path" of a request: the
// path without its query string, with variable segments replaced so that
// /api/users/42 and /api/users/43 count as one endpoint. Segment by segment:
//
//   - digits only → {int}
//   - a UUID (8-4-4-4-12 hex digits) → {uuid}
//   - hex digits only, at least 16, with at least one digit → {hex}
//   - at least 20 characters of the base64url alphabet (A-Z a-z 0-9 - _,
//     '=' padding at the end) holding a digit, an upper- and a lower-case
//     letter, or a JWT (eyJ....) → {token}
//
// Anything else is kept as sent: lower-case slugs ("my-first-post-2024"),
// versions ("v1"), file names and words. An empty path is "/"; the method is
// upper-cased.
func Endpoint(method, path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		path = "/"
	}
	method = strings.ToUpper(method)
	if !needsNormalising(path) {
		return method + " " + path
	}
	var b strings.Builder
	b.Grow(len(method) + 1 + len(path))
	b.WriteString(method)
	b.WriteByte(' ')
	for i := 0; i < len(path); {
		j := strings.IndexByte(path[i:], '/')
		if j == 0 {
			b.WriteByte('/')
			i++
			continue
		}
		end := len(path)
		if j > 0 {
			end = i + j
		}
		b.WriteString(normalizeSegment(path[i:end]))
		i = end
	}
	return b.String()
}

// needsNormalising is a fast pre-check: only paths with a digit can hold a
// placeholder (every rule needs one), so most static paths are copied.
func needsNormalising(path string) bool {
	return strings.ContainsAny(path, "0123456789")
}

// normalizeSegment returns the placeholder for seg, or seg.
func normalizeSegment(seg string) string {
	if seg == "" {
		return seg
	}
	var digits, lower, upper, hexLetters, other int
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'f':
			lower++
			hexLetters++
		case c >= 'A' && c <= 'F':
			upper++
			hexLetters++
		case c >= 'g' && c <= 'z':
			lower++
		case c >= 'G' && c <= 'Z':
			upper++
		default:
			other++
		}
	}
	if digits == 0 {
		return seg
	}
	if digits == len(seg) {
		return phInt
	}
	if isUUID(seg) {
		return phUUID
	}
	if other == 0 && digits+hexLetters == len(seg) && len(seg) >= minHexLen {
		return phHex
	}
	if len(seg) >= minTokenLen && lower > 0 && upper > 0 && isBase64URL(seg) {
		return phToken
	}
	if isJWT(seg) {
		return phToken
	}
	return seg
}

// isJWT recognises a JWT by form: three base64url parts, the first a JSON
// object header ("eyJ" is base64 of `{"`).
func isJWT(s string) bool {
	h, rest, ok := strings.Cut(s, ".")
	if !ok || !strings.HasPrefix(h, "eyJ") || !isBase64URL(h) {
		return false
	}
	p, sig, ok := strings.Cut(rest, ".")
	return ok && isBase64URL(p) && (sig == "" || isBase64URL(sig))
}

// isUUID reports the 8-4-4-4-12 hex form, any case.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// isBase64URL: the base64url (or std, without '/') alphabet with optional
// '=' padding at the end.
func isBase64URL(s string) bool {
	s = strings.TrimRight(s, "=")
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_', c == '+':
		default:
			return false
		}
	}
	return s != ""
}
