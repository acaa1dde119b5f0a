package sessionize

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/apisessions/apisessions"
)

// reviewCase is a request crafted to carry a protected value out of the
// node under another form or place, and the forms that must not appear
// anywhere in the record (as themselves or JSON-escaped).
type reviewCase struct {
	name string
	cfg  apisessions.Config
	ex   *apisessions.Exchange
	det  apisessions.Detection
	raw  []string
	// kept must still be somewhere in the record: the protection does not
	// hide everything.
	kept string
}

func reviewSQLi(pt, payload string) apisessions.Finding {
	return apisessions.Finding{Type: apisessions.AttackSQLi, RuleIDs: []int{942100}, Score: 5, Point: pt, Payload: payload}
}

func reviewAttack(fs ...apisessions.Finding) apisessions.Detection {
	return apisessions.Detection{Verdict: apisessions.VerdictAttack, Score: 5, Findings: fs}
}

func runReview(t *testing.T, cases []reviewCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := MustProcess(t, MustSessionizer(t, tc.cfg), tc.ex, tc.det)
			js, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tc.raw {
				for _, f := range []string{r, jsonEscaped(r)} {
					if strings.Contains(string(js), f) {
						t.Errorf("%q left in the record: %s", f, js)
					}
				}
			}
			if tc.kept != "" && !strings.Contains(string(js), tc.kept) {
				t.Errorf("record lost %q: %s", tc.kept, js)
			}
		})
	}
}

// TestReviewEncodedForms: a protected value written elsewhere in the request
// in another encoding (percent-encoded with %20, a short whole path segment,
// a JSON string with invalid UTF-8) does not leave in that form.
func TestReviewEncodedForms(t *testing.T) {
	hashedParam := func(pt string) apisessions.Config {
		return apisessions.Config{Parameters: []apisessions.Parameter{prm("P", pt, hashed)}}
	}
	runReview(t, []reviewCase{
		{name: "space as %20 in the path and Referer", cfg: hashedParam("request.body|json.name"),
			ex: mkEx(method("POST"), target("https://api.example.com/users/bob%20smith/x"),
				hdr("Referer", "https://api.example.com/users/bob%20smith"),
				body("application/json", `{"name":"bob smith","q":"' OR 1=1"}`)),
			det: reviewAttack(), raw: []string{"bob%20smith", "bob smith"}, kept: "/users/***/x"},
		{name: "space as + in a query", cfg: hashedParam("request.body|json.name"),
			ex: mkEx(method("POST"), target("https://api.example.com/s?who=bob+smith"),
				body("application/json", `{"name":"bob smith","q":"' OR 1=1"}`)),
			det: reviewAttack(), raw: []string{"bob+smith", "bob smith"}, kept: "' OR 1=1"},
		{name: "short value as a whole segment of the stored target", cfg: hashedParam("request.header.X-User"),
			ex:  mkEx(hdr("X-User", "bo"), target("https://api.example.com/users/bo/orders?q=%27")),
			det: reviewAttack(), raw: []string{"/bo/"}, kept: "/users/***/orders"},
		{name: "invalid UTF-8 in a JSON value", cfg: hashedParam("request.body|json.email"),
			ex:  mkEx(method("POST"), body("application/json", "{\"email\":\"bob@example.com\xff\",\"q\":\"' OR 1=1\"}")),
			det: reviewAttack(), raw: []string{"bob@example.com"}, kept: "' OR 1=1"},
		{name: "lower-case percent-encoding in a header", cfg: hashedParam("request.query.email"),
			ex: mkEx(target("https://api.example.com/a?email=bob%40example.com"),
				hdr("Referer", "https://api.example.com/?e=bob%40example.com"), hdr("X-Fwd", "bob@example.com")),
			det: reviewAttack(), raw: []string{"bob@example.com", "bob%40example.com"}},
		{name: "masked form value written with + and %20", cfg: apisessions.Config{Mask: []string{"request.body|form.card"}},
			ex: mkEx(method("POST"), body("application/x-www-form-urlencoded",
				"card=4111+1111+1111+1111&note=4111%201111%201111%201111&q=%27+OR+1%3D1")),
			det: reviewAttack(reviewSQLi("request.body|form.note", "4111 1111 1111 1111")),
			raw: []string{"4111 1111 1111 1111", "4111+1111+1111+1111", "4111%201111%201111%201111"}, kept: "%27+OR+1%3D1"},
		{name: "password in the query and the Referer", cfg: apisessions.Config{},
			ex: mkEx(target("https://api.example.com/login?password=hunter2xyz&q=%27"),
				hdr("Referer", "https://api.example.com/login?password=hunter2xyz")),
			det: reviewAttack(reviewSQLi("request.url", "/login?password=hunter2xyz&q=%27")), raw: []string{"hunter2xyz"}},
		{name: "password under an escaped JSON key", cfg: apisessions.Config{},
			ex:  mkEx(method("POST"), body("application/json", `{"pass\u0077ord":"hunter2xyz","q":"'"}`)),
			det: reviewAttack(), raw: []string{"hunter2xyz"}},
		{name: "password in a text body that looks like JSON", cfg: apisessions.Config{},
			ex:  mkEx(method("POST"), body("text/plain", `{"password" : "hunter2\"xyz","q":"'"}`)),
			det: reviewAttack(), raw: []string{`hunter2\"xyz`, "xyz"}},
		{name: "Authorization header in lower case copied to another header", cfg: apisessions.Config{},
			ex:  mkEx(hdr("authorization", "Bearer tok-abcdef-123456"), hdr("X-Copy", "tok-abcdef-123456"), target("https://api.example.com/a?q=%27")),
			det: reviewAttack(), raw: []string{"tok-abcdef-123456"}},
		{name: "masked value straddling the body cut", cfg: apisessions.Config{Mask: []string{"request.header.X-Card"}},
			ex: mkEx(method("POST"), hdr("X-Card", "4111111111111111"),
				body("text/plain", strings.Repeat("a", DefaultContentBodyLimit-8)+"4111111111111111 ' OR 1=1")),
			det: reviewAttack(), raw: []string{"41111111"}},
		{name: "url-encoded masked value in a query", cfg: apisessions.Config{Mask: []string{"request.header.X-Card"}},
			ex:  mkEx(hdr("X-Card", "a&b=c d"), target("https://api.example.com/a?x="+url.QueryEscape("a&b=c d")+"&q=%27")),
			det: reviewAttack(), raw: []string{url.QueryEscape("a&b=c d")}, kept: "q=%27"},
	})
}

// TestReviewJSONDuplicateKeys: a point reads the first of duplicate JSON
// keys, but a server may use the last: every value under a protected
// member's name is masked, in the stored body, a payload on the body, and
// wherever else it is written.
func TestReviewJSONDuplicateKeys(t *testing.T) {
	dupEmail := `{"email":"first@example.com","email":"second@example.com","q":"' OR 1=1"}`
	dupCard := `{"pay":{"card":"4111111111111111","card":"5500000000000004"},"pay":{"card":"340000000000009"},"q":"' OR 1=1"}`
	runReview(t, []reviewCase{
		{name: "hashed", cfg: apisessions.Config{Parameters: []apisessions.Parameter{prm("E", "request.body|json.email", hashed)}},
			ex:  mkEx(method("POST"), body("application/json", dupEmail), hdr("X-Copy", "second@example.com")),
			det: reviewAttack(reviewSQLi("request.body", dupEmail), reviewSQLi("request.header.X-Copy", "second@example.com")),
			raw: []string{"first@example.com", "second@example.com"}, kept: "' OR 1=1"},
		{name: "masked, nested", cfg: apisessions.Config{Mask: []string{"request.body|json.pay.card"}},
			ex:  mkEx(method("POST"), body("application/json", dupCard)),
			det: reviewAttack(reviewSQLi("request.body", dupCard)),
			raw: []string{"4111111111111111", "5500000000000004", "340000000000009"}, kept: "' OR 1=1"},
		{name: "array element", cfg: apisessions.Config{Mask: []string{"request.body|json.cards[1]"}},
			ex:  mkEx(method("POST"), body("application/json", `{"cards":["visible-1","hidden-22"],"cards":["visible-3","hidden-44"],"q":"' OR 1=1"}`)),
			det: reviewAttack(), raw: []string{"hidden-22", "hidden-44"}, kept: "visible-3"},
	})
}

// TestReviewCase: a protected value written in another ASCII case (a host,
// a hex token) is masked there too.
func TestReviewCase(t *testing.T) {
	runReview(t, []reviewCase{
		{name: "hashed host in the Host header and Referer",
			cfg: apisessions.Config{Parameters: []apisessions.Parameter{prm("H", "request.host", hashed), prm("Ref", "request.header.Referer")}},
			ex: mkEx(target("https://tenant-x.example.com/a?q=%27"), hdr("Host", "Tenant-X.Example.com"),
				hdr("Referer", "https://TENANT-X.example.com/")),
			det: reviewAttack(reviewSQLi("request.header.Referer", "https://TENANT-X.example.com/")),
			raw: []string{"tenant-x.example.com", "Tenant-X.Example.com", "TENANT-X.example.com"}, kept: "q=%27"},
		{name: "hex token upper-cased in another header",
			cfg: apisessions.Config{Mask: []string{"request.header.X-Device"}},
			ex:  mkEx(hdr("X-Device", "9f86d081884c7d65"), hdr("X-Trace", "dev=9F86D081884C7D65"), target("https://api.example.com/a?q=%27")),
			det: reviewAttack(), raw: []string{"9F86D081884C7D65", "9f86d081884c7d65"}, kept: "dev=***"},
		{name: "hashed value in the path in another case",
			cfg: apisessions.Config{Parameters: []apisessions.Parameter{prm("U", "request.header.X-User", hashed)}},
			ex:  mkEx(hdr("X-User", "alice"), target("https://api.example.com/users/Alice/x?q=%27")),
			det: reviewAttack(), raw: []string{"/Alice/"}, kept: "/users/***/x"},
	})
}

// TestReviewDefaultSecrets: credentials masked by default (session cookies,
// Basic credentials, long cookie values) are masked where the request
// repeats them elsewhere too.
func TestReviewDefaultSecrets(t *testing.T) {
	runReview(t, []reviewCase{
		{name: "second session cookie of the same name",
			ex: mkEx(hdr("Cookie", "session=sessAAAA1111; session=sessBBBB2222"), hdr("Referer", "https://x.example/?s=sessBBBB2222"),
				target("https://api.example.com/a?q=%27")),
			det: reviewAttack(reviewSQLi("request.header.Referer", "https://x.example/?s=sessBBBB2222")),
			raw: []string{"sessAAAA1111", "sessBBBB2222"}, kept: "q=%27"},
		{name: "session cookie in a second Cookie header",
			ex:  mkEx(hdr("Cookie", "lang=en"), hdr("Cookie", "sid=sid-99887766"), hdr("X-Sid", "sid-99887766"), target("https://api.example.com/a?q=%27")),
			det: reviewAttack(), raw: []string{"sid-99887766"}, kept: "lang=***"},
		{name: "double-submit CSRF cookie repeated in a header",
			ex:  mkEx(hdr("Cookie", "csrf=c5f1a9e0b7d24c3e8f6a"), hdr("X-Csrf", "c5f1a9e0b7d24c3e8f6a"), target("https://api.example.com/a?q=%27")),
			det: reviewAttack(reviewSQLi("request.header.X-Csrf", "c5f1a9e0b7d24c3e8f6a")), raw: []string{"c5f1a9e0b7d24c3e8f6a"}, kept: "q=%27"},
		{name: "Basic credential decoded elsewhere",
			ex: mkEx(hdr("Authorization", "Basic "+b64("alice:hunter2pass")), hdr("X-Debug", "login alice:hunter2pass"),
				target("https://api.example.com/a?pw=hunter2pass&q=%27")),
			det: reviewAttack(reviewSQLi("request.header.Authorization|base64", "alice:hunter2pass"), reviewSQLi("request.query.pw", "hunter2pass")),
			raw: []string{"hunter2pass", b64("alice:hunter2pass")}, kept: "q=%27"},
	})
}

// TestReviewLimitsAndParams: a protected header past the evaluator's header
// bound (not read by points, yet stored) is stored as "***"; a parameter
// holding a protected value percent-encoded (a Referer, the request URL)
// is "***".
func TestReviewLimitsAndParams(t *testing.T) {
	pad := func(ex *apisessions.Exchange) {
		for i := 0; i < 70; i++ {
			ex.Request.Headers = append(ex.Request.Headers, apisessions.Header{Name: "X-Pad", Value: strings.Repeat("p", 1000)})
		}
	}
	runReview(t, []reviewCase{
		{name: "hashed header past the header bound",
			cfg: apisessions.Config{Parameters: []apisessions.Parameter{prm("P", "request.header.X-Email", hashed)}},
			ex:  mkEx(pad, hdr("x-email", "bob@example.com"), target("https://api.example.com/a?q=%27")),
			det: reviewAttack(), raw: []string{"bob@example.com"}, kept: `"x-email","Value":"***"`},
		{name: "masked header past the header bound", cfg: apisessions.Config{Mask: []string{"request.header.X-Card"}},
			ex:  mkEx(pad, hdr("X-Card", "4111111111111111"), target("https://api.example.com/a?q=%27")),
			det: reviewAttack(), raw: []string{"4111111111111111"}, kept: "q=%27"},
		{name: "Referer parameter with the hashed value percent-encoded",
			cfg: apisessions.Config{Parameters: []apisessions.Parameter{prm("E", "request.body|json.email", hashed), prm("Ref", "request.header.Referer")}},
			ex:  mkEx(method("POST"), hdr("Referer", "https://shop.example/?email=bob%40example.com"), body("application/json", `{"email":"bob@example.com"}`)),
			raw: []string{"bob%40example.com", "bob@example.com"}},
		{name: "URL parameter with the masked value percent-encoded",
			cfg: apisessions.Config{Mask: []string{"request.header.X-Name"}, Parameters: []apisessions.Parameter{prm("U", "request.url")}},
			ex:  mkEx(hdr("X-Name", "bob smith"), target("https://api.example.com/a?n=bob%20smith")),
			raw: []string{"bob%20smith", "bob smith"}},
	})
}

// TestReviewGraphQLVariables: a protected GraphQL variable is masked under
// every duplicate name and in every operation of a batch, not only where
// the point reads it.
func TestReviewGraphQLVariables(t *testing.T) {
	cfg := apisessions.Config{Mask: []string{"request.body|graphql.variables.ssn"}}
	runReview(t, []reviewCase{
		{name: "duplicate variable", cfg: cfg,
			ex: mkEx(method("POST"), target("https://api.example.com/graphql"), body("application/json",
				`{"query":"query q($ssn: String) { a(s: $ssn, x: \"' OR 1=1\") }","variables":{"ssn":"123-45-6789","ssn":"987-65-4321"}}`)),
			det: reviewAttack(), raw: []string{"123-45-6789", "987-65-4321"}, kept: "' OR 1=1"},
		{name: "batch", cfg: cfg,
			ex: mkEx(method("POST"), target("https://api.example.com/graphql"), body("application/json",
				`[{"query":"query q($ssn: String) { a(s: $ssn) }","variables":{"ssn":"123-45-6789"}},`+
					`{"query":"query { b(x: \"' OR 1=1\") }","variables":{"ssn":"987-65-4321","page":"p-77"}}]`)),
			det: reviewAttack(), raw: []string{"123-45-6789", "987-65-4321"}, kept: "p-77"},
	})
}

// TestReviewBase64: a protected value base64-encoded elsewhere in the
// request, alone or inside a longer encoded text (a JWT claim, base64 JSON),
// in the standard or the URL alphabet, is masked there.
func TestReviewBase64(t *testing.T) {
	cfg := apisessions.Config{Parameters: []apisessions.Parameter{prm("E", "request.header.X-Email", hashed)}}
	const email = "bob@example.com"
	var cases []reviewCase
	for i, prefix := range []string{"", `{"e":"`, `{"em":"`, `{"ema":"`} {
		enc := b64(prefix + email + `"}`)
		jwt := mkJWT(map[string]any{strings.Repeat("k", i+1): email})
		cases = append(cases, reviewCase{name: "alignment " + prefix, cfg: cfg,
			ex:  mkEx(hdr("X-Email", email), hdr("X-State", enc), hdr("X-Jwt", jwt), target("https://api.example.com/a?s="+enc+"&q=%27")),
			det: reviewAttack(reviewSQLi("request.header.X-State", enc), reviewSQLi("request.header.X-Jwt", jwt)),
			raw: []string{enc, jwt}, kept: "q=%27"})
	}
	runReview(t, cases)
	if got := base64Cores(email); len(got) < 3 {
		t.Errorf("base64Cores(%q) = %q, want a core per alignment", email, got)
	}
}

// TestReviewNestedSecrets: a password field inside JSON or a form sent as
// one form value, query value or JSON string is masked by default too.
func TestReviewNestedSecrets(t *testing.T) {
	runReview(t, []reviewCase{
		{name: "JSON in a form value",
			ex:  mkEx(method("POST"), body("application/x-www-form-urlencoded", "data="+url.QueryEscape(`{"user":"al","password":"hunter2 xyz"}`)+"&q=%27")),
			det: reviewAttack(reviewSQLi("request.body|form.data", `{"user":"al","password":"hunter2 xyz"}`)),
			raw: []string{"hunter2 xyz", "hunter2+xyz", "hunter2%20xyz"}, kept: "q=%27"},
		{name: "form in a query value",
			ex:  mkEx(target("https://api.example.com/a?next=" + url.QueryEscape("/login?user=al&password=hunter2xyz") + "&q=%27")),
			det: reviewAttack(), raw: []string{"hunter2xyz"}, kept: "q=%27"},
		{name: "JSON in a JSON string",
			ex:  mkEx(method("POST"), body("application/json", `{"payload":"{\"password\":\"hunter2xyz\"}","q":"'"}`)),
			det: reviewAttack(reviewSQLi("request.body|json.payload", `{"password":"hunter2xyz"}`)), raw: []string{"hunter2xyz"}, kept: `payload`},
	})
}

// TestReviewCredentialParams: a parameter configured, unhashed, where
// requests carry credentials (Authorization, the Cookie header, a session
// cookie) or on a field named as a secret leaves "***" when it holds one,
// whichever key won the session; such a grouping key leaves hashed (same
// session ID). Other values there are kept.
func TestReviewCredentialParams(t *testing.T) {
	bank := prm("Bank", "request.header.X-Bank-Session", group)
	runReview(t, []reviewCase{
		{name: "Cookie header parameter beside a custom key",
			cfg: apisessions.Config{Parameters: []apisessions.Parameter{bank, prm("Cookies", "request.header.Cookie")}},
			ex:  mkEx(hdr("X-Bank-Session", "bank-1"), hdr("Cookie", "theme=dark; PHPSESSID=cookie-raw-1")),
			raw: []string{"cookie-raw-1"}, kept: `"value":"bank-1"`},
		{name: "Cookie header parameter without a session cookie is kept",
			cfg:  apisessions.Config{Parameters: []apisessions.Parameter{bank, prm("Cookies", "request.header.Cookie")}},
			ex:   mkEx(hdr("X-Bank-Session", "bank-1"), hdr("Cookie", "theme=dark")),
			kept: `"value":"theme=dark"`},
		{name: "Authorization parameter beside a custom key",
			cfg: apisessions.Config{Parameters: []apisessions.Parameter{bank, prm("Auth", "request.header.Authorization")}},
			ex:  mkEx(hdr("X-Bank-Session", "bank-1"), hdr("Authorization", "Bearer tok-raw-123456")),
			raw: []string{"tok-raw-123456"}, kept: `"value":"bank-1"`},
		{name: "grouping key on Authorization",
			cfg: apisessions.Config{Parameters: []apisessions.Parameter{prm("Auth", "request.header.Authorization", group)}},
			ex:  mkEx(hdr("Authorization", "Bearer tok-raw-123456")),
			raw: []string{"tok-raw-123456"}, kept: md5hex("Bearer tok-raw-123456")},
		{name: "grouping key on a session cookie",
			cfg: apisessions.Config{Parameters: []apisessions.Parameter{prm("S", "request.cookie.sid", group)}},
			ex:  mkEx(hdr("Cookie", "sid=sid-raw-123456")),
			raw: []string{"sid-raw-123456"}, kept: sid("sid-raw-123456")},
		{name: "parameter on a password field",
			cfg: apisessions.Config{Parameters: []apisessions.Parameter{prm("P", "request.body|json.password"), prm("U", "request.body|json.user")}},
			ex:  mkEx(method("POST"), body("application/json", `{"user":"al","password":"hunter2xyz"}`)),
			raw: []string{"hunter2xyz"}, kept: `"value":"al"`},
		{name: "grouping key on a token query field",
			cfg: apisessions.Config{Parameters: []apisessions.Parameter{prm("T", "request.query.token", group)}},
			ex:  mkEx(target("https://api.example.com/a?token=qtok-123456")),
			raw: []string{"qtok-123456"}, kept: md5hex("qtok-123456")},
	})
}

// TestReviewNames: a protected value sent as a header name, a cookie name,
// a JSON key or a query name is masked there too.
func TestReviewNames(t *testing.T) {
	cfg := apisessions.Config{Parameters: []apisessions.Parameter{prm("E", "request.header.X-Email", hashed)}}
	const email = "bob@example.com"
	runReview(t, []reviewCase{
		{name: "header name", cfg: cfg, ex: mkEx(hdr("X-Email", email), hdr("X-"+email, "1")), det: reviewAttack(),
			raw: []string{email}, kept: `"Name":"X-***"`},
		{name: "cookie name", cfg: cfg, ex: mkEx(hdr("X-Email", email), hdr("Cookie", email+"=1; theme=dark")), det: reviewAttack(),
			raw: []string{email}, kept: "theme=***"},
		{name: "JSON key", cfg: cfg, ex: mkEx(method("POST"), hdr("X-Email", email), body("application/json", `{"`+email+`":1}`)),
			det: reviewAttack(reviewSQLi("request.body", `{"`+email+`":1}`)), raw: []string{email}},
		{name: "query name", cfg: cfg, ex: mkEx(hdr("X-Email", email), target("https://api.example.com/a?bob%40example.com=1&q=%27")),
			det: reviewAttack(), raw: []string{email, "bob%40example.com"}, kept: "q=%27"},
	})
}

// TestIndexFold: the ASCII case-insensitive search finds the first match
// at or after from, whatever the case of either side, and nothing else.
func TestIndexFold(t *testing.T) {
	for _, tc := range []struct {
		s, sub string
		from   int
		want   int
	}{
		{"Tenant-X.Example.com", "tenant-x.example.com", 0, 0},
		{"host: TENANT-x.example.COM:443", "tenant-x.example.com", 0, 6},
		{"aAaAb", "AAB", 0, 2},
		{"aAaAb", "aab", 3, -1},
		{"xx9F86D0", "9f86d0", 0, 2},
		{"tenant", "tenant-x", 0, -1},
		{"äbcABC", "abc", 0, 4}, // ä is two bytes
		{"", "a", 0, -1},
		{"abc", "", 1, 1},
	} {
		if got := indexFold(tc.s, tc.sub, tc.from); got != tc.want {
			t.Errorf("indexFold(%q, %q, %d) = %d, want %d", tc.s, tc.sub, tc.from, got, tc.want)
		}
	}
}

// TestReviewFindingPoint: a finding's point names where the payload was
// found; a protected value used as a name there (a JSON key, a query name)
// is masked in the exported point too.
func TestReviewFindingPoint(t *testing.T) {
	cfg := apisessions.Config{Parameters: []apisessions.Parameter{prm("E", "request.header.X-Email", hashed)}}
	const email = "bob@example.com"
	runReview(t, []reviewCase{
		{name: "JSON key", cfg: cfg, ex: mkEx(method("POST"), hdr("X-Email", email), body("application/json", `{"`+email+`":"' OR 1=1"}`)),
			det: reviewAttack(reviewSQLi(`request.body|json["`+email+`"]`, "' OR 1=1")), raw: []string{email}, kept: `request.body|json[\"***\"]`},
		{name: "query name", cfg: cfg, ex: mkEx(hdr("X-Email", email), target("https://api.example.com/a?bob%40example.com=%27")),
			det: reviewAttack(reviewSQLi(`request.query["`+email+`"]`, "'")), raw: []string{email}},
	})
}
