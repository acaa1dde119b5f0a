package sessionize

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// assertNoSecrets fails when any of the raw values appears in the JSON of
// the records.
func assertNoSecrets(tb testing.TB, recs []apisessions.Record, raw ...string) {
	tb.Helper()
	b, err := json.Marshal(recs)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range raw {
		for _, form := range []string{r, jsonEscaped(r)} {
			if bytes.Contains(b, []byte(form)) {
				tb.Errorf("raw secret %q leaked into the records: %s", r, b)
			}
		}
	}
}

func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// TestMaskParams: masked parameters leave as "***", whether a mask covers
// their point or their value holds a masked value.
func TestMaskParams(t *testing.T) {
	cfg := apisessions.Config{
		Mask: []string{"request.body|json.password", "request.header.X-Card"},
		Parameters: []apisessions.Parameter{
			prm("Password", "request.body|json.password"),
			prm("Whole body", "request.body"),
			prm("Card", "request.header.x-card", hashed),
			prm("User", "request.body|json.username", typ(apisessions.ParamUser)),
		},
	}
	s := MustSessionizer(t, cfg)
	rec := MustProcess(t, s, mkEx(method("POST"), hdr("X-Card", "4111111111111111"),
		body("application/json", `{"username":"alice","password":"hunter22"}`)), apisessions.Detection{})
	want := map[string]string{"Password": "***", "Whole body": "***", "Card": "***", "User": "alice"}
	for _, p := range rec.Params {
		if p.Value != want[p.Name] {
			t.Errorf("param %s = %q, want %q", p.Name, p.Value, want[p.Name])
		}
		if p.Value == "***" && p.Hashed {
			t.Errorf("param %s: masked and marked hashed", p.Name)
		}
		if p.Name == "Card" && p.Point != "request.header.X-Card" {
			t.Errorf("param point %q, want the canonical request.header.X-Card", p.Point)
		}
	}
	if len(rec.Params) != len(want) {
		t.Errorf("params %+v, want %d", rec.Params, len(want))
	}
	assertNoSecrets(t, []apisessions.Record{rec}, "hunter22", "4111111111111111", md5hex("4111111111111111"))
}

// TestMaskFindings: a finding whose point is masked, or whose payload holds
// a masked, hashed or credential value, has "***" there.
func TestMaskFindings(t *testing.T) {
	cfg := apisessions.Config{
		Mask:       []string{"request.body|json.password"},
		Parameters: []apisessions.Parameter{prm("Email", "request.header.X-Email", hashed)},
	}
	s := MustSessionizer(t, cfg)
	ex := mkEx(method("POST"), hdr("X-Email", "eve@example.com"), hdr("Cookie", "PHPSESSID=sess-cookie-1"),
		body("application/json", `{"username":"x' OR 1=1--","password":"pa55word!"}`))
	det := apisessions.Detection{Verdict: apisessions.VerdictSuspicious, Score: 3, Findings: []apisessions.Finding{
		{Type: apisessions.AttackSQLi, RuleIDs: []int{942100}, Score: 3, Point: "request.body|json.password", Payload: "pa55word!"},
		{Type: apisessions.AttackSQLi, RuleIDs: []int{942100}, Score: 3, Point: "request.body|json.username", Payload: "x' OR 1=1--"},
		{Type: apisessions.AttackSQLi, RuleIDs: []int{942100}, Score: 3, Point: "request.body", Payload: `{"username":"x' OR 1=1--","password":"pa55word!"}`},
		{Type: apisessions.AttackXSS, RuleIDs: []int{941100}, Score: 3, Point: "request.header.X-Email", Payload: "eve@example.com<script>"},
		{Type: apisessions.AttackProtocol, RuleIDs: []int{920100}, Score: 3, Point: "request.header.Cookie", Payload: "PHPSESSID=sess-cookie-1"},
	}}
	rec := MustProcess(t, s, ex, det)
	want := []string{"***", "x' OR 1=1--", `{"username":"x' OR 1=1--","password":"***"}`, "***<script>", "PHPSESSID=***"}
	if len(rec.Findings) != len(want) {
		t.Fatalf("findings %+v", rec.Findings)
	}
	for i, f := range rec.Findings {
		if f.Payload != want[i] {
			t.Errorf("finding %d (%s) payload %q, want %q", i, f.Point, f.Payload, want[i])
		}
	}
	if rec.Content != nil {
		t.Error("content kept for a request that is not an attack")
	}
	if det.Findings[0].Payload != "pa55word!" {
		t.Error("Process changed the caller's findings")
	}
	assertNoSecrets(t, []apisessions.Record{rec}, "pa55word!", "eve@example.com", "sess-cookie-1")
}

// TestContentGolden: the stored content of malicious requests, with mask
// points and the defaults masked. Run with -update to rewrite.
func TestContentGolden(t *testing.T) {
	cfg := apisessions.Config{
		Mask: []string{"request.body|json.card.number", "request.header.X-Card"},
		Parameters: []apisessions.Parameter{
			prm("Email", "request.body|json.email", hashed),
			prm("Bank session", "request.header.X-Bank-Session", group, hashed),
		},
	}
	attack := apisessions.Detection{Verdict: apisessions.VerdictAttack, Score: 10, Findings: []apisessions.Finding{
		{Type: apisessions.AttackSQLi, RuleIDs: []int{942100}, Score: 5, Point: "request.query.id", Payload: "1 OR 1=1"},
	}}
	tests := []struct {
		name string
		ex   *apisessions.Exchange
	}{
		{name: "json", ex: mkEx(method("POST"),
			target("https://shop.example.com/api/orders?id=1%20OR%201=1&token=qtok-secret-1&page=2"),
			hdr("Authorization", "Bearer eyJhbGciOi.eyJzdWIiOiJ4In0.sig"),
			hdr("Cookie", "PHPSESSID=cookie-secret-1; theme=dark"),
			hdr("X-Card", "4111111111111111"),
			hdr("X-Bank-Session", "bank-secret-1"),
			hdr("X-Api-Key", "apikey-secret-1"),
			body("application/json", `{"email":"mallory@example.com","password":"pw-secret-1","card":{"number":"4111111111111111","cvc":123},`+
				`"items":[{"sku":"A1","qty":2}],"newPassword":{"a":"pw-secret-2"},"note":"<b>hi</b> bank-secret-1","accessToken":"at-secret-1"}`))},
		{name: "form", ex: mkEx(method("POST"), target("https://shop.example.com/login"),
			body("application/x-www-form-urlencoded", "user=mallory&pass=pw-secret-3&pwd=pw-secret-4&remember=1&client_secret=cs-secret-1"))},
		{name: "invalid json", ex: mkEx(method("POST"), target("https://shop.example.com/login"),
			body("application/json", `{"user":"m", "password": "pw-secret-5", "x": [1,}`))},
		{name: "binary body", ex: mkEx(method("PUT"), target("https://shop.example.com/upload"),
			body("application/octet-stream", "\xff\xfe\x00binary password=pw-secret-6"))},
	}
	var all []apisessions.Record
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := MustProcess(t, MustSessionizer(t, cfg), tc.ex, attack)
			if rec.Content == nil {
				t.Fatal("no content for an attack")
			}
			all = append(all, rec)
			got, err := json.MarshalIndent(rec.Content, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "content_"+strings.ReplaceAll(tc.name, " ", "_")+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("content differs from %s:\n%s", golden, got)
			}
		})
	}
	var secrets []string
	for i := 1; i <= 6; i++ {
		secrets = append(secrets, fmt.Sprintf("pw-secret-%d", i))
	}
	secrets = append(secrets, "qtok-secret-1", "cookie-secret-1", "4111111111111111", "bank-secret-1",
		"apikey-secret-1", "mallory@example.com", "at-secret-1", "cs-secret-1", "eyJzdWIiOiJ4In0")
	assertNoSecrets(t, all, secrets...)
}

// TestContentBodyLimit: bodies are cut at the limit, at a rune boundary.
func TestContentBodyLimit(t *testing.T) {
	opts := DefaultOptions()
	opts.Secret = testSecret
	opts.Now = func() time.Time { return testNow }
	opts.ContentBodyLimit = 10
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rec := MustProcess(t, s, mkEx(method("POST"), body("text/plain", "ééééééééé")), apisessions.Detection{Verdict: apisessions.VerdictAttack})
	c := rec.Content
	if !c.Truncated || c.BodyBase64 || c.Body != "ééééé" {
		t.Errorf("content %+v, want 5 runes, truncated, text", c)
	}

	// A body past the parse limit is masked by pattern, then cut.
	big := `{"password":"big-secret-1","pad":"` + strings.Repeat("x", maxMaskParse) + `"}`
	rec = MustProcess(t, MustSessionizer(t, apisessions.Config{}), mkEx(method("POST"), body("application/json", big)), apisessions.Detection{Verdict: apisessions.VerdictAttack})
	c = rec.Content
	if !c.Truncated || len(c.Body) != DefaultContentBodyLimit || !strings.HasPrefix(c.Body, `{"password":"***","pad":"xxx`) {
		t.Errorf("big body: truncated %v, %d bytes, starts %.40q", c.Truncated, len(c.Body), c.Body)
	}
}

// TestNoRawSecretsInRecords imports a multi-user traffic with passwords,
// tokens, cookies, JWTs and hashed values, with and without attacks, and
// finds none of them in the JSON of the records.
func TestNoRawSecretsInRecords(t *testing.T) {
	cfg := apisessions.Config{
		Mask: []string{"request.body|json.password"},
		Parameters: []apisessions.Parameter{
			prm("Login token", "response.body|json.token", group, hashed),
			prm("Query token", "request.query.token", group, hashed),
			prm("Username", "request.body|json.username", typ(apisessions.ParamUser), hashed),
			prm("Email", "request.header.X-Customer-Email", hashed),
			prm("Order", "request.body|json.order_id", context),
		},
	}
	s := MustSessionizer(t, cfg)
	var recs []apisessions.Record
	var secrets []string
	for u := 0; u < 5; u++ {
		user := fmt.Sprintf("user%d-name", u)
		pw := fmt.Sprintf("Pa55-%d-word", u)
		tok := fmt.Sprintf("login-tok-%d-xyz", u)
		cookie := fmt.Sprintf("phpsess-%d-abc", u)
		email := fmt.Sprintf("user%d@mail.example", u)
		jwt := mkJWT(map[string]any{"sid": fmt.Sprintf("jwt-sid-%d", u), "sub": user})
		secrets = append(secrets, pw, tok, cookie, email, jwt, fmt.Sprintf("jwt-sid-%d", u), user)
		for i, det := range []apisessions.Detection{
			{Verdict: apisessions.VerdictClean},
			{Verdict: apisessions.VerdictAttack, Score: 5, Findings: []apisessions.Finding{{Type: apisessions.AttackSQLi, Point: "request.body", Payload: `{"username":"` + user + `","password":"` + pw + `' OR 1=1"}`}}},
		} {
			exs := []*apisessions.Exchange{
				mkEx(method("POST"), target("https://api.example.com/api/login"), hdr("X-Customer-Email", email),
					body("application/json", `{"username":"`+user+`","password":"`+pw+`' OR 1=1"}`),
					respBody(`{"token":"`+tok+`"}`), respHdr("Set-Cookie", "PHPSESSID="+cookie+"; Path=/")),
				mkEx(target("https://api.example.com/api/orders?token="+tok), hdr("Cookie", "PHPSESSID="+cookie)),
				mkEx(method("POST"), target("https://api.example.com/api/checkout"), hdr("Authorization", "Bearer "+jwt),
					hdr("Cookie", "PHPSESSID="+cookie), body("application/json", `{"order_id":`+fmt.Sprint(100+u)+`}`)),
				mkEx(target("https://api.example.com/api/me"), hdr("Authorization", "Basic "+basic(user, pw))),
			}
			for j, ex := range exs {
				d := det
				if j != 0 && i == 1 {
					d.Findings = []apisessions.Finding{{Type: apisessions.AttackXSS, Point: "request.url", Payload: ex.Request.URL}}
				}
				recs = append(recs, MustProcess(t, s, ex, d))
			}
		}
	}
	attacks := 0
	for _, r := range recs {
		if r.Content != nil {
			attacks++
		}
	}
	if attacks == 0 {
		t.Fatal("no malicious content was stored: the test checks nothing of it")
	}
	assertNoSecrets(t, recs, secrets...)
}

func basic(user, pw string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pw))
}

// TestIsSecretName documents which field names are masked by default.
func TestIsSecretName(t *testing.T) {
	m := newMasker()
	for name, want := range map[string]bool{
		"password": true, "Password": true, "newPassword": true, "user_passwd": true, "pwd": true,
		"client_secret": true, "access_token": true, "X-Auth-Token": true, "X-Api-Key": true, "apiKey": true,
		"pass": true, "pin": true, "passphrase": true,
		"username": false, "email": false, "passenger": false, "spinner": false, "author": false, "page": false,
	} {
		if got := m.isSecretName(name); got != want {
			t.Errorf("isSecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestCredentialsNotInParams: an unhashed parameter that holds the raw
// value of a hashed parameter or of a credential key leaves as "***"; a user
// name or JWT claim that keyed the session does not count as a credential.
func TestCredentialsNotInParams(t *testing.T) {
	cfg := apisessions.Config{Parameters: []apisessions.Parameter{
		prm("Cookies", "request.header.Cookie"),
		prm("Email", "request.header.X-Email", hashed),
		prm("Email echo", "request.header.X-Email-Echo"),
		prm("User", "request.header.Authorization|jwt.sub", typ(apisessions.ParamUser)),
	}}
	tests := []struct {
		name string
		ex   *apisessions.Exchange
		want map[string]string
	}{
		{name: "session cookie inside the Cookie header", ex: mkEx(hdr("Cookie", "theme=dark; PHPSESSID=cookie-raw-1")),
			want: map[string]string{"Cookies": "***"}},
		{name: "no session cookie", ex: mkEx(hdr("Cookie", "theme=dark")),
			want: map[string]string{"Cookies": "theme=dark"}},
		{name: "hashed value echoed", ex: mkEx(hdr("X-Email", "eve@example.com"), hdr("X-Email-Echo", "to: eve@example.com")),
			want: map[string]string{"Email": md5hex("eve@example.com"), "Email echo": "***"}},
		{name: "jwt sub keys and names the user", ex: mkEx(hdr("Authorization", "Bearer "+mkJWT(map[string]any{"sub": "alice"}))),
			want: map[string]string{"User": "alice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := MustProcess(t, MustSessionizer(t, cfg), tc.ex, apisessions.Detection{})
			got := map[string]string{}
			for _, p := range rec.Params {
				got[p.Name] = p.Value
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("params %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMaskCredentialPayloads: findings in cookies and credential headers
// keep no credential, even one cut short by the payload bound.
func TestMaskCredentialPayloads(t *testing.T) {
	s := MustSessionizer(t, apisessions.Config{})
	ex := mkEx(hdr("Cookie", "remember_token=rt-9f8e7d6c5b4a; PHPSESSID=sess-7"), hdr("X-Refresh-Token", "refresh-1234567"),
		hdr("Authorization", "Bearer eyJhbGciOi-cut-short"))
	det := apisessions.Detection{Verdict: apisessions.VerdictSuspicious, Score: 3, Findings: []apisessions.Finding{
		{Type: apisessions.AttackSQLi, Point: "request.cookie.remember_token", Payload: "rt-9f8e7d6c5b4a"},
		{Type: apisessions.AttackSQLi, Point: "request.header.Cookie", Payload: "remember_token=rt-9f8e7d6c5b4a; PHPSESSID=sess-7"},
		{Type: apisessions.AttackSQLi, Point: "request.header.X-Refresh-Token", Payload: "refresh-1234567"},
		{Type: apisessions.AttackSQLi, Point: "request.header.Authorization", Payload: "Bearer eyJhbGciOi-cut"},
	}}
	rec := MustProcess(t, s, ex, det)
	want := []string{"***", "remember_token=***; PHPSESSID=***", "***", "Bearer ***"}
	for i, f := range rec.Findings {
		if f.Payload != want[i] {
			t.Errorf("finding %d (%s) payload %q, want %q", i, f.Point, f.Payload, want[i])
		}
	}
	assertNoSecrets(t, []apisessions.Record{rec}, "rt-9f8e7d6c5b4a", "refresh-1234567", "eyJhbGciOi-cut")
}

// TestMaskPathAndRepeatedValues: path segments selected by mask rules or
// hashed parameters leave the path and endpoint as "***", and every value
// of a repeated hashed header is masked in stored content.
func TestMaskPathAndRepeatedValues(t *testing.T) {
	cfg := apisessions.Config{
		Mask:       []string{"request.path[2]"},
		Parameters: []apisessions.Parameter{prm("User", "request.path[1]", hashed), prm("Email", "request.header.X-Email", hashed)},
	}
	s := MustSessionizer(t, cfg)
	ex := mkEx(target("https://shop.example.com/users/alice@example.com/reset-secret-xyz?x=1"),
		hdr("X-Email", "eve@example.com"), hdr("X-Email", "bob@example.com"))
	det := apisessions.Detection{Verdict: apisessions.VerdictAttack, Score: 5, Findings: []apisessions.Finding{
		{Type: apisessions.AttackSQLi, Point: "request.query.x", Payload: "1"},
	}}
	rec := MustProcess(t, s, ex, det)
	if rec.Path != "/users/***/***" || rec.Endpoint != "GET /users/***/***" {
		t.Errorf("path %q endpoint %q", rec.Path, rec.Endpoint)
	}
	assertNoSecrets(t, []apisessions.Record{rec}, "alice@example.com", "reset-secret-xyz", "eve@example.com", "bob@example.com")
}

// TestMaskManySecrets: a body with thousands of secret fields is masked
// whole (the secrets set stops at its bound and masks everything).
func TestMaskManySecrets(t *testing.T) {
	s := MustSessionizer(t, apisessions.Config{})
	var b strings.Builder
	var leaks []string
	b.WriteString(`{"items":[`)
	for i := 0; i < 3000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		v := fmt.Sprintf("tok-%07d", i)
		leaks = append(leaks, v)
		fmt.Fprintf(&b, `{"token":%q}`, v)
	}
	b.WriteString(`]}`)
	det := apisessions.Detection{Verdict: apisessions.VerdictAttack, Score: 5, Findings: []apisessions.Finding{
		{Type: apisessions.AttackSQLi, Point: "request.body", Payload: b.String()[:256]},
	}}
	rec := MustProcess(t, s, mkEx(method("POST"), body("application/json", b.String())), det)
	if rec.Content == nil {
		t.Fatal("no content kept for an attack")
	}
	assertNoSecrets(t, []apisessions.Record{rec}, leaks...)
}

// TestMaskMultipartContent: a secret-named field of a multipart body is
// masked in the stored content of a malicious request.
func TestMaskMultipartContent(t *testing.T) {
	s := MustSessionizer(t, apisessions.Config{})
	mp := "--XyZ\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nalice\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nhunter2secret\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n' OR 1=1--\r\n--XyZ--\r\n"
	det := apisessions.Detection{Verdict: apisessions.VerdictAttack, Score: 5, Findings: []apisessions.Finding{
		{Type: apisessions.AttackSQLi, Point: "request.body|multipart.file", Payload: "' OR 1=1--"},
	}}
	rec := MustProcess(t, s, mkEx(method("POST"), body("multipart/form-data; boundary=XyZ", mp)), det)
	if rec.Content == nil || !strings.Contains(rec.Content.Body, "alice") || !strings.Contains(rec.Content.Body, "' OR 1=1--") {
		t.Fatalf("content %+v", rec.Content)
	}
	assertNoSecrets(t, []apisessions.Record{rec}, "hunter2secret")
}
