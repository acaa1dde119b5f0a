package sqlite

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/apisessions/apisessions"
)

// Records and part aggregates are stored as compact binary blobs rather than
// JSON: encoding is on the write path of every record, and a packed blob is
// both faster and about half the size. Each blob starts with a format
// version byte so the format can change without a data migration.

// Blob format versions. A record of version 2 may leave out a key derived
// from the client IP and User-Agent (flagKeyIP, flagKeyIPUA); version 1
// records, which always hold their key, still decode. Version 3 refers to
// strings of the dictionary (dict.go) by number: each string that may be
// numbered is a uvarint tag, the number times 2 plus 1, or its length
// times 2 followed by its bytes.
const (
	recordV1 = 1
	recordV2 = 2
	recordV3 = 3
	partV1   = 1
)

// The session key points whose value the record's client IP and User-Agent
// give (internal/sessionize, the fallback key): "IP" and "IP User-Agent".
const (
	keyPointIP   = "request.ip"
	keyPointIPUA = "request.ip+request.header.User-Agent"
)

// Decoding limits: a blob is written by this package, but a damaged file
// must give an error, never a huge allocation or a panic.
const (
	maxBlobString = 16 << 20 // bytes of one string (request bodies included)
	maxBlobList   = 1 << 20  // elements of one list
)

var errCorrupt = errors.New("corrupt blob")

type encoder struct {
	b []byte
	// dict numbers strings; nil stores every string inline.
	dict *dictBatch
}

// dstr encodes a string that the dictionary may number.
func (e *encoder) dstr(s string) {
	if e.dict != nil {
		if sid, ok := e.dict.ref(s); ok {
			e.uvarint(sid<<1 | 1)
			return
		}
	}
	e.uvarint(uint64(len(s)) << 1)
	e.b = append(e.b, s...)
}

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}
func (e *encoder) boolean(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

type decoder struct {
	b   []byte
	err error
	// dict is set for a record of version 3: it looks up numbered
	// strings. Before version 3, dstr reads a plain string.
	dict func(sid uint64) (string, error)
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a list length, bounded by the limit and by the bytes left
// (every element takes at least one byte), so a bad length cannot make a
// large allocation.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > maxBlobList || n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) str() string { return d.bytes(d.uvarint()) }

// bytes returns the next n bytes as a string.
func (d *decoder) bytes(n uint64) string {
	if n > maxBlobString || n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// dstr decodes a string of encoder.dstr.
func (d *decoder) dstr() string {
	if d.dict == nil {
		return d.str()
	}
	tag := d.uvarint()
	if tag&1 == 0 {
		return d.bytes(tag >> 1)
	}
	if d.err != nil {
		return ""
	}
	s, err := d.dict(tag >> 1)
	if err != nil {
		d.err, d.b = err, nil
		return ""
	}
	return s
}

func (d *decoder) boolean() bool {
	if len(d.b) == 0 {
		d.fail()
		return false
	}
	v := d.b[0]
	d.b = d.b[1:]
	if v > 1 {
		d.fail()
	}
	return v == 1
}

func (d *decoder) int() int {
	v := d.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail()
		return 0
	}
	return int(v)
}

// Record flags, packed in one byte.
const (
	flagPartial = 1 << iota
	flagBlocked
	flagContent
	flagBodyBase64
	flagTruncated
	flagKeyIP   // Key is {keyPointIP, ClientIP}: not stored
	flagKeyIPUA // Key is {keyPointIPUA, ClientIP + " " + UserAgent}: not stored
)

// derivedKey returns the flag of a record whose key its client IP and
// User-Agent give, or 0. An eighth of the records of generated traffic have
// one, and leaving it out saves some 130 bytes of each (1,000,000
// exchanges: a store of 430 MB instead of 449 MB).
func derivedKey(r *apisessions.Record) byte {
	k, ip, ua := r.Key, r.ClientIP, r.UserAgent
	switch {
	case k.Point == keyPointIP && k.Value == ip:
		return flagKeyIP
	case k.Point == keyPointIPUA && len(k.Value) == len(ip)+1+len(ua) &&
		k.Value[:len(ip)] == ip && k.Value[len(ip)] == ' ' && k.Value[len(ip)+1:] == ua:
		return flagKeyIPUA
	}
	return 0
}

// appendRecord encodes r without ID, SessionID, Day and Time, which are
// columns of the request row and its part. dict numbers strings (nil: all
// inline).
func appendRecord(b []byte, r *apisessions.Record, dict *dictBatch) []byte {
	e := encoder{b: append(b, recordV3), dict: dict}
	flags := derivedKey(r)
	if r.Partial {
		flags |= flagPartial
	}
	if r.Blocked {
		flags |= flagBlocked
	}
	if r.Content != nil {
		flags |= flagContent
		if r.Content.BodyBase64 {
			flags |= flagBodyBase64
		}
		if r.Content.Truncated {
			flags |= flagTruncated
		}
	}
	e.b = append(e.b, flags)
	e.dstr(r.Method)
	e.dstr(r.Host)
	e.str(r.Path)
	e.dstr(r.Endpoint)
	e.varint(int64(r.Status))
	e.uvarint(math.Float64bits(r.DurationMS))
	e.varint(r.ResponseSize)
	e.str(r.ClientIP)
	e.dstr(r.UserAgent)
	e.varint(int64(r.Application))
	if flags&(flagKeyIP|flagKeyIPUA) == 0 {
		e.dstr(r.Key.Point)
		e.str(r.Key.Value)
	}
	e.str(r.User)
	e.dstr(r.Role)
	e.uvarint(uint64(len(r.Params)))
	for _, p := range r.Params {
		e.dstr(p.Name)
		e.dstr(p.Point)
		e.str(p.Value)
		e.boolean(p.Hashed)
		e.dstr(p.Type)
	}
	e.uvarint(uint64(len(r.Flows)))
	for _, f := range r.Flows {
		e.dstr(f)
	}
	e.dstr(string(r.Verdict))
	e.varint(int64(r.Score))
	e.uvarint(uint64(len(r.Findings)))
	for _, f := range r.Findings {
		e.dstr(string(f.Type))
		e.uvarint(uint64(len(f.RuleIDs)))
		for _, id := range f.RuleIDs {
			e.varint(int64(id))
		}
		e.varint(int64(f.Score))
		e.dstr(f.Point)
		e.str(f.Payload)
	}
	e.dstr(r.BlockReason)
	e.dstr(r.Mode)
	if c := r.Content; c != nil {
		e.dstr(c.Method)
		e.str(c.Target)
		e.uvarint(uint64(len(c.Headers)))
		for _, h := range c.Headers {
			e.dstr(h.Name)
			e.str(h.Value)
		}
		e.str(c.Body)
	}
	return e.b
}

// decodeRecord decodes a blob of appendRecord into r, leaving the fields
// kept in columns alone. dict looks up the numbered strings of a version 3
// record (stringDict.lookup).
func decodeRecord(b []byte, r *apisessions.Record, dict func(sid uint64) (string, error)) error {
	if len(b) < 2 || b[0] < recordV1 || b[0] > recordV3 {
		return errCorrupt
	}
	flags := b[1]
	derived := flags & (flagKeyIP | flagKeyIPUA)
	if derived == flagKeyIP|flagKeyIPUA || (derived != 0 && b[0] == recordV1) {
		return errCorrupt
	}
	d := decoder{b: b[2:]}
	if b[0] == recordV3 {
		d.dict = dict
		if dict == nil {
			d.dict = noDict
		}
	}
	r.Partial = flags&flagPartial != 0
	r.Blocked = flags&flagBlocked != 0
	r.Method = d.dstr()
	r.Host = d.dstr()
	r.Path = d.str()
	r.Endpoint = d.dstr()
	r.Status = d.int()
	r.DurationMS = math.Float64frombits(d.uvarint())
	r.ResponseSize = d.varint()
	r.ClientIP = d.str()
	r.UserAgent = d.dstr()
	r.Application = d.int()
	switch derived {
	case flagKeyIP:
		r.Key = apisessions.Key{Point: keyPointIP, Value: r.ClientIP}
	case flagKeyIPUA:
		r.Key = apisessions.Key{Point: keyPointIPUA, Value: r.ClientIP + " " + r.UserAgent}
	default:
		r.Key.Point = d.dstr()
		r.Key.Value = d.str()
	}
	r.User = d.str()
	r.Role = d.dstr()
	if n := d.count(); n > 0 {
		r.Params = make([]apisessions.Param, n)
		for i := range r.Params {
			p := &r.Params[i]
			p.Name, p.Point, p.Value = d.dstr(), d.dstr(), d.str()
			p.Hashed = d.boolean()
			p.Type = d.dstr()
		}
	}
	if n := d.count(); n > 0 {
		r.Flows = make([]string, n)
		for i := range r.Flows {
			r.Flows[i] = d.dstr()
		}
	}
	r.Verdict = apisessions.Verdict(d.dstr())
	r.Score = d.int()
	if n := d.count(); n > 0 {
		r.Findings = make([]apisessions.Finding, n)
		for i := range r.Findings {
			f := &r.Findings[i]
			f.Type = apisessions.AttackType(d.dstr())
			if m := d.count(); m > 0 {
				f.RuleIDs = make([]int, m)
				for j := range f.RuleIDs {
					f.RuleIDs[j] = d.int()
				}
			}
			f.Score = d.int()
			f.Point = d.dstr()
			f.Payload = d.str()
		}
	}
	r.BlockReason = d.dstr()
	r.Mode = d.dstr()
	if flags&flagContent != 0 {
		c := &apisessions.Content{BodyBase64: flags&flagBodyBase64 != 0, Truncated: flags&flagTruncated != 0}
		c.Method = d.dstr()
		c.Target = d.str()
		if n := d.count(); n > 0 {
			c.Headers = make(apisessions.Headers, n)
			for i := range c.Headers {
				c.Headers[i].Name, c.Headers[i].Value = d.dstr(), d.str()
			}
		}
		c.Body = d.str()
		r.Content = c
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return errCorrupt
	}
	return nil
}

// noDict is the dictionary of a decoder given none: it knows no string.
func noDict(sid uint64) (string, error) { return "", unknownString(sid) }
