package sessionize

import (
	"slices"
	"strings"
	"testing"

	"github.com/apisessions/apisessions"
)

func TestFlows(t *testing.T) {
	cfg := apisessions.Config{
		Parameters: []apisessions.Parameter{
			prm("Checkout", "request.body|json.order_id", context),
			prm("Plain", "request.body|json.note"),
		},
		Flows: []apisessions.FlowRule{
			{Name: "Transfers", Method: "POST", Path: "/bank/transfer*"},
			{Name: "Reports", Path: "/api/*/reports/*.csv"},
		},
	}
	tests := []struct {
		name string
		ex   *apisessions.Exchange
		want []string
	}{
		{name: "none", ex: mkEx(target("https://a.example.com/api/items/42")), want: []string{}},
		{name: "context parameter", ex: mkEx(method("POST"), target("https://a.example.com/api/cart"), body("application/json", `{"order_id":1,"note":"x"}`)), want: []string{"Checkout"}},
		{name: "rule with method", ex: mkEx(method("post"), target("https://a.example.com/bank/transfers/new?x=1")), want: []string{"Transfers"}},
		{name: "rule, wrong method", ex: mkEx(target("https://a.example.com/bank/transfers/new")), want: []string{}},
		{name: "star crosses slashes", ex: mkEx(target("https://a.example.com/api/v1/eu/reports/2026/nov.csv")), want: []string{"Reports"}},
		{name: "context, rule and keyword in order, once each", ex: mkEx(method("POST"), target("https://a.example.com/bank/transfer/order"), body("application/json", `{"order_id":1}`)),
			want: []string{"Checkout", "Transfers", "Billing"}},
		{name: "default keywords", ex: mkEx(target("https://a.example.com/api/v2/admin/users/7/password-reset")), want: []string{"Account management", "Admin"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := MustProcess(t, MustSessionizer(t, cfg), tc.ex, apisessions.Detection{})
			if !slices.Equal(rec.Flows, tc.want) {
				t.Errorf("flows %q, want %q", rec.Flows, tc.want)
			}
		})
	}
}

// TestKeywordFlows documents the default keyword matching on path words.
func TestKeywordFlows(t *testing.T) {
	tests := []struct {
		path string
		want []string
	}{
		{"/api/login", []string{"Auth"}},
		{"/api/v1/userLogin", []string{"Auth"}},
		{"/auth/refresh-token", []string{"Auth"}},
		{"/oauth2/authorize", []string{"Auth"}},
		{"/api/tokens/42", []string{"Auth"}},
		{"/users/sign-up", []string{"Account creation"}},
		{"/register", []string{"Account creation"}},
		{"/api/registration", []string{"Account creation"}},
		{"/api/SignUp", []string{"Account creation"}},
		{"/me/profile", []string{"Account management"}},
		{"/accounts/7/password", []string{"Account management"}},
		{"/orders/42", []string{"Billing"}},
		{"/api/payments", []string{"Billing"}},
		{"/checkout", []string{"Billing"}},
		{"/billing/invoices", []string{"Billing"}},
		{"/subscriptions", []string{"Billing"}},
		{"/administrator", []string{"Admin"}},
		{"/wp-admin/", []string{"Admin"}},
		{"/sms/send", []string{"SMS gateway"}},
		{"/verify-otp", []string{"SMS gateway"}},
		{"/v1/chat/completions", []string{"AI/LLM"}},
		{"/llm/query", []string{"AI/LLM"}},
		{"/admin/orders", []string{"Billing", "Admin"}},
		{"/authors/12", []string{}},
		{"/api/payload", []string{}},
		{"/static/app.js", []string{}},
		{"/", []string{}},
		{"", []string{}},
		{"/api/items?next=/login", []string{}},
	}
	rules := defaultKeywordRules()
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			got := keywordFlows(rules, []string{}, tc.path)
			if !slices.Equal(got, tc.want) {
				t.Errorf("keywordFlows(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		{"/bank/transfer*", "/bank/transfer", true},
		{"/bank/transfer*", "/bank/transfers/1/2", true},
		{"/bank/transfer*", "/bank/trans", false},
		{"*", "", true},
		{"", "", true},
		{"", "/", false},
		{"/a/*/c", "/a/b/x/c", true},
		{"/a/*/c", "/a/b/x/d", false},
		{"*.csv", "/x/y.csv", true},
		{"/a**b", "/ab", true},
		{"/exact", "/exact", true},
		{"/exact", "/Exact", false},
	}
	for _, tc := range tests {
		if got := globMatch(tc.p, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

// FuzzKeywordFlows: any path, no panic, words inside the path, bounded.
func FuzzKeywordFlows(f *testing.F) {
	for _, s := range []string{"/api/login", "/users/sign-up", "/v1/chat/completions", "/authors/12", "", "/a-b_c.d~e", "/ÄÖ/é/登录", strings.Repeat("/a", 200)} {
		f.Add(s, "/bank/*")
	}
	rules := defaultKeywordRules()
	f.Fuzz(func(t *testing.T, path, pattern string) {
		ws := splitWords(path, nil)
		if len(ws) > maxWords {
			t.Fatalf("%d words, limit %d", len(ws), maxWords)
		}
		for _, w := range ws {
			if w.start < 0 || w.end > len(path) || w.start >= w.end {
				t.Fatalf("bad word span %+v in %q", w, path)
			}
		}
		flows := keywordFlows(rules, nil, path)
		if len(flows) > len(rules) {
			t.Fatalf("%d flows from %d rules", len(flows), len(rules))
		}
		if globMatch(pattern, path) && !strings.Contains(pattern, "*") && pattern != path {
			t.Fatalf("glob %q without star matched other text %q", pattern, path)
		}
		if !globMatch("*", path) || !globMatch(path+"*", path) {
			t.Fatalf("star patterns failed on %q", path)
		}
	})
}
