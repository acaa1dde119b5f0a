package storetest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/apisessions/apisessions"
)

// base is the start of generated traffic. Times are whole microseconds:
// every store keeps at least that precision (PostgreSQL keeps no more).
var base = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// Value pools of generated records. Small pools make filters match several
// parts and parts share values, which is what merging must get right.
var (
	poolUsers     = []string{"", "", "alice", "bob", "carol"}
	poolRoles     = []string{"", "", "admin", "viewer"}
	poolIPs       = []string{"10.0.0.1", "10.0.0.2", "192.0.2.7", "2001:db8::1"}
	poolUAs       = []string{"", "curl/8.5", "Mozilla/5.0"}
	poolHosts     = []string{"api.example.com", "shop.example.com"}
	poolFlows     = []string{"login", "checkout", "search"}
	poolEndpoints = [][2]string{
		{"GET", "GET /api/users/{int}"},
		{"GET", "GET /api/orders"},
		{"POST", "POST /api/login"},
		{"POST", "POST /api/orders/{uuid}/items"},
		{"DELETE", "DELETE /api/users/{int}"},
	}
	poolStatus = []int{200, 200, 201, 404, 500, 0}
	poolTypes  = []apisessions.AttackType{apisessions.AttackSQLi, apisessions.AttackXSS, apisessions.AttackRCE}
)

// Generate returns n realistic records of the given number of sessions over
// days consecutive UTC days, deterministically from seed. Record IDs are
// prefix followed by a number, so two calls with different prefixes give
// disjoint IDs.
func Generate(seed uint64, prefix string, n, sessions, days int) []apisessions.Record {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	recs := make([]apisessions.Record, n)
	for i := range recs {
		sess := rng.IntN(sessions)
		t := base.Add(time.Duration(rng.Int64N(int64(days)*24*int64(time.Hour/time.Microsecond))) * time.Microsecond)
		recs[i] = genRecord(rng, fmt.Sprintf("%s%07d", prefix, i), fmt.Sprintf("sess-%04d", sess), t)
	}
	return recs
}

func pick[T any](rng *rand.Rand, pool []T) T { return pool[rng.IntN(len(pool))] }

func genRecord(rng *rand.Rand, id, session string, t time.Time) apisessions.Record {
	ep := pick(rng, poolEndpoints)
	r := apisessions.Record{
		ID:           id,
		SessionID:    session,
		Day:          t.UTC().Format("2006-01-02"),
		Time:         t,
		Method:       ep[0],
		Host:         pick(rng, poolHosts),
		Path:         "/api/x/" + fmt.Sprint(rng.IntN(100)),
		Endpoint:     ep[1],
		Status:       pick(rng, poolStatus),
		DurationMS:   float64(rng.IntN(5000)) / 10,
		ResponseSize: rng.Int64N(100000),
		ClientIP:     pick(rng, poolIPs),
		UserAgent:    pick(rng, poolUAs),
		Application:  rng.IntN(4),
		User:         pick(rng, poolUsers),
		Role:         pick(rng, poolRoles),
		Verdict:      apisessions.VerdictClean,
		Mode:         "monitoring",
	}
	if rng.IntN(5) > 0 {
		r.Key = apisessions.Key{Point: "request.headers.authorization", Value: fmt.Sprintf("h%d", rng.IntN(3))}
	}
	if r.User != "" {
		r.Params = append(r.Params, apisessions.Param{Name: "user", Point: "request.body|json.user", Value: r.User, Type: "user"})
	}
	if rng.IntN(2) == 0 {
		r.Params = append(r.Params, apisessions.Param{Name: "token", Point: "request.query.token", Value: "5f4dcc3b5aa765d61d8327deb882cf99", Hashed: true})
	}
	for _, f := range poolFlows {
		if rng.IntN(3) == 0 {
			r.Flows = append(r.Flows, f)
		}
	}
	switch rng.IntN(6) {
	case 0:
		r.Verdict = apisessions.VerdictAttack
		r.Score = 10 + rng.IntN(20)
		n := 1 + rng.IntN(2)
		for range n {
			r.Findings = append(r.Findings, apisessions.Finding{
				Type: pick(rng, poolTypes), RuleIDs: []int{942100 + rng.IntN(10)}, Score: 5,
				Point: "request.query.q", Payload: "' OR 1=1 --",
			})
		}
		r.Content = &apisessions.Content{
			Method: r.Method, Target: r.Path + "?q=%27",
			Headers: apisessions.Headers{{Name: "Host", Value: r.Host}, {Name: "Authorization", Value: "***"}},
			Body:    `{"q":"' OR 1=1 --"}`,
		}
		if rng.IntN(2) == 0 {
			r.Blocked, r.BlockReason, r.Mode = true, "attack", "blocking"
		}
	case 1:
		r.Verdict = apisessions.VerdictSuspicious
		r.Score = 3
		r.Findings = []apisessions.Finding{{Type: apisessions.AttackScanner, RuleIDs: []int{913100}, Score: 3, Point: "request.headers.user-agent", Payload: "nikto"}}
	}
	return r
}

// FullRecord is a record with every field set, for round-trip checks.
func FullRecord(id, session string, t time.Time) apisessions.Record {
	return apisessions.Record{
		ID: id, SessionID: session, Day: t.UTC().Format("2006-01-02"), Time: t,
		Method: "POST", Host: "api.example.com", Path: "/api/login", Endpoint: "POST /api/login",
		Status: 401, DurationMS: 12.5, ResponseSize: 1234, ClientIP: "192.0.2.10",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) \"quoted\" ünïcode", Application: 7,
		Key:  apisessions.Key{Point: "request.cookies.sessionid", Value: "0cc175b9c0f1b6a831c399e269772661"},
		User: "alice@example.com", Role: "admin",
		Params: []apisessions.Param{
			{Name: "login", Point: "request.body|json.login", Value: "alice@example.com", Type: "user"},
			{Name: "role", Point: "response.body|json.role", Value: "admin", Type: "role"},
			{Name: "card", Point: "request.body|json.card", Value: "8d777f385d3dfec8815d20f7496026dc", Hashed: true},
		},
		Flows:   []string{"login", "account"},
		Verdict: apisessions.VerdictAttack, Score: 15,
		Findings: []apisessions.Finding{
			{Type: apisessions.AttackSQLi, RuleIDs: []int{942100, 942190}, Score: 10, Point: "request.body|json.login", Payload: "admin' --"},
			{Type: apisessions.AttackXSS, RuleIDs: []int{941100}, Score: 5, Point: "request.headers.referer", Payload: "<script>alert(1)</script>"},
		},
		Partial: true, Blocked: true, BlockReason: "denylist", Mode: "blocking",
		Content: &apisessions.Content{
			Method: "POST", Target: "/api/login?next=%2F",
			Headers: apisessions.Headers{
				{Name: "Host", Value: "api.example.com"},
				{Name: "Cookie", Value: "***"},
				{Name: "X-Forwarded-For", Value: "192.0.2.10"},
				{Name: "X-Forwarded-For", Value: "10.0.0.1"},
			},
			Body: "aGVsbG8A/w==", BodyBase64: true, Truncated: true,
		},
	}
}
