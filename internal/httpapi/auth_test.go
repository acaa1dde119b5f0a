package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

// samplePath fills the path parameters of a route pattern.
func samplePath(p string) string {
	return strings.NewReplacer("{id}", "x").Replace(p)
}

func TestNoCredentialsIsRefusedOnEveryRoute(t *testing.T) {
	f := newFixture(t, nil)
	revokedSecret, revokedHash := NewToken()
	if err := f.admin.CreateToken(t.Context(), apisessions.Token{ID: "rev", Tenant: "tid-a", Name: "rev", Role: apisessions.RoleAdmin, Hash: revokedHash, Created: testNow}); err != nil {
		t.Fatal(err)
	}
	mustJSON(t, f.call("", "GET", "/api/v1/sessions", nil, "Authorization", "Bearer "+revokedSecret), 200, nil)
	if err := f.admin.RevokeToken(t.Context(), "tid-a", "rev", testNow.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	creds := []struct {
		name, auth string
	}{
		{"none", ""},
		{"unknown token", "Bearer aps_0000"},
		{"revoked token", "Bearer " + revokedSecret},
		{"basic auth", "Basic YTpi"},
		{"empty bearer", "Bearer "},
	}
	n := 0
	for _, rt := range f.srv.routes {
		if rt.Roles == nil {
			continue
		}
		for _, c := range creds {
			t.Run(rt.Op+"/"+c.name, func(t *testing.T) {
				hdr := []string{"Content-Type", "application/json"}
				if c.auth != "" {
					hdr = append(hdr, "Authorization", c.auth)
				}
				resp := f.call("", rt.Method, samplePath(rt.Path), []byte("{}"), hdr...)
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401", resp.StatusCode)
				}
				if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options %q", got)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type %q", ct)
				}
				if code := errorCode(t, resp); code != apisessions.EUNAUTHORIZED {
					t.Errorf("code %q", code)
				}
			})
			n++
		}
	}
	if n < 15*len(creds) {
		t.Fatalf("only %d authenticated route checks", n)
	}
}

func TestRoles(t *testing.T) {
	f := newFixture(t, nil)
	yaml := []byte("retention: 48h\n")
	deny := []byte(`{"session_id":"s1"}`)
	tests := []struct {
		key, method, path string
		body              []byte
		ctype             string
		want              int
	}{
		{"a/analyst", "PUT", "/api/v1/config", yaml, "application/yaml", 403},
		{"a/node", "PUT", "/api/v1/config", yaml, "application/yaml", 403},
		{"a/admin", "PUT", "/api/v1/config", yaml, "application/yaml", 200},
		{"a/analyst", "GET", "/api/v1/config", nil, "", 200},
		{"a/node", "GET", "/api/v1/config", nil, "", 403},
		{"a/node", "GET", "/api/v1/sessions", nil, "", 403},
		{"a/node", "GET", "/api/v1/sessions/x", nil, "", 403},
		{"a/node", "GET", "/api/v1/sessions/x/requests.csv", nil, "", 403},
		{"a/node", "GET", "/api/v1/requests/x", nil, "", 403},
		{"a/node", "GET", "/api/v1/denylist", nil, "", 403},
		{"a/node", "POST", "/api/v1/denylist", deny, "application/json", 403},
		{"a/node", "GET", "/api/v1/nodes", nil, "", 403},
		{"a/analyst", "GET", "/api/v1/sessions", nil, "", 200},
		{"a/analyst", "POST", "/api/v1/denylist", deny, "application/json", 201},
		{"a/analyst", "DELETE", "/api/v1/denylist/x", nil, "", 403},
		{"a/admin", "DELETE", "/api/v1/denylist/x", nil, "", 404},
		{"a/analyst", "POST", "/api/v1/ingest", []byte("x"), "application/vnd.apisessions.batch", 403},
		{"a/analyst", "GET", "/api/v1/node/config", nil, "", 403},
		{"a/analyst", "GET", "/api/v1/node/denylist", nil, "", 403},
		{"a/node", "GET", "/api/v1/node/config", nil, "", 200},
		{"a/node", "GET", "/api/v1/node/denylist", nil, "", 200},
		{"a/admin", "GET", "/api/v1/node/config", nil, "", 200},
		{"a/node", "GET", "/api/v1/openapi.json", nil, "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.key+" "+tc.method+" "+tc.path, func(t *testing.T) {
			var hdr []string
			if tc.ctype != "" {
				hdr = []string{"Content-Type", tc.ctype}
			}
			resp := f.call(tc.key, tc.method, tc.path, tc.body, hdr...)
			b := readBody(t, resp)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, b)
			}
		})
	}
}

// login logs a console user in and returns the cookie and CSRF token.
func (f *fixture) login(tenant, user, password string, form bool) (*http.Cookie, string, *http.Response) {
	f.t.Helper()
	var resp *http.Response
	if form {
		v := url.Values{"tenant": {tenant}, "user": {user}, "password": {password}}
		resp = f.call("", "POST", "/api/v1/login", []byte(v.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	} else {
		body := `{"tenant":"` + tenant + `","user":"` + user + `","password":"` + password + `"}`
		resp = f.call("", "POST", "/api/v1/login", []byte(body), "Content-Type", "application/json")
	}
	if resp.StatusCode != 200 {
		return nil, "", resp
	}
	var lr loginResponse
	mustJSON(f.t, resp, 200, &lr)
	for _, c := range resp.Cookies() {
		if c.Name == CookieName {
			return c, lr.CSRFToken, resp
		}
	}
	f.t.Fatal("login set no cookie")
	return nil, "", nil
}

// cookieCall sends a request with a login cookie and extra headers.
func (f *fixture) cookieCall(c *http.Cookie, method, path string, body []byte, hdr ...string) *http.Response {
	f.t.Helper()
	return f.call("", method, path, body, append([]string{"Cookie", c.Name + "=" + c.Value}, hdr...)...)
}

func TestLoginAndCSRF(t *testing.T) {
	f := newFixture(t, nil)

	t.Run("wrong credentials", func(t *testing.T) {
		for _, c := range [][3]string{
			{"a", "alice", "wrong"},
			{"a", "nobody", userPassword("a", "alice")},
			{"b", "alice", userPassword("a", "alice")},
			{"nope", "alice", userPassword("a", "alice")},
		} {
			_, _, resp := f.login(c[0], c[1], c[2], false)
			if resp.StatusCode != 401 || errorCode(t, resp) != apisessions.EUNAUTHORIZED {
				t.Errorf("%v: status %d", c, resp.StatusCode)
			}
		}
	})

	cookie, csrf, resp := f.login("a", "ann", userPassword("a", "ann"), false)
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure {
		t.Errorf("cookie flags: HttpOnly %v SameSite %v Secure %v (plain HTTP)", cookie.HttpOnly, cookie.SameSite, cookie.Secure)
	}
	if csrf == "" || resp == nil {
		t.Fatal("no CSRF token")
	}
	deny := []byte(`{"session_id":"s-csrf","reason":"test"}`)

	t.Run("read needs no CSRF", func(t *testing.T) {
		mustJSON(t, f.cookieCall(cookie, "GET", "/api/v1/sessions", nil), 200, nil)
	})
	t.Run("change without CSRF refused", func(t *testing.T) {
		resp := f.cookieCall(cookie, "POST", "/api/v1/denylist", deny, "Content-Type", "application/json")
		if resp.StatusCode != 403 || errorCode(t, resp) != apisessions.EFORBIDDEN {
			t.Fatalf("status %d, want 403", resp.StatusCode)
		}
		resp = f.cookieCall(cookie, "POST", "/api/v1/denylist", deny, "Content-Type", "application/json", CSRFHeader, csrf+"x")
		if resp.StatusCode != 403 {
			t.Fatalf("wrong token: status %d, want 403", resp.StatusCode)
		}
		var list struct{ Entries []apisessions.DenyEntry }
		mustJSON(t, f.call("a/admin", "GET", "/api/v1/denylist", nil), 200, &list)
		if len(list.Entries) != 0 {
			t.Fatalf("refused request stored %d entries", len(list.Entries))
		}
	})
	t.Run("change with CSRF accepted", func(t *testing.T) {
		var out struct{ Entry apisessions.DenyEntry }
		mustJSON(t, f.cookieCall(cookie, "POST", "/api/v1/denylist", deny, "Content-Type", "application/json", CSRFHeader, csrf), 201, &out)
		if out.Entry.AddedBy != "user:ann" {
			t.Errorf("added by %q", out.Entry.AddedBy)
		}
	})
	t.Run("bearer needs no CSRF", func(t *testing.T) {
		mustJSON(t, f.call("a/analyst", "POST", "/api/v1/denylist", deny, "Content-Type", "application/json"), 201, nil)
	})
	t.Run("analyst login cannot change config", func(t *testing.T) {
		resp := f.cookieCall(cookie, "PUT", "/api/v1/config", []byte("retention: 1h\n"), "Content-Type", "application/yaml", CSRFHeader, csrf)
		if resp.StatusCode != 403 {
			t.Fatalf("status %d, want 403", resp.StatusCode)
		}
	})
	t.Run("form logout with CSRF field", func(t *testing.T) {
		for _, body := range []string{"", "reason=none", "csrf_token=wrong"} {
			resp := f.cookieCall(cookie, "POST", "/api/v1/logout", []byte(body), "Content-Type", "application/x-www-form-urlencoded")
			if resp.StatusCode != 403 {
				t.Fatalf("form logout %q: status %d, want 403", body, resp.StatusCode)
			}
		}
		resp = f.cookieCall(cookie, "POST", "/api/v1/logout", []byte(url.Values{CSRFField: {csrf}}.Encode()), "Content-Type", "application/x-www-form-urlencoded")
		if resp.StatusCode != 204 {
			t.Fatalf("logout: status %d, want 204", resp.StatusCode)
		}
		resp = f.cookieCall(cookie, "GET", "/api/v1/sessions", nil)
		if resp.StatusCode != 401 {
			t.Fatalf("after logout: status %d, want 401", resp.StatusCode)
		}
	})
	t.Run("form login admin, expiry", func(t *testing.T) {
		c, csrf, _ := f.login("b", "alice", userPassword("b", "alice"), true)
		if c == nil {
			t.Fatal("form login failed")
		}
		var cv apisessions.ConfigVersion
		mustJSON(t, f.cookieCall(c, "PUT", "/api/v1/config", []byte("retention: 48h\n"), "Content-Type", "application/yaml", CSRFHeader, csrf), 200, &cv)
		if cv.Author != "user:alice" {
			t.Errorf("author %q, want user:alice", cv.Author)
		}
		f.advance(13 * time.Hour)
		defer f.advance(-13 * time.Hour)
		if resp := f.cookieCall(c, "GET", "/api/v1/config", nil); resp.StatusCode != 401 {
			t.Fatalf("expired login: status %d, want 401", resp.StatusCode)
		}
	})
	t.Run("secure cookie behind TLS proxy", func(t *testing.T) {
		g := newFixture(t, func(o *Options) { o.SecureCookies = true })
		c, _, _ := g.login("a", "alice", userPassword("a", "alice"), false)
		if c == nil || !c.Secure {
			t.Fatal("cookie not Secure with SecureCookies")
		}
	})
}

func TestTokenHelpers(t *testing.T) {
	s1, h1 := NewToken()
	s2, h2 := NewToken()
	if s1 == s2 || h1 == h2 || HashToken(s1) != h1 || len(h1) != 64 || strings.Contains(h1, s1) {
		t.Fatalf("tokens: %q %q %q %q", s1, h1, s2, h2)
	}
	h, err := HashPassword("correct horse")
	if err != nil || !strings.HasPrefix(h, "$2") {
		t.Fatalf("HashPassword: %q %v", h, err)
	}
	for _, bad := range []string{"", strings.Repeat("x", 73)} {
		if _, err := HashPassword(bad); apisessions.ErrorCode(err) != apisessions.EINVALID {
			t.Errorf("HashPassword(%d bytes): %v", len(bad), err)
		}
	}
}
