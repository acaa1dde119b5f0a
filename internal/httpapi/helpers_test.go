package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/sqlite"
	"github.com/apisessions/apisessions/internal/wire"
)

// testNow is the fixed clock of the tests, after the generated traffic.
var testNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// fixture is a server on the real SQLite store (sessions and admin), with two tenants ("a", "b"), each with an admin, an analyst and a
// node token and an admin and analyst console user.
type fixture struct {
	t     *testing.T
	srv   *Server
	ts    *httptest.Server
	store apisessions.Store
	admin apisessions.AdminStore
	// tokens by "tenant/role": "a/admin", "b/node", ...
	tokens map[string]string
	mu     sync.Mutex
	now    time.Time
}

// tenantIDs are deliberately unlike the names, so that a handler using
// the name where the ID belongs fails the tests.
var tenantIDs = map[string]string{"a": "tid-a", "b": "tid-b"}

func userPassword(tenant, user string) string { return "pw-" + tenant + "-" + user }

func newFixture(t *testing.T, mod func(*Options)) *fixture {
	return newFixtureWith(t, nil, mod)
}

// newFixtureWith uses admin as the admin store (nil: the SQLite store).
func newFixtureWith(t *testing.T, admin apisessions.AdminStore, mod func(*Options)) *fixture {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "store.db"), sqlite.DefaultOptions())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if admin == nil {
		admin = st
	}
	f := &fixture{t: t, store: st, admin: admin, tokens: map[string]string{}, now: testNow}
	ctx := t.Context()
	for _, name := range []string{"a", "b"} {
		id := tenantIDs[name]
		secret := bytes.Repeat([]byte(name), 32)
		if err := f.admin.CreateTenant(ctx, apisessions.Tenant{ID: id, Name: name, Created: testNow, Secret: secret}); err != nil {
			t.Fatal(err)
		}
		for _, role := range []apisessions.Role{apisessions.RoleAdmin, apisessions.RoleAnalyst, apisessions.RoleNode} {
			secret, hash := NewToken()
			f.tokens[name+"/"+string(role)] = secret
			if err := f.admin.CreateToken(ctx, apisessions.Token{ID: name + "-" + string(role), Tenant: id, Name: name + "-" + string(role), Role: role, Hash: hash, Created: testNow}); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range []struct {
			name string
			role apisessions.Role
		}{{"alice", apisessions.RoleAdmin}, {"ann", apisessions.RoleAnalyst}} {
			// MinCost keeps the tests fast; the server checks any cost.
			h, err := bcrypt.GenerateFromPassword([]byte(userPassword(name, u.name)), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.admin.CreateUser(ctx, apisessions.User{ID: name + "-" + u.name, Tenant: id, Name: u.name, Role: u.role, PasswordHash: string(h), Created: testNow}); err != nil {
				t.Fatal(err)
			}
		}
	}
	opts := DefaultOptions()
	opts.Store = st
	opts.Admin = f.admin
	opts.Now = f.clock
	opts.PasswordCost = bcrypt.MinCost
	if mod != nil {
		mod(&opts)
	}
	f.srv = New(opts)
	f.ts = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.ts.Close)
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// call sends a request with the token of key ("a/admin"; "" for none).
func (f *fixture) call(key, method, path string, body []byte, hdr ...string) *http.Response {
	f.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(f.t.Context(), method, f.ts.URL+path, r)
	if err != nil {
		f.t.Fatal(err)
	}
	if key != "" {
		tok, ok := f.tokens[key]
		if !ok {
			f.t.Fatalf("no token %q", key)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// readBody reads and closes the body.
func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustJSON decodes a JSON answer with status want into out.
func mustJSON(t *testing.T, resp *http.Response, want int, out any) {
	t.Helper()
	b := readBody(t, resp)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
	}
}

// errorCode reads the error envelope of an answer.
func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	var e errorBody
	b := readBody(t, resp)
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error answer is not the envelope: %q", b)
	}
	if e.Error.Code == "" || e.Error.Message == "" || e.Error.ID == "" {
		t.Fatalf("incomplete error envelope: %s", b)
	}
	return e.Error.Code
}

// batch encodes records as one batch from node.
func batch(t testing.TB, node string, recs []apisessions.Record) []byte {
	t.Helper()
	b, err := wire.Marshal(&wire.Batch{ID: wire.NewID(), Node: node, Created: testNow, Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ingest sends a batch with the token of key and wants 200.
func (f *fixture) ingest(key string, body []byte) ingestResult {
	f.t.Helper()
	var res ingestResult
	mustJSON(f.t, f.call(key, "POST", "/api/v1/ingest", body, "Content-Type", wire.ContentType), 200, &res)
	return res
}

// genRecords returns n records of the given number of sessions over two
// days, deterministically, with IDs and session IDs starting with prefix.
// (Made here rather than with storetest's generator, so that these tests do
// not move when another package's do.)
func genRecords(prefix string, n, sessions int) []apisessions.Record {
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	methods := []string{"GET", "POST", "DELETE", "PUT"}
	endpoints := []string{"/api/users/{int}", "/api/login", "/api/cart", "/api/items/{int}"}
	recs := make([]apisessions.Record, n)
	for i := range recs {
		s := i % sessions
		day := (i / sessions) % 2
		tm := base.Add(time.Duration(day)*24*time.Hour + time.Duration(s)*time.Minute + time.Duration(i)*time.Second)
		m := methods[(i+s)%len(methods)]
		r := apisessions.Record{
			ID:        fmt.Sprintf("%sreq-%06d", prefix, i),
			SessionID: fmt.Sprintf("%ssess-%04d", prefix, s),
			Day:       tm.Format(time.DateOnly),
			Time:      tm,
			Method:    m, Host: "shop.example.com", Path: fmt.Sprintf("/api/x/%d", i),
			Endpoint: m + " " + endpoints[i%len(endpoints)], Status: []int{200, 201, 404, 500}[i%4],
			DurationMS: float64(i%300) + 0.5, ResponseSize: int64(100 * i), ClientIP: fmt.Sprintf("10.0.%d.%d", s%250, i%250),
			UserAgent: "agent/" + strconv.Itoa(s%3), Application: 1 + s%3,
			Key:  apisessions.Key{Point: "request.cookie.sid", Value: fmt.Sprintf("k%d", s)},
			User: fmt.Sprintf("user%d", s%5), Role: []string{"admin", "viewer"}[s%2],
			Params:  []apisessions.Param{{Name: "user", Point: "request.body|json.user", Value: fmt.Sprintf("user%d", s%5), Type: "user"}},
			Flows:   []string{[]string{"login", "checkout", "search"}[i%3]},
			Verdict: apisessions.VerdictClean, Mode: apisessions.ModeMonitoring,
		}
		if i%7 == 3 {
			r.Verdict, r.Score = apisessions.VerdictAttack, 8
			r.Findings = []apisessions.Finding{{Type: apisessions.AttackSQLi, RuleIDs: []int{942100}, Score: 8, Point: "request.query.id", Payload: "1 or 1=1"}}
		}
		if i%11 == 5 {
			r.Blocked, r.BlockReason = true, "attack"
		}
		recs[i] = r
	}
	return recs
}

func hasPrefixAll(ids []string, prefix string) bool {
	for _, id := range ids {
		if !strings.HasPrefix(id, prefix) {
			return false
		}
	}
	return true
}
