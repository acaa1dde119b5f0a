package apisessions_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

func TestExchangeURLParts(t *testing.T) {
	tests := []struct {
		url, hostHeader           string
		host, target, path, query string
	}{
		{"https://shop.example.com/api/login?next=%2F", "", "shop.example.com", "/api/login?next=%2F", "/api/login", "next=%2F"},
		{"http://user:pw@h.example:8080?x=1", "", "h.example:8080", "/?x=1", "/", "x=1"},
		{"/api/items/7#frag", "api.example.com", "api.example.com", "/api/items/7", "/api/items/7", ""},
		{"https://h.example", "", "h.example", "/", "/", ""},
		{"", "", "", "", "/", ""},
		{"/login?next=https://evil.example/x", "shop.example.com", "shop.example.com", "/login?next=https://evil.example/x", "/login", "next=https://evil.example/x"},
		{"https://h.example/r?u=http://x/y", "", "h.example", "/r?u=http://x/y", "/r", "u=http://x/y"},
		{"https://[2001:db8::1]:8443/a", "", "[2001:db8::1]:8443", "/a", "/a", ""},
		{"https://[2001:db8::1]/a", "", "[2001:db8::1]", "/a", "/a", ""},
		// An authority cut by a '?' in its userinfo: "u:secret" is no host.
		{"https://u:secret?x@h.example/a", "h.example", "h.example", "/?x@h.example/a", "/", "x@h.example/a"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			ex := &apisessions.Exchange{Request: apisessions.Request{URL: tt.url}}
			if tt.hostHeader != "" {
				ex.Request.Headers = apisessions.Headers{{Name: "host", Value: tt.hostHeader}}
			}
			if got := ex.Host(); got != tt.host {
				t.Errorf("Host() = %q, want %q", got, tt.host)
			}
			if got := ex.Target(); got != tt.target {
				t.Errorf("Target() = %q, want %q", got, tt.target)
			}
			if got := ex.Path(); got != tt.path {
				t.Errorf("Path() = %q, want %q", got, tt.path)
			}
			if got := ex.RawQuery(); got != tt.query {
				t.Errorf("RawQuery() = %q, want %q", got, tt.query)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	h := apisessions.Headers{{"Set-Cookie", "a=1"}, {"content-type", "text/plain"}, {"set-cookie", "b=2"}}
	if v, ok := h.Get("Content-Type"); !ok || v != "text/plain" {
		t.Errorf("Get = %q, %v", v, ok)
	}
	if _, ok := h.Get("X-Missing"); ok {
		t.Error("Get of a missing header reported it present")
	}
	if got := h.Values("SET-COOKIE"); !reflect.DeepEqual(got, []string{"a=1", "b=2"}) {
		t.Errorf("Values = %q", got)
	}
}

func TestExpiredDays(t *testing.T) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	days := []string{"2026-11-12", "2026-11-13", "2026-11-14", "2026-11-20", "garbage"}
	got := apisessions.ExpiredDays(days, now, 7*24*time.Hour, time.UTC)
	// The window starts 2026-11-13T10:00: the 13th still has data inside it.
	want := []string{"2026-11-12"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ExpiredDays = %v, want %v", got, want)
	}
	if got := apisessions.ExpiredDays(days, now.Add(14*time.Hour), 7*24*time.Hour, time.UTC); !reflect.DeepEqual(got, []string{"2026-11-12", "2026-11-13"}) {
		t.Errorf("a day later ExpiredDays = %v", got)
	}
}

func TestSummarize(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 23, 50, 0, 0, time.UTC)
	day1 := apisessions.Session{
		ID: "s", Day: "2026-11-20", FirstSeen: t0, LastSeen: t0.Add(5 * time.Minute),
		RequestCount: 3, AttackCount: 1, Key: apisessions.Key{Point: "request.cookie.sid", Value: "h1"},
		Role:  "admin",
		Users: []apisessions.NameCount{}, Roles: []apisessions.NameCount{{"admin", 3}},
		ClientIPs: []string{"198.51.100.1"}, Hosts: []string{"a"},
		Endpoints: []apisessions.EndpointCount{{"GET /x", 3}},
		Statuses:  []apisessions.StatusCount{{200, 3}},
		Methods:   []apisessions.NameCount{{"GET", 3}},
	}
	day2 := apisessions.Session{
		ID: "s", Day: "2026-11-21", FirstSeen: t0.Add(20 * time.Minute), LastSeen: t0.Add(30 * time.Minute),
		RequestCount: 2, Blocked: true, Key: apisessions.Key{Point: "request.cookie.sid", Value: "h1"},
		User: "alice", Users: []apisessions.NameCount{{"alice", 2}},
		ClientIPs: []string{"198.51.100.2", "198.51.100.1"}, Hosts: []string{"b"},
		Endpoints: []apisessions.EndpointCount{{"GET /x", 1}, {"POST /y", 1}},
		Statuses:  []apisessions.StatusCount{{200, 1}, {403, 1}},
		Methods:   []apisessions.NameCount{{"GET", 1}, {"POST", 1}},
	}
	// Order of the parts must not matter.
	for _, parts := range [][]apisessions.Session{{day1, day2}, {day2, day1}} {
		s := apisessions.Summarize(parts)
		if s.Day != "2026-11-20" || !s.FirstSeen.Equal(t0) || !s.LastSeen.Equal(t0.Add(30*time.Minute)) {
			t.Errorf("day %s first %v last %v", s.Day, s.FirstSeen, s.LastSeen)
		}
		if s.RequestCount != 5 || s.AttackCount != 1 || !s.Blocked {
			t.Errorf("counts %d/%d blocked %v", s.RequestCount, s.AttackCount, s.Blocked)
		}
		if s.User != "alice" || s.Role != "admin" {
			t.Errorf("user %q role %q", s.User, s.Role)
		}
		if !reflect.DeepEqual(s.ClientIPs, []string{"198.51.100.1", "198.51.100.2"}) || !reflect.DeepEqual(s.Hosts, []string{"a", "b"}) {
			t.Errorf("ips %v hosts %v", s.ClientIPs, s.Hosts)
		}
		if !reflect.DeepEqual(s.Endpoints, []apisessions.EndpointCount{{"GET /x", 4}, {"POST /y", 1}}) {
			t.Errorf("endpoints %v", s.Endpoints)
		}
		if !reflect.DeepEqual(s.Statuses, []apisessions.StatusCount{{200, 4}, {403, 1}}) {
			t.Errorf("statuses %v", s.Statuses)
		}
		if !reflect.DeepEqual(s.Methods, []apisessions.NameCount{{"GET", 4}, {"POST", 1}}) {
			t.Errorf("methods %v", s.Methods)
		}
	}
	// The inputs are left alone.
	if day1.Endpoints[0].Requests != 3 || len(day1.ClientIPs) != 1 {
		t.Error("Summarize changed its input")
	}
}

func TestDuration(t *testing.T) {
	var d apisessions.Duration
	for in, want := range map[string]time.Duration{"168h": 168 * time.Hour, "7d": 7 * 24 * time.Hour, "90m": 90 * time.Minute} {
		if err := d.UnmarshalText([]byte(in)); err != nil || time.Duration(d) != want {
			t.Errorf("%s: %v %v", in, time.Duration(d), err)
		}
	}
	for _, in := range []string{"", "7", "d", "7dd", "1.5d", "x7d"} {
		if err := d.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestErrorCode(t *testing.T) {
	err := apisessions.Errorf(apisessions.ENOTFOUND, "session %s not found", "x")
	if apisessions.ErrorCode(err) != apisessions.ENOTFOUND || apisessions.ErrorMessage(err) != "session x not found" {
		t.Errorf("%v", err)
	}
	if apisessions.ErrorCode(nil) != "" || apisessions.ErrorCode(errString("boom")) != apisessions.EINTERNAL || apisessions.ErrorMessage(errString("boom")) != "internal error" {
		t.Error("non-coded errors must be internal")
	}
}

type errString string

func (e errString) Error() string { return string(e) }
