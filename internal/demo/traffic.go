// Package demo holds what the demo needs: a generator of realistic multi-user
// API traffic (normal users, an admin, attackers) for demos, tests and
// benchmarks.
package demo

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/jsonstring"
)

// TrafficOptions say what traffic Generate produces. The same options always
// produce the same traffic, byte for byte.
type TrafficOptions struct {
	// Exchanges is the number of exchanges generated.
	Exchanges int
	// Sessions is the number of user sessions (cookie and bearer users,
	// anonymous visitors, the admin). The attackers come on top: one
	// logged-in attacker and up to three scanners.
	Sessions int
	// Start is the time of the first exchange; exchanges are in time order
	// and spread evenly over Duration.
	Start    time.Time
	Duration time.Duration
	// Seed selects one traffic among the possible ones.
	Seed uint64
	// AttackRatio is the fraction of exchanges that carry an attack (SQL
	// injection, XSS, path traversal, scanners), 0 to 1.
	AttackRatio float64
}

// DefaultTrafficOptions returns options for a small sample: 2,000 exchanges of
// 40 sessions over one hour, 2% attacks.
func DefaultTrafficOptions() TrafficOptions {
	return TrafficOptions{
		Exchanges:   2000,
		Sessions:    40,
		Start:       time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC),
		Duration:    time.Hour,
		Seed:        1,
		AttackRatio: 0.02,
	}
}

// Validate says what is wrong with the options, or nil.
func (o TrafficOptions) Validate() error {
	var errs []error
	if o.Exchanges < 0 {
		errs = append(errs, fmt.Errorf("exchanges must not be negative, not %d", o.Exchanges))
	}
	if o.Sessions < 1 {
		errs = append(errs, fmt.Errorf("sessions must be at least 1, not %d", o.Sessions))
	}
	if o.Duration <= 0 {
		errs = append(errs, fmt.Errorf("duration must be positive, not %s", o.Duration))
	}
	if math.IsNaN(o.AttackRatio) || o.AttackRatio < 0 || o.AttackRatio > 1 {
		errs = append(errs, fmt.Errorf("attack ratio must be 0 to 1, not %v", o.AttackRatio))
	}
	if o.Start.IsZero() {
		errs = append(errs, errors.New("start time is required"))
	}
	return errors.Join(errs...)
}

// Hosts of the generated traffic: browsers use the shop, the mobile app the
// API host.
const (
	ShopHost = "shop.example.com"
	APIHost  = "api.example.com"
)

// Generate produces the traffic of opts and calls fn with each exchange, in
// time order. The exchange and its byte slices are reused for the next one:
// fn must copy what it keeps. An error from fn stops generation and is
// returned. Memory is constant in the number of exchanges and small in the
// number of sessions (only the sessions active at one time are held).
func Generate(opts TrafficOptions, fn func(*apisessions.Exchange) error) error {
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("traffic options: %w", err)
	}
	g := newGenerator(opts)
	for i := 0; i < opts.Exchanges; i++ {
		g.next(i)
		if err := fn(&g.ex); err != nil {
			return err
		}
	}
	return nil
}

// kind is the role a session plays.
type kind uint8

const (
	kindAnonymous kind = iota // browses without logging in: IP + User-Agent
	kindCookie                // browser user with a session cookie
	kindBearer                // mobile app user with a JWT bearer token
	kindAdmin                 // the shop's admin, cookie based
	kindAttacker              // logged-in attacker, cookie based
	kindScanner               // unauthenticated scanner
)

// session is the state of one simulated client.
type session struct {
	kind     kind
	host     string
	ip       string
	ua       string
	user     string
	password string
	role     string
	cookie   string // value of the session cookie once logged in
	// authorization and cookieHeader are the header values sent once
	// logged in, built when the token is issued rather than per request.
	authorization string
	cookieHeader  string
	sid           string // JWT sid claim, equal to the cookie: stays across token refreshes
	jwt           string
	loggedIn      bool
	failed        bool // already failed a login once
	quota         int  // requests this session makes
	done          int
	sinceRef      int    // requests since the token was issued
	order         string // order in the cart, checked out later
}

type generator struct {
	opts   TrafficOptions
	rng    *rand.Rand
	prefix string // exchange ID prefix, from the options
	start  time.Time
	step   time.Duration

	normal      int // exchanges made by user sessions
	attacksLeft int
	perSession  int // normal / Sessions
	extra       int // normal % Sessions: sessions that make one more
	nextSession int
	pool        []*session
	concurrency int
	attackers   []*session
	payloads    []payload

	ex      apisessions.Exchange
	resp    apisessions.Response
	reqBody []byte
	resBody []byte
	url     []byte
	id      []byte // the exchange ID being made
	idURL   []byte
	// reqHeaders and resHeaders keep the header slices' capacity from one
	// exchange to the next.
	reqHeaders apisessions.Headers
	resHeaders apisessions.Headers
}

func newGenerator(o TrafficOptions) *generator {
	g := &generator{
		opts:   o,
		rng:    rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		prefix: idPrefix(o),
	}
	if o.Exchanges > 0 {
		g.step = o.Duration / time.Duration(o.Exchanges)
	}
	// Start on a whole millisecond at or after o.Start, as the file keeps
	// milliseconds only.
	g.start = o.Start.Truncate(time.Millisecond)
	if g.start.Before(o.Start) {
		g.start = g.start.Add(time.Millisecond)
	}
	attacks := int(math.Round(float64(o.Exchanges) * o.AttackRatio))
	g.attacksLeft = attacks
	g.normal = o.Exchanges - attacks
	g.perSession = g.normal / o.Sessions
	g.extra = g.normal % o.Sessions
	// About a quarter of the sessions are active at once: sessions
	// interleave as real traffic does, yet each lasts a fraction of the run.
	g.concurrency = min(max(o.Sessions/4, 4), 200, o.Sessions)
	g.payloads = payloads()
	if attacks > 0 {
		g.attackers = g.newAttackers(min(1+attacks/40, 4))
	}
	g.reqBody = make([]byte, 0, 512)
	g.resBody = make([]byte, 0, 1024)
	g.url = make([]byte, 0, 256)
	return g
}

// idPrefix derives the exchange ID prefix from the options, so that the same
// options give the same IDs (re-importing changes nothing) and different ones
// do not collide.
func idPrefix(o TrafficOptions) string {
	h := fnv.New64a()
	var b [8]byte
	for _, v := range []uint64{uint64(o.Exchanges), uint64(o.Sessions), uint64(o.Start.UnixNano()),
		uint64(o.Duration), o.Seed, math.Float64bits(o.AttackRatio)} {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	return fmt.Sprintf("%08x", h.Sum64()>>32)
}

// quota returns how many requests session i makes: the normal exchanges
// split evenly, then moved between the two sessions of a pair so that
// session lengths vary while the total stays exact.
func (g *generator) quota(i int) int {
	base := func(j int) int {
		if j < g.extra {
			return g.perSession + 1
		}
		return g.perSession
	}
	pair := i &^ 1
	if pair+1 >= g.opts.Sessions {
		return base(i)
	}
	a, b := base(pair), base(pair+1)
	half := min(a, b) / 2
	h := splitmix(g.opts.Seed ^ uint64(pair)*0x2545f4914f6cdd1d)
	d := int(h%uint64(2*half+1)) - half // -half .. +half: both stay >= half
	if i == pair {
		return a + d
	}
	return b - d
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// next fills g.ex with exchange i.
func (g *generator) next(i int) {
	ex := &g.ex
	ex.ID = ""
	g.id = append(append(g.id[:0], g.prefix...), '-')
	g.id = appendPadded(g.id, i+1)
	// Exchange i falls in the i-th slice of the duration, so times are in
	// order; milliseconds are what the file format keeps.
	off := time.Duration(i)*g.step + time.Duration(g.rng.Int64N(int64(max(g.step, 1))))
	ex.Time = g.start.Add(off.Truncate(time.Millisecond))
	// The exchange is rebuilt from the generator's own buffers each time,
	// whatever fn did to the previous one.
	ex.Request.Headers = g.reqHeaders[:0]
	ex.Request.Body = nil
	g.resp = apisessions.Response{Headers: g.resHeaders[:0]}
	ex.Response = &g.resp
	g.reqBody = g.reqBody[:0]
	g.resBody = g.resBody[:0]

	remaining := g.opts.Exchanges - i
	attack := g.attacksLeft > 0 && g.rng.IntN(remaining) < g.attacksLeft
	s := g.pick()
	if s == nil {
		attack = true // only attacks are left
	}
	if attack {
		g.attacksLeft--
		a := g.attackers[g.rng.IntN(len(g.attackers))]
		ex.ClientIP = a.ip
		g.attack(a)
	} else {
		ex.ClientIP = s.ip
		g.user(s)
	}
	d := 2 + g.rng.ExpFloat64()*25
	if d > 3000 {
		d = 3000
	}
	g.resp.Duration = time.Duration(d*1000) * time.Microsecond
	if ex.ID == "" { // every request sets it with its URL; this guards a new one that would not
		ex.ID = string(g.id)
	}
	if len(g.reqBody) > 0 {
		ex.Request.Body = g.reqBody
	}
	g.resp.Body = g.resBody
}

// appendPadded appends n with at least 7 digits, so that IDs sort in order.
func appendPadded(b []byte, n int) []byte {
	for d := 1_000_000; d > 1 && n < d; d /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// pick returns the user session that makes the next normal request, starting
// new sessions as others end; nil when every session is done.
func (g *generator) pick() *session {
	for len(g.pool) < g.concurrency && g.nextSession < g.opts.Sessions {
		q := g.quota(g.nextSession)
		s := g.newSession(g.nextSession, q)
		g.nextSession++
		if q > 0 {
			g.pool = append(g.pool, s)
		}
	}
	if len(g.pool) == 0 {
		return nil
	}
	return g.pool[g.rng.IntN(len(g.pool))]
}

// finish removes s from the pool when it made all its requests.
func (g *generator) finish(s *session) {
	s.done++
	if s.done < s.quota {
		return
	}
	for j, p := range g.pool {
		if p == s {
			g.pool[j] = g.pool[len(g.pool)-1]
			g.pool = g.pool[:len(g.pool)-1]
			break
		}
	}
}

func (g *generator) newSession(i, quota int) *session {
	r := g.rng
	s := &session{quota: quota, role: "customer", host: ShopHost}
	switch {
	case i%50 == 1:
		s.kind = kindAdmin
		s.user, s.role = "admin", "admin"
	default:
		switch p := r.IntN(100); {
		case p < 12:
			s.kind = kindAnonymous
		case p < 40:
			s.kind = kindBearer
			s.host = APIHost
		default:
			s.kind = kindCookie
		}
		s.user = firstNames[r.IntN(len(firstNames))] + "." + strconv.Itoa(i+1)
	}
	s.password = "pw-" + randToken(r, 10)
	s.ip = g.clientIP()
	switch s.kind {
	case kindBearer:
		s.ua = appAgents[r.IntN(len(appAgents))]
	default:
		s.ua = browserAgents[r.IntN(len(browserAgents))]
	}
	return s
}

// clientIP returns a client address: one in ten users is behind a shared
// NAT address, a few use IPv6.
func (g *generator) clientIP() string {
	r := g.rng
	switch p := r.IntN(100); {
	case p < 10:
		return natIPs[r.IntN(len(natIPs))]
	case p < 15:
		return "2001:db8:" + strconv.FormatUint(uint64(r.IntN(0xffff)+1), 16) + "::" + strconv.FormatUint(uint64(r.IntN(0xffff)+1), 16)
	default:
		b := make([]byte, 0, 15)
		b = strconv.AppendInt(b, int64(publicOctets[r.IntN(len(publicOctets))]), 10)
		for k := 0; k < 3; k++ {
			b = append(b, '.')
			b = strconv.AppendInt(b, int64(r.IntN(254)+1), 10)
		}
		return string(b)
	}
}

// login makes s log in (or fail to, once in a while).
func (g *generator) login(s *session) {
	r := g.rng
	g.setRequest(s, "POST", "/api/login", "")
	g.header("Content-Type", "application/json")
	pw := s.password
	if !s.failed && r.IntN(100) < 4 {
		pw = "wrong-" + strconv.Itoa(r.IntN(1000))
		s.failed = true
	}
	g.reqBody = append(g.reqBody, `{"username":`...)
	g.reqBody = jsonstring.AppendQuote(g.reqBody, s.user)
	g.reqBody = append(g.reqBody, `,"password":`...)
	g.reqBody = jsonstring.AppendQuote(g.reqBody, pw)
	g.reqBody = append(g.reqBody, '}')
	if pw != s.password {
		g.respond(401, `{"error":"invalid credentials"}`)
		return
	}
	s.loggedIn = true
	// The session cookie is the server's session ID, which the JWT carries
	// as its sid claim: one value, whichever way the client presents it.
	s.sid = randHex(r, 32)
	s.cookie = s.sid
	g.issue(s)
	g.resp.Status = 200
	g.resHeader("Content-Type", "application/json")
	if s.kind != kindBearer {
		g.resHeader("Set-Cookie", "session="+s.cookie+"; Path=/; HttpOnly; Secure; SameSite=Lax")
	}
	g.resBody = append(g.resBody, `{"token":"`...)
	g.resBody = append(g.resBody, s.jwt...)
	g.resBody = append(g.resBody, `","role":`...)
	g.resBody = jsonstring.AppendQuote(g.resBody, s.role)
	g.resBody = append(g.resBody, `,"expires_in":900}`...)
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// issue gives s a new JWT: same sub and sid, new times and signature.
func (g *generator) issue(s *session) {
	s.sinceRef = 0
	iat := g.ex.Time.Unix()
	p := make([]byte, 0, 160)
	p = append(p, `{"sub":`...)
	p = jsonstring.AppendQuote(p, s.user)
	p = append(p, `,"sid":"`...)
	p = append(p, s.sid...)
	p = append(p, `","role":`...)
	p = jsonstring.AppendQuote(p, s.role)
	p = append(p, `,"iat":`...)
	p = strconv.AppendInt(p, iat, 10)
	p = append(p, `,"exp":`...)
	p = strconv.AppendInt(p, iat+900, 10)
	p = append(p, '}')
	sig := make([]byte, 32)
	for k := range sig {
		sig[k] = byte(g.rng.Uint32())
	}
	s.jwt = jwtHeader + "." + base64.RawURLEncoding.EncodeToString(p) + "." + base64.RawURLEncoding.EncodeToString(sig)
	s.authorization = "Bearer " + s.jwt
	s.cookieHeader = "session=" + s.cookie + "; theme=light"
}

// user makes the next request of a user session.
func (g *generator) user(s *session) {
	defer g.finish(s)
	r := g.rng
	last := s.done == s.quota-1
	switch {
	case s.kind != kindAnonymous && !s.loggedIn:
		g.login(s)
		return
	case s.kind == kindBearer && s.sinceRef >= 12:
		g.setRequest(s, "POST", "/api/token/refresh", "")
		g.header("Content-Type", "application/json")
		g.reqBody = append(g.reqBody, `{}`...)
		g.issue(s)
		g.resp.Status = 200
		g.resHeader("Content-Type", "application/json")
		g.resBody = append(g.resBody, `{"token":"`...)
		g.resBody = append(g.resBody, s.jwt...)
		g.resBody = append(g.resBody, `","expires_in":900}`...)
		return
	case last && s.kind != kindAnonymous && s.done > 1 && r.IntN(2) == 0:
		g.setRequest(s, "POST", "/api/logout", "")
		g.respond(204, "")
		return
	}
	s.sinceRef++
	p := r.IntN(100)
	if s.kind == kindAdmin && p < 45 {
		g.admin(s)
		return
	}
	switch {
	case p < 34:
		g.browse(s)
	case p < 68 || s.kind == kindAnonymous:
		g.product(s)
	case p < 76:
		g.setRequest(s, "POST", "/api/cart", "")
		g.header("Content-Type", "application/json")
		id := productID(r)
		g.reqBody = append(g.reqBody, `{"product_id":`...)
		g.reqBody = strconv.AppendInt(g.reqBody, int64(id), 10)
		g.reqBody = append(g.reqBody, `,"quantity":`...)
		g.reqBody = strconv.AppendInt(g.reqBody, int64(1+r.IntN(3)), 10)
		g.reqBody = append(g.reqBody, '}')
		if s.order == "" {
			s.order = "ord-" + randHex(r, 12)
		}
		g.resp.Status = 201
		g.resHeader("Content-Type", "application/json")
		g.resBody = append(g.resBody, `{"order_id":"`...)
		g.resBody = append(g.resBody, s.order...)
		g.resBody = append(g.resBody, `","items":`...)
		g.resBody = strconv.AppendInt(g.resBody, int64(1+r.IntN(5)), 10)
		g.resBody = append(g.resBody, '}')
	case p < 79 && s.order != "":
		g.setRequest(s, "POST", "/api/checkout", "")
		g.header("Content-Type", "application/json")
		g.reqBody = append(g.reqBody, `{"order_id":"`...)
		g.reqBody = append(g.reqBody, s.order...)
		g.reqBody = append(g.reqBody, `","payment":"card"}`...)
		g.resp.Status = 200
		g.resHeader("Content-Type", "application/json")
		g.resBody = append(g.resBody, `{"order_id":"`...)
		g.resBody = append(g.resBody, s.order...)
		g.resBody = append(g.resBody, `","status":"paid"}`...)
		s.order = ""
	case p < 88:
		g.setRequest(s, "GET", "/api/account/profile", "")
		g.resp.Status = 200
		g.resHeader("Content-Type", "application/json")
		g.resBody = append(g.resBody, `{"username":`...)
		g.resBody = jsonstring.AppendQuote(g.resBody, s.user)
		g.resBody = append(g.resBody, `,"email":"`...)
		g.resBody = append(g.resBody, s.user...)
		g.resBody = append(g.resBody, `@mail.example.net","role":`...)
		g.resBody = jsonstring.AppendQuote(g.resBody, s.role)
		g.resBody = append(g.resBody, '}')
	case p < 94:
		g.setRequestNum(s, "GET", "/api/orders?page=", 1+r.IntN(3), "")
		g.respond(200, `{"orders":[],"page":1}`)
	default:
		g.setRequest(s, "GET", "/api/categories", "")
		g.respond(200, `{"categories":["coffee","garden","kitchen","outdoor","tech"]}`)
	}
}

// browse lists products: a page, sometimes with a search.
func (g *generator) browse(s *session) {
	r := g.rng
	g.beginURL(s)
	g.url = append(g.url, "/api/products?page="...)
	g.url = strconv.AppendInt(g.url, int64(1+r.IntN(8)), 10)
	if r.IntN(2) == 0 {
		g.url = append(g.url, "&q="...)
		g.url = append(g.url, searchTerms[r.IntN(len(searchTerms))]...)
	}
	g.finishRequest(s, "GET")
	g.resp.Status = 200
	g.resHeader("Content-Type", "application/json")
	g.resBody = append(g.resBody, `{"items":[`...)
	for k := 0; k < 3; k++ {
		if k > 0 {
			g.resBody = append(g.resBody, ',')
		}
		g.resBody = appendProduct(g.resBody, productID(r), r)
	}
	g.resBody = append(g.resBody, `],"next":true}`...)
}

// product shows one product; now and then one that does not exist.
func (g *generator) product(s *session) {
	r := g.rng
	id := productID(r)
	g.setRequestNum(s, "GET", "/api/products/", id, "")
	if r.IntN(25) == 0 {
		g.respond(404, `{"error":"not found"}`)
		return
	}
	g.resp.Status = 200
	g.resHeader("Content-Type", "application/json")
	g.resBody = appendProduct(g.resBody, id, r)
}

func appendProduct(b []byte, id int, r *rand.Rand) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, `,"name":"`...)
	b = append(b, productNames[id%len(productNames)]...)
	b = append(b, `","price":`...)
	b = strconv.AppendInt(b, int64(5+id%95), 10)
	b = append(b, `.99,"stock":`...)
	b = strconv.AppendInt(b, int64(r.IntN(40)), 10)
	return append(b, '}')
}

// admin makes one request of the admin console.
func (g *generator) admin(s *session) {
	r := g.rng
	switch p := r.IntN(10); {
	case p < 5:
		g.setRequestNum(s, "GET", "/api/admin/users?page=", 1+r.IntN(20), "")
		g.respond(200, `{"users":[{"id":17,"username":"bob.17"},{"id":18,"username":"eve.18"}],"page":1}`)
	case p < 8:
		g.setRequestNum(s, "GET", "/api/admin/orders/", 100000+r.IntN(900000), "")
		g.respond(200, `{"status":"paid","total":42.5}`)
	case p < 9:
		g.setRequestNum(s, "POST", "/api/admin/users/", 1+r.IntN(5000), "/disable")
		g.header("Content-Type", "application/json")
		g.reqBody = append(g.reqBody, `{"reason":"fraud review"}`...)
		g.respond(200, `{"disabled":true}`)
	default:
		g.setRequest(s, "GET", "/api/admin/stats", "")
		g.respond(200, `{"orders_today":318,"revenue":10542.2}`)
	}
}

// setRequest starts a request of s: method, URL, and the headers s always sends.
func (g *generator) setRequest(s *session, method, path, query string) {
	g.beginURL(s)
	g.url = append(g.url, path...)
	g.url = append(g.url, query...)
	g.finishRequest(s, method)
}

// setRequestNum is setRequest for a URL with a number in it.
func (g *generator) setRequestNum(s *session, method, prefix string, n int, suffix string) {
	g.beginURL(s)
	g.url = append(g.url, prefix...)
	g.url = strconv.AppendInt(g.url, int64(n), 10)
	g.url = append(g.url, suffix...)
	g.finishRequest(s, method)
}

// beginURL starts the URL of a request of s in g.url: scheme and host.
func (g *generator) beginURL(s *session) {
	g.url = append(g.url[:0], "https://"...)
	g.url = append(g.url, s.host...)
}

// finishRequest sets the exchange ID, the method, the URL in g.url and the
// headers s always sends.
func (g *generator) finishRequest(s *session, method string) {
	g.ex.Request.Method = method
	// One allocation for both strings: generation speed is allocation
	// bound, and a benchmark makes a million exchanges.
	g.idURL = append(append(g.idURL[:0], g.id...), g.url...)
	both := string(g.idURL)
	g.ex.ID, g.ex.Request.URL = both[:len(g.id)], both[len(g.id):]
	g.header("User-Agent", s.ua)
	g.header("Accept", "application/json")
	if s.kind != kindBearer && s.kind != kindScanner {
		g.header("Accept-Language", "en-US,en;q=0.9")
	}
	if !s.loggedIn {
		return
	}
	if s.kind == kindBearer {
		g.header("Authorization", s.authorization)
	} else {
		g.header("Cookie", s.cookieHeader)
	}
}

func (g *generator) header(name, value string) {
	g.ex.Request.Headers = append(g.ex.Request.Headers, apisessions.Header{Name: name, Value: value})
	g.reqHeaders = g.ex.Request.Headers
}

func (g *generator) resHeader(name, value string) {
	g.resp.Headers = append(g.resp.Headers, apisessions.Header{Name: name, Value: value})
	g.resHeaders = g.resp.Headers
}

// respond sets a JSON response (no body when body is empty).
func (g *generator) respond(status int, body string) {
	g.resp.Status = status
	if body != "" {
		g.resHeader("Content-Type", "application/json")
		g.resBody = append(g.resBody, body...)
	}
}

func productID(r *rand.Rand) int { return 1000 + r.IntN(9000) }

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randToken(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for k := range b {
		b[k] = tokenAlphabet[r.IntN(len(tokenAlphabet))]
	}
	return string(b)
}

const hexDigits = "0123456789abcdef"

func randHex(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for k := range b {
		b[k] = hexDigits[r.IntN(16)]
	}
	return string(b)
}

// queryEscape escapes a search term or payload for a query string.
func queryEscape(s string) string { return url.QueryEscape(s) }
