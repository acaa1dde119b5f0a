package sqlite

import (
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// codecRecords are the table cases of the record codec; the fuzz test starts
// from their encodings.
func codecRecords() map[string]apisessions.Record {
	t0 := time.Date(2026, 11, 21, 13, 14, 15, 0, time.UTC)
	full := storetest.FullRecord("r1", "s1", t0)
	noContent := full
	noContent.Content = nil
	noContent.Status, noContent.ResponseSize, noContent.Application = -1, -5, -7
	empty := apisessions.Record{}
	long := full
	long.Content = &apisessions.Content{Body: strings.Repeat("é", 5000)}
	ipUA, ip := noContent, noContent
	ipUA.Key = apisessions.Key{Point: keyPointIPUA, Value: ipUA.ClientIP + " " + ipUA.UserAgent}
	ip.Key, ip.UserAgent = apisessions.Key{Point: keyPointIP, Value: ip.ClientIP}, ""
	// Keys that look derived but are not: they are stored.
	almost := noContent
	almost.Key = apisessions.Key{Point: keyPointIPUA, Value: almost.ClientIP + "  " + almost.UserAgent[1:]}
	other := noContent
	other.Key = apisessions.Key{Point: keyPointIP, Value: "203.0.113.1"}
	return map[string]apisessions.Record{"full": full, "no content, negatives": noContent, "empty": empty, "long body": long,
		"IP + User-Agent key": ipUA, "IP key": ip, "key like IP + User-Agent": almost, "IP key of another IP": other}
}

// columns clears what the blob does not hold.
func columns(r apisessions.Record) apisessions.Record {
	r.ID, r.SessionID, r.Day, r.Time = "", "", "", time.Time{}
	return r
}

func TestRecordCodec(t *testing.T) {
	for name, r := range codecRecords() {
		t.Run(name, func(t *testing.T) {
			b := appendRecord(nil, &r)
			var got apisessions.Record
			if err := decodeRecord(b, &got); err != nil {
				t.Fatal(err)
			}
			if want := columns(r); !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
			// Every strict prefix is an error, not a panic or a wrong record
			// (all short ones, then a sample: the long body is 10 KB).
			for i := 0; i < len(b); i += 1 + i/64 {
				var r apisessions.Record
				if err := decodeRecord(b[:i], &r); err == nil {
					t.Fatalf("prefix of %d/%d bytes decoded", i, len(b))
				}
			}
		})
	}
}

// TestRecordDerivedKey: a key that the client IP and User-Agent give is
// left out of the blob (two bytes shorter than an empty key), any other is
// kept.
func TestRecordDerivedKey(t *testing.T) {
	recs := codecRecords()
	for name, stored := range map[string]bool{"IP + User-Agent key": false, "IP key": false, "key like IP + User-Agent": true, "IP key of another IP": true, "full": true} {
		r := recs[name]
		noKey := r
		noKey.Key = apisessions.Key{}
		want := len(appendRecord(nil, &noKey)) + len(r.Key.Point) + len(r.Key.Value)
		if !stored {
			want = len(appendRecord(nil, &noKey)) - 2
		}
		if got := len(appendRecord(nil, &r)); got != want {
			t.Errorf("%s: %d bytes, want %d (key stored: %v)", name, got, want, stored)
		}
	}
}

// TestRecordV1: blobs of format version 1, which every record of a store
// written before version 2 has, still decode.
func TestRecordV1(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "record_v1.golden"))
	if err != nil {
		t.Fatal(err)
	}
	blob, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	var got apisessions.Record
	if err := decodeRecord(blob, &got); err != nil {
		t.Fatal(err)
	}
	if want := columns(codecRecords()["full"]); !reflect.DeepEqual(got, want) {
		t.Fatalf("version 1 record:\n got %+v\nwant %+v", got, want)
	}
	// Version 1 has no derived keys.
	blob[1] |= flagKeyIPUA
	if err := decodeRecord(blob, &got); err == nil {
		t.Fatal("a version 1 record with a derived key decoded")
	}
}

// TestRecordGolden pins the stored format: a change that would make old
// files unreadable shows up here (bump recordV2 instead).
func TestRecordGolden(t *testing.T) {
	r := codecRecords()["full"]
	got := hex.EncodeToString(appendRecord(nil, &r)) + "\n"
	path := filepath.Join("testdata", "record_v2.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("record encoding changed:\n got %s\nwant %s", got, want)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, r := range codecRecords() {
		f.Add(appendRecord(nil, &r))
	}
	f.Add([]byte{})
	f.Add([]byte{recordV1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r apisessions.Record
		if err := decodeRecord(b, &r); err != nil {
			return
		}
		var again apisessions.Record
		if err := decodeRecord(appendRecord(nil, &r), &again); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(columns(r), columns(again)) && r.DurationMS == r.DurationMS { // NaN never equals itself
			t.Fatalf("re-encoding changed the record:\n%+v\n%+v", r, again)
		}
	})
}

func testPart() *part {
	p := newPart("s1", "2026-11-21")
	recs := storetest.Generate(3, "p-", 40, 1, 1)
	for i := range recs {
		p.add(&recs[i])
	}
	return p
}

func TestAggregateCodec(t *testing.T) {
	p := testPart()
	b := p.appendAggregate(nil)
	q := newPart(p.session, p.day)
	q.pid, q.first, q.last, q.requests, q.attacks, q.blocked = p.pid, p.first, p.last, p.requests, p.attacks, p.blocked
	if err := q.decodeAggregate(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(q.toSession(), p.toSession()) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", q.toSession(), p.toSession())
	}
	if q.unsaved != 0 {
		t.Fatalf("decoding marked %d values unsaved", q.unsaved)
	}
	for i := range len(b) {
		if err := newPart("s", "d").decodeAggregate(b[:i]); err == nil {
			t.Fatalf("prefix of %d/%d bytes decoded", i, len(b))
		}
	}
}

func FuzzDecodeAggregate(f *testing.F) {
	f.Add(testPart().appendAggregate(nil))
	f.Add(newPart("s", "d").appendAggregate(nil))
	f.Add([]byte{partV1})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := newPart("s", "2026-11-21")
		if err := p.decodeAggregate(b); err != nil {
			return
		}
		q := newPart("s", "2026-11-21")
		if err := q.decodeAggregate(p.appendAggregate(nil)); err != nil {
			t.Fatalf("re-encoded aggregate does not decode: %v", err)
		}
		if !reflect.DeepEqual(p.values, q.values) || p.key != q.key || p.user != q.user || p.role != q.role {
			t.Fatal("re-encoding changed the aggregate")
		}
	})
}

func TestCursor(t *testing.T) {
	good := cursor{last: 1763731200123456789, day: "2026-11-21", session: "3f1a"}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"round trip", good.encode(), true},
		{"negative time", cursor{last: -5, day: "1969-12-31", session: "x"}.encode(), true},
		{"empty session", cursor{last: 1, day: "2026-11-21"}.encode(), false},
		{"bad day", cursor{last: 1, day: "2026-13-21", session: "x"}.encode(), false},
		{"long session", cursor{last: 1, day: "2026-11-21", session: strings.Repeat("a", maxIDLen+1)}.encode(), false},
		{"not base64", "***", false},
		{"padded base64", "AQ==", false},
		{"wrong version", "Ag", false},
		{"trailing bytes", good.encode() + "AA", false},
		{"empty", "", false},
		{"huge", strings.Repeat("A", 100000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := decodeCursor(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("decodeCursor(%.30q): %+v, %v; want ok=%v", tt.in, c, err, tt.ok)
			}
			if tt.ok && c.encode() != tt.in {
				t.Fatalf("re-encoded %q, want %q", c.encode(), tt.in)
			}
		})
	}
	if c, err := decodeCursor(good.encode()); err != nil || c != good {
		t.Fatalf("round trip: %+v, %v", c, err)
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(cursor{last: 1763731200123456789, day: "2026-11-21", session: "3f1a"}.encode())
	f.Add("***")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			return
		}
		if d, err := decodeCursor(c.encode()); err != nil || d != c {
			t.Fatalf("re-encoded cursor: %+v, %v; want %+v", d, err, c)
		}
	})
}
