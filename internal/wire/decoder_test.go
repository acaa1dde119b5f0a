package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	gojson "github.com/goccy/go-json"

	"github.com/apisessions/apisessions"
)

// stdRecord decodes one record the way encoding/json does, strictly: the
// reference the faster decoder of Decode must agree with.
func stdRecord(data []byte) (*apisessions.Record, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r apisessions.Record
	if err := dec.Decode(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// fastRecord decodes one record with the decoder Decode uses.
func fastRecord(data []byte) (*apisessions.Record, error) {
	dec := gojson.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r apisessions.Record
	if err := dec.Decode(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// sameRecordDecoding fails unless both decoders accept data, giving
// records with the same JSON, or both refuse it.
func sameRecordDecoding(t *testing.T, data []byte) {
	t.Helper()
	want, werr := stdRecord(data)
	got, gerr := fastRecord(data)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("input %q: encoding/json err = %v, decoder err = %v", data, werr, gerr)
	}
	if werr != nil {
		return
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Fatalf("input %q:\n decoder gives %s\nencoding/json %s", data, g, w)
	}
	// Marshal writes invalid UTF-8 as U+FFFD: compare the strings
	// themselves too, so that raw bytes kept by one decoder show.
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("input %q:\n decoder gives %#v\nencoding/json %#v", data, got, want)
	}
}

// recordEdgeCases are record inputs where JSON decoders are known to
// differ: key case and escapes, duplicates, invalid UTF-8, number forms,
// nulls and trailing data.
func recordEdgeCases(tb testing.TB) []string {
	valid := recordJSON(tb, nil)
	return []string{
		valid,
		`{}`,
		`null`,
		`{"ID":"a","Session_ID":"s"}`,
		`{"\u0069d":"a"}`,
		`{"id":"a","id":"b"}`,
		`{"id":"a","ID":"b"}`,
		"{\"id\":\"\xff\xfe\"}", "{\"id\":\"\xed\xa0\x80\"}", "{\"id\":\"a\xc3\"}",
		`{"id":"a\ud800b"}`,
		`{"id":"\u00e9\t\n"}`,
		`{"status":1e2}`,
		`{"status":200.0}`,
		`{"status":-0}`,
		`{"status":01}`,
		`{"status":99999999999999999999}`,
		`{"response_size":9223372036854775807}`,
		`{"response_size":9223372036854775808}`,
		`{"duration_ms":1e400}`,
		`{"duration_ms":-1.5e-3}`,
		`{"status":null,"time":null,"params":null,"content":null}`,
		`{"time":"2026-11-20T10:00:00Z"}`,
		`{"time":"2026-11-20T10:00:00.123456789+02:00"}`,
		`{"time":"2026-11-20 10:00:00"}`,
		`{"time":"2026-11-20T24:00:00Z"}`,
		`{"time":1}`,
		`{"blocked":"true"}`,
		`{"blocked":tru}`,
		`{"params":[{"name":"a","extra":1}]}`,
		`{"params":{}}`,
		`{"attacks":[{"rule_ids":[1.5]}]}`,
		`{"content":{"headers":[["a","b"]]}}`,
		`{"content":{"body_base64":true,"body":"x"}}`,
		`{"verdict":"attack","key":{"point":"p","value":"v","x":1}}`,
		`{"id":"a"} `,
		`{"id":"a"}x`,
		`{"id":"a",}`,
		`{"id":"a"`,
		`{"id" "a"}`,
		`[]`,
		`"s"`,
		strings.Replace(valid, `"id"`, `"Id"`, 1),
		strings.Replace(valid, `"attacks"`, `"Attacks"`, 1),
	}
}

func TestRecordDecodingMatchesEncodingJSON(t *testing.T) {
	for _, in := range recordEdgeCases(t) {
		sameRecordDecoding(t, []byte(in))
	}
}

// FuzzRecordDecoding checks that the decoder accepts exactly the records
// encoding/json accepts, with the same values.
func FuzzRecordDecoding(f *testing.F) {
	for _, in := range recordEdgeCases(f) {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameRecordDecoding(t, data)
	})
}

// stdEncode and fastEncode write one record as Encode does, with
// encoding/json and with the encoder Encode uses.
func stdEncode(r *apisessions.Record) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(r)
	return buf.Bytes(), err
}

func fastEncode(r *apisessions.Record) ([]byte, error) {
	var buf bytes.Buffer
	enc := gojson.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(r)
	return buf.Bytes(), err
}

// sameRecordEncoding fails unless both encoders write the same bytes for r
// or both refuse it: batches stay byte for byte what earlier nodes wrote.
func sameRecordEncoding(t *testing.T, r *apisessions.Record) {
	t.Helper()
	want, werr := stdEncode(r)
	got, gerr := fastEncode(r)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("encoding/json err = %v, encoder err = %v", werr, gerr)
	}
	if werr == nil && !bytes.Equal(got, want) {
		t.Fatalf("encoder writes %q\nencoding/json %q", got, want)
	}
}

// editedRecord is a sample record carrying s in every kind of string
// field, d as a float and n as an integer.
func editedRecord(s string, d float64, n int64) *apisessions.Record {
	r := sampleRecords(4)[3]
	r.Path = s
	r.UserAgent = s
	r.Params[0].Value = s
	r.Flows = append(r.Flows, s)
	r.Findings[0].Payload = s
	r.Content.Headers[0].Value = s
	r.Content.Body = s
	r.DurationMS = d
	r.ResponseSize = n
	r.Status = int(n)
	return &r
}

var encodingEdgeStrings = []string{
	"", "plain", `<script>&amp;</script>`, "\"quoted\" \\ back", "\x00\x01\x1f\x7f",
	"\t\n\r\b\f", "\u2028\u2029", "é 日本 🎉", "\xff\xfe bad utf-8 \xc3", "\xed\xa0\x80",
	strings.Repeat("a", 300),
}

var encodingEdgeNumbers = []float64{0, -0.0, 12.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.123456789,
	5e-324, 1.7976931348623157e308, -3.25}

func TestRecordEncodingMatchesEncodingJSON(t *testing.T) {
	for i, s := range encodingEdgeStrings {
		d := encodingEdgeNumbers[i%len(encodingEdgeNumbers)]
		sameRecordEncoding(t, editedRecord(s, d, int64(i)-5))
	}
	for _, d := range append(encodingEdgeNumbers, math.NaN(), math.Inf(1)) {
		sameRecordEncoding(t, editedRecord("x", d, 1<<62))
	}
	for _, r := range sampleRecords(20) {
		sameRecordEncoding(t, &r)
	}
}

// FuzzRecordEncoding checks that the encoder writes what encoding/json
// writes.
func FuzzRecordEncoding(f *testing.F) {
	for i, s := range encodingEdgeStrings {
		f.Add(s, encodingEdgeNumbers[i%len(encodingEdgeNumbers)], int64(i))
	}
	f.Fuzz(func(t *testing.T, s string, d float64, n int64) {
		sameRecordEncoding(t, editedRecord(s, d, n))
	})
}
