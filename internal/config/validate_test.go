package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apisessions/apisessions"
)

// validCase is a configuration that passes, in YAML; the refusal cases
// below each break one thing in it.
const validYAML = `
retention: 72h
day_timezone: Europe/Paris
hash_algorithm: hmac-sha256
trusted_proxies: [10.0.0.0/8, "192.0.2.1", "2001:db8::/32"]
applications:
  - {id: 1, name: shop, hosts: [shop.example.com, "*.shop.example.com"], mode: blocking}
  - {id: 2, name: api, hosts: [api.example.com, "api.example.com:8443", "[2001:db8::1]:443"]}
analyze: {hosts: [shop.example.com], applications: [1, 2]}
parameters:
  - {name: Session, point: response.body|json.token|jwt.sid, group: true, hash: true}
  - {name: Username, point: request.body|json.username, type: user}
  - {name: Role, point: response.body|json.role, type: role}
  - {name: Checkout, point: request.body|json.order_id, context: true}
mask: [request.body|json.password, request.header.X-Card]
flows:
  - {name: Transfers, method: POST, path: "/bank/transfer*"}
  - {name: Search, method: get, path: "*/search"}
detection: {paranoia_level: 4, anomaly_threshold: 1, exclude_rules: [920350], responses: true, body_limit: 65536}
`

func TestValidateAcceptsValid(t *testing.T) {
	c, err := Parse([]byte(validYAML))
	if err != nil {
		t.Fatal(err)
	}
	if ps := Validate(c); len(ps) != 0 {
		t.Fatalf("Validate = %v, want none", ps)
	}
	if ps := Validate(WithDefaults(c)); len(ps) != 0 {
		t.Fatalf("Validate(WithDefaults) = %v, want none", ps)
	}
	if ps := Validate(apisessions.Config{}); len(ps) != 0 {
		t.Fatalf("Validate(zero) = %v, want none", ps)
	}
}

// refusals are the configurations Validate refuses, each with the exact
// problems. A trailing "*" leaves out what internal/point says after the
// column, which is that package's to word. They seed FuzzParseValidate too.
var refusals = []struct {
	name string
	yaml string
	want []string
}{
	{"bad point", `parameters: [{name: A, point: request.bogus}]`,
		[]string{`parameters[0].point: bad point "request.bogus": column 9: *`}},
	{"point that ends early", `parameters: [{name: A, point: "request.body|json."}]`,
		[]string{`parameters[0].point: bad point "request.body|json.": column 19: *`}},
	{"missing point", `parameters: [{name: A}]`,
		[]string{`parameters[0].point: is required`}},
	{"missing name", `parameters: [{point: request.query.a}]`,
		[]string{`parameters[0].name: is required`}},
	{"duplicate name", `parameters: [{name: User, point: request.query.a}, {name: user, point: request.query.b}]`,
		[]string{`parameters[1].name: duplicate parameter name "user" (also parameters[0])`}},
	{"duplicate point, spelt differently", `parameters: [{name: A, point: request.header.x-token}, {name: B, point: request.header.X-Token}]`,
		[]string{`parameters[1].point: duplicate point "request.header.X-Token" (also parameters[0])`}},
	{"bad type", `parameters: [{name: A, point: request.query.a, type: admin}]`,
		[]string{`parameters[0].type: unknown type "admin": want user, role or none`}},
	{"masked grouping key", `{parameters: [{name: Login, point: request.body|json.password, group: true}], mask: [request.body|json.password]}`,
		[]string{`parameters[0].point: grouping key "Login" is masked by mask[0] "request.body|json.password": a masked value cannot group sessions; remove the mask rule or group: true`}},
	{"grouping key inside a masked value", `{parameters: [{name: Uid, point: request.cookie.state|base64|json.uid, group: true}], mask: [request.cookie.state]}`,
		[]string{`parameters[0].point: grouping key "Uid" is masked by mask[0] "request.cookie.state": a masked value cannot group sessions; remove the mask rule or group: true`}},
	{"mask covering a header in another case", `{parameters: [{name: K, point: request.header.X-Key, group: true}], mask: [request.header.x-key]}`,
		[]string{`parameters[0].point: grouping key "K" is masked by mask[0] "request.header.x-key": a masked value cannot group sessions; remove the mask rule or group: true`}},
	{"masked method", `mask: [request.method]`,
		[]string{`mask[0]: request.method cannot be masked: it is metadata every record keeps, with too few values to hide`}},
	{"hashed status", `parameters: [{name: S, point: response.status, hash: true}]`,
		[]string{`parameters[0].point: response.status cannot be hashed: it is metadata every record keeps, with too few values for a hash to hide`}},
	{"too many parameters", manyParameters(51),
		[]string{`parameters: 51 parameters: at most 50 are allowed`}},
	{"bad mask point", `mask: [request.body|nope]`,
		[]string{`mask[0]: bad point "request.body|nope": column 14: *`}},
	{"duplicate mask", `mask: [request.body|json.password, request.body|json.password]`,
		[]string{`mask[1]: duplicate mask rule "request.body|json.password" (also mask[0])`}},
	{"unknown application in analyze", `{applications: [{id: 1, name: shop}], analyze: {applications: [1, 7]}}`,
		[]string{`analyze.applications[1]: unknown application ID 7: not in applications`}},
	{"empty analyze host", `analyze: {hosts: [""]}`,
		[]string{`analyze.hosts[0]: is empty`}},
	{"duplicate application ID", `applications: [{id: 1, name: shop}, {id: 1, name: api}]`,
		[]string{`applications[1].id: duplicate application ID 1 (also applications[0])`}},
	{"application ID zero", `applications: [{id: 0, name: shop}]`,
		[]string{`applications[0].id: must be a positive integer, not 0`}},
	{"application without name", `applications: [{id: 3}]`,
		[]string{`applications[0].name: is required`}},
	{"empty application host", `applications: [{id: 3, name: x, hosts: [""]}]`,
		[]string{`applications[0].hosts[0]: is empty`}},
	{"host in two applications", `applications: [{id: 1, name: a, hosts: [shop.example.com]}, {id: 2, name: b, hosts: [api.example.com, Shop.Example.com]}]`,
		[]string{`applications[1].hosts[1]: duplicate host "Shop.Example.com" (also applications[0].hosts[0])`}},
	{"URL for a host", `applications: [{id: 3, name: x, hosts: ["https://shop.example.com/api"]}]`,
		[]string{`applications[0].hosts[0]: "https://shop.example.com/api" is a URL: write the host only (shop.example.com)`}},
	{"host with a path", `analyze: {hosts: [shop.example.com/api]}`,
		[]string{`analyze.hosts[0]: "shop.example.com/api" is not a host name: no path, query or spaces`}},
	{"bad mode", `applications: [{id: 1, name: shop, mode: block}]`,
		[]string{`applications[0].mode: unknown mode "block": want off, monitoring or blocking`}},
	{"negative retention", `retention: -1h`,
		[]string{`retention: must be positive, not -1h0m0s`}},
	{"bad CIDR", `trusted_proxies: [10.0.0.0/33]`,
		[]string{`trusted_proxies[0]: bad CIDR "10.0.0.0/33": want an address with a prefix length such as 10.0.0.0/8`}},
	{"not an address", `trusted_proxies: [proxy.local]`,
		[]string{`trusted_proxies[0]: bad CIDR "proxy.local": want an address with a prefix length such as 10.0.0.0/8`}},
	{"CIDR with host bits", `trusted_proxies: [10.1.2.3/8]`,
		[]string{`trusted_proxies[0]: bad CIDR "10.1.2.3/8": host bits are set, did you mean 10.0.0.0/8?`}},
	{"unknown timezone", `day_timezone: Mars/Olympus`,
		[]string{`day_timezone: unknown timezone "Mars/Olympus": want an IANA zone such as UTC or Europe/Paris`}},
	{"Local timezone", `day_timezone: Local`,
		[]string{`day_timezone: "Local" differs from machine to machine: name an IANA zone such as Europe/Paris`}},
	{"unknown hash algorithm", `hash_algorithm: sha1`,
		[]string{`hash_algorithm: unknown hash algorithm "sha1": want md5 or hmac-sha256`}},
	{"flow without name and path", `flows: [{method: GET}]`,
		[]string{`flows[0].name: is required`, `flows[0].path: is required`}},
	{"flow path without slash", `flows: [{name: X, path: "api/*"}]`,
		[]string{`flows[0].path: "api/*" must start with / or *`}},
	{"method with a slash", `flows: [{name: X, method: "POST/", path: /a}]`,
		[]string{`flows[0].method: bad method "POST/": want an HTTP method such as GET or POST`}},
	{"method with a space", `flows: [{name: X, method: "GET /", path: /a}]`,
		[]string{`flows[0].method: bad method "GET /": want an HTTP method such as GET or POST`}},
	{"paranoia level 5", `detection: {paranoia_level: 5}`,
		[]string{`detection.paranoia_level: must be 1 to 4, not 5`}},
	{"negative paranoia level", `detection: {paranoia_level: -1}`,
		[]string{`detection.paranoia_level: must be 1 to 4, not -1`}},
	{"negative threshold", `detection: {anomaly_threshold: -3}`,
		[]string{`detection.anomaly_threshold: must be at least 1, not -3`}},
	{"negative body limit", `detection: {body_limit: -1}`,
		[]string{`detection.body_limit: must be positive, not -1`}},
	{"bad excluded rules", `detection: {exclude_rules: [0, 942100, 942100]}`,
		[]string{`detection.exclude_rules[0]: must be a positive rule ID, not 0`, `detection.exclude_rules[2]: duplicate rule ID 942100`}},
	{"several problems in schema order", `{mask: [y], detection: {paranoia_level: 9}, retention: -1s, hash_algorithm: x, applications: [{id: 1, name: a, mode: x}], parameters: [{name: a, point: x}]}`,
		[]string{`retention: must be positive, not -1s`, `hash_algorithm: unknown hash algorithm "x": want md5 or hmac-sha256`,
			`applications[0].mode: unknown mode "x": want off, monitoring or blocking`,
			`parameters[0].point: bad point "x": column 1: *`, `mask[0]: bad point "y": column 1: *`,
			`detection.paranoia_level: must be 1 to 4, not 9`}},
}

func manyParameters(n int) string {
	var b strings.Builder
	b.WriteString("parameters:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {name: P%d, point: request.query.p%d}\n", i, i)
	}
	return b.String()
}

func TestValidateRefuses(t *testing.T) {
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var got []string
			for _, p := range Validate(c) {
				got = append(got, p.String())
			}
			if !slices.EqualFunc(got, tt.want, matchProblem) {
				t.Errorf("Validate:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// matchProblem compares a problem with the wanted text, a trailing "*"
// matching any rest.
func matchProblem(got, want string) bool {
	if prefix, ok := strings.CutSuffix(want, "*"); ok {
		return strings.HasPrefix(got, prefix) && len(got) > len(prefix)
	}
	return got == want
}

func TestFiftyParametersAccepted(t *testing.T) {
	c, err := Parse([]byte(manyParameters(apisessions.MaxParameters)))
	if err != nil {
		t.Fatal(err)
	}
	if ps := Validate(c); len(ps) != 0 {
		t.Fatalf("Validate = %v, want none", ps)
	}
}

func TestProblemString(t *testing.T) {
	p := Problem{Path: "parameters[2].point", Reason: "is required"}
	if got, want := p.String(), "parameters[2].point: is required"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
