package postgres

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/apisessions/apisessions"
)

// cursor is the position after the last part of a page: the listing order
// is (last seen, day, ID) descending, and the next page starts strictly
// below it.
type cursor struct {
	Last int64 // Unix nanoseconds
	Day  string
	ID   string
}

// cursorVersion prefixes encoded cursors, so that a later format can tell
// old cursors apart.
const cursorVersion = "c1"

// maxCursorLen bounds what decodeCursor reads: a cursor holds a number, a
// day and an ID.
const maxCursorLen = 2048

func (c cursor) encode() string {
	s := cursorVersion + "|" + strconv.FormatInt(c.Last, 10) + "|" + c.Day + "|" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// decodeCursor parses a cursor made by encode. Anything else is EINVALID.
func decodeCursor(s string) (cursor, error) {
	bad := apisessions.Errorf(apisessions.EINVALID, "bad cursor")
	if len(s) > maxCursorLen {
		return cursor{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, bad
	}
	parts := strings.SplitN(string(raw), "|", 4)
	if len(parts) != 4 || parts[0] != cursorVersion || parts[3] == "" || !pgSafe(parts[3]) {
		return cursor{}, bad
	}
	last, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return cursor{}, bad
	}
	if _, err := parseDay(parts[2]); err != nil {
		return cursor{}, bad
	}
	return cursor{Last: last, Day: parts[2], ID: parts[3]}, nil
}
