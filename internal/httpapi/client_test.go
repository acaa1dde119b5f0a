package httpapi

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/config"
)

// TestClientMatchesStore: the client's read side answers what the store
// answers directly, so the command line works the same on both.
func TestClientMatchesStore(t *testing.T) {
	f := newFixture(t, nil)
	recs := genRecords("a-", 150, 20)
	ctx := t.Context()
	c := NewClient(f.ts.URL+"/", f.tokens["a/admin"], f.ts.Client())
	defer c.Close()

	body := batch(t, "n1", recs)
	if st, err := c.IngestStats(ctx, body); err != nil || st.Stored != len(recs) || st.Sessions == 0 {
		t.Fatalf("IngestStats: %+v %v", st, err)
	}
	if st, err := c.IngestStats(ctx, body); err != nil || st != (apisessions.WriteStats{}) {
		t.Fatalf("IngestStats of a replay: %+v %v", st, err)
	}
	filter := apisessions.SessionFilter{Limit: 7, Method: recs[0].Method}
	var viaAPI, direct []apisessions.Session
	for {
		p, err := c.Sessions(ctx, "ignored", filter)
		if err != nil {
			t.Fatal(err)
		}
		viaAPI = append(viaAPI, p.Sessions...)
		if p.Next == "" {
			break
		}
		filter.Cursor = p.Next
	}
	page, err := f.store.Sessions(ctx, "tid-a", apisessions.SessionFilter{Method: recs[0].Method})
	if err != nil {
		t.Fatal(err)
	}
	direct = page.Sessions
	if len(viaAPI) == 0 || len(viaAPI) != len(direct) {
		t.Fatalf("client listed %d, store %d", len(viaAPI), len(direct))
	}
	for i := range direct {
		if viaAPI[i].ID != direct[i].ID || viaAPI[i].Day != direct[i].Day || viaAPI[i].RequestCount != direct[i].RequestCount {
			t.Fatalf("part %d: %+v vs %+v", i, viaAPI[i], direct[i])
		}
	}

	id := recs[0].SessionID
	parts, err := c.Session(ctx, "", id, "")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := f.store.Session(ctx, "tid-a", id, "")
	if len(parts) != len(want) || parts[0].RequestCount != want[0].RequestCount {
		t.Fatalf("Session: %+v vs %+v", parts, want)
	}
	reqs, err := c.SessionRequests(ctx, "", id, want[0].Day)
	if err != nil {
		t.Fatal(err)
	}
	wantReqs, _ := f.store.SessionRequests(ctx, "tid-a", id, want[0].Day)
	if len(reqs) != len(wantReqs) || reqs[0].ID != wantReqs[0].ID {
		t.Fatalf("SessionRequests: %d vs %d", len(reqs), len(wantReqs))
	}
	r, err := c.Request(ctx, "", recs[0].ID)
	if err != nil || r.ID != recs[0].ID {
		t.Fatalf("Request: %+v %v", r.ID, err)
	}

	_, err = c.Session(ctx, "", "no-such-session", "")
	var ae *apisessions.Error
	if !errors.As(err, &ae) || ae.Code != apisessions.ENOTFOUND {
		t.Fatalf("missing session: %v", err)
	}
	if _, err := c.Session(ctx, "", id, "not-a-day"); apisessions.ErrorCode(err) != apisessions.EINVALID {
		t.Fatalf("bad day: %v", err)
	}
}

func TestClientConfig(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	admin := NewClient(f.ts.URL, f.tokens["a/admin"], f.ts.Client())
	analyst := NewClient(f.ts.URL, f.tokens["a/analyst"], f.ts.Client())
	node := NewClient(f.ts.URL, f.tokens["a/node"], f.ts.Client())
	nobody := NewClient(f.ts.URL, "", f.ts.Client())

	cv, y, err := admin.Config(ctx)
	if err != nil || cv.Version != 0 {
		t.Fatalf("empty config: %+v %v", cv, err)
	}
	if c, err := config.Parse(y); err != nil || !reflect.DeepEqual(c, apisessions.Config{}) {
		t.Fatalf("empty config YAML %q: %+v %v", y, c, err)
	}
	doc := []byte("retention: 48h\nparameters:\n  - {name: sid, point: request.cookie.sid, group: true}\n")
	if err := admin.PutConfig(ctx, doc, "application/yaml"); err != nil {
		t.Fatal(err)
	}
	cv, y, err = analyst.Config(ctx)
	if err != nil || cv.Version != 1 || cv.Author != "token:a-admin" || !strings.Contains(string(y), "request.cookie.sid") {
		t.Fatalf("config: %+v %q %v", cv, y, err)
	}
	err = admin.PutConfig(ctx, []byte("day_timezone: Nowhere/Land\nhash_algorithm: crc\n"), "")
	if apisessions.ErrorCode(err) != apisessions.EINVALID ||
		!strings.Contains(err.Error(), "day_timezone: unknown timezone") || !strings.Contains(err.Error(), "\nhash_algorithm: ") {
		t.Fatalf("problems not listed: %v", err)
	}
	if err := analyst.PutConfig(ctx, doc, ""); apisessions.ErrorCode(err) != apisessions.EFORBIDDEN {
		t.Fatalf("analyst PutConfig: %v", err)
	}
	cfg, secret, err := node.NodeConfig(ctx)
	if err != nil || string(secret) != strings.Repeat("a", 32) || cfg.Retention != apisessions.Duration(48*60*60*1e9) || cfg.DayTimezone != "UTC" {
		t.Fatalf("NodeConfig: %+v %q %v", cfg, secret, err)
	}
	if _, err := nobody.Sessions(ctx, "", apisessions.SessionFilter{}); apisessions.ErrorCode(err) != apisessions.EUNAUTHORIZED {
		t.Fatalf("no token: %v", err)
	}
	if err := analyst.Ingest(ctx, []byte("junk")); apisessions.ErrorCode(err) != apisessions.EFORBIDDEN {
		t.Fatalf("analyst ingest: %v", err)
	}
	if err := node.Ingest(ctx, []byte("junk")); apisessions.ErrorCode(err) != apisessions.EINVALID {
		t.Fatalf("junk ingest: %v", err)
	}
}

func TestResponseError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		code   string
		msg    string
	}{
		{"envelope", 404, `{"error":{"code":"not_found","message":"no such session","id":"1"}}`, apisessions.ENOTFOUND, "no such session"},
		{"internal keeps id", 500, `{"error":{"code":"internal","message":"internal error","id":"abc"}}`, apisessions.EINTERNAL, "internal error (id abc)"},
		{"proxy page", 502, `<html>bad gateway</html>`, apisessions.EINTERNAL, "server answered 502 Bad Gateway"},
		{"plain 413", 413, ``, apisessions.ETOOLARGE, "server answered 413 Request Entity Too Large"},
		{"problems", 400, `{"error":{"code":"invalid","message":"configuration has 1 problem(s)"},"problems":[{"path":"retention","reason":"must be positive"}]}`,
			apisessions.EINVALID, "configuration has 1 problem(s):\nretention: must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := responseError(tc.status, []byte(tc.body))
			var ae *apisessions.Error
			if !errors.As(err, &ae) || ae.Code != tc.code || ae.Message != tc.msg {
				t.Fatalf("got %#v", err)
			}
		})
	}
}
