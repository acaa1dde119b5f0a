package detect

import (
	"strings"

	"github.com/corazawaf/libinjection-go"
)

// isSQLi is libinjection's @detectSQLi, with a short cut: a value
// sqliPlain accepts is never SQLi, so it is clean without running the
// tokenizer (one to five passes).
//
// Why. IsSQLi (check) fingerprints the value as is; again in MySQL mode
// only if that pass met "--" (parseDash) or '#' (parseHash); again as if
// the value followed a quote only if it holds a ' or a ". A plain value
// holds none of them, so one pass decides: fold turns the tokens into a
// fingerprint of at most five token types, and the value is SQLi only if
// the fingerprint is in libinjection's table (blacklist) and notWhitelist
// keeps it. A plain value has no '*' after a '/' either, so no comment
// and no X token (parseSlash). Of the table, these facts are used:
//
//	T1. The only one-token fingerprint is X; the two-token ones are 1c,
//	    nc, sc, vc (a comment second) and 1U, vU, which notWhitelist
//	    clears when the pass read two tokens in all.
//	T2. No fingerprint is made of numbers (1), barewords (n), operators
//	    (o), dots, commas and colons only.
//	T3. No fingerprint has three tokens of which the first two are numbers
//	    or barewords.
//	T4. No fingerprint is one token then a variable (v), nor "Env".
//
// Word bytes are letters, digits, '_' and the bytes from 0x80 up but 0xA0,
// which libinjection takes for a space. In a plain value, parseWord reads
// a word up to the first byte that is neither a word byte nor '.' (all
// other bytes of plain values end words), and lookupWord gives it
// (or, if it holds a '.', the part before it, and then the word is cut
// there) any type of the keyword table: union (U), expression (E), keyword
// (k), logic operator (&, "or"), operator ("not"), function, type,
// variable ("null")... but no comment and not X. Plain values are of four
// kinds:
//
//   - Word bytes only. A value starting with a letter, '_' or a high byte
//     is one word (the q, n, x, b, e and u string forms need a quote).
//     One starting with a digit is read by parseNumber: digits with an
//     exponent or a d/f suffix make one number or nothing; "0x" and "0b"
//     make a number or the bareword "0x"/"0b", and after "0b" a digit 2-9
//     starts one more number; what follows is one word to the end. So at
//     most a number or bareword, a number, and a word. fold changes none
//     of them, but may merge a bareword and the word into one token (its
//     three-token rules need an operator, comma or dot in the middle): by
//     T1 and T3 only "1U" could match, and it comes from two tokens.
//   - Word bytes and spaces: one word, as above, or two words that are one
//     token each (starting with a non-digit, or all digits), T1.
//   - Numeric: digits, a-f, t, z, '_', the punctuation . - + : / , = % and
//     spaces, without "--" or, in any case, "dec" or "date". The tokens
//     are numbers, barewords, dots, commas, colons and operators ("::",
//     ":=" too). The keys of the keyword table spelled with these bytes
//     are operators and words containing DEC or DATE, so lookupWord
//     finds no word, no part of one before a '.' and no pair of tokens
//     merge joins; fold's other rules that change a token's type need
//     parentheses, braces, backslashes, backticks, semicolons, keywords or
//     types. So all tokens keep those types: T2.
//   - Dotted: word bytes with at most one '.', not starting with a digit
//     nor having one after the '.', then possibly '@' and word bytes and
//     dots. That is a word, or a word cut at the '.', a dot (parseNumber
//     reads a '.' before a non-digit as a dot) and a word; then one
//     variable (parseVar reads the '@' and all that follows, none of which
//     ends a variable). fold drops the dot only between two barewords, two
//     operators or two logic operators (keeping the first), or between an
//     expression and a bareword (then merge may join those two): the
//     fingerprint has a dot, which no fingerprint of the table has, or it
//     is one token, or "En", each possibly followed by v: T1 and T4.
func isSQLi(v string) bool {
	if sqliPlain(v) {
		return false
	}
	res, _ := libinjection.IsSQLi(v)
	return res
}

// The kinds of plain values, as bits of sqliBytes.
const (
	plainWord    = 1 << iota // word bytes
	plainTwo                 // word bytes and spaces: two words
	plainDotted              // word bytes, '.' and '@': a dotted word or address
	plainNumeric             // digits, a-f, t, z, '_', . - + : / , = % and spaces
)

// sqliBytes tells, for each byte, the kinds of plain values it may be in.
var sqliBytes = func() (t [256]uint8) {
	for c := 0x80; c < 0x100; c++ {
		if c != 0xa0 {
			t[c] = plainWord | plainTwo | plainDotted
		}
	}
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") {
		t[c] = plainWord | plainTwo | plainDotted
	}
	for _, c := range []byte("0123456789abcdefABCDEFtTzZ_.-+:/,=% ") {
		t[c] |= plainNumeric
	}
	t[' '] |= plainTwo
	t['.'] |= plainDotted
	t['@'] |= plainDotted
	return t
}()

// sqliPlain reports whether v is one of the plain values of isSQLi's
// comment, which libinjection never finds SQLi.
func sqliPlain(v string) bool {
	m := uint8(plainWord | plainTwo | plainDotted | plainNumeric)
	for i := 0; i < len(v); i++ {
		if m &= sqliBytes[v[i]]; m == 0 {
			return false
		}
	}
	return m&plainWord != 0 ||
		m&plainTwo != 0 && twoWords(v) ||
		m&plainDotted != 0 && dottedWord(v) ||
		m&plainNumeric != 0 && plainNumber(v)
}

// twoWords reports whether v, word bytes and spaces, is at most one word,
// or two words that are one token each: starting with a non-digit, or all
// digits.
func twoWords(v string) bool {
	words, ok := 0, true
	for i := 0; i < len(v); {
		if v[i] == ' ' {
			i++
			continue
		}
		j := i
		for j < len(v) && v[j] != ' ' {
			j++
		}
		if words++; words > 2 {
			return false
		}
		ok = ok && (!isDigit(v[i]) || strings.TrimLeft(v[i:j], "0123456789") == "")
		i = j
	}
	return words < 2 || ok
}

// dottedWord reports whether v, word bytes, dots and '@', is a word with
// at most one '.', not starting with a digit nor having one after the '.',
// possibly followed by '@' and a domain without another '@'.
func dottedWord(v string) bool {
	local, domain, at := strings.Cut(v, "@")
	if at && strings.IndexByte(domain, '@') >= 0 {
		return false
	}
	if local != "" && isDigit(local[0]) {
		return false
	}
	_, after, dot := strings.Cut(local, ".")
	return !dot || strings.IndexByte(after, '.') < 0 && (after == "" || !isDigit(after[0]))
}

// plainNumber reports whether v, of plainNumeric bytes, has no "--" and no
// "dec" or "date" in any case.
func plainNumber(v string) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '-':
			if i+1 < len(v) && v[i+1] == '-' {
				return false
			}
		case 'd', 'D':
			r := v[i+1:]
			if len(r) >= 2 && r[0]|0x20 == 'e' && r[1]|0x20 == 'c' ||
				len(r) >= 3 && r[0]|0x20 == 'a' && r[1]|0x20 == 't' && r[2]|0x20 == 'e' {
				return false
			}
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
