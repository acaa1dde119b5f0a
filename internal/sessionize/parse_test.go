package sessionize

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/point"
)

// Fuzz tests of the small parsers of this package: Authorization values,
// Cookie and Set-Cookie lines, X-Forwarded-For lists and the JSON masker.
// Seeds are the table cases of the tests above and a few hostile inputs.

func FuzzAuthorizationKey(f *testing.F) {
	for _, s := range []string{
		"Bearer " + mkJWT(map[string]any{"sid": "sess-42"}), "Bearer " + mkJWT(map[string]any{"sub": 7}), mkJWT(map[string]any{"exp": 1}),
		"Bearer opaque", "Basic YWxpY2U6czNjcmV0", "Basic %%%", `Digest username="carol", nonce="n"`, "Token abc",
		"Bearer a.b.c", "Bearer a..c", "Bearer ...", "", "  ", "Basic ", "Bearer " + strings.Repeat("A", 30000) + ".x.y",
	} {
		f.Add(s)
	}
	ev := point.NewEvaluator(point.DefaultLimits())
	sidP, subP := point.MustParse(authSIDPoint), point.MustParse(authSubPoint)
	f.Fuzz(func(t *testing.T, v string) {
		ex := &apisessions.Exchange{Request: apisessions.Request{Headers: apisessions.Headers{{Name: "Authorization", Value: v}}}}
		ev.Reset(ex)
		claims := func() (string, string) {
			a, _ := ev.First(sidP)
			b, _ := ev.First(subP)
			return a, b
		}
		val, pt, _ := authorizationKey(v, claims)
		if val != "" && pt != authPoint && pt != authSIDPoint && pt != authSubPoint {
			t.Fatalf("authorizationKey(%q) point %q", v, pt)
		}
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "basic ") && strings.Contains(val, ":") && pt != authPoint {
			t.Fatalf("basic value %q from %q", val, v)
		}
	})
}

func TestCookieParsing(t *testing.T) {
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, line, cookie, want string
		set                      bool
	}{
		{name: "plain", line: "a=1; sid=xyz; b=2", cookie: "sid", want: "xyz"},
		{name: "spaces", line: " sid = xyz ;b=2", cookie: "sid", want: "xyz"},
		{name: "prefix name is not the name", line: "xsid=1; sidx=2", cookie: "sid", want: ""},
		{name: "empty value, later one", line: "sid=; sid=2", cookie: "sid", want: "2"},
		{name: "no equals", line: "sid", cookie: "sid", want: ""},
		{name: "set-cookie", line: "sid=abc; Path=/; HttpOnly", cookie: "sid", want: "abc", set: true},
		{name: "set-cookie max-age 0", line: "sid=abc; Max-Age=0", cookie: "sid", want: "", set: true},
		{name: "set-cookie future expiry", line: "sid=abc; Expires=Wed, 01 Jan 2031 00:00:00 GMT", cookie: "sid", want: "abc", set: true},
		{name: "set-cookie past expiry", line: "sid=abc; expires=Thu, 01 Jan 1970 00:00:00 GMT", cookie: "sid", want: "", set: true},
		{name: "set-cookie other name", line: "other=abc", cookie: "sid", want: "", set: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			if tc.set {
				got = setCookieValue(tc.line, tc.cookie, at)
			} else {
				got = cookieValue(tc.line, tc.cookie)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzCookies(f *testing.F) {
	for _, s := range []string{"a=1; sid=xyz; b=2", " sid = xyz ;b=2", "sid=; sid=2", "sid", `sid="q"`, "sid=abc; Max-Age=0", "sid=abc; Expires=x", ";;;=;="} {
		f.Add(s)
	}
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, line string) {
		for _, name := range sessionCookies {
			if v := cookieValue(line, name); v != "" && !strings.Contains(line, v) {
				t.Fatalf("cookie value %q not in %q", v, line)
			}
			if v := setCookieValue(line, name, at); v != "" && !strings.Contains(line, v) {
				t.Fatalf("set-cookie value %q not in %q", v, line)
			}
		}
		m := maskCookies(line)
		if strings.Count(m, ";") != strings.Count(line, ";") {
			t.Fatalf("maskCookies(%q) = %q: cookies lost", line, m)
		}
	})
}

func FuzzResolveXFF(f *testing.F) {
	for _, s := range []string{"6.6.6.6, 1.1.1.1, 10.9.9.9", "10.5.5.5, 10.6.6.6", "1.1.1.1, not-an-ip, 10.6.6.6", "[2001:db8:1::5]:1234, ::ffff:10.0.0.7", "", ",,,", "1.1.1.1:80"} {
		f.Add(s)
	}
	tenNet := netip.MustParsePrefix("10.0.0.0/8")
	trusted := func(a netip.Addr) bool { return tenNet.Contains(a) }
	peer := netip.MustParseAddr("10.1.2.3")
	f.Fuzz(func(t *testing.T, list string) {
		got := resolveXFF(list, peer, trusted)
		if got == peer {
			return
		}
		for _, e := range strings.Split(list, ",") {
			if a, ok := parseIP(e); ok && a == got {
				return
			}
		}
		t.Fatalf("resolveXFF(%q) = %s: neither the peer nor an entry", list, got)
	})
}

func TestMaskJSON(t *testing.T) {
	m := newMasker()
	tests := []struct {
		in, want string
		sec      secrets
		err      bool
	}{
		{in: `{"user":"a","password":"p"}`, want: `{"user":"a","password":"***"}`},
		{in: `{"z":1,"a":2}`, want: `{"z":1,"a":2}`}, // key order kept
		{in: `[{"token":{"x":[1,true,null]}}]`, want: `[{"token":{"x":["***","***",null]}}]`},
		{in: `{"note":"<b>&</b>","n":1.50e3}`, want: `{"note":"<b>&</b>","n":1.50e3}`},
		{in: `{"card":"4111"}`, sec: newSecrets("4111"), want: `{"card":"***"}`},
		{in: `{"a":`, err: true},
		{in: `{"a":1} {"b":2}`, err: true},
		{in: strings.Repeat("[", 100) + strings.Repeat("]", 100), err: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := m.maskJSON([]byte(tc.in), tc.sec, nil)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if err == nil && string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func FuzzMaskJSON(f *testing.F) {
	for _, s := range []string{`{"user":"a","password":"p"}`, `[{"token":{"x":[1,true,null]}}]`, `{"a":`, `"s"`, `1`, `{"pwd":"\u0041\n"}`} {
		f.Add(s)
	}
	m := newMasker()
	f.Fuzz(func(t *testing.T, in string) {
		got, err := m.maskJSON([]byte(in), secrets{}, nil)
		if err != nil {
			// Invalid JSON goes to pattern masking, which must cope too.
			if out := m.maskPatterns([]byte(in)); len(in) > 0 && len(out) == 0 {
				t.Fatalf("maskPatterns(%q) lost the body", in)
			}
			return
		}
		if !json.Valid(got) {
			t.Fatalf("maskJSON(%q) = %q: not JSON", in, got)
		}
		var walk func(v any, secret bool)
		walk = func(v any, secret bool) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					walk(e, secret || m.isSecretName(k))
				}
			case []any:
				for _, e := range x {
					walk(e, secret)
				}
			case nil:
			default:
				if secret && x != maskedValue {
					t.Fatalf("secret leaf %v left in %s", x, got)
				}
			}
		}
		// Numbers as written: a huge one is still JSON, not a float64.
		dec := json.NewDecoder(bytes.NewReader(got))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		walk(v, false)
	})
}

func TestMaskPatterns(t *testing.T) {
	m := newMasker()
	tests := []struct{ in, want string }{
		{`{"user":"m", "password": "pw1", "x": [1,}`, `{"user":"m", "password": "***", "x": [1,}`},
		{`{"pin":1234,"spinner":5}`, `{"pin":***,"spinner":5}`},
		{`{"api_key":"k\"q","note":"a"`, `{"api_key":"***","note":"a"`},
		{`user=a&pass=b&passenger=c&client_secret=`, `user=a&pass=***&passenger=c&client_secret=***`},
		{"binary password=pw2 tail", "binary password=*** tail"},
		{`"password"`, `"password"`},
		{`no secrets here`, `no secrets here`},
		{`{"token":"unterminated`, `{"token":"***"`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := string(m.maskPatterns([]byte(tc.in))); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func FuzzScanFields(f *testing.F) {
	for _, s := range []string{`{"user":"m", "password": "pw1", "x": [1,}`, `{"pin":1234,"spinner":5}`, `user=a&pass=b&client_secret=`,
		"binary password=pw2 tail", `{"token":"unterminated`, `"""""pass"""::`, "=pass=pass="} {
		f.Add(s)
	}
	m := newMasker()
	f.Fuzz(func(t *testing.T, in string) {
		fields := m.scanFields([]byte(in))
		end := 0
		for _, fl := range fields {
			if fl.start < end || fl.end < fl.start || fl.end > len(in) {
				t.Fatalf("bad field %+v after %d in %q", fl, end, in)
			}
			end = fl.end
		}
		out := m.maskPatterns([]byte(in))
		if len(fields) == 0 && string(out) != in {
			t.Fatalf("nothing found but %q changed to %q", in, out)
		}
	})
}
