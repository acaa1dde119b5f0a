package httpapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/sqlite"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestNodeSyncETag(t *testing.T) {
	f := newFixture(t, nil)
	for _, path := range []string{"/api/v1/node/config", "/api/v1/node/denylist"} {
		t.Run(path, func(t *testing.T) {
			resp := f.call("a/node", "GET", path, nil)
			tag := resp.Header.Get("ETag")
			readBody(t, resp)
			if resp.StatusCode != 200 || !strings.HasPrefix(tag, `"`) {
				t.Fatalf("status %d, ETag %q", resp.StatusCode, tag)
			}
			for _, inm := range []string{tag, `"x", ` + tag, "W/" + tag, "*"} {
				resp = f.call("a/node", "GET", path, nil, "If-None-Match", inm)
				if b := readBody(t, resp); resp.StatusCode != 304 || len(b) != 0 {
					t.Fatalf("If-None-Match %s: status %d, body %q", inm, resp.StatusCode, b)
				}
			}
			// A change gives a new tag and a full answer.
			if path == "/api/v1/node/config" {
				mustJSON(t, f.call("a/admin", "PUT", "/api/v1/config", []byte("retention: 48h\n"), "Content-Type", "application/yaml"), 200, nil)
			} else {
				mustJSON(t, f.call("a/analyst", "POST", "/api/v1/denylist", []byte(`{"session_id":"s1"}`), "Content-Type", "application/json"), 201, nil)
			}
			resp = f.call("a/node", "GET", path, nil, "If-None-Match", tag)
			readBody(t, resp)
			if resp.StatusCode != 200 || resp.Header.Get("ETag") == tag {
				t.Fatalf("after a change: status %d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
			}
		})
	}
	t.Run("denylist expiry changes the tag", func(t *testing.T) {
		resp := f.call("a/node", "GET", "/api/v1/node/denylist", nil)
		tag := resp.Header.Get("ETag")
		readBody(t, resp)
		f.advance(2 * time.Hour)
		defer f.advance(-2 * time.Hour)
		resp = f.call("a/node", "GET", "/api/v1/node/denylist", nil, "If-None-Match", tag)
		var l struct{ Entries []apisessions.DenyEntry }
		mustJSON(t, resp, 200, &l)
		if len(l.Entries) != 0 {
			t.Fatalf("expired entry still synced: %+v", l.Entries)
		}
	})
}

// denyTarget is the session of genRecords("a-", ...) the denylist test
// blocks.
const denyTarget = "a-sess-0000"

var denyCases = []struct {
	name   string
	body   string
	status int
	until  time.Duration // expected until - now; 0: forever
}{
	{"default one hour", `{"session_id":"` + denyTarget + `","reason":"scraping"}`, 201, time.Hour},
	{"forever", `{"session_id":"s2","forever":true}`, 201, 0},
	{"duration", `{"session_id":"s3","duration":"7d","applications":[1,2]}`, 201, 7 * 24 * time.Hour},
	{"until", `{"session_id":"s4","until":"2026-11-26T15:00:00Z"}`, 201, 3 * time.Hour},
	{"until in the past", `{"session_id":"s5","until":"2026-11-26T11:00:00Z"}`, 400, 0},
	{"until and forever", `{"session_id":"s5","until":"2026-11-26T15:00:00Z","forever":true}`, 400, 0},
	{"no session", `{"reason":"x"}`, 400, 0},
	{"control characters", `{"session_id":"a\u0000b"}`, 400, 0},
	{"unknown field", `{"session_id":"s6","bogus":1}`, 400, 0},
	{"trailing data", `{"session_id":"s6"} {}`, 400, 0},
	{"not JSON", `session_id=s6`, 400, 0},
	{"negative duration", `{"session_id":"s6","duration":"-1h"}`, 400, 0},
}

func TestDenylist(t *testing.T) {
	f := newFixture(t, nil)
	recs := genRecords("a-", 30, 3)
	target := recs[0].SessionID
	if target != denyTarget {
		t.Fatalf("first session %q, want %q", target, denyTarget)
	}
	for i := range recs {
		// The target is blocked by the denylist only, so that deleting the
		// entry shows it unblocked.
		if recs[i].SessionID == target {
			recs[i].Blocked, recs[i].BlockReason = false, ""
		}
	}
	f.ingest("a/node", batch(t, "n1", recs))
	for _, tc := range denyCases {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.call("a/analyst", "POST", "/api/v1/denylist", []byte(tc.body), "Content-Type", "application/json")
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, readBody(t, resp))
			}
			if tc.status != 201 {
				if code := errorCode(t, resp); code != apisessions.EINVALID {
					t.Errorf("code %q", code)
				}
				return
			}
			var out struct{ Entry apisessions.DenyEntry }
			mustJSON(t, resp, 201, &out)
			e := out.Entry
			if e.ID == "" || e.AddedBy != "token:a-analyst" || !e.Created.Equal(testNow) {
				t.Errorf("entry %+v", e)
			}
			switch {
			case tc.until == 0 && e.Until != nil:
				t.Errorf("until %v, want forever", e.Until)
			case tc.until != 0 && (e.Until == nil || e.Until.Sub(testNow) != tc.until):
				t.Errorf("until %v, want now+%v", e.Until, tc.until)
			}
		})
	}
	t.Run("listed session shows blocked", func(t *testing.T) {
		var l sessionList
		mustJSON(t, f.call("a/analyst", "GET", "/api/v1/sessions", nil), 200, &l)
		stored, err := f.store.Sessions(t.Context(), "tid-a", apisessions.SessionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		storedBlocked := map[string]bool{}
		for _, s := range stored.Sessions {
			storedBlocked[s.ID+"/"+s.Day] = s.Blocked
		}
		seen := 0
		for _, s := range l.Sessions {
			if s.Blocked != (s.ID == target || storedBlocked[s.ID+"/"+s.Day]) {
				t.Errorf("session %s blocked %v", s.ID, s.Blocked)
			}
			if s.ID == target {
				seen++
			}
		}
		var d sessionDetail
		mustJSON(t, f.call("a/analyst", "GET", "/api/v1/sessions/"+target, nil), 200, &d)
		if seen == 0 || !d.Session.Blocked || !d.Parts[0].Blocked {
			t.Errorf("detail not blocked: %+v", d.Session)
		}
	})
	t.Run("delete unblocks", func(t *testing.T) {
		var l struct{ Entries []apisessions.DenyEntry }
		mustJSON(t, f.call("a/analyst", "GET", "/api/v1/denylist", nil), 200, &l)
		if len(l.Entries) != 4 {
			t.Fatalf("%d entries, want 4", len(l.Entries))
		}
		for _, e := range l.Entries {
			if e.SessionID == target {
				if resp := f.call("a/admin", "DELETE", "/api/v1/denylist/"+e.ID, nil); resp.StatusCode != 204 {
					t.Fatalf("delete: %d", resp.StatusCode)
				}
			}
		}
		var d sessionDetail
		mustJSON(t, f.call("a/analyst", "GET", "/api/v1/sessions/"+target, nil), 200, &d)
		if d.Session.Blocked {
			t.Error("still blocked after delete")
		}
	})
}

func TestConfigAPI(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name     string
		body     string
		ctype    string
		status   int
		problems []string // "path: reason" prefixes
	}{
		{"yaml", "retention: 72h\napplications:\n  - {id: 1, name: shop, hosts: [shop.example.com]}\n", "application/yaml", 200, nil},
		{"json", `{"retention":"48h","day_timezone":"Europe/Paris"}`, "application/json", 200, nil},
		{"invalid", "day_timezone: Mars/Olympus\nhash_algorithm: sha1\n", "application/yaml", 400,
			[]string{"day_timezone: unknown timezone", "hash_algorithm: unknown hash algorithm"}},
		{"unknown field", "retention: 1h\nbogus: 1\n", "text/yaml", 400, []string{"bogus: line 2"}},
		{"bad json", `{"retention":`, "application/json", 400, nil},
		{"wrong type", "retention: 1h\n", "text/plain", 415, nil},
		{"too large", strings.Repeat("#", 300<<10), "application/yaml", 413, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.call("a/admin", "PUT", "/api/v1/config", []byte(tc.body), "Content-Type", tc.ctype)
			b := readBody(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if tc.problems == nil {
				return
			}
			var e errorBody
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatal(err)
			}
			if len(e.Problems) != len(tc.problems) {
				t.Fatalf("problems %+v, want %d", e.Problems, len(tc.problems))
			}
			for i, p := range e.Problems {
				if got := p.Path + ": " + p.Reason; !strings.HasPrefix(got, tc.problems[i]) {
					t.Errorf("problem %q, want prefix %q", got, tc.problems[i])
				}
			}
		})
	}
	var cv apisessions.ConfigVersion
	mustJSON(t, f.call("a/analyst", "GET", "/api/v1/config", nil), 200, &cv)
	if cv.Version != 2 || cv.Author != "token:a-admin" || cv.Config.DayTimezone != "Europe/Paris" || !cv.Created.Equal(testNow) {
		t.Fatalf("current %+v", cv)
	}
	resp := f.call("a/analyst", "GET", "/api/v1/config", nil, "Accept", "application/yaml")
	y := readBody(t, resp)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/yaml") || !strings.Contains(string(y), "day_timezone: Europe/Paris") || resp.Header.Get("X-Config-Version") != "2" {
		t.Fatalf("YAML answer %q %v", y, resp.Header)
	}
	var h struct{ Versions []apisessions.ConfigVersion }
	mustJSON(t, f.call("a/analyst", "GET", "/api/v1/config/history", nil), 200, &h)
	if len(h.Versions) != 2 || h.Versions[0].Version != 2 || h.Versions[1].Config.Applications[0].Name != "shop" {
		t.Fatalf("history %+v", h.Versions)
	}
}

func TestSessionsQuery(t *testing.T) {
	f := newFixture(t, nil)
	recs := genRecords("a-", 200, 60)
	f.ingest("a/node", batch(t, "n1", recs))
	t.Run("default page and paging", func(t *testing.T) {
		var p1 sessionList
		mustJSON(t, f.call("a/admin", "GET", "/api/v1/sessions", nil), 200, &p1)
		if len(p1.Sessions) != DefaultLimit || p1.Next == "" {
			t.Fatalf("first page: %d sessions, next %q", len(p1.Sessions), p1.Next)
		}
		var p2 sessionList
		mustJSON(t, f.call("a/admin", "GET", "/api/v1/sessions?cursor="+p1.Next, nil), 200, &p2)
		if len(p2.Sessions) == 0 || p2.Sessions[0].ID+p2.Sessions[0].Day == p1.Sessions[0].ID+p1.Sessions[0].Day {
			t.Fatalf("second page repeats the first")
		}
	})
	t.Run("filters reach the store", func(t *testing.T) {
		var l sessionList
		mustJSON(t, f.call("a/admin", "GET", "/api/v1/sessions?session="+recs[0].SessionID+"&day_ignored=1", nil), 400, nil)
		mustJSON(t, f.call("a/admin", "GET", "/api/v1/sessions?session="+recs[0].SessionID, nil), 200, &l)
		if len(l.Sessions) == 0 {
			t.Fatal("no session")
		}
		for _, s := range l.Sessions {
			if s.ID != recs[0].SessionID {
				t.Errorf("filter by session listed %s", s.ID)
			}
		}
		mustJSON(t, f.call("a/admin", "GET", "/api/v1/sessions?method="+recs[0].Method+"&limit=5", nil), 200, &l)
		if len(l.Sessions) == 0 || len(l.Sessions) > 5 {
			t.Fatalf("method filter: %d", len(l.Sessions))
		}
		for _, s := range l.Sessions {
			found := false
			for _, m := range s.Methods {
				found = found || m.Name == recs[0].Method
			}
			if !found {
				t.Errorf("session %s has no %s", s.ID, recs[0].Method)
			}
		}
	})
	t.Run("bad cursor", func(t *testing.T) {
		if code := errorCode(t, f.call("a/admin", "GET", "/api/v1/sessions?cursor=%21%21", nil)); code != apisessions.EINVALID {
			t.Errorf("code %q", code)
		}
	})
}

// csvRecords are hand-made, so that the golden file does not depend on
// another package's generator.
func csvRecords() []apisessions.Record {
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var recs []apisessions.Record
	for i := range 3 {
		recs = append(recs, apisessions.Record{
			ID: "req-" + string(rune('a'+i)), SessionID: "sess-csv", Day: "2026-11-25", Time: base.Add(time.Duration(i) * time.Second),
			Method: "GET", Host: "shop.example.com", Path: "/api/items/1", Endpoint: "GET /api/items/{int}", Status: 200,
			DurationMS: 1.5, ResponseSize: 512, ClientIP: "192.0.2.1", UserAgent: "curl/8", Application: 1,
			Key: apisessions.Key{Point: "request.cookie.sid", Value: "k"}, User: "bob", Role: "admin", Flows: []string{"browse", "cart"},
			Verdict: apisessions.VerdictClean,
		})
	}
	recs[2].Verdict, recs[2].Score = apisessions.VerdictAttack, 10
	recs[2].Findings = []apisessions.Finding{{Type: apisessions.AttackSQLi, Score: 5}, {Type: apisessions.AttackSQLi, Score: 5}, {Type: apisessions.AttackXSS}}
	recs[2].Blocked = true
	return recs
}

func TestSessionCSV(t *testing.T) {
	recs := csvRecords()
	hostile := []string{"=HYPERLINK(\"http://evil\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "plain, with \"quotes\"\nand a line"}
	recs[0].Path, recs[0].UserAgent, recs[0].User = hostile[0], hostile[1], hostile[2]
	recs[1].Role, recs[1].BlockReason, recs[1].Endpoint = hostile[3], hostile[4], hostile[5]
	var buf bytes.Buffer
	if err := writeRequestsCSV(&buf, recs); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "requests.csv")
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("CSV differs from %s (run with -update):\n%s", golden, buf.Bytes())
	}
	rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q starts a formula", cell)
			}
		}
	}

	f := newFixture(t, nil)
	f.ingest("a/node", batch(t, "n1", recs))
	resp := f.call("a/analyst", "GET", "/api/v1/sessions/"+recs[0].SessionID+"/requests.csv", nil)
	b := readBody(t, resp)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	if !strings.Contains(string(b), `'=HYPERLINK`) || strings.Contains(string(b), `,=HYPERLINK`) {
		t.Errorf("served CSV not defused: %s", b)
	}
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	f := newFixture(t, nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	mustJSON(t, f.call("a/admin", "GET", "/api/v1/openapi.json", nil), 200, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			m := strings.ToUpper(method)
			documented[m+" "+path] = true
			// Every documented operation reaches the handler registered for
			// exactly that pattern, not the 404 or 405 fallbacks.
			req := httptest.NewRequest(m, samplePath(path), nil)
			if _, pattern := f.srv.mux.Handler(req); pattern != m+" "+path {
				t.Errorf("documented %s %s is routed to %q", m, path, pattern)
			}
		}
	}
	for _, rt := range f.srv.routes {
		if !documented[rt.Method+" "+rt.Path] {
			t.Errorf("route %s %s is not documented", rt.Method, rt.Path)
		}
	}
	if len(documented) != len(f.srv.routes) {
		t.Errorf("%d documented operations, %d routes", len(documented), len(f.srv.routes))
	}
}

func TestFallbacksAndProbes(t *testing.T) {
	// The admin store can fail on demand, for /readyz.
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "admin.db"), sqlite.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	admin := &failingAdmin{AdminStore: st}
	f := newFixtureWith(t, admin, nil)
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/api/v1/nope", 404, apisessions.ENOTFOUND},
		{"DELETE", "/api/v1/sessions", 405, EMETHOD},
		{"PATCH", "/api/v1/config", 405, EMETHOD},
	}
	for _, tc := range tests {
		resp := f.call("a/admin", tc.method, tc.path, nil)
		if resp.StatusCode != tc.status || errorCode(t, resp) != tc.code {
			t.Errorf("%s %s: status %d", tc.method, tc.path, resp.StatusCode)
		}
		if tc.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: no Allow", tc.method, tc.path)
		}
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp := f.call("", "GET", p, nil); resp.StatusCode != 200 || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	f.ingest("a/node", batch(t, "n1", genRecords("a-", 2, 1)))
	m := string(readBody(t, f.call("", "GET", "/metrics", nil)))
	for _, want := range []string{
		`apisessions_ingest_batches_total{result="stored"} 1`,
		`apisessions_ingest_records_total{result="stored"} 2`,
		`apisessions_ingest_rejects_total{reason="magic"} 0`,
		`apisessions_store_seconds_count{op="write"} 1`,
		`apisessions_http_requests_total{code="200",route="POST /api/v1/ingest"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	admin.down.Store(true)
	resp := f.call("", "GET", "/readyz", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("readyz with the store down: %d", resp.StatusCode)
	}
}

// failingAdmin is an admin store that can be made unreachable.
type failingAdmin struct {
	apisessions.AdminStore
	down atomic.Bool
}

func (f *failingAdmin) Tenants(ctx context.Context) ([]apisessions.Tenant, error) {
	if f.down.Load() {
		return nil, apisessions.Errorf(apisessions.EINTERNAL, "down")
	}
	return f.AdminStore.Tenants(ctx)
}
