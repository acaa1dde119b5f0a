package apisessions

import (
	"fmt"
	"time"
)

// Config is what a user configures for a tenant: the YAML of the
// configuration file, the body of the server's configuration API and what the
// console edits. Validation, which needs the point parser, lives in
// internal/config.
type Config struct {
	// Retention is how long sessions are kept; older records are not stored.
	Retention Duration `yaml:"retention,omitempty" json:"retention,omitempty"`
	// DayTimezone is the IANA zone whose calendar days split sessions into
	// day parts.
	DayTimezone string `yaml:"day_timezone,omitempty" json:"day_timezone,omitempty"`
	// HashAlgorithm is "md5" (default) or "hmac-sha256".
	HashAlgorithm string `yaml:"hash_algorithm,omitempty" json:"hash_algorithm,omitempty"`
	// SessionSecretFile holds the tenant's session secret; empty means one
	// generated into the data directory.
	SessionSecretFile string `yaml:"session_secret_file,omitempty" json:"session_secret_file,omitempty"`
	// TrustedProxies are CIDRs whose X-Forwarded-For and X-Real-IP are believed.
	TrustedProxies []string      `yaml:"trusted_proxies,omitempty" json:"trusted_proxies,omitempty"`
	Applications   []Application `yaml:"applications,omitempty" json:"applications,omitempty"`
	Analyze        Analyze       `yaml:"analyze,omitempty" json:"analyze,omitempty"`
	// Parameters are the context parameters; grouping keys among them are
	// tried in this order.
	Parameters []Parameter `yaml:"parameters,omitempty" json:"parameters,omitempty"`
	// Mask lists points whose values are replaced by "***" on the node.
	Mask  []string   `yaml:"mask,omitempty" json:"mask,omitempty"`
	Flows []FlowRule `yaml:"flows,omitempty" json:"flows,omitempty"`
	// Detection tunes attack detection.
	Detection DetectionConfig `yaml:"detection,omitempty" json:"detection,omitempty"`
}

// Defaults of the configuration.
const (
	DefaultRetention     = 7 * 24 * time.Hour
	DefaultDayTimezone   = "UTC"
	DefaultHashAlgorithm = HashMD5
	// MaxParameters is the most context parameters a configuration may hold.
	MaxParameters = 50
)

// Hash algorithms for hashed parameters.
const (
	HashMD5        = "md5"
	HashHMACSHA256 = "hmac-sha256"
)

// Filtration modes of an application.
const (
	ModeOff        = "off"
	ModeMonitoring = "monitoring"
	ModeBlocking   = "blocking"
)

// Application is a named group of hosts with its filtration mode.
type Application struct {
	ID    int      `yaml:"id" json:"id"`
	Name  string   `yaml:"name" json:"name"`
	Hosts []string `yaml:"hosts,omitempty" json:"hosts,omitempty"`
	// Mode is off, monitoring (default) or blocking.
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
}

// Analyze limits which traffic is sessionized. Both empty: all of it.
type Analyze struct {
	Hosts        []string `yaml:"hosts,omitempty" json:"hosts,omitempty"`
	Applications []int    `yaml:"applications,omitempty" json:"applications,omitempty"`
}

// Parameter types.
const (
	ParamUser = "user"
	ParamRole = "role"
)

// Parameter is a configured session context parameter.
type Parameter struct {
	Name  string `yaml:"name" json:"name"`
	Point string `yaml:"point" json:"point"`
	// Type is "user", "role" or empty.
	Type string `yaml:"type,omitempty" json:"type,omitempty"`
	// Context tags sessions where the parameter appears with the business
	// flow named Name.
	Context bool `yaml:"context,omitempty" json:"context,omitempty"`
	Hash    bool `yaml:"hash,omitempty" json:"hash,omitempty"`
	Group   bool `yaml:"group,omitempty" json:"group,omitempty"`
}

// FlowRule tags requests with a business flow by method and path pattern;
// '*' in Path matches any characters, '/' included.
type FlowRule struct {
	Name   string `yaml:"name" json:"name"`
	Method string `yaml:"method,omitempty" json:"method,omitempty"`
	Path   string `yaml:"path" json:"path"`
}

// DetectionConfig tunes OWASP CRS.
type DetectionConfig struct {
	// ParanoiaLevel is 1 (default) to 4.
	ParanoiaLevel int `yaml:"paranoia_level,omitempty" json:"paranoia_level,omitempty"`
	// AnomalyThreshold is the inbound anomaly score at which a request is an
	// attack (default 5, as CRS).
	AnomalyThreshold int `yaml:"anomaly_threshold,omitempty" json:"anomaly_threshold,omitempty"`
	// ExcludeRules are CRS rule IDs never to run.
	ExcludeRules []int `yaml:"exclude_rules,omitempty" json:"exclude_rules,omitempty"`
	// Responses also inspects responses.
	Responses bool `yaml:"responses,omitempty" json:"responses,omitempty"`
	// BodyLimit is the request body bytes inspected (default 128 KiB).
	BodyLimit int `yaml:"body_limit,omitempty" json:"body_limit,omitempty"`
}

// Duration is a time.Duration written as "168h" in YAML and JSON.
type Duration time.Duration

// MarshalText writes the duration as Go does ("168h0m0s").
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration; "7d"-style day counts are accepted too.
func (d *Duration) UnmarshalText(b []byte) error {
	s := string(b)
	if n := len(s); n > 1 && s[n-1] == 'd' {
		var days int
		if _, err := fmt.Sscanf(s, "%dd", &days); err == nil && fmt.Sprintf("%dd", days) == s {
			*d = Duration(time.Duration(days) * 24 * time.Hour)
			return nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("bad duration %q: want a number with a unit such as 168h or 7d", s)
	}
	*d = Duration(v)
	return nil
}
