package sessionize

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

// TestConcurrent: one Sessionizer used from several goroutines gives the
// records it gives sequentially (run with -race).
func TestConcurrent(t *testing.T) {
	s := MustSessionizer(t, benchConfig())
	var exs []*apisessions.Exchange
	for i := 0; i < 200; i++ {
		exs = append(exs, mkEx(
			target(fmt.Sprintf("https://shop.example.com/api/orders/%d?page=%d", i, i%3)),
			hdr("Cookie", fmt.Sprintf("PHPSESSID=s%d", i%17)),
			hdr("X-Tenant", fmt.Sprintf("t%d", i%5)),
			method("POST"), body("application/json", fmt.Sprintf(`{"order_id":%d,"customer":{"email":"u%d@x.example"}}`, i, i%11)),
			at(testNow.Add(-time.Duration(i)*time.Minute)),
		))
	}
	want := make([]apisessions.Record, len(exs))
	for i, ex := range exs {
		want[i] = MustProcess(t, s, ex, apisessions.Detection{})
	}
	got := make([]apisessions.Record, len(exs))
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(exs); i += 4 {
				var rec apisessions.Record
				if _, err := s.Process(exs[i], apisessions.Detection{}, &rec); err != nil {
					t.Error(err)
					return
				}
				got[i] = rec
			}
		}()
	}
	wg.Wait()
	for i := range exs {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("exchange %d: concurrent record differs:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// FuzzProcess: any exchange gives a record or an outcome, never a panic,
// and the record's JSON holds no raw value of the masked password field.
func FuzzProcess(f *testing.F) {
	f.Add("POST", "https://api.example.com/api/login?token=t", "Authorization", "Bearer "+mkJWT(map[string]any{"sid": "x"}), `{"username":"a","password":"pw-fuzz"}`, "PHPSESSID=1; Path=/", "10.0.0.1")
	f.Add("GET", "/api/users/42", "Cookie", "sid=z1; session=f1", "", "", "203.0.113.7")
	f.Add("PUT", "http://[::1]:8080/x#y", "X-Forwarded-For", "1.1.1.1, bad, 10.0.0.2", "user=a&pass=b", "sid=x; Max-Age=0", "10.0.0.9")
	f.Add("", "", "", "", "\xff\xfe", "", "")
	s := MustSessionizer(f, apisessions.Config{
		TrustedProxies: []string{"10.0.0.0/8"},
		Mask:           []string{"request.body|json.password"},
		Parameters: []apisessions.Parameter{
			prm("Login token", "response.body|json.token", group, hashed),
			prm("User", "request.body|json.username", typ(apisessions.ParamUser)),
			prm("Query", "request.query.token", hashed),
		},
	})
	f.Fuzz(func(t *testing.T, m, u, hname, hval, b, setCookie, peer string) {
		ex := &apisessions.Exchange{
			Time:     testNow,
			ClientIP: peer,
			Request: apisessions.Request{Method: m, URL: u, Body: []byte(b),
				Headers: apisessions.Headers{{Name: hname, Value: hval}, {Name: "Content-Type", Value: "application/json"}}},
			Response: &apisessions.Response{Status: 200, Headers: apisessions.Headers{{Name: "Set-Cookie", Value: setCookie}}, Body: []byte(b)},
		}
		for _, det := range []apisessions.Detection{{}, {Verdict: apisessions.VerdictAttack, Findings: []apisessions.Finding{{Point: "request.body", Payload: b}}}} {
			var rec apisessions.Record
			out, err := s.Process(ex, det, &rec)
			if err != nil || out != Stored {
				t.Fatalf("Process: %v %v", out, err)
			}
			if len(rec.SessionID) != 64 {
				t.Fatalf("session ID %q", rec.SessionID)
			}
			if strings.Contains(rec.Path, "?") {
				t.Fatalf("path %q carries a query", rec.Path)
			}
			if _, err := json.Marshal(rec); err != nil {
				t.Fatal(err)
			}
			var body struct{ Password string }
			if json.Unmarshal([]byte(b), &body) != nil {
				continue
			}
			pw := body.Password
			// Hex could be part of a hash, '*' of the mask itself.
			if len(pw) < minSubstring || strings.Trim(pw, "0123456789abcdef") == "" || strings.Contains(pw, "*") {
				continue
			}
			var texts []string
			for _, p := range rec.Params {
				texts = append(texts, p.Value)
			}
			for _, f := range rec.Findings {
				texts = append(texts, f.Payload)
			}
			if rec.Content != nil {
				texts = append(texts, rec.Content.Body)
			}
			for _, o := range texts {
				if strings.Contains(o, pw) {
					t.Fatalf("masked password %q leaked in %q", pw, o)
				}
			}
		}
	})
}

// TestRecordsOwnTheirValues: a record keeps its values after the
// Sessionizer (and its pooled evaluator) moves on to other exchanges, and
// after the caller reuses the exchange's buffers.
func TestRecordsOwnTheirValues(t *testing.T) {
	s := MustSessionizer(t, benchConfig())
	ex := benchExchange()
	rec := MustProcess(t, s, ex, apisessions.Detection{Verdict: apisessions.VerdictAttack})
	before, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ex.Request.Body {
		ex.Request.Body[i] = 'z'
	}
	for i := range ex.Response.Body {
		ex.Response.Body[i] = 'z'
	}
	for i := 0; i < 50; i++ {
		other := benchExchange()
		other.Request.Body = []byte(`{"order_id":"other-` + fmt.Sprint(i) + `","customer":{"email":"x@y.example"}}`)
		other.Response.Body = []byte(`{"role":"other-role-` + fmt.Sprint(i) + `"}`)
		MustProcess(t, s, other, apisessions.Detection{})
	}
	after, _ := json.Marshal(rec)
	if string(before) != string(after) {
		t.Fatalf("record changed after later work:\nbefore %s\nafter  %s", before, after)
	}
	if rec.Role != "customer" {
		t.Fatalf("role %q, want customer", rec.Role)
	}
}
