package apisessions

import "time"

// Key is the grouping key that decided a request's session: the point that
// produced it and its exported value (raw, hashed, or client IP + User-Agent).
type Key struct {
	Point string `json:"point"`
	Value string `json:"value"`
}

// Param is a configured context parameter present in a request, as exported.
type Param struct {
	Name  string `json:"name"`
	Point string `json:"point"`
	// Value is the exported value: the raw value, or its hash when Hashed.
	Value  string `json:"value"`
	Hashed bool   `json:"hashed"`
	// Type is "user", "role" or empty.
	Type string `json:"type,omitempty"`
}

// Content is the full content of a malicious request, masked on the node.
type Content struct {
	Method  string  `json:"method"`
	Target  string  `json:"target"`
	Headers Headers `json:"headers"`
	Body    string  `json:"body,omitempty"`
	// BodyBase64 marks a body that is not valid UTF-8, stored base64.
	BodyBase64 bool `json:"body_base64,omitempty"`
	// Truncated marks a body cut at the stored-content limit.
	Truncated bool `json:"truncated,omitempty"`
}

// Record is the export record of one request: everything about it that
// leaves the node. Hashed and masked values are already hashed or masked.
type Record struct {
	ID        string `json:"id"`
	SessionID string `json:"session_id"`
	// Day is the calendar day (YYYY-MM-DD) of Time in the tenant's day
	// timezone: the session day part the request belongs to.
	Day  string    `json:"day"`
	Time time.Time `json:"time"`

	Method string `json:"method"`
	Host   string `json:"host"`
	// Path never carries the query string: it may hold tokens.
	Path         string  `json:"path"`
	Endpoint     string  `json:"endpoint"`
	Status       int     `json:"status"`
	DurationMS   float64 `json:"duration_ms"`
	ResponseSize int64   `json:"response_size"`
	ClientIP     string  `json:"client_ip"`
	UserAgent    string  `json:"user_agent,omitempty"`
	Application  int     `json:"application,omitempty"`

	Key    Key      `json:"key"`
	User   string   `json:"user,omitempty"`
	Role   string   `json:"role,omitempty"`
	Params []Param  `json:"params"`
	Flows  []string `json:"flows"`

	Verdict  Verdict   `json:"verdict,omitempty"`
	Score    int       `json:"score,omitempty"`
	Findings []Finding `json:"attacks"`
	// Partial marks a request inspected only up to a limit.
	Partial bool `json:"partial,omitempty"`

	Blocked     bool   `json:"blocked"`
	BlockReason string `json:"block_reason,omitempty"`
	// Mode is the filtration mode the request was handled in.
	Mode string `json:"mode,omitempty"`

	// Content is set for malicious requests only.
	Content *Content `json:"content,omitempty"`
}

// Malicious reports whether the request was judged an attack.
func (r *Record) Malicious() bool { return r.Verdict == VerdictAttack }

// NameCount is a value with the number of requests that carried it.
type NameCount struct {
	Name     string `json:"name"`
	Requests int    `json:"requests"`
}

// EndpointCount is a normalised endpoint ("GET /api/users/{int}") with its
// number of requests.
type EndpointCount struct {
	Endpoint string `json:"endpoint"`
	Requests int    `json:"requests"`
}

// StatusCount is a response status with its number of requests (0: no
// response seen).
type StatusCount struct {
	Status   int `json:"status"`
	Requests int `json:"requests"`
}

// Session is one day part of a session. All parts of a session share its ID.
type Session struct {
	ID           string    `json:"id"`
	Day          string    `json:"day"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
	RequestCount int       `json:"request_count"`
	AttackCount  int       `json:"attack_count"`
	Blocked      bool      `json:"blocked"`
	// Key is the winning key of the earliest request of the part.
	Key Key `json:"key"`
	// User and Role are the first non-empty values in time order; Users and
	// Roles count every value.
	User         string          `json:"user"`
	Role         string          `json:"role"`
	Users        []NameCount     `json:"users"`
	Roles        []NameCount     `json:"roles"`
	ClientIPs    []string        `json:"client_ips"`
	UserAgents   []string        `json:"user_agents"`
	Hosts        []string        `json:"hosts"`
	Applications []int           `json:"applications"`
	Flows        []NameCount     `json:"flows"`
	Endpoints    []EndpointCount `json:"endpoints"`
	Statuses     []StatusCount   `json:"statuses"`
	Methods      []NameCount     `json:"methods"`
	AttackTypes  []NameCount     `json:"attack_types"`
}
