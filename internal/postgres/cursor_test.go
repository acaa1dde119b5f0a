package postgres

import (
	"encoding/base64"
	"testing"

	"github.com/apisessions/apisessions"
)

var cursorCases = []struct {
	name string
	in   string
	want *cursor // nil: EINVALID
}{
	{"round trip", cursor{Last: 1763683200123456000, Day: "2026-11-21", ID: "sess-0001"}.encode(), &cursor{1763683200123456000, "2026-11-21", "sess-0001"}},
	{"negative time", cursor{Last: -5, Day: "1969-12-31", ID: "x"}.encode(), &cursor{-5, "1969-12-31", "x"}},
	{"id with separator", cursor{Last: 1, Day: "2026-11-21", ID: "a|b|c"}.encode(), &cursor{1, "2026-11-21", "a|b|c"}},
	{"empty", "", nil},
	{"not base64", "!!!", nil},
	{"padded base64", base64.URLEncoding.EncodeToString([]byte("c1|1|2026-11-21|x")), nil},
	{"other version", enc("c0|1|2026-11-21|x"), nil},
	{"missing id", enc("c1|1|2026-11-21|"), nil},
	{"too few fields", enc("c1|1|2026-11-21"), nil},
	{"bad number", enc("c1|1e3|2026-11-21|x"), nil},
	{"overflow", enc("c1|99999999999999999999|2026-11-21|x"), nil},
	{"bad day", enc("c1|1|2026-02-30|x"), nil},
	{"nul in id", enc("c1|1|2026-11-21|a\x00"), nil},
	{"invalid utf-8 id", enc("c1|1|2026-11-21|\xff"), nil},
	{"too long", enc("c1|1|2026-11-21|" + string(make([]byte, 3000))), nil},
}

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestDecodeCursor(t *testing.T) {
	for _, tt := range cursorCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeCursor(tt.in)
			if tt.want == nil {
				if apisessions.ErrorCode(err) != apisessions.EINVALID {
					t.Fatalf("decodeCursor = %+v, %v; want EINVALID", got, err)
				}
				return
			}
			if err != nil || got != *tt.want {
				t.Fatalf("decodeCursor = %+v, %v; want %+v", got, err, *tt.want)
			}
		})
	}
}

// FuzzDecodeCursor checks that any input either fails with EINVALID or
// decodes to a cursor that encodes back to the same text.
func FuzzDecodeCursor(f *testing.F) {
	for _, tt := range cursorCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			if apisessions.ErrorCode(err) != apisessions.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if again := c.encode(); again != s {
			if d, err := decodeCursor(again); err != nil || d != c {
				t.Fatalf("cursor %+v does not survive encoding: %q → %+v, %v", c, again, d, err)
			}
		}
	})
}
