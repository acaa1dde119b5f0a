package wire

import (
	"errors"
	"fmt"
	"strings"

	"github.com/apisessions/apisessions"
)

// Reasons a batch is rejected, as returned by Reason: a small fixed set, so
// they can label a metric without growing its cardinality.
const (
	// ReasonMagic: the input does not start with the batch magic.
	ReasonMagic = "magic"
	// ReasonVersion: a batch of a format version this build does not read.
	ReasonVersion = "version"
	// ReasonDecompress: the compressed body is corrupt or truncated.
	ReasonDecompress = "decompress"
	// ReasonTooLarge: the compressed size, decompressed size or record
	// count is over its limit (code ETOOLARGE: the sender may split).
	ReasonTooLarge = "too_large"
	// ReasonDecode: the body is not the expected JSON (syntax, types,
	// unknown fields, trailing data).
	ReasonDecode = "decode"
	// ReasonLimit: a string or list of a record is over its limit.
	ReasonLimit = "limit"
	// ReasonInvalid: well-formed, but a required field is missing or
	// malformed (batch ID, record ID, day, ...).
	ReasonInvalid = "invalid"
	// ReasonOther: an error that did not come from this package.
	ReasonOther = "other"
)

// Reasons returns every label Reason can return for a rejected batch, so
// that a metric can start each at zero.
func Reasons() []string {
	return []string{ReasonMagic, ReasonVersion, ReasonDecompress, ReasonTooLarge, ReasonDecode,
		ReasonLimit, ReasonInvalid, ReasonOther}
}

// newError returns the *apisessions.Error every rejection is. The reason
// leads the message ("version: ...") so that the error stays a plain
// *apisessions.Error, as the rest of the code base expects, while Reason can
// still recover the label.
func newError(reason, format string, args ...any) *apisessions.Error {
	code := apisessions.EINVALID
	if reason == ReasonTooLarge {
		code = apisessions.ETOOLARGE
	}
	return &apisessions.Error{Code: code, Message: reason + ": " + fmt.Sprintf(format, args...)}
}

// Reason returns the metric label of a Decode (or Encode) error: one of the
// Reason constants, ReasonOther for an error not made by this package, and ""
// for nil.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var e *apisessions.Error
	if !errors.As(err, &e) {
		return ReasonOther
	}
	r, _, ok := strings.Cut(e.Message, ": ")
	if !ok {
		return ReasonOther
	}
	switch r {
	case ReasonMagic, ReasonVersion, ReasonDecompress, ReasonTooLarge, ReasonDecode,
		ReasonLimit, ReasonInvalid:
		return r
	}
	return ReasonOther
}
