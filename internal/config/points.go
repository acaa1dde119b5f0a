package config

import (
	"fmt"

	"github.com/apisessions/apisessions/internal/point"
)

// parsedPoint is a point of the configuration, parsed.
type parsedPoint struct {
	// text is the point as written, for messages.
	text string
	// canonical is the point in its one spelling (header names in canonical
	// case, names quoted only when needed), for finding duplicates.
	canonical string
	p         *point.Point
}

// parsePoint parses a point; the error names the column where it broke.
func parsePoint(s string) (parsedPoint, error) {
	p, err := point.Parse(s)
	if err != nil {
		return parsedPoint{}, fmt.Errorf("bad point %q: %w", s, err)
	}
	return parsedPoint{text: s, canonical: p.String(), p: p}, nil
}

// covers reports whether masking m hides the value of point k: m is k, or a
// prefix of it along steps (masking a cookie masks every field decoded from it).
func (m parsedPoint) covers(k parsedPoint) bool { return m.p.Covers(k.p) }
