package detect

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/apisessions/apisessions"
)

// Modes of the engine.
const (
	// ModeFull runs every CRS rule on every request.
	ModeFull = "full"
	// ModeFast screens each request first and skips the CRS rules that
	// provably cannot match it; verdicts are the same as ModeFull.
	ModeFast = "fast"
)

// Options configure an Engine. Start from DefaultOptions.
type Options struct {
	// ParanoiaLevel is the CRS paranoia level, 1 to 4.
	ParanoiaLevel int
	// AnomalyThreshold is the inbound anomaly score at which a request is
	// an attack (CRS default 5).
	AnomalyThreshold int
	// ExcludeRules are CRS rule IDs never to run.
	ExcludeRules []int
	// Responses also runs the response phases (CRS 950-959) when the
	// exchange has a response.
	Responses bool
	// BodyLimit is the number of request (and response) body bytes
	// inspected; what is over it is not inspected and the detection is
	// marked Partial. It also bounds what Coraza buffers per request.
	BodyLimit int
	// MaxArgs is the most arguments (query, form, JSON leaves) inspected,
	// Coraza's SecArgumentsLimit: beyond it arguments are dropped and the
	// detection is marked Partial.
	MaxArgs int
	// MaxJSONDepth is the deepest JSON nesting parsed (Coraza's
	// SecRequestBodyJsonDepthLimit); deeper bodies are marked Partial.
	MaxJSONDepth int
	// AllowedMethods are the HTTP methods CRS rule 911100 accepts. CRS
	// allows GET HEAD POST OPTIONS only, which would make every PUT, PATCH
	// and DELETE of a REST API an attack; the default adds those three.
	AllowedMethods []string
	// CacheEntries bounds the fast path's memory of the screen's answers
	// on values seen before (valueMemo): one entry per value and the
	// collections it was seen in, values of up to 512 bytes, about 100
	// bytes an entry besides the value.
	CacheEntries int
	// Mode is ModeFast (default) or ModeFull.
	Mode string
	// Logger receives engine diagnostics; nil discards them.
	Logger *slog.Logger

	// directives are appended after the CRS setup and before the rules;
	// tests use them to reproduce the CRS regression set-up.
	directives string
}

// DefaultOptions returns the defaults: paranoia level 1, threshold 5,
// 128 KiB of body, 1000 arguments, JSON depth 64, fast mode.
func DefaultOptions() Options {
	return Options{
		ParanoiaLevel:    1,
		AnomalyThreshold: 5,
		BodyLimit:        128 << 10,
		MaxArgs:          1000,
		MaxJSONDepth:     64,
		AllowedMethods:   []string{"GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"},
		CacheEntries:     1 << 16,
		Mode:             ModeFast,
	}
}

// FromConfig returns DefaultOptions overridden by the non-zero fields of
// the user's detection configuration.
func FromConfig(c apisessions.DetectionConfig) Options {
	o := DefaultOptions()
	if c.ParanoiaLevel != 0 {
		o.ParanoiaLevel = c.ParanoiaLevel
	}
	if c.AnomalyThreshold != 0 {
		o.AnomalyThreshold = c.AnomalyThreshold
	}
	o.ExcludeRules = append([]int(nil), c.ExcludeRules...)
	o.Responses = c.Responses
	if c.BodyLimit != 0 {
		o.BodyLimit = c.BodyLimit
	}
	return o
}

func (o Options) validate() error {
	if o.ParanoiaLevel < 1 || o.ParanoiaLevel > 4 {
		return apisessions.Errorf(apisessions.EINVALID, "detection paranoia level %d: want 1 to 4", o.ParanoiaLevel)
	}
	if o.AnomalyThreshold < 1 {
		return apisessions.Errorf(apisessions.EINVALID, "detection anomaly threshold %d: want at least 1", o.AnomalyThreshold)
	}
	if o.BodyLimit < 1 {
		return apisessions.Errorf(apisessions.EINVALID, "detection body limit %d: want at least 1 byte", o.BodyLimit)
	}
	if o.MaxArgs < 1 || o.MaxJSONDepth < 1 {
		return apisessions.Errorf(apisessions.EINVALID, "detection limits: arguments %d, JSON depth %d: want at least 1", o.MaxArgs, o.MaxJSONDepth)
	}
	for _, id := range o.ExcludeRules {
		if id <= 0 {
			return apisessions.Errorf(apisessions.EINVALID, "detection exclude_rules: bad rule ID %d", id)
		}
	}
	for _, m := range o.AllowedMethods {
		if m == "" || strings.ContainsAny(m, " \t\r\n'\"\\,") {
			return apisessions.Errorf(apisessions.EINVALID, "detection allowed method %q: want a method token", m)
		}
	}
	switch o.Mode {
	case ModeFast, ModeFull:
	default:
		return apisessions.Errorf(apisessions.EINVALID, "detection mode %q: want %q or %q", o.Mode, ModeFast, ModeFull)
	}
	return nil
}

// directivesFor returns the SecLang that sets up Coraza and CRS for o.
func (o Options) directivesFor() string {
	s := fmt.Sprintf(`Include @coraza.conf-recommended
SecRuleEngine DetectionOnly
SecRequestBodyAccess On
SecRequestBodyLimit %[1]d
SecRequestBodyInMemoryLimit %[1]d
SecRequestBodyLimitAction ProcessPartial
SecArgumentsLimit %[2]d
SecRequestBodyJsonDepthLimit %[3]d
SecResponseBodyLimit %[1]d
SecResponseBodyLimitAction ProcessPartial
SecAuditEngine Off
Include @crs-setup.conf.example
SecAction "id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=%[4]d"
SecAction "id:900110,phase:1,pass,t:none,nolog,setvar:tx.inbound_anomaly_score_threshold=%[5]d,setvar:tx.outbound_anomaly_score_threshold=4"
`, o.BodyLimit, o.MaxArgs, o.MaxJSONDepth, o.ParanoiaLevel, o.AnomalyThreshold)
	// Coraza's own @rx prefilter (SecRxPreFilter On) is left off: in v3.8.1
	// it misses CRS 932311 on its regression case 932311-7 (a (?is) pattern
	// with \r\n), so it is not a sound necessary condition.
	if len(o.AllowedMethods) > 0 {
		s += fmt.Sprintf("SecAction \"id:900200,phase:1,pass,t:none,nolog,setvar:'tx.allowed_methods=%s'\"\n", strings.Join(o.AllowedMethods, " "))
	}
	if o.Responses {
		s += "SecResponseBodyAccess On\n"
	} else {
		s += "SecResponseBodyAccess Off\n"
	}
	s += o.directives
	s += crsInclude
	for _, id := range o.ExcludeRules {
		s += fmt.Sprintf("SecRuleRemoveById %d\n", id)
	}
	return s
}
