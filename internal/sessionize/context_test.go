package sessionize

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

// TestDayParts: a session crossing midnight has two day parts and one ID,
// in UTC and in another day_timezone.
func TestDayParts(t *testing.T) {
	tests := []struct {
		name     string
		tz       string
		times    []time.Time
		wantDays []string
	}{
		{
			name:     "UTC midnight",
			times:    []time.Time{time.Date(2026, 11, 19, 23, 59, 30, 0, time.UTC), time.Date(2026, 11, 20, 0, 0, 30, 0, time.UTC)},
			wantDays: []string{"2026-11-19", "2026-11-20"},
		},
		{
			name:     "New York midnight is 05:00 UTC in November",
			tz:       "America/New_York",
			times:    []time.Time{time.Date(2026, 11, 20, 4, 59, 0, 0, time.UTC), time.Date(2026, 11, 20, 5, 1, 0, 0, time.UTC)},
			wantDays: []string{"2026-11-19", "2026-11-20"},
		},
		{
			name:     "UTC midnight is no split in New York",
			tz:       "America/New_York",
			times:    []time.Time{time.Date(2026, 11, 19, 23, 59, 30, 0, time.UTC), time.Date(2026, 11, 20, 0, 0, 30, 0, time.UTC)},
			wantDays: []string{"2026-11-19", "2026-11-19"},
		},
		{
			name:     "Tokyo",
			tz:       "Asia/Tokyo",
			times:    []time.Time{time.Date(2026, 11, 19, 14, 59, 0, 0, time.UTC), time.Date(2026, 11, 19, 15, 0, 0, 0, time.UTC)},
			wantDays: []string{"2026-11-19", "2026-11-20"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := MustSessionizer(t, apisessions.Config{DayTimezone: tc.tz})
			var ids []string
			for i, tm := range tc.times {
				rec := MustProcess(t, s, mkEx(at(tm), hdr("Cookie", "sid=night-owl")), apisessions.Detection{})
				if rec.Day != tc.wantDays[i] {
					t.Errorf("request %d at %s: day %s, want %s", i, tm, rec.Day, tc.wantDays[i])
				}
				if !rec.Time.Equal(tm) {
					t.Errorf("request %d: time %s, want %s", i, rec.Time, tm)
				}
				ids = append(ids, rec.SessionID)
			}
			if ids[0] != ids[1] {
				t.Errorf("session ID changed across the day: %s, %s", ids[0], ids[1])
			}
		})
	}
}

// TestUserRoleParamsHashing covers user and role (first non-empty value of
// their type), exported parameters, and both hash algorithms.
func TestUserRoleParamsHashing(t *testing.T) {
	params := []apisessions.Parameter{
		prm("Username", "request.body|json.username", typ(apisessions.ParamUser)),
		prm("Login", "request.header.X-Login", typ(apisessions.ParamUser), hashed),
		prm("Role", "response.body|json.role", typ(apisessions.ParamRole)),
		prm("Email", "request.header.X-Customer-Email", hashed),
		prm("Order", "request.body|json.order_id"),
	}
	ex := func(opts ...exOpt) *apisessions.Exchange {
		return mkEx(append([]exOpt{method("POST"), target("https://shop.example.com/api/orders")}, opts...)...)
	}
	hmacHex := func(v string) string {
		m := hmac.New(sha256.New, testSecret)
		m.Write([]byte(v))
		return hex.EncodeToString(m.Sum(nil))
	}
	tests := []struct {
		name       string
		algo       string
		ex         *apisessions.Exchange
		user, role string
		params     map[string]string // name -> exported value
		hashed     map[string]bool
	}{
		{
			name: "first user type wins, role from the response",
			ex: ex(body("application/json", `{"username":"alice","order_id":77}`), hdr("X-Login", "alice-login"),
				respBody(`{"role":"admin"}`)),
			user: "alice", role: "admin",
			params: map[string]string{"Username": "alice", "Login": md5hex("alice-login"), "Role": "admin", "Order": "77"},
			hashed: map[string]bool{"Login": true},
		},
		{
			name:   "absent first user: the next, hashed (md5)",
			ex:     ex(hdr("X-Login", "bob-login"), hdr("X-Customer-Email", "bob@example.com")),
			user:   md5hex("bob-login"),
			params: map[string]string{"Login": md5hex("bob-login"), "Email": md5hex("bob@example.com")},
			hashed: map[string]bool{"Login": true, "Email": true},
		},
		{
			name:   "hmac-sha256",
			algo:   apisessions.HashHMACSHA256,
			ex:     ex(hdr("X-Login", "bob-login"), hdr("X-Customer-Email", "bob@example.com")),
			user:   hmacHex("bob-login"),
			params: map[string]string{"Login": hmacHex("bob-login"), "Email": hmacHex("bob@example.com")},
			hashed: map[string]bool{"Login": true, "Email": true},
		},
		{
			name:   "nothing configured present",
			ex:     ex(body("application/json", `{"username":""}`)),
			params: map[string]string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := MustSessionizer(t, apisessions.Config{Parameters: params, HashAlgorithm: tc.algo})
			rec := MustProcess(t, s, tc.ex, apisessions.Detection{})
			if rec.User != tc.user || rec.Role != tc.role {
				t.Errorf("user, role = %q, %q; want %q, %q", rec.User, rec.Role, tc.user, tc.role)
			}
			if len(rec.Params) != len(tc.params) {
				t.Errorf("params %+v, want %d of them", rec.Params, len(tc.params))
			}
			for _, p := range rec.Params {
				want, ok := tc.params[p.Name]
				if !ok {
					t.Errorf("unexpected param %+v", p)
					continue
				}
				if p.Value != want || p.Hashed != tc.hashed[p.Name] {
					t.Errorf("param %s = %q hashed %v, want %q hashed %v", p.Name, p.Value, p.Hashed, want, tc.hashed[p.Name])
				}
				for _, cp := range params {
					if cp.Name == p.Name && (cp.Point != p.Point || cp.Type != p.Type) {
						t.Errorf("param %s: point %q type %q, want %q %q", p.Name, p.Point, p.Type, cp.Point, cp.Type)
					}
				}
			}
		})
	}
}

// TestClientIP: forwarding headers count only from trusted proxies.
func TestClientIP(t *testing.T) {
	trusted := []string{"10.0.0.0/8", "192.0.2.1"}
	tests := []struct {
		name    string
		proxies []string
		peer    string
		hdrs    [][2]string
		want    string
	}{
		{name: "no proxies configured", peer: "10.1.2.3", hdrs: [][2]string{{"X-Forwarded-For", "1.1.1.1"}}, want: "10.1.2.3"},
		{name: "untrusted peer", proxies: trusted, peer: "198.51.100.9", hdrs: [][2]string{{"X-Forwarded-For", "1.1.1.1"}}, want: "198.51.100.9"},
		{name: "trusted peer", proxies: trusted, peer: "10.1.2.3", hdrs: [][2]string{{"X-Forwarded-For", "1.1.1.1"}}, want: "1.1.1.1"},
		{name: "bare address proxy, peer with port", proxies: trusted, peer: "192.0.2.1:5555", hdrs: [][2]string{{"X-Forwarded-For", "1.1.1.1"}}, want: "1.1.1.1"},
		{name: "rightmost untrusted wins over spoofed left", proxies: trusted, peer: "10.1.2.3", hdrs: [][2]string{{"X-Forwarded-For", "6.6.6.6, 1.1.1.1, 10.9.9.9"}}, want: "1.1.1.1"},
		{name: "repeated headers join", proxies: trusted, peer: "10.1.2.3", hdrs: [][2]string{{"X-Forwarded-For", "6.6.6.6"}, {"X-Forwarded-For", "2.2.2.2"}}, want: "2.2.2.2"},
		{name: "all trusted: leftmost", proxies: trusted, peer: "10.1.2.3", hdrs: [][2]string{{"X-Forwarded-For", "10.5.5.5, 10.6.6.6"}}, want: "10.5.5.5"},
		{name: "garbage stops at last good hop", proxies: trusted, peer: "10.1.2.3", hdrs: [][2]string{{"X-Forwarded-For", "1.1.1.1, not-an-ip, 10.6.6.6"}}, want: "10.6.6.6"},
		{name: "X-Real-IP", proxies: trusted, peer: "10.1.2.3", hdrs: [][2]string{{"X-Real-IP", "3.3.3.3"}}, want: "3.3.3.3"},
		{name: "X-Real-IP from untrusted peer ignored", proxies: trusted, peer: "8.8.8.8", hdrs: [][2]string{{"X-Real-IP", "3.3.3.3"}}, want: "8.8.8.8"},
		{name: "ipv6 and mapped", proxies: []string{"::ffff:10.0.0.0/104", "2001:db8::/32"}, peer: "[2001:db8::1]:443", hdrs: [][2]string{{"X-Forwarded-For", "[2001:db8:1::5]:1234, ::ffff:10.0.0.7"}}, want: "2001:db8:1::5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := MustSessionizer(t, apisessions.Config{
				TrustedProxies: tc.proxies,
				Parameters:     []apisessions.Parameter{prm("IP", "request.ip")},
			})
			opts := []exOpt{ip(tc.peer), noUA()}
			for _, h := range tc.hdrs {
				opts = append(opts, hdr(h[0], h[1]))
			}
			rec := MustProcess(t, s, mkEx(opts...), apisessions.Detection{})
			if rec.ClientIP != tc.want {
				t.Errorf("client IP = %q, want %q", rec.ClientIP, tc.want)
			}
			if rec.Key.Value != tc.want || rec.SessionID != sid(tc.want) {
				t.Errorf("fallback key = %q, want the resolved IP %q", rec.Key.Value, tc.want)
			}
			if len(rec.Params) != 1 || rec.Params[0].Value != tc.want {
				t.Errorf("request.ip parameter = %+v, want %q", rec.Params, tc.want)
			}
		})
	}
}

// TestScope covers applications, analyze scope, mode off and retention.
func TestScope(t *testing.T) {
	apps := []apisessions.Application{
		{ID: 1, Name: "shop", Hosts: []string{"shop.example.com", "*.shop.example.com"}},
		{ID: 2, Name: "bank", Hosts: []string{"bank.example.com"}, Mode: apisessions.ModeBlocking},
		{ID: 3, Name: "legacy", Hosts: []string{"legacy.example.com"}, Mode: apisessions.ModeOff},
	}
	tests := []struct {
		name string
		cfg  apisessions.Config
		ex   *apisessions.Exchange
		want Outcome
		app  int
		mode string
	}{
		{name: "exact host", cfg: apisessions.Config{Applications: apps}, ex: mkEx(target("https://shop.example.com/")), want: Stored, app: 1, mode: "monitoring"},
		{name: "wildcard host, port, case", cfg: apisessions.Config{Applications: apps}, ex: mkEx(target("https://EU.Shop.example.com:8443/")), want: Stored, app: 1, mode: "monitoring"},
		{name: "Host header", cfg: apisessions.Config{Applications: apps}, ex: mkEx(target("/api"), hdr("Host", "bank.example.com")), want: Stored, app: 2, mode: "blocking"},
		{name: "star inside a pattern", cfg: apisessions.Config{Applications: []apisessions.Application{{ID: 4, Hosts: []string{"api-*.example.net:443"}}}}, ex: mkEx(target("https://api-eu.example.net/")), want: Stored, app: 4, mode: "monitoring"},
		{name: "no application", cfg: apisessions.Config{Applications: apps}, ex: mkEx(target("https://other.example.com/")), want: Stored, app: 0, mode: "monitoring"},
		{name: "mode off", cfg: apisessions.Config{Applications: apps}, ex: mkEx(target("https://legacy.example.com/")), want: OutOfScope},
		{name: "analyze by application", cfg: apisessions.Config{Applications: apps, Analyze: apisessions.Analyze{Applications: []int{2}}}, ex: mkEx(target("https://shop.example.com/")), want: OutOfScope},
		{name: "analyze by application, in", cfg: apisessions.Config{Applications: apps, Analyze: apisessions.Analyze{Applications: []int{2}}}, ex: mkEx(target("https://bank.example.com/")), want: Stored, app: 2, mode: "blocking"},
		{name: "analyze by host", cfg: apisessions.Config{Applications: apps, Analyze: apisessions.Analyze{Hosts: []string{"*.example.org"}}}, ex: mkEx(target("https://api.example.org/")), want: Stored, mode: "monitoring"},
		{name: "analyze by host, out", cfg: apisessions.Config{Applications: apps, Analyze: apisessions.Analyze{Hosts: []string{"*.example.org"}}}, ex: mkEx(target("https://example.org/")), want: OutOfScope},
		{name: "too old (default 7 days)", ex: mkEx(at(testNow.Add(-7*24*time.Hour - time.Second))), want: TooOld},
		{name: "just inside retention", ex: mkEx(at(testNow.Add(-7*24*time.Hour + time.Second))), want: Stored, mode: "monitoring"},
		{name: "too old (configured 24h)", cfg: apisessions.Config{Retention: apisessions.Duration(24 * time.Hour)}, ex: mkEx(at(testNow.Add(-25 * time.Hour))), want: TooOld},
		{name: "out of scope before too old", cfg: apisessions.Config{Applications: apps}, ex: mkEx(target("https://legacy.example.com/"), at(testNow.Add(-30*24*time.Hour))), want: OutOfScope},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := MustSessionizer(t, tc.cfg)
			rec := apisessions.Record{ID: "stale", Params: []apisessions.Param{{Name: "stale"}}}
			got, err := s.Process(tc.ex, apisessions.Detection{}, &rec)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("outcome %v, want %v", got, tc.want)
			}
			if sc := s.Scope(tc.ex); sc.Outcome != got || (got == Stored && (sc.Application != rec.Application || sc.Mode != rec.Mode)) {
				t.Errorf("Scope = %+v, Process gave %v app %d mode %q", sc, got, rec.Application, rec.Mode)
			}
			if got != Stored {
				if rec.ID != "" || rec.Params != nil {
					t.Errorf("record not cleared on %v: %+v", got, rec)
				}
				return
			}
			if rec.Application != tc.app || rec.Mode != tc.mode {
				t.Errorf("application %d mode %q, want %d %q", rec.Application, rec.Mode, tc.app, tc.mode)
			}
		})
	}
}

// TestRecordFields covers the metadata taken from the exchange and the
// request ID.
func TestRecordFields(t *testing.T) {
	s := MustSessionizer(t, apisessions.Config{})
	ex := mkEx(id("r-0001"), method("post"), target("https://API.example.com:8443/api/users/42/orders?token=abc#frag"),
		body("application/json", `{"a":1}`), respBody(`{"ok":true}`))
	rec := MustProcess(t, s, ex, apisessions.Detection{Verdict: apisessions.VerdictClean, Partial: true})
	want := apisessions.Record{
		ID: "r-0001", Method: "post", Host: "api.example.com:8443", Path: "/api/users/42/orders",
		Endpoint: "POST /api/users/{int}/orders", Status: 200, DurationMS: 12.5, ResponseSize: 11,
		ClientIP: "203.0.113.7", UserAgent: "test-agent/1.0", Mode: "monitoring", Verdict: apisessions.VerdictClean, Partial: true,
	}
	got := rec
	got.SessionID, got.Day, got.Time, got.Key, got.Params, got.Flows, got.Findings = "", "", time.Time{}, apisessions.Key{}, nil, nil, nil
	if got.ID != want.ID || got.Method != want.Method || got.Host != want.Host || got.Path != want.Path ||
		got.Endpoint != want.Endpoint || got.Status != want.Status || got.DurationMS != want.DurationMS ||
		got.ResponseSize != want.ResponseSize || got.ClientIP != want.ClientIP || got.UserAgent != want.UserAgent ||
		got.Mode != want.Mode || got.Verdict != want.Verdict || got.Partial != want.Partial || got.Content != nil {
		t.Errorf("record\n got %+v\nwant %+v", got, want)
	}
	if rec.Params == nil || rec.Flows == nil || rec.Findings == nil {
		t.Errorf("params, flows, findings must be empty lists, not null: %v %v %v", rec.Params, rec.Flows, rec.Findings)
	}

	noResp := mkEx()
	noResp.Response = nil
	r2 := MustProcess(t, s, noResp, apisessions.Detection{})
	if r2.Status != 0 || r2.DurationMS != 0 || r2.ResponseSize != 0 {
		t.Errorf("no response: status %d duration %v size %d", r2.Status, r2.DurationMS, r2.ResponseSize)
	}
}

// TestDerivedRequestID: an exchange without ID gets one derived from its
// content, the same on re-import, different for different content.
func TestDerivedRequestID(t *testing.T) {
	base := func(opts ...exOpt) *apisessions.Exchange {
		return mkEx(append([]exOpt{method("POST"), body("application/json", `{"q":1}`)}, opts...)...)
	}
	a := MustProcess(t, MustSessionizer(t, apisessions.Config{}), base(), apisessions.Detection{})
	b := MustProcess(t, MustSessionizer(t, apisessions.Config{}), base(), apisessions.Detection{})
	if a.ID == "" || a.ID != b.ID {
		t.Fatalf("re-import: IDs %q and %q, want equal and non-empty", a.ID, b.ID)
	}
	variants := map[string]*apisessions.Exchange{
		"time":   base(at(testNow.Add(-time.Hour + time.Millisecond))),
		"ip":     base(ip("203.0.113.8")),
		"method": base(method("PUT")),
		"url":    base(target("https://api.example.com/api/items?x=1")),
		"body":   base(func(ex *apisessions.Exchange) { ex.Request.Body = []byte(`{"q":2}`) }),
		"header": base(hdr("X-Other", "1")),
	}
	for name, ex := range variants {
		r := MustProcess(t, MustSessionizer(t, apisessions.Config{}), ex, apisessions.Detection{})
		if r.ID == a.ID {
			t.Errorf("changing the %s kept the derived ID", name)
		}
	}
	// IDs sort by exchange time, so a store's index of IDs is appended to.
	var prev string
	for i := range 50 {
		ex := base(at(testNow.Add(time.Duration(i*i) * time.Millisecond)))
		ex.Request.Body = []byte(`{"q":` + strconv.Itoa(50-i) + `}`)
		id := MustProcess(t, MustSessionizer(t, apisessions.Config{}), ex, apisessions.Detection{}).ID
		if len(id) != 32 || id <= prev {
			t.Fatalf("exchange %d: derived ID %q after %q, want 32 hex digits in time order", i, id, prev)
		}
		prev = id
	}
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name   string
		cfg    apisessions.Config
		secret []byte
	}{
		{name: "short secret", secret: []byte("short")},
		{name: "bad timezone", cfg: apisessions.Config{DayTimezone: "Mars/Olympus"}},
		{name: "bad hash algorithm", cfg: apisessions.Config{HashAlgorithm: "sha1"}},
		{name: "bad point", cfg: apisessions.Config{Parameters: []apisessions.Parameter{prm("x", "request.nope")}}},
		{name: "bad mask", cfg: apisessions.Config{Mask: []string{"body.password"}}},
		{name: "bad proxy", cfg: apisessions.Config{TrustedProxies: []string{"10.0.0.0/99"}}},
		{name: "empty host pattern", cfg: apisessions.Config{Applications: []apisessions.Application{{ID: 1, Hosts: []string{" "}}}}},
		{name: "bad mode", cfg: apisessions.Config{Applications: []apisessions.Application{{ID: 1, Mode: "loud"}}}},
		{name: "masked grouping key", cfg: apisessions.Config{
			Mask:       []string{"request.body|json.user"},
			Parameters: []apisessions.Parameter{prm("k", "request.body|json.user.id", group)},
		}},
		{name: "too many parameters", cfg: apisessions.Config{Parameters: make([]apisessions.Parameter, apisessions.MaxParameters+1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultOptions()
			opts.Config = tc.cfg
			opts.Secret = testSecret
			if tc.secret != nil {
				opts.Secret = tc.secret
			}
			if _, err := New(opts); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
	if _, err := MustSessionizer(t, apisessions.Config{}).Process(nil, apisessions.Detection{}, &apisessions.Record{}); err == nil {
		t.Error("Process accepted a nil exchange")
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{Stored: "stored", OutOfScope: "out_of_scope", TooOld: "too_old", Outcome(9): "outcome(9)"} {
		if got := o.String(); got != want {
			t.Errorf("%d: %q, want %q", int(o), got, want)
		}
	}
}
