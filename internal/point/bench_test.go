package point

import (
	"encoding/json"
	"testing"

	"github.com/apisessions/apisessions"
)

// benchBody is a realistic ~1 KB JSON request body: a checkout call.
const benchBody = `{"order_id":"ord_8f14e45fceea167a5a36dedd4bea2543","user":{"id":48213,"email":"alice@example.com","name":"Alice Example","roles":["customer","beta"],"address":{"street":"12 Rue de la Paix","city":"Paris","zip":"75002","country":"FR"}},"items":[{"sku":"SKU-1001","name":"Espresso beans 1kg","qty":2,"price":24.9,"tags":["coffee","beans"]},{"sku":"SKU-2044","name":"Milk frother","qty":1,"price":39.0,"tags":["kitchen"]},{"sku":"SKU-3100","name":"Ceramic cup set","qty":1,"price":18.5,"tags":["kitchen","gift"]}],"payment":{"method":"card","card":{"brand":"visa","last4":"4242","exp":"12/29"},"amount":107.3,"currency":"EUR"},"shipping":{"method":"express","eta_days":2,"notes":"Leave at the door, ring twice \u00e9"},"coupon":null,"gift":false,"metadata":{"client":"web","version":"5.12.3","experiment":"checkout-v2","session_started":"2026-11-20T09:58:11Z","referrer":"https://shop.example.com/cart"}}`

// benchJWT has the claims sub, sid, role, iat and exp.
const benchJWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQ4MjEzIiwic2lkIjoiOGYxNGU0NWYiLCJyb2xlIjoiY3VzdG9tZXIiLCJpYXQiOjE3OTM1MjAwMDAsImV4cCI6MTc5MzUyMzYwMH0.3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

func benchExchange() *apisessions.Exchange {
	return &apisessions.Exchange{
		ID:       "r-0001",
		ClientIP: "203.0.113.7",
		Request: apisessions.Request{
			Method: "POST",
			URL:    "https://shop.example.com/api/v2/orders/48213/checkout?lang=fr&token=tk_51Hx9&utm_source=mail",
			Headers: apisessions.Headers{
				{Name: "Host", Value: "shop.example.com"},
				{Name: "User-Agent", Value: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"},
				{Name: "Accept", Value: "application/json"},
				{Name: "Accept-Language", Value: "fr-FR,fr;q=0.9,en;q=0.8"},
				{Name: "Content-Type", Value: "application/json"},
				{Name: "Authorization", Value: "Bearer " + benchJWT},
				{Name: "X-Request-Id", Value: "5d1c7a52-8a4e-4b8e-9d1e-0c8f3e6b2a11"},
				{Name: "Cookie", Value: "_ga=GA1.2.1234567.1700000000; PHPSESSID=9a8b7c6d5e4f3a2b1c0d; theme=dark; consent=yes"},
			},
			Body: []byte(benchBody),
		},
		Response: &apisessions.Response{
			Status: 201,
			Headers: apisessions.Headers{
				{Name: "Content-Type", Value: "application/json; charset=utf-8"},
				{Name: "Set-Cookie", Value: "PHPSESSID=9a8b7c6d5e4f3a2b1c0d; Path=/; HttpOnly"},
			},
			Body: []byte(`{"status":"created","order":{"id":"ord_8f14e45f","total":107.3},"role":"customer"}`),
		},
	}
}

// benchPoints are the 10 configured points of BenchmarkEvaluate.
var benchPoints = []string{
	"request.header.X-Request-Id",
	"request.cookie.PHPSESSID",
	"request.query.token",
	"request.body|json.user.email",
	"request.body|json.items[1].sku",
	"request.body|json.payment.amount",
	"request.header.Authorization|jwt.sub",
	"response.body|json.role",
	"request.method",
	"request.path[3]",
}

func BenchmarkEvaluate(b *testing.B) {
	ex := benchExchange()
	ps := make([]*Point, len(benchPoints))
	for i, s := range benchPoints {
		ps[i] = MustParse(s)
	}
	e := NewEvaluator(DefaultLimits())
	e.Reset(ex)
	for _, p := range ps {
		if _, ok := e.First(p); !ok {
			b.Fatalf("%s yields nothing", p)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Reset(ex)
		for _, p := range ps {
			e.First(p)
		}
	}
}

func BenchmarkListPoints(b *testing.B) {
	ex := benchExchange()
	e := NewEvaluator(DefaultLimits())
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Reset(ex)
		e.List(func(point, value string) bool { n++; return true })
	}
	if n == 0 {
		b.Fatal("nothing listed")
	}
}

func BenchmarkBaselineEncodingJSON(b *testing.B) {
	body := []byte(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			b.Fatal(err)
		}
	}
}
