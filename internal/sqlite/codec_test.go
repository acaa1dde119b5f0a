package sqlite

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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

// roundTrip encodes r with dict, and fails unless lookup decodes it back.
func roundTrip(t *testing.T, r apisessions.Record, dict *dictBatch, lookup func(uint64) (string, error)) []byte {
	t.Helper()
	b := appendRecord(nil, &r, dict)
	var got apisessions.Record
	if err := decodeRecord(b, &got, lookup); err != nil {
		t.Fatal(err)
	}
	if want := columns(r); !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	return b
}

func TestRecordCodec(t *testing.T) {
	for name, r := range codecRecords() {
		t.Run(name, func(t *testing.T) {
			b := roundTrip(t, r, nil, nil)
			// Every strict prefix is an error, not a panic or a wrong record
			// (all short ones, then a sample: the long body is 10 KB).
			for i := 0; i < len(b); i += 1 + i/64 {
				var r apisessions.Record
				if err := decodeRecord(b[:i], &r, nil); err == nil {
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
		want := len(appendRecord(nil, &noKey, nil)) + len(r.Key.Point) + len(r.Key.Value)
		if !stored {
			want = len(appendRecord(nil, &noKey, nil)) - 2
		}
		if got := len(appendRecord(nil, &r, nil)); got != want {
			t.Errorf("%s: %d bytes, want %d (key stored: %v)", name, got, want, stored)
		}
	}
}

// TestRecordOldVersions: blobs of format versions 1 and 2, which the
// records of stores written before version 3 have, still decode.
func TestRecordOldVersions(t *testing.T) {
	for _, v := range []int{1, 2} {
		b, err := os.ReadFile(filepath.Join("testdata", fmt.Sprintf("record_v%d.golden", v)))
		if err != nil {
			t.Fatal(err)
		}
		blob, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		var got apisessions.Record
		if err := decodeRecord(blob, &got, nil); err != nil {
			t.Fatal(err)
		}
		if want := columns(codecRecords()["full"]); !reflect.DeepEqual(got, want) {
			t.Fatalf("version %d record:\n got %+v\nwant %+v", v, got, want)
		}
		if v == 1 {
			// Version 1 has no derived keys.
			blob[1] |= flagKeyIPUA
			if err := decodeRecord(blob, &got, nil); err == nil {
				t.Fatal("a version 1 record with a derived key decoded")
			}
		}
	}
}

// testDict numbers strs from 1 on, as a batch sees the dictionary, and
// returns the lookup that decodes them.
func testDict(strs ...string) (*dictBatch, func(uint64) (string, error)) {
	b := &dictBatch{ids: map[string]uint64{}}
	byID := map[uint64]string{}
	for i, s := range strs {
		b.ids[s], byID[uint64(i+1)] = uint64(i+1), s
	}
	return b, func(sid uint64) (string, error) {
		if s, ok := byID[sid]; ok {
			return s, nil
		}
		return "", unknownString(sid)
	}
}

// goldenDict numbers some strings of the full record, among them ones
// inline elsewhere in it (a header value equal to the host).
var goldenDict = []string{"POST", "api.example.com", "request.body|json.login", "user", "monitoring", "X-Forwarded-For"}

// TestRecordDictionary: strings the dictionary numbers take a byte or two,
// the others stay inline; strings that are never numbered (paths, IPs,
// values) stay inline even when the dictionary holds them.
func TestRecordDictionary(t *testing.T) {
	for name, r := range codecRecords() {
		t.Run(name, func(t *testing.T) {
			strs := slices.Concat(goldenDict, []string{r.UserAgent, r.Key.Point, r.Endpoint, r.Path, r.ClientIP})
			dict, lookup := testDict(strs...)
			b := roundTrip(t, r, dict, lookup)
			if inline := appendRecord(nil, &r, nil); len(b) > len(inline) {
				t.Fatalf("%d bytes with the dictionary, %d without", len(b), len(inline))
			}
			if r.Path != "" && !strings.Contains(string(b), r.Path) || r.ClientIP != "" && !strings.Contains(string(b), r.ClientIP) {
				t.Fatal("path or client IP not inline")
			}
			var used []string
			dict.eachUsed(func(sid uint64, _ string) { used = append(used, strs[sid-1]) })
			for _, s := range []string{r.Path, r.ClientIP, ""} {
				if slices.Contains(used, s) {
					t.Fatalf("numbered %q", s)
				}
			}
			if slices.Contains(used, r.Method) != (r.Method == "POST") {
				t.Fatalf("method %q numbered: %q", r.Method, used)
			}
			var got apisessions.Record
			if err := decodeRecord(b, &got, nil); r.Method == "POST" && !errors.Is(err, errUnknownString) {
				t.Fatalf("decoded without its dictionary: %v", err)
			}
		})
	}
}

// TestRecordGolden pins the stored format, with numbered and inline
// strings: a change that would make old files unreadable shows up here
// (bump recordV3 instead).
func TestRecordGolden(t *testing.T) {
	r := codecRecords()["full"]
	dict, lookup := testDict(goldenDict...)
	got := hex.EncodeToString(appendRecord(nil, &r, dict)) + "\n"
	path := filepath.Join("testdata", "record_v3.golden")
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
	blob, _ := hex.DecodeString(strings.TrimSpace(string(want)))
	var back apisessions.Record
	if err := decodeRecord(blob, &back, lookup); err != nil || !reflect.DeepEqual(back, columns(r)) {
		t.Fatalf("golden record: %v\n got %+v\nwant %+v", err, back, columns(r))
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, r := range codecRecords() {
		f.Add(appendRecord(nil, &r, nil))
	}
	f.Add([]byte{})
	f.Add([]byte{recordV1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f})
	dict, lookup := testDict(goldenDict...)
	r := codecRecords()["full"]
	f.Add(appendRecord(nil, &r, dict))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r apisessions.Record
		if err := decodeRecord(b, &r, lookup); err != nil {
			return
		}
		var again apisessions.Record
		if err := decodeRecord(appendRecord(nil, &r, nil), &again, nil); err != nil {
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
