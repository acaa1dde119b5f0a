package sessionize

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/point"
)

// The built-in set of grouping keys (SPEC §4), tried in this order after the
// configured keys. Read only.
var (
	// sessionHeaders are tried in this order, each by its first value.
	sessionHeaders = [...]string{"Mcp-Session-Id", "Session-Id", "X-Session-Id", "X-Session-Token", "X-Auth-Token", "X-Api-Key"}
	// sessionCookies are tried in this order, in the request Cookie header,
	// then in the response Set-Cookie.
	sessionCookies = [...]string{"PHPSESSID", "JSESSIONID", "ASP.NET_SessionId", "connect.sid", "laravel_session", "sessionid", "session", "_session_id", "sid"}
)

// Points of the fallback key: client IP with User-Agent, or IP alone.
const (
	fallbackIPUAPoint = "request.ip+request.header.User-Agent"
	fallbackIPPoint   = "request.ip"
)

// Points of the Authorization key, by what produced the value.
const (
	authPoint    = "request.header.Authorization"
	authSIDPoint = "request.header.Authorization|jwt.sid"
	authSubPoint = "request.header.Authorization|jwt.sub"
)

// builtinKey is the value found by the built-in set and the point naming it.
type builtinKey struct {
	value string
	point string
	// identity: a user name or JWT claim, not the credential itself
	// (tokens, session headers and cookies are).
	identity bool
}

// jwtClaims yields the sid and sub claims of the Authorization header's JWT.
// The point evaluator decodes it, once per exchange even when parameters
// read the same token.
type jwtClaims func() (sid, sub string)

// builtinToken tries the token keys of the built-in set (Authorization,
// session headers, request cookies, response Set-Cookie) and reports whether
// one yielded a non-empty value. The IP + User-Agent fallback is the caller's.
func (s *Sessionizer) builtinToken(w *worker, ex *apisessions.Exchange, k *builtinKey) bool {
	h := ex.Request.Headers
	if v, ok := h.Get("Authorization"); ok {
		claims := func() (string, string) {
			sid, _ := w.ev.First(s.authSID)
			sub, _ := w.ev.First(s.authSub)
			return sid, sub
		}
		if val, pt, ident := authorizationKey(v, claims); val != "" {
			k.value, k.point, k.identity = val, pt, ident
			return true
		}
	}
	for i, name := range sessionHeaders {
		if v, ok := h.Get(name); ok {
			if v = strings.TrimSpace(v); v != "" {
				k.value, k.point = v, s.headerPoints[i]
				return true
			}
		}
	}
	// Most requests carry at most a few cookies: scan per name rather than
	// building a map.
	if hasHeader(h, "Cookie") {
		for i, name := range sessionCookies {
			for _, l := range h {
				if !strings.EqualFold(l.Name, "Cookie") {
					continue
				}
				if v := cookieValue(l.Value, name); v != "" {
					k.value, k.point = v, s.cookiePoints[i]
					return true
				}
			}
		}
	}
	if r := ex.Response; r != nil && hasHeader(r.Headers, "Set-Cookie") {
		for i, name := range sessionCookies {
			for _, l := range r.Headers {
				if !strings.EqualFold(l.Name, "Set-Cookie") {
					continue
				}
				if v := setCookieValue(l.Value, name, ex.Time); v != "" {
					k.value, k.point = v, s.setCookiePoints[i]
					return true
				}
			}
		}
	}
	return false
}

func hasHeader(h apisessions.Headers, name string) bool {
	_, ok := h.Get(name)
	return ok
}

// cookiePoint names a cookie in the point grammar, in canonical form.
func cookiePoint(side, name string) string {
	return side + ".cookie" + point.FormatName(name)
}

// cookieValue returns the value of cookie name in a Cookie header line
// ("a=1; b=2"), unquoted, or "".
func cookieValue(line, name string) string {
	for line != "" {
		var part string
		part, line, _ = strings.Cut(line, ";")
		part = strings.TrimSpace(part)
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) != name {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		if v != "" {
			return v
		}
	}
	return ""
}

// setCookieValue returns the value a Set-Cookie line gives cookie name, or ""
// when it names another cookie or deletes this one (Max-Age <= 0, or an
// Expires at or before the exchange time): a logout response must not open
// a session.
func setCookieValue(line, name string, at time.Time) string {
	first, attrs, _ := strings.Cut(line, ";")
	k, v, ok := strings.Cut(first, "=")
	if !ok || strings.TrimSpace(k) != name {
		return ""
	}
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if v == "" {
		return ""
	}
	for attrs != "" {
		var a string
		a, attrs, _ = strings.Cut(attrs, ";")
		an, av, _ := strings.Cut(strings.TrimSpace(a), "=")
		switch {
		case strings.EqualFold(an, "Max-Age"):
			if n, err := strconv.Atoi(strings.TrimSpace(av)); err == nil && n <= 0 {
				return ""
			}
		case strings.EqualFold(an, "Expires"):
			if t, err := http.ParseTime(strings.TrimSpace(av)); err == nil && !at.IsZero() && !t.After(at) {
				return ""
			}
		}
	}
	return v
}

// authorizationKey extracts the grouping value of an Authorization header:
// a JWT's sid claim, else its sub; an opaque bearer token; a Basic or Digest
// user name (never the password); any other scheme's credentials as an
// opaque token. identity is set for user names and claims.
func authorizationKey(v string, claims jwtClaims) (value, pt string, identity bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", "", false
	}
	scheme, cred, hasCred := strings.Cut(v, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case hasCred && strings.EqualFold(scheme, "Basic"):
		return basicUser(cred), authPoint, true
	case hasCred && strings.EqualFold(scheme, "Digest"):
		return digestUser(cred), authPoint, true
	case hasCred && strings.EqualFold(scheme, "Bearer"):
		if val, pt := jwtKey(claims); val != "" {
			return val, pt, true
		}
		return cred, authPoint, false
	case !hasCred:
		// A bare token, as some APIs send.
		if val, pt := jwtKey(claims); val != "" {
			return val, pt, true
		}
		return v, authPoint, false
	}
	return v, authPoint, false
}

// basicUser returns the user name of Basic credentials, or "" when they do
// not decode.
func basicUser(cred string) string {
	b, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(cred)
		if err != nil {
			return ""
		}
	}
	user, _, _ := bytes.Cut(b, []byte{':'})
	return string(user)
}

// digestUser returns the username parameter of Digest credentials; the rest
// changes with every request.
func digestUser(cred string) string {
	for cred != "" {
		var p string
		p, cred, _ = strings.Cut(cred, ",")
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "username") {
			v = strings.TrimSpace(v)
			if uq, err := strconv.Unquote(v); err == nil {
				v = uq
			}
			return v
		}
	}
	return ""
}

// jwtKey returns the sid claim of a JWT, else its sub, with the point that
// names it; "" when the token is no JWT or has neither claim (the caller then
// keys on the token itself). A rotated token keeps its session through sid.
func jwtKey(claims jwtClaims) (value, pt string) {
	sid, sub := claims()
	if sid != "" {
		return sid, authSIDPoint
	}
	if sub != "" {
		return sub, authSubPoint
	}
	return "", ""
}

// credentialPoint reports whether a point reads, whole, where requests carry
// credentials: the Authorization and Proxy-Authorization headers, the Cookie
// header, a built-in session header, a request cookie.
func credentialPoint(p *point.Point) bool {
	if p.Response() || len(p.Steps()) > 0 {
		// What a decoder reads (a JWT claim, a cookie's JSON) is not
		// the credential itself.
		return false
	}
	switch p.Source() {
	case point.SourceCookie:
		return true
	case point.SourceHeader:
		for _, h := range [...]string{"Authorization", "Proxy-Authorization", "Cookie"} {
			if strings.EqualFold(p.Name(), h) {
				return true
			}
		}
		for _, h := range sessionHeaders {
			if strings.EqualFold(p.Name(), h) {
				return true
			}
		}
	}
	return false
}

// secretPoint reports whether a point reads a field whose name says it is a
// secret: its last name (a header, a query or body field).
func (s *Sessionizer) secretPoint(p *point.Point) bool {
	if p.Response() {
		return false
	}
	name := p.Name()
	steps := p.Steps()
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].Kind == point.StepName {
			name = steps[i].Name
			break
		}
	}
	return name != "" && s.mask.isSecretName(name)
}

// credentials returns the credentials a request carries, made once per
// Process call: the Authorization and Proxy-Authorization values and their
// credentials, the values of the built-in session headers and of every
// session cookie.
func (s *Sessionizer) credentials(w *worker, ex *apisessions.Exchange) []string {
	if w.credsDone {
		return w.creds
	}
	w.credsDone = true
	c := w.creds[:0]
	for _, h := range ex.Request.Headers {
		switch {
		case strings.EqualFold(h.Name, "Authorization"), strings.EqualFold(h.Name, "Proxy-Authorization"):
			v := strings.TrimSpace(h.Value)
			c = append(c, v)
			if _, cred, ok := strings.Cut(v, " "); ok {
				c = append(c, strings.TrimSpace(cred))
			}
		case strings.EqualFold(h.Name, "Cookie"):
			for line := h.Value; line != ""; {
				var part string
				part, line, _ = strings.Cut(line, ";")
				k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
				if !ok {
					continue
				}
				for _, name := range sessionCookies {
					if strings.TrimSpace(k) == name {
						v = strings.Trim(strings.TrimSpace(v), `"`)
						c = append(c, v)
						break
					}
				}
			}
		default:
			for _, name := range sessionHeaders {
				if strings.EqualFold(h.Name, name) {
					c = append(c, strings.TrimSpace(h.Value))
					break
				}
			}
		}
	}
	// Empty values match nothing.
	out := c[:0]
	for _, v := range c {
		if v != "" {
			out = append(out, v)
		}
	}
	w.creds = out
	return out
}
