package point

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/apisessions/apisessions"
)

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestDefaultLimits(t *testing.T) {
	l := DefaultLimits()
	want := Limits{BodyBytes: 1 << 20, DecompressedBytes: 8 << 20, MaxDepth: 64, MaxElements: 100_000, MaxChain: 8, MaxPoints: 10_000, HeaderBytes: 64 << 10}
	if l != want {
		t.Errorf("DefaultLimits() = %+v, want %+v", l, want)
	}
	if got := (Limits{}).normalized(); got != want {
		t.Errorf("zero Limits normalize to %+v, want the defaults", got)
	}
}

func TestHugeJSONBody(t *testing.T) {
	// 100 MB: a member first, then an array that never ends within the
	// body limit.
	const item = `{"sku":"A-1","qty":1},`
	items := bytes.Repeat([]byte(item), 100<<20/len(item))
	body := make([]byte, 0, len(items)+64)
	body = append(body, `{"user":"alice","items":[`...)
	body = append(body, items...)
	body = append(body, `{"sku":"last"}],"tail":"t"}`...)
	items = nil
	ex := reqEx("POST", "/", hdrs("Content-Type", "application/json"), "")
	ex.Request.Body = body
	e := NewEvaluator(DefaultLimits())
	var user, tail string
	var ok1, ok2 bool
	n := allocated(func() {
		e.Reset(ex)
		user, ok1 = e.First(MustParse("request.body|json.user"))
		tail, ok2 = e.First(MustParse("request.body|json.tail"))
	})
	if !ok1 || user != "alice" {
		t.Errorf("member before the limit: %q, %v", user, ok1)
	}
	if ok2 {
		t.Errorf("member past the body limit was found: %q", tail)
	}
	if !e.Truncated() {
		t.Error("Truncated() not set for a 100 MB body")
	}
	if n > 8<<20 {
		t.Errorf("evaluating a 100 MB body allocated %d bytes, want under 8 MiB", n)
	}
	var listed int
	var truncated bool
	n = allocated(func() {
		truncated = List(ex, DefaultLimits(), func(point, value string) bool { listed++; return true })
	})
	if !truncated || listed != DefaultLimits().MaxPoints {
		t.Errorf("listing a 100 MB body: %d points, truncated=%v; want %d, true", listed, truncated, DefaultLimits().MaxPoints)
	}
	if n > 32<<20 {
		t.Errorf("listing a 100 MB body allocated %d bytes, want under 32 MiB", n)
	}
}

func TestGzipBomb(t *testing.T) {
	// 256 MiB of '0' in about 1.6 MB of gzip, written by hand: compressing
	// that much under the race detector would take a minute.
	z := gzipBomb(`{"a":"`, 256<<20)
	ex := withResp(reqEx("GET", "/", nil, ""), 200, hdrs("Content-Type", "application/json", "Content-Encoding", "gzip"), "")
	ex.Response.Body = z
	lim := DefaultLimits()
	e := NewEvaluator(lim)
	var v string
	n := allocated(func() {
		e.Reset(ex)
		v, _ = e.First(MustParse("response.body|gzip"))
	})
	if len(v) != lim.DecompressedBytes {
		t.Errorf("decompressed %d bytes, want the limit %d", len(v), lim.DecompressedBytes)
	}
	if !e.Truncated() {
		t.Error("Truncated() not set for a gzip bomb")
	}
	if n > 4*uint64(lim.DecompressedBytes) {
		t.Errorf("a gzip bomb allocated %d bytes, want under %d", n, 4*lim.DecompressedBytes)
	}
	// The cut JSON is still indexed up to the limit, as a partial document.
	e.Reset(ex)
	if _, ok := e.First(MustParse("response.body|gzip|json.a")); ok {
		t.Error("a string cut by the limit must not be yielded")
	}
	listed := 0
	if !List(ex, lim, func(point, value string) bool { listed++; return true }) {
		t.Error("List of a gzip bomb not truncated")
	}
	// The limit holds for the exchange, not per step: a bomb in the
	// request and another in the response share it.
	ex.Request.Body = gzipBomb(`{"b":"`, 64<<20)
	e.Reset(ex)
	req, _ := e.First(MustParse("request.body|gzip"))
	resp, _ := e.First(MustParse("response.body|gzip"))
	if len(req)+len(resp) > lim.DecompressedBytes {
		t.Errorf("two bombs decompressed %d bytes in one exchange, over the limit %d", len(req)+len(resp), lim.DecompressedBytes)
	}
}

func TestDeepNesting(t *testing.T) {
	const depth = 10_000
	deepJSON := strings.Repeat(`{"a":`, depth) + `"x"` + strings.Repeat("}", depth)
	deepArray := strings.Repeat("[", depth) + strings.Repeat("]", depth)
	deepXML := strings.Repeat("<a>t", depth) + strings.Repeat("</a>", depth)
	deepGraphQL := "query Q " + strings.Repeat("{ a ", depth) + strings.Repeat("}", depth)
	shallow := "request.body|json" + strings.Repeat(".a", 10)
	tooDeep := "request.body|json" + strings.Repeat(".a", 100)
	tests := []struct {
		name, body, point string
		found             bool
	}{
		{"json within the depth limit", deepJSON, shallow, true},
		{"json past the depth limit", deepJSON, tooDeep, false},
		{"array", deepArray, "request.body|json[0][0]", true},
		{"xml within the depth limit", deepXML, "request.body|xml" + strings.Repeat(".a", 10), true},
		{"xml past the depth limit", deepXML, "request.body|xml" + strings.Repeat(".a", 100), false},
		{"graphql", deepGraphQL, "request.body|graphql.fields[5]", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex := reqEx("POST", "/", nil, tc.body)
			e := NewEvaluator(DefaultLimits())
			e.Reset(ex)
			_, found := e.First(MustParse(tc.point))
			if found != tc.found {
				t.Errorf("found = %v, want %v", found, tc.found)
			}
			if !e.Truncated() {
				t.Error("Truncated() not set for 10,000-deep nesting")
			}
		})
	}
	// Listing follows the depth limit too (and does not overflow the stack).
	for _, body := range []string{deepJSON, deepArray} {
		ex := reqEx("POST", "/", hdrs("Content-Type", "application/json"), body)
		if !List(ex, DefaultLimits(), func(point, value string) bool { return true }) {
			t.Error("List of deep nesting not truncated")
		}
	}
}

func TestElementLimit(t *testing.T) {
	body := "[" + strings.Repeat("1,", 200_000) + "2]"
	ex := reqEx("POST", "/", nil, body)
	e := NewEvaluator(DefaultLimits())
	e.Reset(ex)
	if v, ok := e.First(MustParse("request.body|json[10]")); !ok || v != "1" {
		t.Errorf("element within the limit: %q %v", v, ok)
	}
	if _, ok := e.First(MustParse("request.body|json[150000]")); ok {
		t.Error("element past the element limit was found")
	}
	if !e.Truncated() {
		t.Error("Truncated() not set past the element limit")
	}
	if len(e.toks) > DefaultLimits().MaxElements {
		t.Errorf("%d tokens indexed, over the limit", len(e.toks))
	}
}

func TestBodyLimit(t *testing.T) {
	lim := DefaultLimits()
	lim.BodyBytes = 64
	body := `{"early":"e","pad":"` + strings.Repeat("p", 100) + `","late":"l"}`
	e := NewEvaluator(lim)
	e.Reset(reqEx("POST", "/", nil, body))
	if v, ok := e.First(MustParse("request.body|json.early")); !ok || v != "e" {
		t.Errorf("early member: %q %v", v, ok)
	}
	if _, ok := e.First(MustParse("request.body|json.late")); ok {
		t.Error("member past the body limit found")
	}
	if v, _ := e.First(MustParse("request.body")); len(v) != 64 {
		t.Errorf("raw body of %d bytes, want 64", len(v))
	}
	if !e.Truncated() {
		t.Error("Truncated() not set")
	}
	// A body within the limit does not set Truncated.
	e.Reset(reqEx("POST", "/", nil, `{"a":1}`))
	e.First(MustParse("request.body|json.a"))
	if e.Truncated() {
		t.Error("Truncated() set for a small body")
	}
}

func TestHeaderBytesLimit(t *testing.T) {
	lim := DefaultLimits()
	lim.HeaderBytes = 100
	h := hdrs("X-A", "a", "X-Big", strings.Repeat("b", 200), "X-C", "c", "Cookie", "sid=1")
	e := NewEvaluator(lim)
	e.Reset(reqEx("GET", "/", h, ""))
	if v, ok := e.First(MustParse("request.header.X-A")); !ok || v != "a" {
		t.Errorf("header within the limit: %q %v", v, ok)
	}
	for _, p := range []string{"request.header.X-C", "request.cookie.sid"} {
		if v, ok := e.First(MustParse(p)); ok {
			t.Errorf("%s past the header limit yielded %q", p, v)
		}
	}
	if !e.Truncated() {
		t.Error("Truncated() not set")
	}
}

func TestChainLimit(t *testing.T) {
	// Four layers of base64 around JSON, evaluated under a chain limit of 3.
	v := `{"a":"deep"}`
	for range 4 {
		v = b64(v)
	}
	point := MustParse("request.header.X-D|base64|base64|base64|base64|json.a")
	ex := reqEx("GET", "/", hdrs("X-D", v), "")
	e := NewEvaluator(DefaultLimits())
	e.Reset(ex)
	if got, _ := e.First(point); got != "deep" {
		t.Fatalf("under the default chain limit: %q", got)
	}
	lim := DefaultLimits()
	lim.MaxChain = 3
	e = NewEvaluator(lim)
	e.Reset(ex)
	if got, ok := e.First(point); ok {
		t.Errorf("a 5-decoder chain under a limit of 3 yielded %q", got)
	}
	if !e.Truncated() {
		t.Error("Truncated() not set")
	}
}

func b64(s string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", s)
	return encodeStd(b.String())
}

func TestEvaluateDoesNotGrowAcrossExchanges(t *testing.T) {
	e := NewEvaluator(DefaultLimits())
	ex := benchExchange()
	ps := []*Point{MustParse("request.body|json.user.email"), MustParse("request.cookie.PHPSESSID"), MustParse("request.header.Authorization|jwt.sub")}
	for range 100 {
		e.Reset(ex)
		for _, p := range ps {
			e.First(p)
		}
	}
	toks, pairs, memo := cap(e.toks), cap(e.pairs), cap(e.memo)
	for range 1000 {
		e.Reset(ex)
		for _, p := range ps {
			e.First(p)
		}
	}
	if cap(e.toks) != toks || cap(e.pairs) != pairs || cap(e.memo) != memo {
		t.Errorf("buffers grew across identical exchanges: %d/%d/%d -> %d/%d/%d", toks, pairs, memo, cap(e.toks), cap(e.pairs), cap(e.memo))
	}
	var _ *apisessions.Exchange = ex
}

// gzipBomb returns a gzip member that inflates to prefix followed by n
// bytes of '0': one fixed-Huffman deflate block of literals and
// length-258, distance-1 back-references (13 bits per 258 bytes).
func gzipBomb(prefix string, n int) []byte {
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}
	var acc uint64
	var nbits uint
	bits := func(v uint64, n uint) { // LSB first
		acc |= v << nbits
		nbits += n
		for nbits >= 8 {
			out = append(out, byte(acc))
			acc >>= 8
			nbits -= 8
		}
	}
	huff := func(code uint64, n uint) { // Huffman codes go MSB first
		var r uint64
		for i := uint(0); i < n; i++ {
			r = r<<1 | code>>i&1
		}
		bits(r, n)
	}
	literal := func(c byte) {
		if c < 144 {
			huff(0x30+uint64(c), 8)
		} else {
			huff(0x190+uint64(c-144), 9)
		}
	}
	bits(1, 1) // BFINAL
	bits(1, 2) // fixed Huffman
	for i := 0; i < len(prefix); i++ {
		literal(prefix[i])
	}
	literal('0')
	for done := 1; done+258 <= n; done += 258 {
		huff(0xc0+5, 8) // length code 285: 258
		huff(0, 5)      // distance code 0: 1
	}
	huff(0, 7)                                 // end of block
	bits(0, 7)                                 // flush
	return append(out, 0, 0, 0, 0, 0, 0, 0, 0) // trailer, never reached
}
