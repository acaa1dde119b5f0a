package wire

import (
	"encoding/base64"
	"fmt"
	"math"
	"time"

	"github.com/apisessions/apisessions"
)

// maxNodeName bounds the node name: it is shown in the node list and may
// label metrics, so it is kept to the length of a host name.
const maxNodeName = 255

// CheckBatch reports whether b is a batch Decode would accept under lim
// (sizes apart, which only exist once encoded): a 128-bit lowercase hex ID,
// a node name, a creation time, and records that pass CheckRecord.
func CheckBatch(b *Batch, lim Limits) error {
	lim = lim.WithDefaults()
	if b == nil {
		return newError(ReasonInvalid, "no batch")
	}
	if err := checkBatchHeader(b.ID, b.Node, b.Created); err != nil {
		return err
	}
	if len(b.Records) > lim.MaxRecords {
		return newError(ReasonTooLarge, "batch has %d records, over the limit of %d",
			len(b.Records), lim.MaxRecords)
	}
	for i := range b.Records {
		if err := checkRecord(i, &b.Records[i], lim); err != nil {
			return err
		}
	}
	return nil
}

// CheckRecord reports whether rec is a record Decode would accept under lim.
// The exporter calls it on Add, so that one bad record is refused alone
// instead of getting a whole batch rejected by the server.
func CheckRecord(rec *apisessions.Record, lim Limits) error {
	return checkRecord(-1, rec, lim.WithDefaults())
}

func checkBatchHeader(id, node string, created time.Time) error {
	if !validID(id) {
		return newError(ReasonInvalid, "batch id must be 32 lowercase hex digits")
	}
	if node == "" {
		return newError(ReasonInvalid, "batch has no node name")
	}
	if len(node) > maxNodeName {
		return newError(ReasonLimit, "node name is %d bytes, over the limit of %d", len(node), maxNodeName)
	}
	if created.IsZero() {
		return newError(ReasonInvalid, "batch has no creation time")
	}
	return nil
}

// validID reports whether id is 128 bits in lowercase hex, the form NewID
// makes. Lowercase only, so that one batch has exactly one spelling of its
// idempotency key.
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// recordChecker checks the fields of one record, naming the record and the
// field in its errors but never their values: they may be parameter values.
type recordChecker struct {
	index int
	lim   Limits
	err   error
}

func (c *recordChecker) where() string {
	if c.index < 0 {
		return "record"
	}
	return fmt.Sprintf("record %d", c.index)
}

func (c *recordChecker) str(field, s string) {
	if c.err == nil && len(s) > c.lim.MaxString {
		c.err = newError(ReasonLimit, "%s: %s is %d bytes, over the limit of %d",
			c.where(), field, len(s), c.lim.MaxString)
	}
}

// item checks list[i].sub (sub may be empty), building the field name only
// on failure: this runs for every parameter of every record.
func (c *recordChecker) item(list string, i int, sub, s string) {
	if c.err == nil && len(s) > c.lim.MaxString {
		field := fmt.Sprintf("%s[%d]", list, i)
		if sub != "" {
			field += "." + sub
		}
		c.str(field, s)
	}
}

func (c *recordChecker) list(field string, n int) {
	if c.err == nil && n > c.lim.MaxList {
		c.err = newError(ReasonLimit, "%s: %s has %d items, over the limit of %d",
			c.where(), field, n, c.lim.MaxList)
	}
}

func (c *recordChecker) invalid(format string, args ...any) {
	if c.err == nil {
		c.err = newError(ReasonInvalid, "%s: %s", c.where(), fmt.Sprintf(format, args...))
	}
}

func checkRecord(index int, r *apisessions.Record, lim Limits) error {
	c := &recordChecker{index: index, lim: lim}
	if r == nil {
		c.invalid("missing")
		return c.err
	}
	c.str("id", r.ID)
	c.str("session_id", r.SessionID)
	c.str("method", r.Method)
	c.str("host", r.Host)
	c.str("path", r.Path)
	c.str("endpoint", r.Endpoint)
	c.str("client_ip", r.ClientIP)
	c.str("user_agent", r.UserAgent)
	c.str("key.point", r.Key.Point)
	c.str("key.value", r.Key.Value)
	c.str("user", r.User)
	c.str("role", r.Role)
	c.str("verdict", string(r.Verdict))
	c.str("block_reason", r.BlockReason)
	c.str("mode", r.Mode)

	c.list("params", len(r.Params))
	for i := range r.Params {
		if c.err != nil {
			break
		}
		p := &r.Params[i]
		c.item("params", i, "name", p.Name)
		c.item("params", i, "point", p.Point)
		c.item("params", i, "value", p.Value)
		c.item("params", i, "type", p.Type)
	}
	c.list("flows", len(r.Flows))
	for i, f := range r.Flows {
		if c.err != nil {
			break
		}
		c.item("flows", i, "", f)
	}
	c.list("attacks", len(r.Findings))
	for i := range r.Findings {
		if c.err != nil {
			break
		}
		f := &r.Findings[i]
		c.item("attacks", i, "type", string(f.Type))
		c.item("attacks", i, "point", f.Point)
		c.item("attacks", i, "payload", f.Payload)
		if len(f.RuleIDs) > c.lim.MaxList {
			c.list(fmt.Sprintf("attacks[%d].rule_ids", i), len(f.RuleIDs))
		}
	}
	if ct := r.Content; ct != nil && c.err == nil {
		c.str("content.method", ct.Method)
		c.str("content.target", ct.Target)
		c.list("content.headers", len(ct.Headers))
		for i, h := range ct.Headers {
			if c.err != nil {
				break
			}
			c.item("content.headers", i, "name", h.Name)
			c.item("content.headers", i, "value", h.Value)
		}
		maxBody := lim.MaxContentBody
		if ct.BodyBase64 {
			maxBody = base64.StdEncoding.EncodedLen(maxBody)
		}
		if c.err == nil && len(ct.Body) > maxBody {
			c.err = newError(ReasonLimit, "%s: content.body is %d bytes, over the limit of %d",
				c.where(), len(ct.Body), maxBody)
		}
	}
	if c.err != nil {
		return c.err
	}

	// Required fields and plain ranges: the store keys on ID, session ID and
	// day, so a record without them could only be stored wrongly.
	switch {
	case r.ID == "":
		c.invalid("id is empty")
	case r.SessionID == "":
		c.invalid("session_id is empty")
	case !validDay(r.Day):
		c.invalid("day is not a YYYY-MM-DD date")
	case r.Time.IsZero():
		c.invalid("time is missing")
	case r.Status < 0 || r.Status > 999:
		c.invalid("status %d is out of range 0-999", r.Status)
	case r.DurationMS < 0 || math.IsNaN(r.DurationMS) || math.IsInf(r.DurationMS, 0):
		c.invalid("duration_ms is negative or not a number")
	case r.ResponseSize < 0:
		c.invalid("response_size is negative")
	case r.Application < 0:
		c.invalid("application is negative")
	}
	return c.err
}

func validDay(s string) bool {
	if len(s) != len(time.DateOnly) {
		return false
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}
