// Package apisessions holds the domain of the product: exchanges of HTTP
// traffic, the sessions they are grouped into, attack findings, the
// configuration users edit, and the interfaces the stages implement.
//
// It depends on the standard library only. Stages (internal/point,
// internal/capture, internal/detect, internal/sessionize, the stores and the
// API) import this package and never each other; cmd/apisessions wires them.
package apisessions

import (
	"strings"
	"time"
)

// Header is one header line. Order and repeats are kept in the slices that
// hold them, since both matter to detection and to what users see.
type Header struct {
	Name  string
	Value string
}

// Headers is an ordered list of header lines.
type Headers []Header

// Get returns the first value of the named header (case-insensitive) and
// whether it was present.
func (h Headers) Get(name string) (string, bool) {
	for _, l := range h {
		if strings.EqualFold(l.Name, name) {
			return l.Value, true
		}
	}
	return "", false
}

// Values returns every value of the named header (case-insensitive), in order.
func (h Headers) Values(name string) []string {
	var vs []string
	for _, l := range h {
		if strings.EqualFold(l.Name, name) {
			vs = append(vs, l.Value)
		}
	}
	return vs
}

// Request is the request side of an exchange.
type Request struct {
	Method string
	// URL is the request target as seen: absolute ("https://h/p?q") or
	// origin-form ("/p?q").
	URL     string
	Headers Headers
	Body    []byte
}

// Response is the response side of an exchange. A mirror sees none.
type Response struct {
	Status   int
	Headers  Headers
	Body     []byte
	Duration time.Duration
}

// Exchange is one request with its optional response: the unit every stage
// works on.
type Exchange struct {
	// ID is the request ID from the input; empty when the input has none
	// (sessionize then derives a stable one from the content, so that
	// importing a file twice still stores each request once).
	ID       string
	Time     time.Time
	ClientIP string
	Request  Request
	Response *Response // nil when no response was seen
}

// schemeEnd returns the index of "://" when u is an absolute URL, else -1.
// A "://" after the first '/', '?' or '#' is part of the path or query
// ("/login?next=https://x"), not a scheme.
func schemeEnd(u string) int {
	i := strings.Index(u, "://")
	if i <= 0 || strings.ContainsAny(u[:i], "/?#") {
		return -1
	}
	return i
}

// Host returns the request host: from an absolute URL, else from the Host
// header. The port is kept as sent.
func (e *Exchange) Host() string {
	u := e.Request.URL
	if i := schemeEnd(u); i >= 0 {
		rest := u[i+3:]
		if j := strings.IndexAny(rest, "/?#"); j >= 0 {
			rest = rest[:j]
		}
		if k := strings.LastIndexByte(rest, '@'); k >= 0 {
			rest = rest[k+1:]
		}
		if rest != "" && validPort(rest) {
			return rest
		}
	}
	h, _ := e.Request.Headers.Get("Host")
	return h
}

// validPort reports whether what follows the host's last ':' (outside an
// IPv6 literal) is a port: digits, or nothing. An authority cut short by a
// '?' or '#' inside its userinfo ("https://u:p?ss@h/") reads as "u:p":
// not a host, and its "port" is part of a password.
func validPort(hostport string) bool {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 || strings.LastIndexByte(hostport, ']') > i {
		return true
	}
	for _, c := range hostport[i+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Target returns the origin-form request target ("/path?query"), whatever
// form the URL was recorded in.
func (e *Exchange) Target() string {
	u := e.Request.URL
	if i := schemeEnd(u); i >= 0 {
		rest := u[i+3:]
		j := strings.IndexAny(rest, "/?#")
		if j < 0 {
			return "/"
		}
		u = rest[j:]
		if u[0] != '/' {
			u = "/" + u
		}
	}
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	return u
}

// Path returns the request path without the query string, as sent (not
// percent-decoded).
func (e *Exchange) Path() string {
	t := e.Target()
	if i := strings.IndexByte(t, '?'); i >= 0 {
		t = t[:i]
	}
	if t == "" {
		return "/"
	}
	return t
}

// RawQuery returns the query string without the leading '?'.
func (e *Exchange) RawQuery() string {
	t := e.Target()
	if i := strings.IndexByte(t, '?'); i >= 0 {
		return t[i+1:]
	}
	return ""
}
