package sessionize

import (
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/cputime"
	"github.com/apisessions/apisessions/internal/point"
)

// benchConfig is a realistic tenant configuration with 8 parameters.
func benchConfig() apisessions.Config {
	return apisessions.Config{
		TrustedProxies: []string{"10.0.0.0/8"},
		Applications:   []apisessions.Application{{ID: 1, Name: "shop", Hosts: []string{"shop.example.com", "*.shop.example.com"}}},
		Mask:           []string{"request.body|json.payment.card"},
		Parameters: []apisessions.Parameter{
			prm("Bank session", "request.header.X-Bank-Session", group),
			prm("User", "request.header.Authorization|jwt.sub", typ(apisessions.ParamUser)),
			prm("Role", "response.body|json.role", typ(apisessions.ParamRole)),
			prm("Email", "request.body|json.customer.email", hashed),
			prm("Order", "request.body|json.order_id", context),
			prm("Tenant", "request.header.X-Tenant"),
			prm("Page", "request.query.page"),
			prm("Request", "request.header.X-Request-Id"),
		},
		Flows: []apisessions.FlowRule{{Name: "Transfers", Method: "POST", Path: "/bank/transfer*"}},
	}
}

// benchExchange is a POST of a JSON order behind a proxy, with a JWT, a
// session cookie and a JSON response.
func benchExchange() *apisessions.Exchange {
	jwt := mkJWT(map[string]any{"sub": "alice@example.com", "iat": 1763640000, "exp": 1763643600, "scope": "orders:write"})
	return mkEx(id("r-bench-1"), ip("10.0.3.4"), method("POST"),
		target("https://eu.shop.example.com/api/v1/orders/12345/items?page=2&sort=asc"),
		ua("Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"),
		hdr("Accept", "application/json"),
		hdr("Accept-Language", "en-US,en;q=0.5"),
		hdr("X-Forwarded-For", "203.0.113.50, 10.0.0.2"),
		hdr("Authorization", "Bearer "+jwt),
		hdr("Cookie", "PHPSESSID=9f8e7d6c5b4a39281706f5e4d3c2b1a0; theme=dark; _ga=GA1.2.3"),
		hdr("X-Tenant", "acme"),
		hdr("X-Request-Id", "6f1c1b9e-1e2a-4c55-9d1b-0b4c1e7b9a10"),
		body("application/json", `{"order_id":"ord-12345","customer":{"email":"alice@example.com","name":"Alice"},`+
			`"items":[{"sku":"SKU-1","qty":2,"price":19.99},{"sku":"SKU-2","qty":1,"price":5.5}],`+
			`"payment":{"card":"4111111111111111","method":"card"},"note":"leave at the door"}`),
		respHdr("Content-Type", "application/json"),
		respBody(`{"id":"ord-12345","status":"created","role":"customer","total":45.48}`),
	)
}

// BenchmarkProcess: one realistic exchange through Process.
func BenchmarkProcess(b *testing.B) {
	s := MustSessionizer(b, benchConfig())
	ex := benchExchange()
	var rec apisessions.Record
	b.ReportAllocs()
	cpu0 := cputime.Process()
	for b.Loop() {
		if _, err := s.Process(ex, apisessions.Detection{Verdict: apisessions.VerdictClean}, &rec); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0)
}

// BenchmarkPointsFloor is the baseline of BenchmarkProcess: evaluating the
// same parameter and mask points on the same exchange, nothing else.
func BenchmarkPointsFloor(b *testing.B) {
	cfg := benchConfig()
	var pts []*point.Point
	for _, p := range cfg.Parameters {
		pts = append(pts, point.MustParse(p.Point))
	}
	for _, m := range cfg.Mask {
		pts = append(pts, point.MustParse(m))
	}
	ev := point.NewEvaluator(point.DefaultLimits())
	ex := benchExchange()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		ev.Reset(ex)
		for _, p := range pts {
			if _, ok := ev.First(p); ok {
				n++
			}
		}
	}
	if n == 0 {
		b.Fatal("no point yielded a value")
	}
}

// BenchmarkProcessAttack: the rare path, a malicious request with content.
func BenchmarkProcessAttack(b *testing.B) {
	s := MustSessionizer(b, benchConfig())
	ex := benchExchange()
	det := apisessions.Detection{Verdict: apisessions.VerdictAttack, Score: 5, Findings: []apisessions.Finding{
		{Type: apisessions.AttackSQLi, RuleIDs: []int{942100}, Score: 5, Point: "request.body|json.note", Payload: "leave at the door"},
	}}
	var rec apisessions.Record
	b.ReportAllocs()
	cpu0 := cputime.Process()
	for b.Loop() {
		if _, err := s.Process(ex, det, &rec); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0)
}

// BenchmarkMaskPayload: masking the payloads of findings at points of
// several sources (body, query, header, cookie, a point that does not
// parse), under a configuration with mask rules.
func BenchmarkMaskPayload(b *testing.B) {
	s := MustSessionizer(b, benchConfig())
	sec := newSecrets("4111111111111111", "alice@example.com").sorted()
	findings := []apisessions.Finding{
		{Point: "request.body|json.note", Payload: "leave at the door' OR 1=1--"},
		{Point: "request.query.page", Payload: "2 UNION SELECT card FROM payments"},
		{Point: "request.header.X-Tenant", Payload: "acme<script>alert(1)</script>"},
		{Point: "request.cookie.theme", Payload: "dark' OR 'a'='a"},
		{Point: "request.body|json.items[0].sku", Payload: "../../etc/passwd"},
		{Point: "request.args.odd", Payload: "not a point"},
	}
	n := 0
	b.ReportAllocs()
	cpu0 := cputime.Process()
	for b.Loop() {
		for _, f := range findings {
			n += len(s.maskPayload(f.Point, f.Payload, sec, nil, nil))
		}
	}
	reportCPU(b, cpu0)
	if n == 0 {
		b.Fatal("every payload masked to nothing")
	}
}

// reportCPU reports the process CPU time per operation since cpu0.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	if cpu := cputime.Process() - cpu0; cpu > 0 && b.N > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
