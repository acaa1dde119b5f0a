package httpapi

import (
	"strings"
	"testing"

	"github.com/apisessions/apisessions"
)

// TestTenantIsolation gives tenant b sessions, requests, a configuration,
// denylist entries and a node, then calls every authenticated route with
// tenant a's tokens and checks that nothing of b shows, and that a's
// changes do not reach b. The route table is checked to be covered.
func TestTenantIsolation(t *testing.T) {
	f := newFixture(t, nil)
	recsA := genRecords("a-", 60, 4)
	recsB := genRecords("b-", 60, 4)
	f.ingest("a/node", batch(t, "node-a", recsA))
	f.ingest("b/node", batch(t, "node-b", recsB))
	mustJSON(t, f.call("b/admin", "PUT", "/api/v1/config", []byte("retention: 72h\nday_timezone: Europe/Paris\n"), "Content-Type", "application/yaml"), 200, nil)
	var bEntry struct{ Entry apisessions.DenyEntry }
	mustJSON(t, f.call("b/admin", "POST", "/api/v1/denylist", []byte(`{"session_id":"`+recsB[0].SessionID+`","forever":true}`), "Content-Type", "application/json"), 201, &bEntry)
	bSession, bRequest := recsB[0].SessionID, recsB[0].ID

	checks := map[string]func(t *testing.T){
		"listSessions": func(t *testing.T) {
			for _, q := range []string{"", "?session=" + bSession, "?request=" + bRequest, "?limit=1000"} {
				var out sessionList
				mustJSON(t, f.call("a/analyst", "GET", "/api/v1/sessions"+q, nil), 200, &out)
				ids := make([]string, len(out.Sessions))
				for i, s := range out.Sessions {
					ids[i] = s.ID
				}
				if !hasPrefixAll(ids, "a-") || (q == "" && len(ids) == 0) {
					t.Errorf("query %q listed %v", q, ids)
				}
			}
		},
		"getSession": func(t *testing.T) {
			if code := errorCode(t, f.call("a/admin", "GET", "/api/v1/sessions/"+bSession, nil)); code != apisessions.ENOTFOUND {
				t.Errorf("code %q", code)
			}
			mustJSON(t, f.call("a/admin", "GET", "/api/v1/sessions/"+recsA[0].SessionID, nil), 200, nil)
		},
		"getSessionRequestsCSV": func(t *testing.T) {
			if code := errorCode(t, f.call("a/admin", "GET", "/api/v1/sessions/"+bSession+"/requests.csv", nil)); code != apisessions.ENOTFOUND {
				t.Errorf("code %q", code)
			}
		},
		"getRequest": func(t *testing.T) {
			if code := errorCode(t, f.call("a/admin", "GET", "/api/v1/requests/"+bRequest, nil)); code != apisessions.ENOTFOUND {
				t.Errorf("code %q", code)
			}
			mustJSON(t, f.call("a/admin", "GET", "/api/v1/requests/"+recsA[0].ID, nil), 200, nil)
		},
		"getConfig": func(t *testing.T) {
			var cv apisessions.ConfigVersion
			mustJSON(t, f.call("a/admin", "GET", "/api/v1/config", nil), 200, &cv)
			if cv.Version != 0 || cv.Config.DayTimezone != "" {
				t.Errorf("a sees config %+v", cv)
			}
			b := readBody(t, f.call("a/admin", "GET", "/api/v1/config", nil, "Accept", "application/yaml"))
			if strings.Contains(string(b), "Paris") {
				t.Errorf("a sees b's YAML %q", b)
			}
		},
		"putConfig": func(t *testing.T) {
			mustJSON(t, f.call("a/admin", "PUT", "/api/v1/config", []byte("retention: 240h\n"), "Content-Type", "application/yaml"), 200, nil)
			var cv apisessions.ConfigVersion
			mustJSON(t, f.call("b/admin", "GET", "/api/v1/config", nil), 200, &cv)
			if cv.Version != 1 || cv.Config.DayTimezone != "Europe/Paris" {
				t.Errorf("a's PUT changed b: %+v", cv)
			}
		},
		"getConfigHistory": func(t *testing.T) {
			var h struct{ Versions []apisessions.ConfigVersion }
			mustJSON(t, f.call("a/admin", "GET", "/api/v1/config/history", nil), 200, &h)
			for _, v := range h.Versions {
				if v.Config.DayTimezone == "Europe/Paris" || !strings.HasPrefix(v.Author, "token:a-") {
					t.Errorf("a's history holds %+v", v)
				}
			}
		},
		"listDenylist": func(t *testing.T) {
			var l struct{ Entries []apisessions.DenyEntry }
			mustJSON(t, f.call("a/analyst", "GET", "/api/v1/denylist", nil), 200, &l)
			for _, e := range l.Entries {
				if e.ID == bEntry.Entry.ID {
					t.Errorf("a sees b's entry")
				}
			}
		},
		"addDenylist": func(t *testing.T) {
			mustJSON(t, f.call("a/analyst", "POST", "/api/v1/denylist", []byte(`{"session_id":"`+recsA[0].SessionID+`"}`), "Content-Type", "application/json"), 201, nil)
			var l struct{ Entries []apisessions.DenyEntry }
			mustJSON(t, f.call("b/analyst", "GET", "/api/v1/denylist", nil), 200, &l)
			if len(l.Entries) != 1 {
				t.Errorf("b has %d entries after a added one", len(l.Entries))
			}
		},
		"deleteDenylist": func(t *testing.T) {
			if code := errorCode(t, f.call("a/admin", "DELETE", "/api/v1/denylist/"+bEntry.Entry.ID, nil)); code != apisessions.ENOTFOUND {
				t.Errorf("code %q", code)
			}
			var l struct{ Entries []apisessions.DenyEntry }
			mustJSON(t, f.call("b/analyst", "GET", "/api/v1/denylist", nil), 200, &l)
			if len(l.Entries) != 1 || l.Entries[0].ID != bEntry.Entry.ID {
				t.Errorf("a deleted b's entry: %+v", l.Entries)
			}
		},
		"listNodes": func(t *testing.T) {
			var l struct{ Nodes []apisessions.Node }
			mustJSON(t, f.call("a/analyst", "GET", "/api/v1/nodes", nil), 200, &l)
			if len(l.Nodes) != 1 || l.Nodes[0].Name != "node-a" {
				t.Errorf("a's nodes: %+v", l.Nodes)
			}
		},
		"nodeConfig": func(t *testing.T) {
			var nc NodeConfig
			mustJSON(t, f.call("a/node", "GET", "/api/v1/node/config", nil), 200, &nc)
			if nc.Secret != strings.Repeat("61", 32) || nc.Config.DayTimezone != "UTC" {
				t.Errorf("a's node config: %+v", nc)
			}
		},
		"nodeDenylist": func(t *testing.T) {
			b := readBody(t, f.call("a/node", "GET", "/api/v1/node/denylist", nil))
			if strings.Contains(string(b), bEntry.Entry.ID) || strings.Contains(string(b), bSession) {
				t.Errorf("a's node sees b's entry: %s", b)
			}
		},
		"ingest": func(t *testing.T) {
			// a's node sends a record with b's session ID: it lands in
			// a, and b's session is unchanged.
			before := readBody(t, f.call("b/admin", "GET", "/api/v1/sessions/"+bSession, nil))
			r := recsB[1]
			r.ID = "a-intruder"
			f.ingest("a/node", batch(t, "node-a", []apisessions.Record{r}))
			after := readBody(t, f.call("b/admin", "GET", "/api/v1/sessions/"+bSession, nil))
			if string(before) != string(after) {
				t.Errorf("a's ingest changed b's session")
			}
			// Replaying b's batch ID under a is not a duplicate for a.
			body := batch(t, "node-a", recsA[:1])
			f.ingest("b/node", body)
			if res := f.ingest("a/node", body); res.Duplicate {
				t.Errorf("b's batch ID counted as seen for a")
			}
		},
		"openapi": func(t *testing.T) {
			var doc map[string]any
			mustJSON(t, f.call("a/node", "GET", "/api/v1/openapi.json", nil), 200, &doc)
		},
		"logout": func(t *testing.T) {
			// A bearer logout touches no login; b's console login survives.
			c, _, _ := f.login("b", "ann", userPassword("b", "ann"), false)
			if resp := f.call("a/admin", "POST", "/api/v1/logout", nil); resp.StatusCode != 204 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			mustJSON(t, f.cookieCall(c, "GET", "/api/v1/sessions", nil), 200, nil)
		},
	}
	// ingest runs last: it stores a record of a under b's session ID,
	// which a may then rightly see as its own.
	var ops []string
	for _, rt := range f.srv.routes {
		if rt.Roles == nil {
			continue
		}
		if _, ok := checks[rt.Op]; !ok {
			t.Errorf("route %s %s has no isolation check", rt.Method, rt.Path)
			continue
		}
		if rt.Op != "ingest" {
			ops = append(ops, rt.Op)
		}
	}
	for _, op := range append(ops, "ingest") {
		t.Run(op, checks[op])
	}
}
