package point

// Limits bound the work and memory of evaluating and listing points on one
// exchange. Past a limit, evaluation goes on with what fits (the rest is
// ignored) and the evaluator reports Truncated; it never fails the exchange,
// panics or grows without bound. A zero or negative field means its default.
type Limits struct {
	// BodyBytes is how much of a body is parsed (1 MiB). Parameters of API
	// bodies sit well inside it; parsing more would let one large upload
	// cost more than the traffic around it.
	BodyBytes int
	// DecompressedBytes is the most the gzip and deflate steps of one
	// exchange may produce together (8 MiB), so that a compression bomb,
	// or a chain of them, stops there.
	DecompressedBytes int
	// MaxDepth is the deepest JSON nesting followed (64), also applied to
	// XML elements and GraphQL selections: deeper documents are attacks on
	// parsers, not APIs.
	MaxDepth int
	// MaxElements is the most JSON values indexed in one document
	// (100,000), also applied to XML elements and GraphQL tokens: it bounds
	// the memory of a decoded document.
	MaxElements int
	// MaxChain is the most decoders applied in a row (8), whether written in
	// a point (Parse refuses more than MaxChain) or found while listing
	// (base64 in a cookie holding JSON ...).
	MaxChain int
	// MaxPoints is the most points listed per exchange (10,000): the
	// console and the points command show a person the parameters of a
	// request, not an unbounded dump.
	MaxPoints int
	// HeaderBytes is how many bytes of header names and values are read per
	// side (64 KiB); servers refuse far less (nginx 8-32 KiB), so more is
	// noise or an attack. Headers after the limit are ignored.
	HeaderBytes int
}

// DefaultLimits returns the limits described on Limits.
func DefaultLimits() Limits {
	return Limits{
		BodyBytes:         1 << 20,
		DecompressedBytes: 8 << 20,
		MaxDepth:          64,
		MaxElements:       100_000,
		MaxChain:          MaxChain,
		MaxPoints:         10_000,
		HeaderBytes:       64 << 10,
	}
}

// maxBytes keeps byte limits within the int32 offsets of the JSON index.
const maxBytes = 1 << 30

// normalized fills zero fields with defaults and clamps byte limits.
func (l Limits) normalized() Limits {
	d := DefaultLimits()
	fix := func(v *int, def, max int) {
		if *v <= 0 {
			*v = def
		}
		if *v > max {
			*v = max
		}
	}
	fix(&l.BodyBytes, d.BodyBytes, maxBytes)
	fix(&l.DecompressedBytes, d.DecompressedBytes, maxBytes)
	fix(&l.MaxDepth, d.MaxDepth, 10_000)
	fix(&l.MaxElements, d.MaxElements, 10_000_000)
	fix(&l.MaxChain, d.MaxChain, MaxChain)
	fix(&l.MaxPoints, d.MaxPoints, 10_000_000)
	fix(&l.HeaderBytes, d.HeaderBytes, maxBytes)
	return l
}
