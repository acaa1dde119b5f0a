package apisessions

// AttackType names a class of attack. The set follows OWASP CRS rule files.
type AttackType string

// Attack types reported in findings.
const (
	AttackSQLi            AttackType = "sqli"
	AttackXSS             AttackType = "xss"
	AttackRCE             AttackType = "rce"
	AttackPathTraversal   AttackType = "path_traversal"
	AttackLFI             AttackType = "lfi"
	AttackRFI             AttackType = "rfi"
	AttackPHPInjection    AttackType = "php_injection"
	AttackJavaInjection   AttackType = "java_injection"
	AttackNodeJSInjection AttackType = "nodejs_injection"
	AttackSSRF            AttackType = "ssrf"
	AttackSessionFixation AttackType = "session_fixation"
	AttackScanner         AttackType = "scanner"
	AttackProtocol        AttackType = "protocol"
	AttackMultipart       AttackType = "multipart"
	AttackGeneric         AttackType = "generic"
)

// Verdict is the outcome of detection on one exchange.
type Verdict string

// Verdicts. An exchange is an attack when its anomaly score reaches the
// threshold, suspicious when some rule matched below it.
const (
	VerdictClean      Verdict = "clean"
	VerdictSuspicious Verdict = "suspicious"
	VerdictAttack     Verdict = "attack"
)

// Finding is one detected attack in one place of an exchange.
type Finding struct {
	Type    AttackType `json:"type"`
	RuleIDs []int      `json:"rule_ids"`
	Score   int        `json:"score"`
	// Point names where it matched, in the point grammar
	// ("request.query.id", "request.body|json.comment").
	Point string `json:"point"`
	// Payload is the matched value, bounded in length. It is attacker
	// controlled: every renderer escapes it.
	Payload string `json:"payload"`
}

// Detection is the verdict on one exchange with its findings.
type Detection struct {
	Verdict  Verdict   `json:"verdict"`
	Score    int       `json:"score"`
	Findings []Finding `json:"findings,omitempty"`
	// Partial is set when a limit stopped inspection before the end of the
	// request (body bytes, arguments, nesting).
	Partial bool `json:"partial,omitempty"`
}

// Malicious reports whether the verdict is an attack.
func (d Detection) Malicious() bool { return d.Verdict == VerdictAttack }
