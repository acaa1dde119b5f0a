package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apisessions/apisessions"
)

// Codes of errors only the HTTP layer produces, beyond the root package's.
const (
	// EUNSUPPORTED: a body of a media type the route does not take (415).
	EUNSUPPORTED = "unsupported_media_type"
	// EMETHOD: a known path with a method it does not serve (405).
	EMETHOD = "method_not_allowed"
	// EUNAVAILABLE: the server is overloaded or its store unreachable
	// (503); retry after the Retry-After seconds.
	EUNAVAILABLE = "unavailable"
)

// statusOf is the one mapping of error codes to HTTP status.
func statusOf(code string) int {
	switch code {
	case apisessions.EINVALID:
		return http.StatusBadRequest
	case apisessions.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case apisessions.EFORBIDDEN:
		return http.StatusForbidden
	case apisessions.ENOTFOUND:
		return http.StatusNotFound
	case apisessions.ECONFLICT:
		return http.StatusConflict
	case apisessions.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case EUNSUPPORTED:
		return http.StatusUnsupportedMediaType
	case EMETHOD:
		return http.StatusMethodNotAllowed
	case EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// codeOf maps an HTTP status back to an error code, for the client.
func codeOf(status int) string {
	for _, c := range []string{apisessions.EINVALID, apisessions.EUNAUTHORIZED, apisessions.EFORBIDDEN,
		apisessions.ENOTFOUND, apisessions.ECONFLICT, apisessions.ETOOLARGE, EUNSUPPORTED, EMETHOD, EUNAVAILABLE} {
		if statusOf(c) == status {
			return c
		}
	}
	return apisessions.EINTERNAL
}

// apiFunc is a handler that returns its error to the wrapper instead of
// writing it.
type apiFunc func(w http.ResponseWriter, r *http.Request, p *principal) error

// errorBody is the one error envelope.
type errorBody struct {
	Error    errorDetail `json:"error"`
	Problems []problem   `json:"problems,omitempty"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	ID      string `json:"id,omitempty"`
}

// problem is one configuration problem in an error answer.
type problem struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// problemsError is a refused configuration: EINVALID with the list.
type problemsError struct {
	problems []problem
}

func (e *problemsError) Error() string {
	return fmt.Sprintf("configuration has %d problem(s)", len(e.problems))
}

// retryAfterError asks the client to come back later (503).
type retryAfterError struct {
	after time.Duration
	msg   string
}

func (e *retryAfterError) Error() string { return e.msg }

// writeError writes err in the envelope. Internal errors are logged here,
// once, with an ID the user can quote; their text never reaches the user.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, route string, err error) {
	id := randomHex(8)
	body := errorBody{Error: errorDetail{ID: id}}
	var pe *problemsError
	var ra *retryAfterError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &pe):
		body.Error.Code = apisessions.EINVALID
		body.Error.Message = err.Error()
		body.Problems = pe.problems
	case errors.As(err, &ra):
		body.Error.Code = EUNAVAILABLE
		body.Error.Message = ra.msg
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(ra.after/time.Second))))
	case errors.As(err, &mbe):
		body.Error.Code = apisessions.ETOOLARGE
		body.Error.Message = fmt.Sprintf("request body over %d bytes", mbe.Limit)
	default:
		body.Error.Code = apisessions.ErrorCode(err)
		body.Error.Message = apisessions.ErrorMessage(err)
	}
	if body.Error.Code == apisessions.EINTERNAL {
		s.log.Error("api request failed", "route", route, "method", r.Method, "id", id, "err", err)
	}
	if body.Error.Code == apisessions.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="apisessions"`)
	}
	writeJSON(w, statusOf(body.Error.Code), body)
}

// writeJSON writes v as JSON. encoding/json escapes <, > and & as \u003c
// and so on, so an attacker payload read as HTML is inert.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every type written here marshals; a failure is a bug.
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte{'\n'})
}

// writeJSONTagged writes v with a strong ETag over its encoding and answers
// 304 when the client already has it, so nodes poll cheaply.
func writeJSONTagged(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	sum := sha256.Sum256(b)
	tag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", tag)
	if etagMatch(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	w.Write([]byte{'\n'})
	return nil
}

// etagMatch reports whether an If-None-Match header lists tag (or is *).
func etagMatch(header, tag string) bool {
	for _, t := range splitComma(header) {
		t = trimWeak(t)
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}

func trimWeak(t string) string {
	if len(t) > 2 && t[:2] == "W/" {
		return t[2:]
	}
	return t
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if f := strings.TrimSpace(s[start:i]); f != "" {
				out = append(out, f)
			}
			start = i + 1
		}
	}
	return out
}

// maxJSONBody bounds JSON request bodies other than batches and
// configurations: a denylist entry or a login is a few hundred bytes.
const maxJSONBody = 64 << 10

// decodeJSON reads a JSON body strictly into v: one object, no unknown
// fields, no trailing data, at most limit bytes.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if err := requireType(r, "application/json"); err != nil {
		return err
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return apisessions.Errorf(apisessions.EINVALID, "bad JSON body: %s", jsonErrText(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return apisessions.Errorf(apisessions.EINVALID, "bad JSON body: data after the object")
	}
	return nil
}

// jsonErrText describes a JSON decoding error without echoing the input.
func jsonErrText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q: wrong type", te.Field)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end"
	default:
		// Unknown field errors name the field, which is the caller's own
		// key, bounded by the body limit.
		msg := err.Error()
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return msg
	}
}

// mediaType returns the media type of the request body, lowercased, without
// parameters.
func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// requireType refuses a body that is not of one of the media types.
func requireType(r *http.Request, types ...string) error {
	mt := mediaType(r)
	for _, t := range types {
		if mt == t {
			return nil
		}
	}
	return apisessions.Errorf(EUNSUPPORTED, "Content-Type must be %s", types[0])
}
