package sessionize

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/point"
)

// testSecret is the tenant session secret of the tests.
var testSecret = []byte("0123456789abcdef-test-secret")

// testNow is the clock of the tests; exchanges default to an hour before.
var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// MustSessionizer returns a Sessionizer over cfg with the test secret and
// clock.
func MustSessionizer(tb testing.TB, cfg apisessions.Config) *Sessionizer {
	tb.Helper()
	opts := DefaultOptions()
	opts.Config = cfg
	opts.Secret = testSecret
	opts.Now = func() time.Time { return testNow }
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

// MustProcess processes ex and fails unless it is Stored.
func MustProcess(tb testing.TB, s *Sessionizer, ex *apisessions.Exchange, det apisessions.Detection) apisessions.Record {
	tb.Helper()
	var rec apisessions.Record
	out, err := s.Process(ex, det, &rec)
	if err != nil {
		tb.Fatalf("Process: %v", err)
	}
	if out != Stored {
		tb.Fatalf("Process: outcome %v, want stored", out)
	}
	return rec
}

// exOpt changes a test exchange.
type exOpt func(*apisessions.Exchange)

// mkEx returns a GET of https://api.example.com/api/items from 203.0.113.7
// with a User-Agent, an hour before testNow, changed by opts.
func mkEx(opts ...exOpt) *apisessions.Exchange {
	ex := &apisessions.Exchange{
		Time:     testNow.Add(-time.Hour),
		ClientIP: "203.0.113.7",
		Request: apisessions.Request{
			Method:  "GET",
			URL:     "https://api.example.com/api/items",
			Headers: apisessions.Headers{{Name: "User-Agent", Value: "test-agent/1.0"}},
		},
		Response: &apisessions.Response{Status: 200, Duration: 12500 * time.Microsecond},
	}
	for _, o := range opts {
		o(ex)
	}
	return ex
}

func hdr(name, value string) exOpt {
	return func(ex *apisessions.Exchange) {
		ex.Request.Headers = append(ex.Request.Headers, apisessions.Header{Name: name, Value: value})
	}
}

func respHdr(name, value string) exOpt {
	return func(ex *apisessions.Exchange) {
		ex.Response.Headers = append(ex.Response.Headers, apisessions.Header{Name: name, Value: value})
	}
}

func noUA() exOpt {
	return func(ex *apisessions.Exchange) {
		var hs apisessions.Headers
		for _, h := range ex.Request.Headers {
			if h.Name != "User-Agent" {
				hs = append(hs, h)
			}
		}
		ex.Request.Headers = hs
	}
}

func ua(v string) exOpt {
	return func(ex *apisessions.Exchange) {
		noUA()(ex)
		hdr("User-Agent", v)(ex)
	}
}

func method(m string) exOpt { return func(ex *apisessions.Exchange) { ex.Request.Method = m } }
func target(u string) exOpt { return func(ex *apisessions.Exchange) { ex.Request.URL = u } }
func ip(a string) exOpt     { return func(ex *apisessions.Exchange) { ex.ClientIP = a } }
func at(t time.Time) exOpt  { return func(ex *apisessions.Exchange) { ex.Time = t } }
func id(v string) exOpt     { return func(ex *apisessions.Exchange) { ex.ID = v } }

func body(ct, b string) exOpt {
	return func(ex *apisessions.Exchange) {
		ex.Request.Body = []byte(b)
		if ct != "" {
			hdr("Content-Type", ct)(ex)
		}
	}
}

func respBody(b string) exOpt {
	return func(ex *apisessions.Exchange) { ex.Response.Body = []byte(b) }
}

// sid is the session ID the spec defines for a raw key value, computed here
// independently of the code under test.
func sid(raw string) string {
	m := hmac.New(sha256.New, testSecret)
	m.Write([]byte(raw))
	return hex.EncodeToString(m.Sum(nil))
}

func md5hex(v string) string {
	s := md5.Sum([]byte(v))
	return hex.EncodeToString(s[:])
}

// mkJWT builds an unsigned-looking JWT with the claims.
func mkJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	p, _ := json.Marshal(claims)
	return h + "." + enc.EncodeToString(p) + "." + enc.EncodeToString([]byte("signature-bytes"))
}

func prm(name, pt string, mods ...func(*apisessions.Parameter)) apisessions.Parameter {
	p := apisessions.Parameter{Name: name, Point: pt}
	for _, m := range mods {
		m(&p)
	}
	return p
}

func group(p *apisessions.Parameter)   { p.Group = true }
func hashed(p *apisessions.Parameter)  { p.Hash = true }
func context(p *apisessions.Parameter) { p.Context = true }
func typ(t string) func(*apisessions.Parameter) {
	return func(p *apisessions.Parameter) { p.Type = t }
}

// canonical fails unless pt parses and is written canonically: exported key
// points must be pickable back in the console.
func canonical(tb testing.TB, pt string) {
	tb.Helper()
	p, err := point.Parse(pt)
	if err != nil {
		tb.Fatalf("key point %q does not parse: %v", pt, err)
	}
	if p.String() != pt {
		tb.Fatalf("key point %q is not canonical (%q)", pt, p.String())
	}
}
