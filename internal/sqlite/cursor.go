package sqlite

import (
	"encoding/base64"
	"errors"
)

// cursor is the position after the last part of a page, in listing order.
type cursor struct {
	last    int64 // Unix nanoseconds of the part's last request
	day     string
	session string
}

const cursorV1 = 1

var errBadCursor = errors.New("bad cursor")

// encode gives an opaque, URL-safe token.
func (c cursor) encode() string {
	e := encoder{b: []byte{cursorV1}}
	e.varint(c.last)
	e.str(c.day)
	e.str(c.session)
	return base64.RawURLEncoding.EncodeToString(e.b)
}

// decodeCursor parses a token of encode. Cursors come from users: anything
// else is an error, bounded in what it reads.
func decodeCursor(s string) (cursor, error) {
	var c cursor
	if len(s) > 4*(maxIDLen+64)/3 {
		return c, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 1 || b[0] != cursorV1 {
		return c, errBadCursor
	}
	d := decoder{b: b[1:]}
	c.last = d.varint()
	c.day = d.str()
	c.session = d.str()
	if d.err != nil || len(d.b) != 0 || !validDay(c.day) || c.session == "" || len(c.session) > maxIDLen {
		return c, errBadCursor
	}
	return c, nil
}
