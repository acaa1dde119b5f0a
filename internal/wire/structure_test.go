package wire

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestDecodeBatchStructure: the streaming decoder that walks the batch
// object and its records list (tokens, then one record at a time) refuses
// every misplaced or missing delimiter encoding/json refuses, and accepts
// the well-formed variants; the record-level differential tests do not see
// the commas and brackets between records.
func TestDecodeBatchStructure(t *testing.T) {
	b := sampleBatch(1)
	rj, err := json.Marshal(b.Records[0])
	if err != nil {
		t.Fatal(err)
	}
	r := string(rj)
	head := `"id":"` + b.ID + `","node":"` + b.Node + `","created":"` + b.Created.Format(time.RFC3339Nano) + `"`
	cases := []struct {
		body    string
		records int // -1: refused
	}{
		{`{` + head + `,"records":[` + r + `,` + r + `]}`, 2},
		{` { ` + head + ` , "records" : [ ` + r + ` , ` + r + ` ] } ` + "\n", 2},
		{`{"records":[` + r + `],` + head + `}`, 1},
		{`{` + head + `,"records":[]}`, 0},
		{`{` + head + `,"records":[` + r + ` ` + r + `]}`, -1},
		{`{` + head + `,"records":[` + r + `:` + r + `]}`, -1},
		{`{` + head + `,"records":[,` + r + `]}`, -1},
		{`{` + head + `,"records":[` + r + `,]}`, -1},
		{`{` + head + `,"records":[` + r + `,,` + r + `]}`, -1},
		{`{` + head + ` "records":[` + r + `]}`, -1},
		{`{` + head + `,,"records":[` + r + `]}`, -1},
		{`{,` + head + `,"records":[` + r + `]}`, -1},
		{`{` + head + `:"records":[` + r + `]}`, -1},
		{`{` + head + `,"records"[` + r + `]}`, -1},
		{`{` + head + `,"records":[` + r + `],}`, -1},
		{`{` + head + `,"records":[` + r + `]`, -1},
		{`{` + head + `,"records":[` + r + `]]`, -1},
		{`{` + head + `,"records":[` + r + `}}`, -1},
		{`{` + head + `,"records":[` + r + `]}}`, -1},
		{`{` + head + `,"records":[` + r + `]},`, -1},
		{`{` + head + `,"records":[` + r + `]} {}`, -1},
		{`{` + head + `,"records":null}`, -1},
		{`{` + head + `,"records":{}}`, -1},
		{`{` + head + `,1:[]}`, -1},
		{`[` + head + `]`, -1},
	}
	for _, tc := range cases {
		got, err := Decode(bytes.NewReader(rawBatch(t, tc.body)), Limits{})
		if tc.records < 0 {
			if err == nil {
				t.Errorf("accepted %q", tc.body)
			} else if Reason(err) != ReasonDecode {
				t.Errorf("%q: reason %q (%v), want %q", tc.body, Reason(err), err, ReasonDecode)
			}
			continue
		}
		if err != nil {
			t.Errorf("refused %q: %v", tc.body, err)
			continue
		}
		if len(got.Records) != tc.records {
			t.Errorf("%q: %d records, want %d", tc.body, len(got.Records), tc.records)
		}
		if !json.Valid([]byte(tc.body)) {
			t.Errorf("accepted %q, which is not JSON", tc.body)
		}
	}
}
