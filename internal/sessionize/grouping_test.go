package sessionize

import (
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

// TestGroupingKeys covers each key of the built-in set, their order, and
// configured keys before them (SPEC §4).
func TestGroupingKeys(t *testing.T) {
	jwtSID := mkJWT(map[string]any{"sid": "sess-42", "sub": "alice", "exp": 1})
	jwtSub := mkJWT(map[string]any{"sub": "bob"})
	jwtNumSub := mkJWT(map[string]any{"sub": 12345})
	jwtNone := mkJWT(map[string]any{"exp": 1})
	custom := apisessions.Config{Parameters: []apisessions.Parameter{
		prm("Bank session", "request.header.X-Bank-Session", group),
		prm("Query token", "request.query.token", group, hashed),
	}}
	tests := []struct {
		name         string
		cfg          apisessions.Config
		ex           *apisessions.Exchange
		point        string
		raw          string // the raw value, keying the session ID
		hashed       bool   // exported as md5(raw), else raw
		nonCanonical bool   // the IP(+UA) fallback is no single point
	}{
		{name: "jwt sid", ex: mkEx(hdr("Authorization", "Bearer "+jwtSID)), point: authSIDPoint, raw: "sess-42", hashed: true},
		{name: "jwt sub without sid", ex: mkEx(hdr("Authorization", "Bearer "+jwtSub)), point: authSubPoint, raw: "bob", hashed: true},
		{name: "jwt numeric sub", ex: mkEx(hdr("Authorization", "Bearer "+jwtNumSub)), point: authSubPoint, raw: "12345", hashed: true},
		{name: "jwt without sid or sub is a token", ex: mkEx(hdr("Authorization", "Bearer "+jwtNone)), point: authPoint, raw: jwtNone, hashed: true},
		{name: "bare jwt", ex: mkEx(hdr("Authorization", jwtSub)), point: authSubPoint, raw: "bob", hashed: true},
		{name: "opaque bearer", ex: mkEx(hdr("Authorization", "Bearer opaque-Tok3n")), point: authPoint, raw: "opaque-Tok3n", hashed: true},
		{name: "basic user name only", ex: mkEx(hdr("Authorization", "Basic YWxpY2U6czNjcmV0")), point: authPoint, raw: "alice", hashed: true},
		{name: "digest user name", ex: mkEx(hdr("Authorization", `Digest username="carol", realm="x", nonce="n1", response="r"`)), point: authPoint, raw: "carol", hashed: true},
		{name: "other scheme is a token", ex: mkEx(hdr("Authorization", "Token abc123")), point: authPoint, raw: "Token abc123", hashed: true},
		{name: "bad basic falls through", ex: mkEx(hdr("Authorization", "Basic %%%"), hdr("Cookie", "sid=s1")), point: "request.cookie.sid", raw: "s1", hashed: true},
		{name: "authorization before session header", ex: mkEx(hdr("X-Session-Id", "h1"), hdr("Authorization", "Bearer t1")), point: authPoint, raw: "t1", hashed: true},
		{name: "Mcp-Session-Id", ex: mkEx(hdr("Mcp-Session-Id", "m1")), point: "request.header.Mcp-Session-Id", raw: "m1", hashed: true},
		{name: "Session-Id", ex: mkEx(hdr("Session-Id", "s1")), point: "request.header.Session-Id", raw: "s1", hashed: true},
		{name: "X-Session-Id", ex: mkEx(hdr("x-session-id", "x1")), point: "request.header.X-Session-Id", raw: "x1", hashed: true},
		{name: "X-Session-Token", ex: mkEx(hdr("X-Session-Token", "x2")), point: "request.header.X-Session-Token", raw: "x2", hashed: true},
		{name: "X-Auth-Token", ex: mkEx(hdr("X-Auth-Token", "x3")), point: "request.header.X-Auth-Token", raw: "x3", hashed: true},
		{name: "X-Api-Key", ex: mkEx(hdr("X-Api-Key", "k1")), point: "request.header.X-Api-Key", raw: "k1", hashed: true},
		{name: "session headers in spec order", ex: mkEx(hdr("X-Api-Key", "k1"), hdr("Mcp-Session-Id", "m1")), point: "request.header.Mcp-Session-Id", raw: "m1", hashed: true},
		{name: "empty session header skipped", ex: mkEx(hdr("Mcp-Session-Id", " "), hdr("X-Api-Key", "k1")), point: "request.header.X-Api-Key", raw: "k1", hashed: true},
		{name: "session header before cookie", ex: mkEx(hdr("Cookie", "PHPSESSID=p1"), hdr("X-Auth-Token", "x3")), point: "request.header.X-Auth-Token", raw: "x3", hashed: true},
		{name: "PHPSESSID", ex: mkEx(hdr("Cookie", "theme=dark; PHPSESSID=p1")), point: "request.cookie.PHPSESSID", raw: "p1", hashed: true},
		{name: "JSESSIONID", ex: mkEx(hdr("Cookie", "JSESSIONID=j1")), point: "request.cookie.JSESSIONID", raw: "j1", hashed: true},
		{name: "ASP.NET_SessionId", ex: mkEx(hdr("Cookie", "ASP.NET_SessionId=a1")), point: `request.cookie["ASP.NET_SessionId"]`, raw: "a1", hashed: true},
		{name: "connect.sid", ex: mkEx(hdr("Cookie", "connect.sid=s%3Aabc")), point: `request.cookie["connect.sid"]`, raw: "s%3Aabc", hashed: true},
		{name: "laravel_session", ex: mkEx(hdr("Cookie", "laravel_session=l1")), point: "request.cookie.laravel_session", raw: "l1", hashed: true},
		{name: "sessionid", ex: mkEx(hdr("Cookie", "sessionid=d1")), point: "request.cookie.sessionid", raw: "d1", hashed: true},
		{name: "session", ex: mkEx(hdr("Cookie", "session=f1")), point: "request.cookie.session", raw: "f1", hashed: true},
		{name: "_session_id", ex: mkEx(hdr("Cookie", "_session_id=r1")), point: "request.cookie._session_id", raw: "r1", hashed: true},
		{name: "sid", ex: mkEx(hdr("Cookie", "sid=z1")), point: "request.cookie.sid", raw: "z1", hashed: true},
		{name: "quoted cookie", ex: mkEx(hdr("Cookie", `sid="z1"`)), point: "request.cookie.sid", raw: "z1", hashed: true},
		{name: "cookies in spec order, not header order", ex: mkEx(hdr("Cookie", "sid=z1; session=f1"), hdr("Cookie", "JSESSIONID=j1")), point: "request.cookie.JSESSIONID", raw: "j1", hashed: true},
		{name: "request cookie before response cookie", ex: mkEx(hdr("Cookie", "sid=z1"), respHdr("Set-Cookie", "PHPSESSID=new; Path=/")), point: "request.cookie.sid", raw: "z1", hashed: true},
		{name: "response Set-Cookie", ex: mkEx(respHdr("Set-Cookie", "theme=x"), respHdr("Set-Cookie", "PHPSESSID=ab12; Path=/; HttpOnly")), point: "response.cookie.PHPSESSID", raw: "ab12", hashed: true},
		{name: "deleting Set-Cookie opens nothing", ex: mkEx(respHdr("Set-Cookie", "PHPSESSID=deleted; Max-Age=0")), point: fallbackIPUAPoint, raw: "203.0.113.7 test-agent/1.0", nonCanonical: true},
		{name: "expired Set-Cookie opens nothing", ex: mkEx(respHdr("Set-Cookie", "sid=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT")), point: fallbackIPUAPoint, raw: "203.0.113.7 test-agent/1.0", nonCanonical: true},
		{name: "ip and user agent", ex: mkEx(), point: fallbackIPUAPoint, raw: "203.0.113.7 test-agent/1.0", nonCanonical: true},
		{name: "ip alone", ex: mkEx(noUA()), point: fallbackIPPoint, raw: "203.0.113.7"},
		{name: "custom before built-in", cfg: custom, ex: mkEx(hdr("Authorization", "Bearer t1"), hdr("X-Bank-Session", "bank-1")), point: "request.header.X-Bank-Session", raw: "bank-1"},
		{name: "custom keys in order", cfg: custom, ex: mkEx(target("https://api.example.com/x?token=qt-1"), hdr("X-Bank-Session", "bank-1")), point: "request.header.X-Bank-Session", raw: "bank-1"},
		{name: "second custom key, hashed", cfg: custom, ex: mkEx(target("https://api.example.com/x?token=qt-1"), hdr("Cookie", "sid=z1")), point: "request.query.token", raw: "qt-1", hashed: true},
		{name: "custom absent: built-in", cfg: custom, ex: mkEx(hdr("Cookie", "sid=z1")), point: "request.cookie.sid", raw: "z1", hashed: true},
		{name: "response key", cfg: apisessions.Config{Parameters: []apisessions.Parameter{prm("Login token", "response.body|json.token", group)}},
			ex: mkEx(respBody(`{"token":"rt-9"}`), hdr("Cookie", "sid=z1")), point: "response.body|json.token", raw: "rt-9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := MustSessionizer(t, tc.cfg)
			rec := MustProcess(t, s, tc.ex, apisessions.Detection{})
			if rec.Key.Point != tc.point {
				t.Errorf("key point = %q, want %q", rec.Key.Point, tc.point)
			}
			if !tc.nonCanonical {
				canonical(t, rec.Key.Point)
			}
			if rec.SessionID != sid(tc.raw) {
				t.Errorf("session ID = %s, want HMAC of %q (%s)", rec.SessionID, tc.raw, sid(tc.raw))
			}
			want := tc.raw
			if tc.hashed {
				want = md5hex(tc.raw)
			}
			if rec.Key.Value != want {
				t.Errorf("key value = %q, want %q", rec.Key.Value, want)
			}
		})
	}
}

// TestBasicNeverKeysOnPassword: two passwords of one user are one session,
// and the password appears nowhere in the record.
func TestBasicNeverKeysOnPassword(t *testing.T) {
	s := MustSessionizer(t, apisessions.Config{})
	a := MustProcess(t, s, mkEx(hdr("Authorization", "Basic YWxpY2U6czNjcmV0")), apisessions.Detection{}) // alice:s3cret
	b := MustProcess(t, s, mkEx(hdr("Authorization", "Basic YWxpY2U6b3RoZXI=")), apisessions.Detection{}) // alice:other
	if a.SessionID != b.SessionID {
		t.Fatalf("one user, two passwords: sessions %s and %s", a.SessionID, b.SessionID)
	}
	assertNoSecrets(t, []apisessions.Record{a, b}, "s3cret", "YWxpY2U6czNjcmV0", "alice")
}

// TestSessionsAcrossRequests covers the rules that need several exchanges.
func TestSessionsAcrossRequests(t *testing.T) {
	tests := []struct {
		name string
		cfg  apisessions.Config
		exs  []*apisessions.Exchange
		// same[i] tells whether exchange i+1 is in the session of exchange 0.
		same []bool
	}{
		{
			name: "login without cookie joins the session its Set-Cookie opens",
			exs: []*apisessions.Exchange{
				mkEx(method("POST"), target("https://shop.example.com/api/login"), respHdr("Set-Cookie", "PHPSESSID=ab12; Path=/")),
				mkEx(target("https://shop.example.com/api/cart"), hdr("Cookie", "PHPSESSID=ab12")),
				mkEx(target("https://shop.example.com/api/cart"), hdr("Cookie", "PHPSESSID=zz99")),
			},
			same: []bool{true, false},
		},
		{
			name: "token from a login response body later sent in the query",
			cfg: apisessions.Config{Parameters: []apisessions.Parameter{
				prm("Login token", "response.body|json.token", group, hashed),
				prm("Query token", "request.query.token", group, hashed),
			}},
			exs: []*apisessions.Exchange{
				mkEx(method("POST"), target("https://api.example.com/api/login"), respBody(`{"token":"tok-777"}`)),
				mkEx(target("https://api.example.com/api/orders?token=tok-777")),
				mkEx(target("https://other.example.com/api/orders?token=tok-777"), ip("198.51.100.1"), ua("other")),
				mkEx(target("https://api.example.com/api/orders?token=tok-888")),
			},
			same: []bool{true, true, false},
		},
		{
			name: "jwt rotation keeps sid",
			exs: []*apisessions.Exchange{
				mkEx(hdr("Authorization", "Bearer "+mkJWT(map[string]any{"sid": "s-1", "jti": "a", "exp": 100}))),
				mkEx(hdr("Authorization", "Bearer "+mkJWT(map[string]any{"sid": "s-1", "jti": "b", "exp": 200}))),
				mkEx(hdr("Authorization", "Bearer "+mkJWT(map[string]any{"sid": "s-2", "jti": "c", "exp": 200}))),
			},
			same: []bool{true, false},
		},
		{
			name: "NAT: one IP, two User-Agents",
			exs: []*apisessions.Exchange{
				mkEx(ua("Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0")),
				mkEx(ua("Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0")),
				mkEx(ua("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1")),
			},
			same: []bool{true, false},
		},
		{
			name: "sessions span hosts",
			exs: []*apisessions.Exchange{
				mkEx(target("https://a.example.com/"), hdr("Cookie", "sid=x1")),
				mkEx(target("https://b.example.org/"), hdr("Cookie", "sid=x1")),
			},
			same: []bool{true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := MustSessionizer(t, tc.cfg)
			first := MustProcess(t, s, tc.exs[0], apisessions.Detection{})
			for i, ex := range tc.exs[1:] {
				rec := MustProcess(t, s, ex, apisessions.Detection{})
				if got := rec.SessionID == first.SessionID; got != tc.same[i] {
					t.Errorf("exchange %d in the first session: %v, want %v (key %s)", i+1, got, tc.same[i], rec.Key.Point)
				}
			}
		})
	}
}

// TestSessionIDStable: the same key gives the same ID on another
// Sessionizer of the tenant (another node), and another tenant's secret gives
// another.
func TestSessionIDStable(t *testing.T) {
	ex := mkEx(hdr("Cookie", "sid=abc"))
	a := MustProcess(t, MustSessionizer(t, apisessions.Config{}), ex, apisessions.Detection{})
	b := MustProcess(t, MustSessionizer(t, apisessions.Config{HashAlgorithm: apisessions.HashHMACSHA256}), ex, apisessions.Detection{})
	if a.SessionID != b.SessionID {
		t.Fatalf("same secret, same key: %s != %s", a.SessionID, b.SessionID)
	}
	opts := DefaultOptions()
	opts.Secret = []byte("another-tenant-secret-0123456789")
	opts.Now = func() time.Time { return testNow }
	other, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	c := MustProcess(t, other, ex, apisessions.Detection{})
	if c.SessionID == a.SessionID {
		t.Fatal("another tenant's secret gave the same session ID")
	}
	if len(a.SessionID) != 64 || strings.ToLower(a.SessionID) != a.SessionID {
		t.Fatalf("session ID %q is not lowercase hex SHA-256", a.SessionID)
	}
}

// TestRequestSessionID: the denylist's request-only session ID equals
// Process's whenever the request carries its key, and never reads bodies or
// the response.
func TestRequestSessionID(t *testing.T) {
	cfg := apisessions.Config{Parameters: []apisessions.Parameter{
		prm("Login token", "response.body|json.token", group, hashed),
		prm("Body key", "request.body|json.session", group),
		prm("Query token", "request.query.token", group, hashed),
	}}
	s := MustSessionizer(t, cfg)
	tests := []struct {
		name string
		ex   *apisessions.Exchange
		same bool // equal to Process's session ID
		raw  string
	}{
		{name: "query key, the response key skipped", ex: mkEx(target("https://api.example.com/api/orders?token=tok-1"), respBody(`{"token":"other"}`)), raw: "tok-1"},
		{name: "query key", ex: mkEx(target("https://api.example.com/api/orders?token=tok-1")), same: true, raw: "tok-1"},
		{name: "cookie", ex: mkEx(hdr("Cookie", "sid=c1")), same: true, raw: "c1"},
		{name: "jwt sid", ex: mkEx(hdr("Authorization", "Bearer "+mkJWT(map[string]any{"sid": "s9"}))), same: true, raw: "s9"},
		{name: "fallback", ex: mkEx(), same: true, raw: "203.0.113.7 test-agent/1.0"},
		{name: "login response key skipped", ex: mkEx(respBody(`{"token":"tok-2"}`), respHdr("Set-Cookie", "sid=new")), raw: "203.0.113.7 test-agent/1.0"},
		{name: "body key skipped", ex: mkEx(method("POST"), body("application/json", `{"session":"b1"}`), hdr("X-Session-Id", "h1")), raw: "h1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := s.RequestSessionID(tc.ex)
			if got != sid(tc.raw) {
				t.Errorf("RequestSessionID = %s, want HMAC of %q", got, tc.raw)
			}
			rec := MustProcess(t, s, tc.ex, apisessions.Detection{})
			if (rec.SessionID == got) != tc.same {
				t.Errorf("equal to Process's ID: %v", rec.SessionID == got)
			}
		})
	}
}
