package wire

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"

	"github.com/apisessions/apisessions/internal/cputime"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const testID = "0123456789abcdef0123456789abcdef"

// sampleRecords returns n varied records: clean and malicious, with
// parameters, findings, masked content, non-ASCII and HTML characters.
func sampleRecords(n int) []apisessions.Record {
	base := time.Date(2026, 11, 20, 10, 0, 0, 123_000_000, time.UTC)
	recs := make([]apisessions.Record, n)
	for i := range recs {
		t := base.Add(time.Duration(i) * 1500 * time.Millisecond)
		r := apisessions.Record{
			ID:           fmt.Sprintf("r-%05d", i),
			SessionID:    fmt.Sprintf("%064x", i%7),
			Day:          t.Format(time.DateOnly),
			Time:         t,
			Method:       "GET",
			Host:         "shop.example.com",
			Path:         fmt.Sprintf("/api/users/%d/orders", 1000+i),
			Endpoint:     "GET /api/users/{int}/orders",
			Status:       200,
			DurationMS:   12.5,
			ResponseSize: 5120,
			ClientIP:     "203.0.113.7",
			UserAgent:    "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0",
			Application:  1,
			Key:          apisessions.Key{Point: "request.cookie.PHPSESSID", Value: "5f4dcc3b5aa765d61d8327deb882cf99"},
			User:         "alice@example.com",
			Role:         "admin",
			Params: []apisessions.Param{
				{Name: "Username", Point: "request.body|json.username", Value: "alice@example.com", Type: "user"},
				{Name: "Email", Point: "request.header.X-Customer-Email", Value: "c160f8cc69a4f0bf2b0362752353d060", Hashed: true},
			},
			Flows:   []string{"Billing"},
			Verdict: apisessions.VerdictClean,
			Mode:    "monitoring",
		}
		if i%10 == 3 {
			r.Method = "POST"
			r.Path = "/api/search"
			r.Endpoint = "POST /api/search"
			r.Status = 403
			r.Verdict = apisessions.VerdictAttack
			r.Score = 10
			r.Blocked = true
			r.BlockReason = "attack"
			r.Mode = "blocking"
			r.Findings = []apisessions.Finding{
				{Type: apisessions.AttackSQLi, RuleIDs: []int{942100, 942190}, Score: 5,
					Point: "request.body|json.q", Payload: "' OR 1=1 -- <script>é</script>"},
			}
			r.Content = &apisessions.Content{
				Method: "POST", Target: "/api/search?page=2",
				Headers: apisessions.Headers{{Name: "Content-Type", Value: "application/json"},
					{Name: "Authorization", Value: "***"}},
				Body: `{"q":"' OR 1=1 -- <script>é</script>","password":"***"}`,
			}
		}
		recs[i] = r
	}
	return recs
}

func sampleBatch(n int) *Batch {
	return &Batch{
		ID:      testID,
		Node:    "node-1",
		Created: time.Date(2026, 11, 20, 10, 5, 0, 0, time.UTC),
		Records: sampleRecords(n),
	}
}

func mustMarshal(tb testing.TB, b *Batch) []byte {
	tb.Helper()
	data, err := Marshal(b)
	if err != nil {
		tb.Fatalf("Marshal: %v", err)
	}
	return data
}

// rawBatch frames body as a version-1 batch without any checking, to build
// inputs Encode would refuse.
func rawBatch(tb testing.TB, body string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	buf.WriteString(Magic)
	buf.WriteByte(Version)
	zw := gzip.NewWriter(&buf)
	if _, err := io.WriteString(zw, body); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// recordJSON returns the JSON of one valid record after edit.
func recordJSON(tb testing.TB, edit func(*apisessions.Record)) string {
	tb.Helper()
	r := sampleRecords(4)[3]
	if edit != nil {
		edit(&r)
	}
	data, err := json.Marshal(r)
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

func bodyWith(records ...string) string {
	return `{"id":"` + testID + `","node":"n1","created":"2026-11-20T10:00:00Z","records":[` +
		strings.Join(records, ",") + `]}`
}

// sameJSON compares batches by their JSON, which ignores time.Location
// pointer identity but nothing that travels on the wire.
func sameJSON(tb testing.TB, got, want *Batch) {
	tb.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		tb.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		tb.Fatalf("batch differs:\n got %s\nwant %s", g, w)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 10, recordChunk, recordChunk + 1, 2 * recordChunk, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			want := sampleBatch(n)
			got, err := Decode(bytes.NewReader(mustMarshal(t, want)), DefaultLimits())
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(got.Records) != n {
				t.Fatalf("got %d records, want %d", len(got.Records), n)
			}
			sameJSON(t, got, want)
		})
	}
}

// TestGoldenBody pins the JSON body the current version writes, so that a
// change to apisessions.Record's JSON (a renamed tag) shows up as a format
// change that needs a new version.
func TestGoldenBody(t *testing.T) {
	data := mustMarshal(t, sampleBatch(4))
	zr, err := gzip.NewReader(bytes.NewReader(data[headerLen:]))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "batch-v1.json")
	if *update {
		if err := os.WriteFile(golden, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(body, want) {
		t.Fatalf("encoded body differs from %s:\n got %s\nwant %s", golden, body, want)
	}
}

// TestGoldenDecode decodes a batch written by an earlier build: what a node
// of this version sent must stay readable by later servers.
func TestGoldenDecode(t *testing.T) {
	golden := filepath.Join("testdata", "batch-v1.bin")
	if *update {
		if err := os.WriteFile(golden, mustMarshal(t, sampleBatch(4)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	got, err := Decode(bytes.NewReader(data), Limits{})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	sameJSON(t, got, sampleBatch(4))
}

// decodeCase is one Decode input with the error it must give.
type decodeCase struct {
	name   string
	input  func(tb testing.TB) []byte
	lim    Limits
	reason string // "" = accepted
	code   string
	msg    string // substring of the message
}

func decodeCases() []decodeCase {
	valid := func(tb testing.TB) []byte { return mustMarshal(tb, sampleBatch(3)) }
	raw := func(body string) func(testing.TB) []byte {
		return func(tb testing.TB) []byte { return rawBatch(tb, body) }
	}
	rec := func(edit func(*apisessions.Record)) func(testing.TB) []byte {
		return func(tb testing.TB) []byte { return rawBatch(tb, bodyWith(recordJSON(tb, edit))) }
	}
	edit := func(f func([]byte) []byte) func(testing.TB) []byte {
		return func(tb testing.TB) []byte { return f(valid(tb)) }
	}
	inv, big := apisessions.EINVALID, apisessions.ETOOLARGE
	return []decodeCase{
		{name: "valid", input: valid},
		{name: "valid empty", input: raw(bodyWith())},
		{name: "empty input", input: func(testing.TB) []byte { return nil }, reason: ReasonMagic, code: inv, msg: "too short"},
		{name: "short header", input: func(testing.TB) []byte { return []byte("APS") }, reason: ReasonMagic, code: inv},
		{name: "plain gzip", input: func(tb testing.TB) []byte { return rawBatch(tb, "{}")[headerLen:] }, reason: ReasonMagic, code: inv, msg: "not an apisessions batch"},
		{name: "plain json", input: func(testing.TB) []byte { return []byte(`{"id":"x"}`) }, reason: ReasonMagic, code: inv},
		{name: "version 2", input: edit(func(b []byte) []byte { b[4] = 2; return b }), reason: ReasonVersion, code: inv, msg: "version 2 is not supported"},
		{name: "version 0", input: edit(func(b []byte) []byte { b[4] = 0; return b }), reason: ReasonVersion, code: inv},
		{name: "not gzip", input: func(testing.TB) []byte { return []byte("APSB\x01{\"id\":1}") }, reason: ReasonDecompress, code: inv},
		{name: "header only", input: func(testing.TB) []byte { return []byte("APSB\x01") }, reason: ReasonDecompress, code: inv},
		{name: "truncated trailer", input: edit(func(b []byte) []byte { return b[:len(b)-4] }), reason: ReasonDecompress, code: inv},
		{name: "truncated stream", input: edit(func(b []byte) []byte { return b[:len(b)/2] }), reason: ReasonDecompress, code: inv},
		{name: "bad checksum", input: edit(func(b []byte) []byte { b[len(b)-8] ^= 0xff; return b }), reason: ReasonDecompress, code: inv},
		{name: "corrupt deflate", input: edit(func(b []byte) []byte { b[headerLen+12] ^= 0xff; b[headerLen+13] ^= 0x55; return b }), reason: ReasonDecompress, code: inv},
		{name: "trailing bytes", input: edit(func(b []byte) []byte { return append(b, 'x') }), reason: ReasonDecode, code: inv, msg: "after the end of the compressed body"},
		{name: "second gzip member", input: func(tb testing.TB) []byte {
			return append(mustMarshal(tb, sampleBatch(1)), rawBatch(tb, "{}")[headerLen:]...)
		}, reason: ReasonDecode, code: inv},
		{name: "not an object", input: raw(`[]`), reason: ReasonDecode, code: inv, msg: "must be a JSON object"},
		{name: "empty body", input: raw(``), reason: ReasonDecode, code: inv},
		{name: "truncated json", input: raw(`{"id":"` + testID + `","records":[`), reason: ReasonDecode, code: inv, msg: "ends early"},
		{name: "malformed json", input: raw(`{"id":"` + testID + `",,}`), reason: ReasonDecode, code: inv},
		{name: "json after object", input: raw(bodyWith() + `{}`), reason: ReasonDecode, code: inv, msg: "after the end of the batch object"},
		{name: "unknown batch field", input: raw(`{"id":"` + testID + `","evil":1,"records":[]}`), reason: ReasonDecode, code: inv, msg: `unknown batch field "evil"`},
		{name: "duplicate batch field", input: raw(`{"id":"` + testID + `","id":"` + testID + `","node":"n","created":"2026-11-20T10:00:00Z","records":[]}`), reason: ReasonDecode, code: inv, msg: "duplicate"},
		{name: "missing records", input: raw(`{"id":"` + testID + `","node":"n","created":"2026-11-20T10:00:00Z"}`), reason: ReasonDecode, code: inv, msg: "no records"},
		{name: "records null", input: raw(`{"id":"` + testID + `","node":"n","created":"2026-11-20T10:00:00Z","records":null}`), reason: ReasonDecode, code: inv, msg: "must be a JSON list"},
		{name: "id wrong type", input: raw(`{"id":5,"node":"n","created":"2026-11-20T10:00:00Z","records":[]}`), reason: ReasonDecode, code: inv, msg: "batch field id: a JSON number cannot be a string"},
		{name: "bad created", input: raw(`{"id":"` + testID + `","node":"n","created":"yesterday","records":[]}`), reason: ReasonDecode, code: inv},
		{name: "unknown record field", input: raw(bodyWith(`{"id":"r","extra":true}`)), reason: ReasonDecode, code: inv, msg: "record 0"},
		{name: "record wrong type", input: raw(bodyWith(`{"id":"r","status":"200"}`)), reason: ReasonDecode, code: inv, msg: "record 0: field status: a JSON string cannot be a int"},
		{name: "record not object", input: raw(bodyWith(`"r"`)), reason: ReasonDecode, code: inv, msg: "record 0: a JSON string cannot be a apisessions.Record"},
		{name: "record null", input: raw(bodyWith(`null`)), reason: ReasonInvalid, code: inv, msg: "id is empty"},
		{name: "uppercase id", input: raw(strings.Replace(bodyWith(), "abcdef", "ABCDEF", 1)), reason: ReasonInvalid, code: inv, msg: "32 lowercase hex"},
		{name: "short id", input: raw(strings.Replace(bodyWith(), testID, "abc", 1)), reason: ReasonInvalid, code: inv},
		{name: "no node", input: raw(strings.Replace(bodyWith(), `"node":"n1"`, `"node":""`, 1)), reason: ReasonInvalid, code: inv, msg: "no node"},
		{name: "no created", input: raw(strings.Replace(bodyWith(), `"created":"2026-11-20T10:00:00Z",`, ``, 1)), reason: ReasonInvalid, code: inv, msg: "creation time"},
		{name: "record no id", input: rec(func(r *apisessions.Record) { r.ID = "" }), reason: ReasonInvalid, code: inv, msg: "record 0: id is empty"},
		{name: "record no session", input: rec(func(r *apisessions.Record) { r.SessionID = "" }), reason: ReasonInvalid, code: inv},
		{name: "record bad day", input: rec(func(r *apisessions.Record) { r.Day = "2026-13-01" }), reason: ReasonInvalid, code: inv, msg: "YYYY-MM-DD"},
		{name: "record no time", input: rec(func(r *apisessions.Record) { r.Time = time.Time{} }), reason: ReasonInvalid, code: inv},
		{name: "record bad status", input: rec(func(r *apisessions.Record) { r.Status = -1 }), reason: ReasonInvalid, code: inv},
		{name: "record negative size", input: rec(func(r *apisessions.Record) { r.ResponseSize = -5 }), reason: ReasonInvalid, code: inv},
		{name: "string at limit", lim: Limits{MaxString: 100},
			input: rec(func(r *apisessions.Record) { r.Path = "/" + strings.Repeat("a", 99) })},
		{name: "string over limit", lim: Limits{MaxString: 100}, reason: ReasonLimit, code: inv, msg: "record 0: path is 101 bytes",
			input: rec(func(r *apisessions.Record) { r.Path = "/" + strings.Repeat("a", 100) })},
		{name: "param value over limit", lim: Limits{MaxString: 100}, reason: ReasonLimit, code: inv, msg: "params[1].value",
			input: rec(func(r *apisessions.Record) { r.Params[1].Value = strings.Repeat("v", 101) })},
		{name: "payload over limit", lim: Limits{MaxString: 100}, reason: ReasonLimit, code: inv, msg: "attacks[0].payload",
			input: rec(func(r *apisessions.Record) { r.Findings[0].Payload = strings.Repeat("'", 101) })},
		{name: "header over limit", lim: Limits{MaxString: 100}, reason: ReasonLimit, code: inv, msg: "content.headers[0].value",
			input: rec(func(r *apisessions.Record) { r.Content.Headers[0].Value = strings.Repeat("h", 101) })},
		{name: "params over limit", lim: Limits{MaxList: 2}, reason: ReasonLimit, code: inv, msg: "params has 3 items",
			input: rec(func(r *apisessions.Record) { r.Params = append(r.Params, r.Params[0]) })},
		{name: "flows over limit", lim: Limits{MaxList: 2}, reason: ReasonLimit, code: inv, msg: "flows",
			input: rec(func(r *apisessions.Record) { r.Flows = []string{"a", "b", "c"} })},
		{name: "rule ids over limit", lim: Limits{MaxList: 2}, reason: ReasonLimit, code: inv, msg: "attacks[0].rule_ids",
			input: rec(func(r *apisessions.Record) { r.Findings[0].RuleIDs = []int{1, 2, 3} })},
		{name: "headers over limit", lim: Limits{MaxList: 2}, reason: ReasonLimit, code: inv, msg: "content.headers",
			input: rec(func(r *apisessions.Record) { r.Content.Headers = append(r.Content.Headers, r.Content.Headers...) })},
		{name: "content body at limit", lim: Limits{MaxString: 100, MaxContentBody: 300},
			input: rec(func(r *apisessions.Record) { r.Content.Body = strings.Repeat("b", 300) })},
		{name: "content body over limit", lim: Limits{MaxContentBody: 300}, reason: ReasonLimit, code: inv, msg: "content.body is 301 bytes",
			input: rec(func(r *apisessions.Record) { r.Content.Body = strings.Repeat("b", 301) })},
		{name: "base64 body within encoded limit", lim: Limits{MaxContentBody: 300},
			input: rec(func(r *apisessions.Record) { r.Content.BodyBase64 = true; r.Content.Body = strings.Repeat("QUJD", 100) })},
		{name: "too many records", lim: Limits{MaxRecords: 2}, reason: ReasonTooLarge, code: big, msg: "more than 2 records", input: valid},
		{name: "records at limit", lim: Limits{MaxRecords: 3}, input: valid},
		{name: "compressed over limit", lim: Limits{MaxCompressed: 64}, reason: ReasonTooLarge, code: big, msg: "compressed batch", input: valid},
		{name: "decompressed over limit", lim: Limits{MaxDecompressed: 512}, reason: ReasonTooLarge, code: big, msg: "decompressed batch", input: valid},
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases() {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Decode(bytes.NewReader(tc.input(t)), tc.lim)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if b == nil || b.ID != testID {
					t.Fatalf("Decode returned %+v", b)
				}
				return
			}
			if err == nil {
				t.Fatalf("Decode accepted the input, want reason %q", tc.reason)
			}
			var ae *apisessions.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T) is not an *apisessions.Error", err, err)
			}
			if got := Reason(err); got != tc.reason {
				t.Errorf("Reason = %q, want %q (err: %v)", got, tc.reason, err)
			}
			if got := apisessions.ErrorCode(err); got != tc.code {
				t.Errorf("code = %q, want %q (err: %v)", got, tc.code, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			if b != nil {
				t.Errorf("Decode returned a batch with an error")
			}
		})
	}
}

// TestDecodeExactCompressedLimit accepts a batch of exactly the compressed
// limit: the limit is inclusive.
func TestDecodeExactCompressedLimit(t *testing.T) {
	data := mustMarshal(t, sampleBatch(5))
	for _, tc := range []struct {
		lim    int64
		reason string
	}{{int64(len(data)), ""}, {int64(len(data)) - 1, ReasonTooLarge}} {
		t.Run(fmt.Sprint(tc.lim), func(t *testing.T) {
			_, err := Decode(bytes.NewReader(data), Limits{MaxCompressed: tc.lim})
			if got := Reason(err); got != tc.reason {
				t.Fatalf("Reason = %q, want %q (err: %v)", got, tc.reason, err)
			}
		})
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// TestDecodeReadFailure keeps the caller's I/O failure apart from bad input:
// it is internal, not the sender's fault, except a MaxBytesReader limit.
func TestDecodeReadFailure(t *testing.T) {
	data := mustMarshal(t, sampleBatch(50))
	boom := errors.New("connection reset")
	t.Run("reader error", func(t *testing.T) {
		r := io.MultiReader(bytes.NewReader(data[:len(data)/2]), failingReader{boom})
		_, err := Decode(r, Limits{})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want it to wrap %v", err, boom)
		}
		if Reason(err) != ReasonOther || apisessions.ErrorCode(err) != apisessions.EINTERNAL {
			t.Fatalf("reason %q code %q, want other/internal", Reason(err), apisessions.ErrorCode(err))
		}
	})
	t.Run("max bytes reader", func(t *testing.T) {
		rec := httptest.NewRecorder()
		body := http.MaxBytesReader(rec, io.NopCloser(bytes.NewReader(data)), int64(len(data)/2))
		_, err := Decode(body, Limits{})
		if Reason(err) != ReasonTooLarge || apisessions.ErrorCode(err) != apisessions.ETOOLARGE {
			t.Fatalf("err = %v, want too_large", err)
		}
	})
}

// bomb returns a version-1 batch whose body inflates to prefix followed by
// about n bytes of 'a'. It repeats one compressed megabyte instead of
// compressing n bytes, so a gigabyte bomb costs milliseconds to build: after
// a sync flush each copy is byte-aligned, and its back-references reach only
// into the window of 'a's any copy leaves behind.
func bomb(tb testing.TB, prefix string, n int64) []byte {
	tb.Helper()
	var seg bytes.Buffer
	fw, err := flate.NewWriter(&seg, flate.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	io.WriteString(fw, prefix)
	fw.Write(chunk)
	fw.Flush()
	head := seg.Len()
	fw.Write(chunk)
	fw.Flush()
	copyOf := append([]byte(nil), seg.Bytes()[head:]...)

	var buf bytes.Buffer
	buf.WriteString(Magic)
	buf.WriteByte(Version)
	buf.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}) // gzip header, no name
	buf.Write(seg.Bytes()[:head])
	for i := int64(1); i < n>>20; i++ {
		buf.Write(copyOf)
	}
	buf.Write([]byte{0x03, 0x00}) // final empty block
	buf.Write(make([]byte, 8))    // CRC and size: never reached
	return buf.Bytes()
}

const bombPrefix = `{"id":"` + testID + `","node":"n","created":"2026-11-20T10:00:00Z","records":[{"id":"`

// checkBomb decodes a bomb and checks it stops at the decompressed limit
// having allocated at most a few times the limit, never the inflated size.
func checkBomb(t *testing.T, data []byte, inflated int64, lim Limits) {
	t.Helper()
	limit := lim.WithDefaults().MaxDecompressed
	if int64(len(data)) > limit || inflated < 8*limit {
		t.Fatalf("bomb of %d bytes inflating to %d does not test a %d-byte limit", len(data), inflated, limit)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Decode(bytes.NewReader(data), lim)
	runtime.ReadMemStats(&after)

	if Reason(err) != ReasonTooLarge || !strings.Contains(err.Error(), "decompressed batch") {
		t.Fatalf("err = %v, want decompressed too_large", err)
	}
	// The JSON decoder buffers the unfinished string, doubling its buffer:
	// allocation grows with the limit, to about four times it.
	if alloc := int64(after.TotalAlloc - before.TotalAlloc); alloc > 5*limit {
		t.Fatalf("Decode allocated %d bytes for a %d-byte limit (bomb inflates to %d)", alloc, limit, inflated)
	}
}

func TestDecompressionBomb(t *testing.T) {
	// A valid inflation, to be sure the bomb is not refused as corrupt.
	const inflated = 64 << 20
	data := bomb(t, bombPrefix, inflated)
	zr, err := gzip.NewReader(bytes.NewReader(data[headerLen:]))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, inflated))
	if err != nil || n < inflated {
		t.Fatalf("bomb inflates to %d bytes (%v), want at least %d", n, err, inflated)
	}
	checkBomb(t, data, inflated, Limits{MaxDecompressed: 1 << 20})
}

// TestDecompressionBombDefaultLimits inflates to 1 GiB against the default
// 64 MiB limit.
func TestDecompressionBombDefaultLimits(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("scans 64 MiB: slow under -short and -race")
	}
	const inflated = 1 << 30
	checkBomb(t, bomb(t, bombPrefix, inflated), inflated, Limits{})
}

func TestEncodeRefusesInvalid(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Batch)
		reason string
	}{
		{"bad id", func(b *Batch) { b.ID = "nope" }, ReasonInvalid},
		{"no node", func(b *Batch) { b.Node = "" }, ReasonInvalid},
		{"long node", func(b *Batch) { b.Node = strings.Repeat("n", 256) }, ReasonLimit},
		{"no created", func(b *Batch) { b.Created = time.Time{} }, ReasonInvalid},
		{"bad record", func(b *Batch) { b.Records[1].Day = "" }, ReasonInvalid},
		{"record without id", func(b *Batch) { b.Records[0].ID = "" }, ReasonInvalid},
		// Sizes are the receiver's policy: Encode leaves them to Decode.
		{"long string", func(b *Batch) { b.Records[0].Path = strings.Repeat("p", 100<<10) }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := sampleBatch(3)
			tc.edit(b)
			_, err := Marshal(b)
			if got := Reason(err); got != tc.reason {
				t.Fatalf("Reason = %q, want %q (err: %v)", got, tc.reason, err)
			}
		})
	}
	if _, err := Marshal(nil); Reason(err) != ReasonInvalid {
		t.Fatalf("Marshal(nil) err = %v", err)
	}
}

func TestEncodeWriteError(t *testing.T) {
	boom := errors.New("disk full")
	err := Encode(failingWriter{boom}, sampleBatch(2))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		id := NewID()
		if !validID(id) {
			t.Fatalf("NewID() = %q, not 32 lowercase hex digits", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("x"), ReasonOther},
		{apisessions.Errorf(apisessions.EINVALID, "something"), ReasonOther},
		{apisessions.Errorf(apisessions.EINVALID, "weird: prefix"), ReasonOther},
		{newError(ReasonVersion, "v"), ReasonVersion},
		{fmt.Errorf("ingest: %w", newError(ReasonLimit, "l")), ReasonLimit},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.err), func(t *testing.T) {
			if got := Reason(tc.err); got != tc.want {
				t.Fatalf("Reason(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

// TestReasonsCoverDecodeErrors checks that every reason the decode table
// produces is listed by Reasons, so metrics start it at zero.
func TestReasonsCoverDecodeErrors(t *testing.T) {
	listed := map[string]bool{}
	for _, r := range Reasons() {
		listed[r] = true
	}
	for _, tc := range decodeCases() {
		if tc.reason != "" && !listed[tc.reason] {
			t.Errorf("reason %q (case %q) missing from Reasons()", tc.reason, tc.name)
		}
	}
}

func TestCheckRecord(t *testing.T) {
	r := sampleRecords(4)[3]
	if err := CheckRecord(&r, Limits{}); err != nil {
		t.Fatalf("CheckRecord(valid) = %v", err)
	}
	r.Params[0].Value = strings.Repeat("x", 70<<10)
	err := CheckRecord(&r, Limits{})
	if Reason(err) != ReasonLimit || !strings.Contains(err.Error(), "record: params[0].value") {
		t.Fatalf("CheckRecord(long value) = %v", err)
	}
	if strings.Contains(err.Error(), "xxx") {
		t.Fatalf("error %q carries the parameter value", err)
	}
}

// FuzzDecode checks that no input panics, that every rejection is a coded
// error with a known reason, and that whatever is accepted survives a
// re-encode unchanged.
func FuzzDecode(f *testing.F) {
	for _, tc := range decodeCases() {
		f.Add(tc.input(f))
	}
	f.Add(mustMarshal(f, sampleBatch(0)))
	f.Add(mustMarshal(f, sampleBatch(20)))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxDecompressed: 4 << 20, MaxRecords: 100}
		b, err := Decode(bytes.NewReader(data), lim)
		if err != nil {
			if b != nil {
				t.Fatal("batch returned with an error")
			}
			code := apisessions.ErrorCode(err)
			if code != apisessions.EINVALID && code != apisessions.ETOOLARGE {
				t.Fatalf("error %v has code %q", err, code)
			}
			if r := Reason(err); r == ReasonOther || r == "" {
				t.Fatalf("error %v has no reason", err)
			}
			return
		}
		again, err := Decode(bytes.NewReader(mustMarshal(t, b)), lim)
		if err != nil {
			t.Fatalf("re-encoded batch rejected: %v", err)
		}
		sameJSON(t, again, b)
	})
}

func BenchmarkEncode(b *testing.B) {
	batch := sampleBatch(1000)
	var size int
	b.ReportAllocs()
	cpu0 := cputime.Process()
	for b.Loop() {
		data, err := Marshal(batch)
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	reportCPU(b, cpu0, b.N*len(batch.Records))
	b.ReportMetric(float64(b.N*len(batch.Records))/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(size), "bytes/batch")
}

// reportCPU reports the CPU time per record and records per CPU-second
// since cpu0, for n records.
func reportCPU(b *testing.B, cpu0 time.Duration, n int) {
	cpu := cputime.Process() - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/rec")
	b.ReportMetric(float64(n)/cpu.Seconds(), "records/cpu-s")
}

func BenchmarkDecode(b *testing.B) {
	batch := sampleBatch(1000)
	data := mustMarshal(b, batch)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	cpu0 := cputime.Process()
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(data), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0, b.N*len(batch.Records))
	b.ReportMetric(float64(b.N*len(batch.Records))/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkJSONBaseline is the floor the format adds to: plain
// encoding/json of the same records, uncompressed, unchecked.
func BenchmarkJSONBaseline(b *testing.B) {
	recs := sampleRecords(1000)
	data, err := json.Marshal(recs)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(recs); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("unmarshal", func(b *testing.B) {
		cpu0 := cputime.Process()
		for b.Loop() {
			var out []apisessions.Record
			if err := json.Unmarshal(data, &out); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu0, b.N*len(recs))
		b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
	})
}
