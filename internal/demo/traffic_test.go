package demo

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

func TestTrafficOptionsValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*TrafficOptions)
		want   string
	}{
		{"default is valid", func(*TrafficOptions) {}, ""},
		{"zero exchanges is valid", func(o *TrafficOptions) { o.Exchanges = 0 }, ""},
		{"negative exchanges", func(o *TrafficOptions) { o.Exchanges = -1 }, "exchanges must not be negative, not -1"},
		{"no sessions", func(o *TrafficOptions) { o.Sessions = 0 }, "sessions must be at least 1, not 0"},
		{"zero duration", func(o *TrafficOptions) { o.Duration = 0 }, "duration must be positive, not 0s"},
		{"ratio above 1", func(o *TrafficOptions) { o.AttackRatio = 1.5 }, "attack ratio must be 0 to 1, not 1.5"},
		{"ratio negative", func(o *TrafficOptions) { o.AttackRatio = -0.1 }, "attack ratio must be 0 to 1, not -0.1"},
		{"no start", func(o *TrafficOptions) { o.Start = time.Time{} }, "start time is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultTrafficOptions()
			tt.change(&o)
			err := o.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate() = %q, want %q", got, tt.want)
			}
			if tt.want != "" {
				if err := Generate(o, func(*apisessions.Exchange) error { return nil }); err == nil {
					t.Error("Generate accepted bad options")
				}
			}
		})
	}
}

func digest(t *testing.T, o TrafficOptions) [32]byte {
	t.Helper()
	h := sha256.New()
	if _, err := WriteJSONL(h, o); err != nil {
		t.Fatal(err)
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}

func TestGenerateDeterministic(t *testing.T) {
	o := DefaultTrafficOptions()
	o.Exchanges = 500
	a, b := digest(t, o), digest(t, o)
	if a != b {
		t.Fatal("same options gave different traffic")
	}
	o.Seed = 2
	if digest(t, o) == a {
		t.Fatal("another seed gave the same traffic")
	}
}

func TestGenerateStopsOnError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := Generate(DefaultTrafficOptions(), func(*apisessions.Exchange) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Fatalf("Generate = %v after %d exchanges, want stop after 10", err, n)
	}
}

// trafficStats is what TestGenerateTraffic observes in a generated file.
type trafficStats struct {
	lines, posts, jsonPosts, attacks, logins, admin, refresh int
	hosts                                                    map[string]bool
	sids                                                     map[string]bool // from cookies and JWTs
	uaByIP                                                   map[string]map[string]bool
	jwtSids, cookieSids                                      map[string]bool
}

var attackMarks = []string{"UNION", "union", "<script", "%3Cscript", "<svg", "onerror", "etc/passwd", "etc%2Fpasswd", "etc%2fpasswd",
	"etc/shadow", "win.ini", "OR+%271%27", "SLEEP(", "DROP+TABLE", "admin' --", "or 1=1"}

func TestGenerateTraffic(t *testing.T) {
	o := DefaultTrafficOptions()
	o.Exchanges, o.Sessions, o.AttackRatio = 4000, 80, 0.03
	var buf bytes.Buffer
	n, err := WriteJSONL(&buf, o)
	if err != nil || n != o.Exchanges {
		t.Fatalf("WriteJSONL = %d, %v", n, err)
	}
	st := trafficStats{hosts: map[string]bool{}, sids: map[string]bool{}, uaByIP: map[string]map[string]bool{},
		jwtSids: map[string]bool{}, cookieSids: map[string]bool{}}
	ids := map[string]bool{}
	var last time.Time
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := decodeLine(t, sc.Bytes())
		st.lines++
		if l.ID == nil || ids[*l.ID] {
			t.Fatalf("missing or repeated id in %s", sc.Bytes())
		}
		ids[*l.ID] = true
		tm, err := time.Parse(time.RFC3339Nano, l.Time)
		if err != nil {
			t.Fatal(err)
		}
		if tm.Before(last) || tm.Before(o.Start) || !tm.Before(o.Start.Add(o.Duration)) {
			t.Fatalf("time %s out of order or outside [%s, %s)", tm, o.Start, o.Start.Add(o.Duration))
		}
		last = tm
		if l.ClientIP == nil || *l.ClientIP == "" || l.Response == nil || l.Response.Status == 0 || l.Response.DurationMS <= 0 {
			t.Fatalf("incomplete exchange %s", sc.Bytes())
		}
		u, err := url.Parse(l.Request.URL)
		if err != nil {
			t.Fatal(err)
		}
		st.hosts[u.Host] = true
		raw := sc.Text()
		for _, m := range attackMarks {
			if strings.Contains(raw, m) {
				st.attacks++
				break
			}
		}
		ua := ""
		for _, h := range l.Request.Headers {
			switch h[0] {
			case "User-Agent":
				ua = h[1]
			case "Cookie":
				v, _, _ := strings.Cut(strings.TrimPrefix(h[1], "session="), ";")
				st.cookieSids[v] = true
			case "Authorization":
				st.jwtSids[jwtSid(t, strings.TrimPrefix(h[1], "Bearer "))] = true
			}
		}
		if st.uaByIP[*l.ClientIP] == nil {
			st.uaByIP[*l.ClientIP] = map[string]bool{}
		}
		st.uaByIP[*l.ClientIP][ua] = true
		if l.Request.Method == "POST" {
			st.posts++
			if l.Request.Body != nil && json.Valid([]byte(*l.Request.Body)) {
				st.jsonPosts++
			}
		}
		switch {
		case u.Path == "/api/login":
			st.logins++
		case strings.HasPrefix(u.Path, "/api/admin/"):
			st.admin++
		case u.Path == "/api/token/refresh":
			st.refresh++
		}
	}
	if st.lines != o.Exchanges {
		t.Fatalf("%d lines, want %d", st.lines, o.Exchanges)
	}
	wantAttacks := int(float64(o.Exchanges)*o.AttackRatio + 0.5)
	// A few attacker requests are its own (benign) login.
	if st.attacks < wantAttacks-3 || st.attacks > wantAttacks {
		t.Errorf("%d attacks, want about %d", st.attacks, wantAttacks)
	}
	if r := float64(st.jsonPosts) / float64(st.lines); r < 0.07 || r > 0.14 {
		t.Errorf("%.1f%% POST with JSON bodies, want about 10%%", 100*r)
	}
	if st.posts != st.jsonPosts+countLogouts(t, o) {
		t.Errorf("%d POSTs, %d with JSON bodies: only logouts have none", st.posts, st.jsonPosts)
	}
	if !st.hosts[ShopHost] || !st.hosts[APIHost] || len(st.hosts) != 2 {
		t.Errorf("hosts %v, want %s and %s", st.hosts, ShopHost, APIHost)
	}
	if st.admin == 0 || st.refresh == 0 || st.logins == 0 {
		t.Errorf("admin %d, token refreshes %d, logins %d: want some of each", st.admin, st.refresh, st.logins)
	}
	// Bearer users' JWTs keep their sid across refreshes: one sid per
	// bearer session, not one per token.
	if len(st.jwtSids) == 0 || len(st.jwtSids) > o.Sessions || len(st.cookieSids) == 0 {
		t.Errorf("%d JWT sids and %d cookie sessions for %d sessions", len(st.jwtSids), len(st.cookieSids), o.Sessions)
	}
	nat := 0
	for _, ip := range natIPs {
		if len(st.uaByIP[ip]) >= 2 {
			nat++
		}
	}
	if nat == 0 {
		t.Error("no NAT address shared by users with different User-Agents")
	}
}

func countLogouts(t *testing.T, o TrafficOptions) int {
	t.Helper()
	n := 0
	if err := Generate(o, func(ex *apisessions.Exchange) error {
		if strings.HasSuffix(ex.Request.URL, "/api/logout") {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// jwtSid returns the sid claim of a JWT, failing when the token lacks sub or sid.
func jwtSid(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Sub, Sid string }
	if err := json.Unmarshal(b, &c); err != nil || c.Sub == "" || c.Sid == "" {
		t.Fatalf("JWT payload %s: want sub and sid (%v)", b, err)
	}
	return c.Sid
}

func TestGenerateAllAttacks(t *testing.T) {
	o := DefaultTrafficOptions()
	o.Exchanges, o.AttackRatio = 100, 1
	n := 0
	if err := Generate(o, func(ex *apisessions.Exchange) error { n++; return nil }); err != nil || n != 100 {
		t.Fatalf("Generate = %v after %d", err, n)
	}
}

func TestGenerateFewerExchangesThanSessions(t *testing.T) {
	o := DefaultTrafficOptions()
	o.Exchanges, o.Sessions = 10, 1000
	n := 0
	if err := Generate(o, func(ex *apisessions.Exchange) error { n++; return nil }); err != nil || n != 10 {
		t.Fatalf("Generate = %v after %d", err, n)
	}
}

// TestGenerateConstantMemory checks that the heap does not grow with the
// number of exchanges generated.
func TestGenerateConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 300,000 exchanges")
	}
	o := DefaultTrafficOptions()
	o.Exchanges, o.Sessions = 300_000, 15_000
	var ms runtime.MemStats
	var at50k uint64
	n := 0
	err := Generate(o, func(*apisessions.Exchange) error {
		n++
		if n == 50_000 || n == o.Exchanges {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			if n == 50_000 {
				at50k = ms.HeapAlloc
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ms.HeapAlloc > at50k+1<<20 {
		t.Errorf("heap grew from %d to %d bytes between 50,000 and 300,000 exchanges", at50k, ms.HeapAlloc)
	}
}

func TestGenerateStartBetweenMilliseconds(t *testing.T) {
	o := DefaultTrafficOptions()
	o.Exchanges, o.Duration = 50, 10*time.Millisecond
	o.Start = o.Start.Add(400 * time.Microsecond)
	err := Generate(o, func(ex *apisessions.Exchange) error {
		if ex.Time.Before(o.Start) || ex.Time.Nanosecond()%int(time.Millisecond) != 0 {
			t.Fatalf("time %s: want whole milliseconds from %s", ex.Time.Format(time.RFC3339Nano), o.Start.Format(time.RFC3339Nano))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestGenerateIgnoresChangesByFn checks that what fn does to an exchange does
// not leak into the next: callers may clear or keep parts of it.
func TestGenerateIgnoresChangesByFn(t *testing.T) {
	o := DefaultTrafficOptions()
	o.Exchanges = 200
	want := digest(t, o)
	h := sha256.New()
	err := Generate(o, func(ex *apisessions.Exchange) error {
		h.Write(AppendJSONL(nil, ex))
		ex.Response = nil
		ex.Request.Headers = nil
		ex.ID = "changed"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if [32]byte(h.Sum(nil)) != want {
		t.Error("changes made by fn changed the traffic that followed")
	}
}
