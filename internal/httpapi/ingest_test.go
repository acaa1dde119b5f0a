package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/wire"
)

func TestIngestRejects(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.IngestLimits = wire.Limits{MaxRecords: 20}
		o.MaxBodyBytes = 64 << 10
	})
	good := batch(t, "n1", genRecords("a-", 5, 1))
	big := make([]byte, 70<<10)
	copy(big, good)
	tests := []struct {
		name   string
		body   []byte
		ctype  string
		status int
		code   string
		reason string // rejects metric label that must grow
	}{
		{"not a batch", []byte(`{"records":[]}`), wire.ContentType, 400, apisessions.EINVALID, wire.ReasonMagic},
		{"empty", []byte{}, wire.ContentType, 400, apisessions.EINVALID, wire.ReasonMagic},
		{"truncated", good[:len(good)/2], wire.ContentType, 400, apisessions.EINVALID, wire.ReasonDecompress},
		{"future version", append([]byte("APSB\x09"), good[5:]...), wire.ContentType, 400, apisessions.EINVALID, wire.ReasonVersion},
		{"over body limit", big, wire.ContentType, 413, apisessions.ETOOLARGE, wire.ReasonTooLarge},
		{"too many records", batch(t, "n1", genRecords("a-", 21, 2)), wire.ContentType, 413, apisessions.ETOOLARGE, wire.ReasonTooLarge},
		{"wrong content type", good, "application/json", 415, EUNSUPPORTED, "content_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := counterValue(t, f.srv.metrics.rejects.WithLabelValues(tc.reason))
			resp := f.call("a/node", "POST", "/api/v1/ingest", tc.body, "Content-Type", tc.ctype)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, readBody(t, resp))
			}
			if code := errorCode(t, resp); code != tc.code {
				t.Errorf("code %q, want %q", code, tc.code)
			}
			if after := counterValue(t, f.srv.metrics.rejects.WithLabelValues(tc.reason)); after != before+1 {
				t.Errorf("rejects{reason=%q} went %v -> %v", tc.reason, before, after)
			}
		})
	}
	var page sessionList
	mustJSON(t, f.call("a/admin", "GET", "/api/v1/sessions", nil), 200, &page)
	if len(page.Sessions) != 0 {
		t.Fatalf("refused batches stored %d sessions", len(page.Sessions))
	}
}

func TestIngestReplay(t *testing.T) {
	f := newFixture(t, nil)
	recs := genRecords("a-", 40, 3)
	body := batch(t, "n1", recs)
	var first ingestResult
	mustJSON(t, f.call("a/node", "POST", "/api/v1/ingest", body, "Content-Type", wire.ContentType, NodeVersionHeader, "1.2.3"), 200, &first)
	if first.Duplicate || first.Stored != 40 {
		t.Fatalf("first send: %+v", first)
	}
	before := readBody(t, f.call("a/admin", "GET", "/api/v1/sessions", nil))
	if again := f.ingest("a/node", body); !again.Duplicate || again.Stored != 0 {
		t.Fatalf("replay: %+v", again)
	}
	// The same records in a new batch (a node that lost its batch ID)
	// are stored once all the same.
	if other := f.ingest("a/node", batch(t, "n1", recs)); other.Duplicate || other.Stored != 0 || other.Duplicates != 40 {
		t.Fatalf("same records, new batch: %+v", other)
	}
	after := readBody(t, f.call("a/admin", "GET", "/api/v1/sessions", nil))
	if !bytes.Equal(before, after) {
		t.Fatalf("replays changed the sessions:\n%s\n%s", before, after)
	}
	var nodes struct{ Nodes []apisessions.Node }
	mustJSON(t, f.call("a/admin", "GET", "/api/v1/nodes", nil), 200, &nodes)
	if len(nodes.Nodes) != 1 || nodes.Nodes[0].Batches != 2 || nodes.Nodes[0].Records != 40 || nodes.Nodes[0].Name != "n1" {
		t.Fatalf("nodes: %+v", nodes.Nodes)
	}
	if got := counterValue(t, f.srv.metrics.batches.WithLabelValues("duplicate")); got != 1 {
		t.Errorf("duplicate batches metric %v", got)
	}
}

// TestIngestInterleavedNodes: two nodes sending interleaved parts of the
// same sessions, in shuffled batches, store what one node sending
// everything at once stores.
func TestIngestInterleavedNodes(t *testing.T) {
	recs := genRecords("a-", 120, 3)
	one := newFixture(t, nil)
	one.ingest("a/node", batch(t, "solo", recs))

	two := newFixture(t, nil)
	var n1, n2 []apisessions.Record
	for i, r := range recs {
		if i%2 == 0 {
			n1 = append(n1, r)
		} else {
			n2 = append(n2, r)
		}
	}
	slices.Reverse(n2) // the second node sends newest first
	var bodies [][]byte
	for i := 0; i < len(n1); i += 15 {
		bodies = append(bodies, batch(t, "n1", n1[i:min(i+15, len(n1))]))
		bodies = append(bodies, batch(t, "n2", n2[i:min(i+15, len(n2))]))
	}
	bodies = append(bodies, bodies[3]) // a retry
	for i, b := range bodies {
		node := "a/node"
		if i%3 == 2 {
			node = "a/admin"
		}
		two.ingest(node, b)
	}

	var l1, l2 sessionList
	mustJSON(t, one.call("a/admin", "GET", "/api/v1/sessions", nil), 200, &l1)
	mustJSON(t, two.call("a/admin", "GET", "/api/v1/sessions", nil), 200, &l2)
	if len(l1.Sessions) == 0 {
		t.Fatal("nothing stored")
	}
	j1, _ := json.Marshal(l1)
	j2, _ := json.Marshal(l2)
	if !bytes.Equal(j1, j2) {
		t.Fatalf("listings differ:\n%s\n%s", j1, j2)
	}
	ids := map[string]bool{}
	for _, s := range l1.Sessions {
		ids[s.ID] = true
	}
	for id := range ids {
		d1 := readBody(t, one.call("a/admin", "GET", "/api/v1/sessions/"+id, nil))
		d2 := readBody(t, two.call("a/admin", "GET", "/api/v1/sessions/"+id, nil))
		if !bytes.Equal(d1, d2) {
			t.Errorf("session %s differs:\n%s\n%s", id, d1, d2)
		}
	}
	var nodes struct{ Nodes []apisessions.Node }
	mustJSON(t, two.call("a/admin", "GET", "/api/v1/nodes", nil), 200, &nodes)
	var total int64
	for _, n := range nodes.Nodes {
		total += n.Records
	}
	if len(nodes.Nodes) != 2 || total != int64(len(recs)) {
		t.Errorf("nodes %+v, records total %d, want %d", nodes.Nodes, total, len(recs))
	}
}

func TestIngestOverload(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxConcurrentIngest = 1; o.IngestWait = 1 })
	f.srv.ingestSlots <- struct{}{} // a batch being decoded
	body := batch(t, "n1", genRecords("a-", 3, 1))
	resp := f.call("a/node", "POST", "/api/v1/ingest", body, "Content-Type", wire.ContentType)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code := errorCode(t, resp); code != EUNAVAILABLE {
		t.Errorf("code %q", code)
	}
	<-f.srv.ingestSlots
	if res := f.ingest("a/node", body); res.Stored != 3 {
		t.Fatalf("after the slot freed: %+v", res)
	}
}

func TestJSONEscapesAttackerPayloads(t *testing.T) {
	f := newFixture(t, nil)
	recs := genRecords("a-", 1, 1)
	payload := `<script>alert(1)</script>`
	recs[0].Path = "/" + payload
	recs[0].UserAgent = payload
	recs[0].Verdict = apisessions.VerdictAttack
	recs[0].Findings = []apisessions.Finding{{Type: apisessions.AttackXSS, RuleIDs: []int{941100}, Score: 5, Point: "request.path", Payload: payload}}
	recs[0].Content = &apisessions.Content{Method: "GET", Target: "/" + payload, Body: payload}
	f.ingest("a/node", batch(t, "n1", recs))
	for _, path := range []string{"/api/v1/sessions", "/api/v1/sessions/" + recs[0].SessionID, "/api/v1/requests/" + recs[0].ID} {
		resp := f.call("a/admin", "GET", path, nil)
		b := readBody(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if strings.Contains(string(b), "<script") || strings.Contains(string(b), "<") {
			t.Errorf("%s: raw markup in %s", path, b)
		}
		if !strings.Contains(string(b), `\u003cscript\u003e`) && path != "/api/v1/sessions" {
			t.Errorf("%s: payload missing", path)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
	}
}

// counterValue reads a counter.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestIngestDropsExpiredDays: records of days wholly outside the tenant's
// retention are not stored, as the retention job would delete them.
func TestIngestDropsExpiredDays(t *testing.T) {
	f := newFixture(t, nil)
	mustJSON(t, f.call("a/admin", "PUT", "/api/v1/config", []byte("retention: 72h\n"), "Content-Type", "application/yaml"), 200, nil)
	recs := genRecords("a-", 10, 2) // days 2026-11-20 and 21: expired at testNow - 72h
	fresh := recs[0]
	fresh.ID, fresh.Time, fresh.Day = "a-fresh", testNow.Add(-time.Hour), testNow.Format(time.DateOnly)
	edge := recs[1]
	// 2026-11-23 ends at 11-24 00:00, after the cutoff of 11-23 12:00: kept.
	edge.ID, edge.Time, edge.Day = "a-edge", time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC), "2026-11-23"
	res := f.ingest("a/node", batch(t, "n1", append(recs, fresh, edge)))
	if res.Stored != 2 || res.Expired != len(recs) {
		t.Fatalf("result %+v, want 2 stored and %d expired", res, len(recs))
	}
	if got := counterValue(t, f.srv.metrics.records.WithLabelValues("expired")); got != float64(len(recs)) {
		t.Errorf("expired metric %v", got)
	}
	mustJSON(t, f.call("a/admin", "GET", "/api/v1/requests/"+recs[0].ID, nil), 404, nil)
	mustJSON(t, f.call("a/admin", "GET", "/api/v1/requests/a-edge", nil), 200, nil)
}
