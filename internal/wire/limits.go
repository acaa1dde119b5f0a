package wire

// Limits bound what Decode accepts, so that a malicious or broken sender can
// neither crash the server nor make it allocate without bound. A zero field
// takes its default from DefaultLimits.
type Limits struct {
	// MaxCompressed bounds the bytes read from the wire (header included):
	// the first line of defence, checked before anything is decompressed.
	MaxCompressed int64
	// MaxDecompressed bounds the decompressed body, which stops
	// decompression bombs; decoding memory is proportional to it.
	MaxDecompressed int64
	// MaxRecords bounds the records of one batch. A node sends 1,000 by
	// default, so this leaves room without letting one batch hog a store
	// transaction.
	MaxRecords int
	// MaxString bounds every string of a record (IDs, paths, parameter
	// values, finding payloads, header lines), in bytes.
	MaxString int
	// MaxList bounds every list of a record: parameters, flows, findings,
	// rule IDs of a finding, content headers.
	MaxList int
	// MaxContentBody bounds the stored body of a malicious request, in raw
	// bytes (the stored-content limit). A base64 body may be as long as
	// the base64 encoding of that many bytes.
	MaxContentBody int
}

// DefaultLimits returns the limits the server applies unless configured
// otherwise.
func DefaultLimits() Limits {
	return Limits{
		MaxCompressed:   8 << 20,
		MaxDecompressed: 64 << 20,
		MaxRecords:      10_000,
		MaxString:       64 << 10,
		MaxList:         256,
		MaxContentBody:  64 << 10,
	}
}

// WithDefaults returns l with every zero (or negative) field set to its
// default, so callers may set only the limits they care about.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxCompressed <= 0 {
		l.MaxCompressed = d.MaxCompressed
	}
	if l.MaxDecompressed <= 0 {
		l.MaxDecompressed = d.MaxDecompressed
	}
	if l.MaxRecords <= 0 {
		l.MaxRecords = d.MaxRecords
	}
	if l.MaxString <= 0 {
		l.MaxString = d.MaxString
	}
	if l.MaxList <= 0 {
		l.MaxList = d.MaxList
	}
	if l.MaxContentBody <= 0 {
		l.MaxContentBody = d.MaxContentBody
	}
	return l
}
