package sessionize

import (
	"fmt"
	"strings"

	"github.com/apisessions/apisessions"
)

// hostPattern is an exact host ("shop.example.com") or a pattern where '*'
// stands for any characters ("*.shop.example.com" matches
// a.shop.example.com and a.b.shop.example.com, not shop.example.com
// itself). Case-insensitive; ports are ignored on both sides.
type hostPattern struct {
	pattern string
	glob    bool
}

func compileHostPattern(p string) (hostPattern, error) {
	p = strings.ToLower(strings.TrimSpace(p))
	if p == "" {
		return hostPattern{}, fmt.Errorf("empty host pattern")
	}
	return hostPattern{pattern: stripPort(p), glob: strings.Contains(p, "*")}, nil
}

// match reports whether host (lowercase, without port) matches.
func (h hostPattern) match(host string) bool {
	if !h.glob {
		return host == h.pattern
	}
	return globMatch(h.pattern, host)
}

// stripPort drops a ":port" from a host, keeping IPv6 literals whole.
func stripPort(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i >= 0 {
			return h[:i+1]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h, ':') == i {
		return h[:i]
	}
	return h
}

// app is a compiled application.
type app struct {
	id    int
	mode  string
	hosts []hostPattern
}

func compileApps(apps []apisessions.Application) ([]app, error) {
	out := make([]app, 0, len(apps))
	for i, a := range apps {
		switch a.Mode {
		case "", apisessions.ModeOff, apisessions.ModeMonitoring, apisessions.ModeBlocking:
		default:
			return nil, fmt.Errorf("applications[%d].mode: %q is not off, monitoring or blocking", i, a.Mode)
		}
		c := app{id: a.ID, mode: a.Mode}
		for j, h := range a.Hosts {
			hp, err := compileHostPattern(h)
			if err != nil {
				return nil, fmt.Errorf("applications[%d].hosts[%d]: %w", i, j, err)
			}
			c.hosts = append(c.hosts, hp)
		}
		out = append(out, c)
	}
	return out, nil
}

// appFor returns the first application (in configured order) one of whose
// host patterns matches, or nil.
func (s *Sessionizer) appFor(host string) *app {
	for i := range s.apps {
		for _, h := range s.apps[i].hosts {
			if h.match(host) {
				return &s.apps[i]
			}
		}
	}
	return nil
}

// inScope applies analyze: with neither hosts nor applications everything
// is analysed; otherwise a request is when its host matches one of the hosts
// or its application is one of the applications.
func (s *Sessionizer) inScope(host string, appID int) bool {
	if len(s.analyzeHosts) == 0 && len(s.analyzeApps) == 0 {
		return true
	}
	if appID != 0 && s.analyzeApps[appID] {
		return true
	}
	for _, h := range s.analyzeHosts {
		if h.match(host) {
			return true
		}
	}
	return false
}
