package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
	_ "time/tzdata" // day_timezone must check the same on every machine, tz database installed or not

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/point"
)

// Problem is one thing wrong with a configuration: the path of the field
// ("parameters[2].point") and why it is refused.
type Problem struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// String returns "PATH: REASON", the line `apisessions config check` prints.
func (p Problem) String() string { return p.Path + ": " + p.Reason }

// Validate checks the meaning of a parsed configuration and returns every
// problem, in the order of the schema's fields (that of the SPEC example);
// none means it is usable. Zero values mean "default" and are accepted; c is
// checked as given, before WithDefaults.
func Validate(c apisessions.Config) []Problem {
	v := &validator{}
	v.top(c)
	apps := v.applications(c.Applications)
	v.analyze(c.Analyze, apps)
	// Parameters need the mask rules (a masked grouping key is refused)
	// but come first in the file: check the rules aside.
	mv := &validator{}
	masks := mv.masks(c.Mask)
	v.parameters(c.Parameters, masks)
	v.problems = append(v.problems, mv.problems...)
	v.flows(c.Flows)
	v.detection(c.Detection)
	return v.problems
}

type validator struct {
	problems []Problem
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Reason: fmt.Sprintf(format, args...)})
}

func (v *validator) top(c apisessions.Config) {
	if c.Retention < 0 {
		v.add("retention", "must be positive, not %s", time.Duration(c.Retention))
	}
	switch c.DayTimezone {
	case "":
	case "Local":
		v.add("day_timezone", `"Local" differs from machine to machine: name an IANA zone such as Europe/Paris`)
	default:
		if _, err := time.LoadLocation(c.DayTimezone); err != nil {
			v.add("day_timezone", "unknown timezone %q: want an IANA zone such as UTC or Europe/Paris", c.DayTimezone)
		}
	}
	switch c.HashAlgorithm {
	case "", apisessions.HashMD5, apisessions.HashHMACSHA256:
	default:
		v.add("hash_algorithm", "unknown hash algorithm %q: want md5 or hmac-sha256", c.HashAlgorithm)
	}
	for i, s := range c.TrustedProxies {
		if _, err := parseCIDR(s); err != nil {
			v.add(fmt.Sprintf("trusted_proxies[%d]", i), "%v", err)
		}
	}
}

// parseCIDR reads a CIDR; a bare address means that one host.
func parseCIDR(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad CIDR %q: want an address with a prefix length such as 10.0.0.0/8", s)
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("bad CIDR %q: host bits are set, did you mean %s?", s, p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("bad CIDR %q: want an address with a prefix length such as 10.0.0.0/8", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// applications checks the applications and returns their IDs.
func (v *validator) applications(apps []apisessions.Application) map[int]bool {
	ids := make(map[int]bool, len(apps))
	first := make(map[int]int, len(apps))
	// A host listed twice would belong to whichever application comes
	// first, its mode silently ignored in the other.
	hosts := make(map[string]string)
	for i, a := range apps {
		p := fmt.Sprintf("applications[%d]", i)
		switch {
		case a.ID <= 0:
			v.add(p+".id", "must be a positive integer, not %d", a.ID)
		case ids[a.ID]:
			v.add(p+".id", "duplicate application ID %d (also applications[%d])", a.ID, first[a.ID])
		default:
			ids[a.ID] = true
			first[a.ID] = i
		}
		if strings.TrimSpace(a.Name) == "" {
			v.add(p+".name", "is required")
		}
		for j, h := range a.Hosts {
			hp := fmt.Sprintf("%s.hosts[%d]", p, j)
			if reason := checkHost(h); reason != "" {
				v.add(hp, "%s", reason)
				continue
			}
			k := strings.ToLower(h)
			if prev, ok := hosts[k]; ok {
				v.add(hp, "duplicate host %q (also %s)", h, prev)
				continue
			}
			hosts[k] = hp
		}
		switch a.Mode {
		case "", apisessions.ModeOff, apisessions.ModeMonitoring, apisessions.ModeBlocking:
		default:
			v.add(p+".mode", "unknown mode %q: want off, monitoring or blocking", a.Mode)
		}
	}
	return ids
}

func (v *validator) analyze(a apisessions.Analyze, apps map[int]bool) {
	for i, h := range a.Hosts {
		if reason := checkHost(h); reason != "" {
			v.add(fmt.Sprintf("analyze.hosts[%d]", i), "%s", reason)
		}
	}
	for i, id := range a.Applications {
		if !apps[id] {
			v.add(fmt.Sprintf("analyze.applications[%d]", i), "unknown application ID %d: not in applications", id)
		}
	}
}

// checkHost returns why h is not a host pattern ("shop.example.com",
// "*.shop.example.com", "api.example.com:8443"), or "". A URL pasted in
// place of a host is the usual mistake: it would never match.
func checkHost(h string) string {
	switch {
	case strings.TrimSpace(h) == "":
		return "is empty"
	case strings.Contains(h, "://"):
		rest := h[strings.Index(h, "://")+3:]
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			rest = rest[:i]
		}
		return fmt.Sprintf("%q is a URL: write the host only (%s)", h, rest)
	case strings.ContainsAny(h, "/?# \t"):
		return fmt.Sprintf("%q is not a host name: no path, query or spaces", h)
	}
	return ""
}

// maskRule is a parsed mask rule with its index for messages.
type maskRule struct {
	index int
	point parsedPoint
}

func (v *validator) masks(mask []string) []maskRule {
	var rules []maskRule
	seen := make(map[string]int, len(mask))
	for i, s := range mask {
		p := fmt.Sprintf("mask[%d]", i)
		pt, err := parsePoint(s)
		if err != nil {
			v.add(p, "%v", err)
			continue
		}
		if j, ok := seen[pt.canonical]; ok {
			v.add(p, "duplicate mask rule %q (also mask[%d])", s, j)
			continue
		}
		seen[pt.canonical] = i
		if unprotectable(pt) {
			v.add(p, "%s cannot be masked: it is metadata every record keeps, with too few values to hide", pt.canonical)
			continue
		}
		rules = append(rules, maskRule{index: i, point: pt})
	}
	return rules
}

// unprotectable reports whether a point reads only the method or the status:
// every record keeps them, and so few values exist that neither a hash nor a
// mask would hide one (sessionize refuses them alike).
func unprotectable(pt parsedPoint) bool {
	s := pt.p.Source()
	return s == point.SourceMethod || s == point.SourceStatus
}

func (v *validator) parameters(params []apisessions.Parameter, masks []maskRule) {
	if len(params) > apisessions.MaxParameters {
		v.add("parameters", "%d parameters: at most %d are allowed", len(params), apisessions.MaxParameters)
	}
	names := make(map[string]int, len(params))
	points := make(map[string]int, len(params))
	for i, prm := range params {
		p := fmt.Sprintf("parameters[%d]", i)
		name := strings.TrimSpace(prm.Name)
		switch {
		case name == "":
			v.add(p+".name", "is required")
		default:
			// Names label columns and flows: two that differ only in
			// case would look the same in the console.
			k := strings.ToLower(name)
			if j, ok := names[k]; ok {
				v.add(p+".name", "duplicate parameter name %q (also parameters[%d])", prm.Name, j)
			} else {
				names[k] = i
			}
		}
		switch prm.Type {
		case "", apisessions.ParamUser, apisessions.ParamRole:
		default:
			v.add(p+".type", "unknown type %q: want user, role or none", prm.Type)
		}
		if prm.Point == "" {
			v.add(p+".point", "is required")
			continue
		}
		pt, err := parsePoint(prm.Point)
		if err != nil {
			v.add(p+".point", "%v", err)
			continue
		}
		if j, ok := points[pt.canonical]; ok {
			v.add(p+".point", "duplicate point %q (also parameters[%d])", prm.Point, j)
		} else {
			points[pt.canonical] = i
		}
		if prm.Hash && unprotectable(pt) {
			v.add(p+".point", "%s cannot be hashed: it is metadata every record keeps, with too few values for a hash to hide", pt.canonical)
		}
		if prm.Group {
			for _, m := range masks {
				if m.point.covers(pt) {
					v.add(p+".point", "grouping key %q is masked by mask[%d] %q: a masked value cannot group sessions; remove the mask rule or group: true",
						prm.Name, m.index, m.point.text)
				}
			}
		}
	}
}

func (v *validator) flows(flows []apisessions.FlowRule) {
	for i, f := range flows {
		p := fmt.Sprintf("flows[%d]", i)
		if strings.TrimSpace(f.Name) == "" {
			v.add(p+".name", "is required")
		}
		switch {
		case strings.TrimSpace(f.Path) == "":
			v.add(p+".path", "is required")
		case f.Path[0] != '/' && f.Path[0] != '*':
			v.add(p+".path", "%q must start with / or *", f.Path)
		}
		if f.Method != "" {
			if reason := checkMethod(f.Method); reason != "" {
				v.add(p+".method", "bad method %q: %s", f.Method, reason)
			}
		}
	}
}

// checkMethod returns why m is not an HTTP method (an RFC 9110 token), or
// "". Case is not checked: flow rules match methods case-insensitively.
func checkMethod(m string) string {
	for i := 0; i < len(m); i++ {
		c := m[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return "want an HTTP method such as GET or POST"
		}
	}
	return ""
}

func (v *validator) detection(d apisessions.DetectionConfig) {
	if d.ParanoiaLevel != 0 && (d.ParanoiaLevel < 1 || d.ParanoiaLevel > 4) {
		v.add("detection.paranoia_level", "must be 1 to 4, not %d", d.ParanoiaLevel)
	}
	if d.AnomalyThreshold < 0 {
		v.add("detection.anomaly_threshold", "must be at least 1, not %d", d.AnomalyThreshold)
	}
	if d.BodyLimit < 0 {
		v.add("detection.body_limit", "must be positive, not %d", d.BodyLimit)
	}
	seen := make(map[int]bool, len(d.ExcludeRules))
	for i, id := range d.ExcludeRules {
		p := fmt.Sprintf("detection.exclude_rules[%d]", i)
		switch {
		case id <= 0:
			v.add(p, "must be a positive rule ID, not %d", id)
		case seen[id]:
			v.add(p, "duplicate rule ID %d", id)
		}
		seen[id] = true
	}
}
