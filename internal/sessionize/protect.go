package sessionize

import (
	"encoding/base64"
	"strings"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/point"
)

// Protection of what a hashed or masked point's value is read from (SPEC
// §6: a hashed or masked raw value never leaves the node).
//
// A protected point (a mask rule, a hashed parameter) that steps through
// decoders reads its value out of containers: the inputs of its decoders.
// "request.header.X-Identity|jwt.sub" reads the claim out of the JWT in the
// header; "request.body|json.data|base64|json.token" out of the base64 text
// of the body's data field. Masking the value where it appears is not
// enough, since a container holds it encoded: the JWT, the base64 text,
// decode back to it. So every container of a protected point that yields a
// value is protected too, as a masked value: wherever it appears whole it
// leaves as "***" (a stored header, a JSON or form field of the body, a
// query value, a parameter, a finding payload), and inside longer text
// (multipart, XML, GraphQL bodies) it is replaced as a masked value is.
//
// The one container this leaves out is a request body read first by a
// structural decoder (json, form, multipart, xml, graphql): there the body
// is not hidden, its fields are masked in place, and the next decoder's
// input is the container ("request.body|json.password" masks one field;
// "request.body|json.data|base64|json.token" masks the data field whole). A
// request body read first by an encoding (base64, url, gzip, jwt) is stored
// as "***".
//
// Values read on the path from the outermost container down to the point
// (the container, the decoded text, the point itself) are masked as
// parameters and finding payloads. Values beside it (another claim of the
// same JWT) are not: they do not hold the protected value.
//
// Last, the protected points of the request body are read back from the
// body as stored (verifyBody): a value masking left there (under 4 bytes,
// in a multipart, XML or GraphQL body, where it is replaced only as a whole
// text) has the body stored as "***". The same check masks a finding
// payload on the whole body.
//
// Metadata (client IP, host, User-Agent, path) that is or holds a protected
// value follows its protection (meta, protectPath): request.ip hashed
// leaves client_ip hashed. The method and status cannot be protected.
//
// Values are looked for in other places in the forms a request may carry
// them: in any ASCII case (fold.go), JSON-escaped, percent-encoded (+ or
// %20 for a space; parameters and path segments are also compared
// decoded), with invalid UTF-8 as JSON decodes it, and, for what mask rules
// and hashed parameters select (6 to 64 bytes), base64-encoded at any
// alignment (mask.go: base64Cores). Masking by structure backs masking by
// value where a point reads one value of several: every member at a JSON
// path a protected point reads (duplicate keys, every operation of a
// GraphQL batch), and every request header a protected point reads, even
// one past the evaluator's header bound.

// structural reports whether a decoder reads a structured text in which the
// values it yields appear as text, rather than an encoding that hides them.
func structural(d point.Decoder) bool {
	switch d {
	case point.DecoderJSON, point.DecoderForm, point.DecoderMultipart, point.DecoderXML, point.DecoderGraphQL:
		return true
	}
	return false
}

// shield is a protected point read through decoders, with its containers.
type shield struct {
	pt *point.Point
	// conts are the inputs of the point's decoders, outermost first.
	conts []*point.Point
}

// newShield returns the shield of a protected point; false when the point
// has no container (no decoder, or only a structural one on the body).
func newShield(q *point.Point) (shield, bool) {
	sh := shield{pt: q}
	for i, st := range q.Steps() {
		if st.Kind != point.StepDecode {
			continue
		}
		if i == 0 && q.Source() == point.SourceBody && structural(st.Decoder) {
			continue
		}
		sh.conts = append(sh.conts, q.Prefix(i))
	}
	return sh, len(sh.conts) > 0
}

// on reports whether f lies on the path from the shield's outermost
// container to its point, both included: a value read there holds the
// protected value, encoded or whole.
func (sh *shield) on(f *point.Point) bool {
	return f.Covers(sh.pt) && sh.conts[0].Covers(f)
}

// isBody reports whether p is a whole body.
func isBody(p *point.Point) bool {
	return p.Source() == point.SourceBody && len(p.Steps()) == 0
}

// containerValues returns the values of the containers of the shields
// present in the current exchange, and whether the request body itself is
// one (it is not copied into the list: the content stores it as "***").
// A response body container is not listed either: it is never stored, and
// parameters on it are masked by point (see shield.on).
func (s *Sessionizer) containerValues(w *worker, present []bool, out []string) ([]string, bool) {
	body := false
	for i := range s.shields {
		if !present[i] {
			continue
		}
		for _, c := range s.shields[i].conts {
			if isBody(c) {
				body = body || !c.Response()
				continue
			}
			out = append(out, w.ev.Values(c)...)
		}
	}
	return out, body
}

// onPresent reports whether f lies on the path of a shield present in the
// current exchange.
func (s *Sessionizer) onPresent(f *point.Point, present []bool) bool {
	for i := range s.shields {
		if present[i] && s.shields[i].on(f) {
			return true
		}
	}
	return false
}

// protected lists the values of an exchange that must not leave the node
// raw, by how they are protected.
type protected struct {
	masked []string // what mask rules select
	hashed []string // raw values of hashed parameters and credential keys
	conts  []string // containers of protected points (see shield)
}

func (p *protected) empty() bool {
	return len(p.masked) == 0 && len(p.hashed) == 0 && len(p.conts) == 0
}

// holds reports whether v is, or holds, a protected value.
func (p *protected) holds(v string) bool {
	return matchesSecret(v, p.masked) || matchesSecret(v, p.hashed) || matchesSecret(v, p.conts)
}

// meta returns request metadata (client IP, host, User-Agent, path) as the
// protection of the value it shows requires: the parameter's hash when it
// is the raw value of a hashed parameter (so it still matches the exported
// parameter), "***" when it is or holds any other protected value, else as
// it is. Equality ignores case: a host read in another case still shows
// the value.
func (s *Sessionizer) meta(w *worker, v string, p *protected) string {
	if v == "" || p.empty() {
		return v
	}
	for _, m := range p.masked {
		if strings.EqualFold(v, m) {
			return maskedValue
		}
	}
	for _, h := range p.hashed {
		if strings.EqualFold(v, h) {
			return s.hashParam(w, h)
		}
	}
	if p.holds(v) {
		return maskedValue
	}
	return v
}

// protectPath returns the exported path: hashed or "***" whole when it is a
// protected value, else with the segments that are or hold a protected value,
// and protected values spanning segments, replaced by "***".
func (s *Sessionizer) protectPath(w *worker, path string, p *protected) string {
	if p.empty() {
		return path // the common case: nothing to look for, no allocation
	}
	for _, l := range [...][]string{p.masked, p.hashed, p.conts} {
		for _, v := range l {
			if v == path {
				return s.meta(w, path, p)
			}
		}
	}
	return scrubPath(path, p.masked, p.hashed, p.conts)
}

// pathOf reports whether path is the path of a protected value (a
// protected request.url): then the path is protected too.
func (p *protected) pathOf(path string) bool {
	for _, l := range [...][]string{p.masked, p.hashed, p.conts} {
		for _, v := range l {
			if len(v) > len(path) && strings.HasPrefix(v, path) && v[len(path)] == '?' {
				return true
			}
		}
	}
	return false
}

// metadataOnly reports a point on the method or the status: metadata every
// record keeps, with so few values that a hash of one hides nothing.
func metadataOnly(p *point.Point) bool {
	return p.Source() == point.SourceMethod || p.Source() == point.SourceStatus
}

// onAny reports whether one of the shields is present.
func onAny(shields []int, present []bool) bool {
	for _, i := range shields {
		if present[i] {
			return true
		}
	}
	return false
}

// verifyBody reads the protected points of the request body (mask rules,
// hashed parameters) back from the body as stored. Masking by structure and
// by value does not reach everything: a value under 4 bytes inside a
// multipart, XML or GraphQL body is replaced only where it is a whole text.
// When a point still yields a protected value, the stored body is masked
// whole.
func (s *Sessionizer) verifyBody(w *worker, ex *apisessions.Exchange, c *apisessions.Content, prot *protected) {
	if c.Body == "" || c.Body == maskedValue {
		return
	}
	b := []byte(c.Body)
	if c.BodyBase64 {
		var err error
		if b, err = base64.StdEncoding.DecodeString(c.Body); err != nil {
			b = nil
		}
	}
	if s.bodyHolds(w, c.Headers, b, prot) {
		c.Body, c.BodyBase64, c.Truncated = maskedValue, false, false
	}
}

// bodyHolds reports whether a protected point of the request body yields a
// protected value from body, read with the request headers h (its
// Content-Type): a stored body, or a finding's payload on the whole body.
func (s *Sessionizer) bodyHolds(w *worker, h apisessions.Headers, body []byte, prot *protected) bool {
	if len(s.bodyPts) == 0 || len(body) == 0 || (len(prot.masked) == 0 && len(prot.hashed) == 0) {
		return false
	}
	if w.check == nil {
		w.check = point.NewEvaluator(s.limits)
	}
	stored := apisessions.Exchange{Request: apisessions.Request{Method: "POST", URL: "/", Headers: h, Body: body}}
	w.check.Reset(&stored)
	defer w.check.Reset(nil)
	for _, q := range s.bodyPts {
		for _, v := range w.check.Values(q) {
			if matchesSecret(v, prot.masked) || matchesSecret(v, prot.hashed) {
				return true
			}
		}
	}
	return false
}
