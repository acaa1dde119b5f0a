package sessionize

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/point"
)

// storedExchange rebuilds the request a record's stored content describes,
// as a reader of the store could, to evaluate points on it.
func storedExchange(tb testing.TB, rec apisessions.Record) *apisessions.Exchange {
	tb.Helper()
	c := rec.Content
	if c == nil {
		tb.Fatal("no stored content")
	}
	b := []byte(c.Body)
	if c.BodyBase64 {
		var err error
		if b, err = base64.StdEncoding.DecodeString(c.Body); err != nil {
			tb.Fatalf("stored body: %v", err)
		}
	}
	return &apisessions.Exchange{
		Time:     rec.Time,
		ClientIP: rec.ClientIP,
		Request:  apisessions.Request{Method: c.Method, URL: c.Target, Headers: c.Headers, Body: b},
	}
}

// assertNotRecoverable fails when evaluating pt on the stored content of rec
// gives back raw: a protected value must not be recoverable by decoding
// what was kept.
func assertNotRecoverable(tb testing.TB, rec apisessions.Record, pt, raw string) {
	tb.Helper()
	ev := point.NewEvaluator(point.DefaultLimits())
	ev.Reset(storedExchange(tb, rec))
	for _, v := range ev.Values(point.MustParse(pt)) {
		if strings.Contains(v, raw) {
			tb.Errorf("%s recovered from the stored content: %q", pt, v)
		}
	}
}

func gzipped(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.String()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestProtectDecodedPoints: a hashed or masked point reached through
// decoders leaves no container in the record from which its raw value could
// be decoded back (stored content, finding payloads, parameters), for every
// decoder kind; the rest of the content stays readable.
func TestProtectDecodedPoints(t *testing.T) {
	jwtSub := mkJWT(map[string]any{"sub": "u1", "iss": "idp.example"})
	tests := []struct {
		name string
		// protect is the point hashed (or masked when mask is set).
		protect string
		mask    bool
		raw     string
		ex      *apisessions.Exchange
		// containers must not appear anywhere in the record.
		containers []string
		// container is a point whose value holds raw encoded: a parameter
		// and a finding on it must not carry it out.
		container string
		// kept must still be in the stored content.
		kept string
	}{
		{name: "jwt", protect: "request.header.X-Identity|jwt.sub", raw: "u1",
			ex:         mkEx(hdr("X-Identity", jwtSub), target("https://api.example.com/api/items?q=%27%20OR%201%3D1")),
			containers: []string{jwtSub}, container: "request.header.X-Identity", kept: "q=%27%20OR%201%3D1"},
		{name: "jwt in authorization", protect: "request.header.Authorization|jwt.sub", raw: "u1",
			ex:         mkEx(hdr("Authorization", "Bearer "+jwtSub), target("https://api.example.com/api/items?q=%27%20OR%201%3D1")),
			containers: []string{jwtSub}, container: "request.header.Authorization", kept: "q=%27%20OR%201%3D1"},
		{name: "json base64 json", protect: "request.body|json.data|base64|json.token", raw: "t9x",
			ex: mkEx(method("POST"), body("application/json",
				`{"data":"`+b64(`{"token":"t9x","n":1}`)+`","q":"' OR 1=1--"}`)),
			containers: []string{b64(`{"token":"t9x","n":1}`)}, container: "request.body|json.data", kept: "' OR 1=1--"},
		{name: "json in a json string", protect: "request.body|json.payload|json.uid", raw: "u7", mask: true,
			ex: mkEx(method("POST"), body("application/json",
				`{"payload":"{\"uid\":\"u7\"}","q":"' OR 1=1--"}`)),
			containers: []string{`{\"uid\":\"u7\"}`}, container: "request.body|json.payload", kept: "' OR 1=1--"},
		{name: "url json", protect: "request.query.q|url|json.secret", raw: "s3", mask: true,
			ex:         mkEx(target("https://api.example.com/api/search?q=" + url.QueryEscape(url.QueryEscape(`{"secret":"s3"}`)) + "&x=%27%20OR%201%3D1")),
			containers: []string{url.QueryEscape(url.QueryEscape(`{"secret":"s3"}`))}, container: "request.query.q", kept: "x=%27%20OR%201%3D1"},
		{name: "form", protect: "request.header.X-Prefs|form.email", raw: "bob@example.com",
			ex:         mkEx(hdr("X-Prefs", "email=b%6Fb%40example.com&lang=en"), target("https://api.example.com/api/items?q=%27%20OR%201%3D1")),
			containers: []string{"b%6Fb%40example.com"}, container: "request.header.X-Prefs", kept: "q=%27%20OR%201%3D1"},
		{name: "multipart json", protect: "request.body|multipart.meta|json.uid", raw: "u7",
			ex: mkEx(method("POST"), body("multipart/form-data; boundary=XyZ",
				"--XyZ\r\nContent-Disposition: form-data; name=\"meta\"\r\n\r\n{\"uid\":\"u7\"}\r\n"+
					"--XyZ\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n' OR 1=1--\r\n--XyZ--\r\n")),
			containers: []string{`{\"uid\":\"u7\"}`}, container: "request.body|multipart.meta", kept: "' OR 1=1--"},
		{name: "xml base64 json", protect: "request.body|xml.req.auth|base64|json.user", raw: "bo",
			ex: mkEx(method("POST"), body("application/xml",
				"<req><auth>"+b64(`{"user":"bo"}`)+"</auth><q>' OR 1=1--</q></req>")),
			containers: []string{b64(`{"user":"bo"}`)}, container: "request.body|xml.req.auth", kept: "' OR 1=1--"},
		{name: "graphql variables jwt", protect: "request.body|graphql.variables.ticket|jwt.sub", raw: "u1",
			ex: mkEx(method("POST"), target("https://api.example.com/graphql"), body("application/json",
				`{"query":"query q($ticket: String) { me(t: $ticket, x: \"' OR 1=1--\") { id } }","variables":{"ticket":"`+jwtSub+`"}}`)),
			containers: []string{jwtSub}, container: "request.body|graphql.variables.ticket", kept: "' OR 1=1--"},
		{name: "base64 gzip json in a header", protect: "request.header.X-State|base64|gzip|json.uid", raw: "u5",
			ex:         mkEx(hdr("X-State", b64(gzipped(`{"uid":"u5"}`))), target("https://api.example.com/api/items?q=%27%20OR%201%3D1")),
			containers: []string{b64(gzipped(`{"uid":"u5"}`))}, container: "request.header.X-State", kept: "q=%27%20OR%201%3D1"},
		{name: "gzip body", protect: "request.body|gzip|json.user", raw: "gz-user",
			ex:         mkEx(method("POST"), body("application/octet-stream", gzipped(`{"user":"gz-user","q":"' OR 1=1--"}`))),
			containers: []string{b64(gzipped(`{"user":"gz-user","q":"' OR 1=1--"}`))}, container: "request.body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := apisessions.Config{Parameters: []apisessions.Parameter{prm("Container", tc.container)}}
			if tc.mask {
				cfg.Mask = []string{tc.protect}
			} else {
				cfg.Parameters = append(cfg.Parameters, prm("Protected", tc.protect, hashed))
			}
			ev := point.NewEvaluator(point.DefaultLimits())
			ev.Reset(tc.ex)
			cv, ok := ev.First(point.MustParse(tc.container))
			if v, _ := ev.First(point.MustParse(tc.protect)); v != tc.raw || !ok {
				t.Fatalf("test exchange: %s = %q, want %q; container %s present %v", tc.protect, v, tc.raw, tc.container, ok)
			}
			det := apisessions.Detection{Verdict: apisessions.VerdictAttack, Score: 5, Findings: []apisessions.Finding{
				{Type: apisessions.AttackSQLi, RuleIDs: []int{942100}, Score: 5, Point: tc.container, Payload: cv},
				{Type: apisessions.AttackSQLi, RuleIDs: []int{942100}, Score: 5, Point: point.MustParse(tc.container).String() + "|base64", Payload: cv},
			}}
			rec := MustProcess(t, MustSessionizer(t, cfg), tc.ex, det)
			assertNotRecoverable(t, rec, tc.protect, tc.raw)
			js, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.containers {
				if bytes.Contains(js, []byte(c)) {
					t.Errorf("container %q left in the record: %s", c, js)
				}
			}
			for _, p := range rec.Params {
				if p.Name == "Container" && p.Value != maskedValue {
					t.Errorf("parameter on the container %s = %q, want %q", tc.container, p.Value, maskedValue)
				}
			}
			// The container itself, and another point whose payload is the
			// container's value.
			if f := rec.Findings[0]; f.Payload != maskedValue {
				t.Errorf("finding at %s: payload %q, want %q", f.Point, f.Payload, maskedValue)
			}
			if f := rec.Findings[1]; f.Payload != maskedValue && !strings.HasSuffix(f.Payload, " "+maskedValue) {
				t.Errorf("finding at %s: payload %q, want it masked", f.Point, f.Payload)
			}
			if tc.kept != "" && !strings.Contains(rec.Content.Target+rec.Content.Body, tc.kept) {
				t.Errorf("stored content lost %q: target %q body %q", tc.kept, rec.Content.Target, rec.Content.Body)
			}
		})
	}
}

// TestProtectSiblingsKept: values beside a protected point in the same
// container (another claim of the JWT, another field) are kept: only the
// path from the container to the protected value is masked.
func TestProtectSiblingsKept(t *testing.T) {
	jwt := mkJWT(map[string]any{"sub": "u1", "iss": "idp.example"})
	cfg := apisessions.Config{Parameters: []apisessions.Parameter{
		prm("Subject", "request.header.X-Identity|jwt.sub", hashed),
		prm("Issuer", "request.header.X-Identity|jwt.iss"),
	}}
	det := apisessions.Detection{Verdict: apisessions.VerdictSuspicious, Score: 3, Findings: []apisessions.Finding{
		{Type: apisessions.AttackSQLi, Point: "request.header.X-Identity|jwt.iss", Payload: "idp.example"},
	}}
	rec := MustProcess(t, MustSessionizer(t, cfg), mkEx(hdr("X-Identity", jwt)), det)
	got := map[string]string{}
	for _, p := range rec.Params {
		got[p.Name] = p.Value
	}
	if got["Subject"] != md5hex("u1") || got["Issuer"] != "idp.example" {
		t.Errorf("params %v", got)
	}
	if rec.Findings[0].Payload != "idp.example" {
		t.Errorf("payload of a sibling claim %q, want it kept", rec.Findings[0].Payload)
	}
}

// TestProtectEncodedBody: a request body sent with a Content-Encoding is
// stored masked whole: the stored bytes would otherwise decompress back to
// every secret field, which masking cannot see inside.
func TestProtectEncodedBody(t *testing.T) {
	s := MustSessionizer(t, apisessions.Config{})
	ex := mkEx(method("POST"), hdr("Content-Encoding", "gzip"),
		body("application/json", gzipped(`{"user":"x' OR 1=1--","password":"gz-pass-1"}`)))
	rec := MustProcess(t, s, ex, apisessions.Detection{Verdict: apisessions.VerdictAttack, Score: 5})
	if rec.Content.Body != maskedValue || rec.Content.BodyBase64 {
		t.Errorf("encoded body stored as %q (base64 %v), want %q", rec.Content.Body, rec.Content.BodyBase64, maskedValue)
	}
	assertNotRecoverable(t, rec, "request.body|json.password", "gz-pass-1")
}

// TestProtectMetadata: request metadata kept beside the parameters (client
// IP, host, User-Agent, path) follows the protection of a point that
// selects it: hashed like the parameter, or "***"; the key, finding
// payloads and stored content keep no raw value either.
func TestProtectMetadata(t *testing.T) {
	const (
		rawIP   = "198.51.100.23"
		rawUA   = "secret-agent/7.7"
		rawHost = "tenant-x.example.com"
		rawPath = "/private/alice-reports"
	)
	mk := func() *apisessions.Exchange {
		return mkEx(ip(rawIP), ua(rawUA), target("https://"+rawHost+rawPath+"?q=%27%20OR%201%3D1"),
			hdr("Host", rawHost), hdr("X-Forwarded-For", rawIP), hdr("X-Note", "from "+rawIP))
	}
	attack := apisessions.Detection{Verdict: apisessions.VerdictAttack, Score: 5, Findings: []apisessions.Finding{
		{Type: apisessions.AttackSQLi, Point: "request.header.X-Note", Payload: "from " + rawIP},
		{Type: apisessions.AttackSQLi, Point: "request.path", Payload: rawPath},
	}}
	tests := []struct {
		name  string
		cfg   apisessions.Config
		check func(t *testing.T, rec apisessions.Record)
		raw   string
	}{
		{name: "hashed ip", raw: rawIP,
			cfg: apisessions.Config{Parameters: []apisessions.Parameter{prm("IP", "request.ip", hashed)}},
			check: func(t *testing.T, rec apisessions.Record) {
				if rec.ClientIP != md5hex(rawIP) {
					t.Errorf("client_ip %q, want the parameter's hash", rec.ClientIP)
				}
				if rec.Key.Point != fallbackIPUAPoint || rec.Key.Value != md5hex(rawIP+" "+rawUA) || rec.SessionID != sid(rawIP+" "+rawUA) {
					t.Errorf("key %+v session %s: want the fallback exported hashed, same session", rec.Key, rec.SessionID)
				}
			}},
		{name: "masked user agent", raw: rawUA,
			cfg: apisessions.Config{Mask: []string{"request.header.User-Agent"}},
			check: func(t *testing.T, rec apisessions.Record) {
				if rec.UserAgent != maskedValue || rec.ClientIP != rawIP {
					t.Errorf("user agent %q client ip %q", rec.UserAgent, rec.ClientIP)
				}
				if rec.Key.Value != md5hex(rawIP+" "+rawUA) {
					t.Errorf("key %+v, want hashed", rec.Key)
				}
			}},
		{name: "hashed host", raw: rawHost,
			cfg: apisessions.Config{Parameters: []apisessions.Parameter{prm("Host", "request.host", hashed)}},
			check: func(t *testing.T, rec apisessions.Record) {
				if rec.Host != md5hex(rawHost) {
					t.Errorf("host %q, want the parameter's hash", rec.Host)
				}
			}},
		{name: "hashed path", raw: rawPath,
			cfg: apisessions.Config{Parameters: []apisessions.Parameter{prm("Path", "request.path", hashed)}},
			check: func(t *testing.T, rec apisessions.Record) {
				if rec.Path != md5hex(rawPath) || strings.Contains(rec.Endpoint, "alice") {
					t.Errorf("path %q endpoint %q", rec.Path, rec.Endpoint)
				}
			}},
		{name: "masked url", raw: rawPath,
			cfg: apisessions.Config{Mask: []string{"request.url"}},
			check: func(t *testing.T, rec apisessions.Record) {
				if rec.Path != maskedValue || rec.Content.Target != maskedValue {
					t.Errorf("path %q target %q", rec.Path, rec.Content.Target)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := MustProcess(t, MustSessionizer(t, tc.cfg), mk(), attack)
			tc.check(t, rec)
			assertNoSecrets(t, []apisessions.Record{rec}, tc.raw)
		})
	}
}

// TestProtectKey: an unhashed grouping key that is the container of a
// hashed point leaves hashed (it still names the same session).
func TestProtectKey(t *testing.T) {
	jwt := mkJWT(map[string]any{"sub": "u1"})
	cfg := apisessions.Config{Parameters: []apisessions.Parameter{
		prm("Identity", "request.header.X-Identity", group),
		prm("Subject", "request.header.X-Identity|jwt.sub", hashed),
	}}
	rec := MustProcess(t, MustSessionizer(t, cfg), mkEx(hdr("X-Identity", jwt)), apisessions.Detection{})
	if rec.Key.Point != "request.header.X-Identity" || rec.Key.Value != md5hex(jwt) || rec.SessionID != sid(jwt) {
		t.Errorf("key %+v session %s", rec.Key, rec.SessionID)
	}
	assertNoSecrets(t, []apisessions.Record{rec}, jwt)

	// Without the hashed claim, the key is exported as configured.
	rec = MustProcess(t, MustSessionizer(t, cfg), mkEx(hdr("X-Identity", "opaque-id-1")), apisessions.Detection{})
	if rec.Key.Value != "opaque-id-1" {
		t.Errorf("key %+v, want the raw value", rec.Key)
	}
}

// TestProtectMetadataRefused: hashing or masking the method or the status
// is refused: every record keeps them, and their few values hide nothing.
func TestProtectMetadataRefused(t *testing.T) {
	for _, cfg := range []apisessions.Config{
		{Parameters: []apisessions.Parameter{prm("Method", "request.method", hashed)}},
		{Parameters: []apisessions.Parameter{prm("Status", "response.status", hashed)}},
		{Mask: []string{"request.method"}},
		{Mask: []string{"response.status"}},
	} {
		opts := DefaultOptions()
		opts.Config, opts.Secret = cfg, testSecret
		if _, err := New(opts); err == nil || !strings.Contains(err.Error(), "metadata") {
			t.Errorf("config %+v: error %v, want a refusal naming metadata", cfg, err)
		}
	}
}

// TestProtectVerifiedBody: a protected value that masking by structure and
// value leaves in the stored body (short, inside a multipart, XML or
// GraphQL body) is found by reading the
// point back, and the body is stored as "***"; where masking did remove it,
// the body is kept.
func TestProtectVerifiedBody(t *testing.T) {
	mp := func(v string) string {
		return "--XyZ\r\nContent-Disposition: form-data; name=\"pin\"\r\n\r\n" + v + "\r\n" +
			"--XyZ\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n' OR 1=1--\r\n--XyZ--\r\n"
	}
	tests := []struct {
		name, protect, raw string
		ex                 *apisessions.Exchange
		whole              bool // the body is stored as "***"
	}{
		{name: "short multipart value", protect: "request.body|multipart.pin", raw: "42",
			ex: mkEx(method("POST"), body("multipart/form-data; boundary=XyZ", mp("42"))), whole: true},
		{name: "long multipart value", protect: "request.body|multipart.pin", raw: "pin-4242-long",
			ex: mkEx(method("POST"), body("multipart/form-data; boundary=XyZ", mp("pin-4242-long")))},
		{name: "short xml value", protect: "request.body|xml.req.user", raw: "bo",
			ex: mkEx(method("POST"), body("application/xml", "<req><user>bo</user><q>' OR 1=1--</q></req>")), whole: true},
		{name: "xml attribute", protect: "request.body|xml.req.@user", raw: "bo",
			ex: mkEx(method("POST"), body("application/xml", `<req user="bo"><q>' OR 1=1--</q></req>`)), whole: true},
		{name: "short graphql argument", protect: `request.body|graphql.args["login.pin"]`, raw: "42",
			ex: mkEx(method("POST"), target("https://api.example.com/graphql"), body("application/json",
				`{"query":"mutation { login(pin: \"42\", q: \"' OR 1=1--\") { ok } }"}`)), whole: true},
		{name: "json rewritten in place", protect: "request.body|json.user", raw: "al",
			ex: mkEx(method("POST"), body("application/json", `{"user":"al","q":"' OR 1=1--"}`))},
	}
	for _, tc := range tests {
		for _, mask := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s mask %v", tc.name, mask), func(t *testing.T) {
				cfg := apisessions.Config{Parameters: []apisessions.Parameter{prm("Protected", tc.protect, hashed)}}
				if mask {
					cfg = apisessions.Config{Mask: []string{tc.protect}}
				}
				ev := point.NewEvaluator(point.DefaultLimits())
				ev.Reset(tc.ex)
				if v, _ := ev.First(point.MustParse(tc.protect)); v != tc.raw {
					t.Fatalf("test exchange: %s = %q, want %q", tc.protect, v, tc.raw)
				}
				det := apisessions.Detection{Verdict: apisessions.VerdictAttack, Score: 5, Findings: []apisessions.Finding{
					{Type: apisessions.AttackSQLi, Point: "request.body", Payload: string(tc.ex.Request.Body)},
				}}
				rec := MustProcess(t, MustSessionizer(t, cfg), tc.ex, det)
				assertNotRecoverable(t, rec, tc.protect, tc.raw)
				// The payload on the whole body, read as a body.
				payload := *rec.Content
				payload.Body, payload.BodyBase64 = rec.Findings[0].Payload, false
				assertNotRecoverable(t, apisessions.Record{Content: &payload}, tc.protect, tc.raw)
				if got := rec.Findings[0].Payload == maskedValue; got != tc.whole {
					t.Errorf("payload masked whole: %v, want %v (%q)", got, tc.whole, rec.Findings[0].Payload)
				}
				if got := rec.Content.Body == maskedValue; got != tc.whole {
					t.Errorf("body masked whole: %v, want %v (body %q)", got, tc.whole, rec.Content.Body)
				}
				if !tc.whole && !strings.Contains(rec.Content.Body, "' OR 1=1--") {
					t.Errorf("stored body lost the attack: %q", rec.Content.Body)
				}
			})
		}
	}
}

// FuzzProtect: whatever the exchange, no protected point reads its value
// back from the stored content of a malicious request.
func FuzzProtect(f *testing.F) {
	jwt := mkJWT(map[string]any{"sub": "u1"})
	f.Add(jwt, "q="+url.QueryEscape(url.QueryEscape(`{"secret":"s3"}`)), `{"data":"`+b64(`{"token":"t9x"}`)+`"}`, uint8(0))
	f.Add("Bearer "+jwt, "", "--XyZ\r\nContent-Disposition: form-data; name=\"pin\"\r\n\r\n42\r\n--XyZ--\r\n", uint8(1))
	f.Add(b64(gzipped(`{"uid":"u5"}`)), "x=1", "<req><user>bo</user></req>", uint8(2))
	f.Add("", "", `{"query":"mutation { login(pin: \"42\") { ok } }"}`, uint8(0))
	protectedPts := []string{
		"request.header.X-Identity|jwt.sub",
		"request.header.X-State|base64|gzip|json.uid",
		"request.body|json.data|base64|json.token",
		"request.body|multipart.pin",
		"request.body|xml.req.user",
		`request.body|graphql.args["login.pin"]`,
		"request.query.q|url|json.secret",
	}
	cfg := apisessions.Config{Mask: []string{"request.query.q|url|json.secret"}}
	for _, p := range protectedPts[:len(protectedPts)-1] {
		cfg.Parameters = append(cfg.Parameters, prm(p, p, hashed))
	}
	s := MustSessionizer(f, cfg)
	cts := []string{"application/json", "multipart/form-data; boundary=XyZ", "application/xml", "text/plain"}
	f.Fuzz(func(t *testing.T, header, query, b string, ct uint8) {
		ex := mkEx(method("POST"), target("https://api.example.com/api/x?"+query),
			hdr("X-Identity", header), hdr("X-State", header), body(cts[int(ct)%len(cts)], b))
		ev := point.NewEvaluator(point.DefaultLimits())
		ev.Reset(ex)
		raw := map[string][]string{}
		for _, p := range protectedPts {
			raw[p] = append([]string(nil), ev.Values(point.MustParse(p))...)
		}
		var rec apisessions.Record
		if _, err := s.Process(ex, apisessions.Detection{Verdict: apisessions.VerdictAttack, Score: 5}, &rec); err != nil {
			t.Fatal(err)
		}
		ev.Reset(storedExchange(t, rec))
		for _, p := range protectedPts {
			for _, v := range ev.Values(point.MustParse(p)) {
				for _, r := range raw[p] {
					if v == r && v != maskedValue {
						t.Fatalf("%s reads %q back from the stored content %+v", p, v, rec.Content)
					}
				}
			}
		}
	})
}

// TestProtectJSONPayload: a finding payload holding JSON (a member that is
// an object) masks a short protected value where it is a whole value, as
// stored JSON bodies do; the rest of the payload is kept.
func TestProtectJSONPayload(t *testing.T) {
	cfg := apisessions.Config{Parameters: []apisessions.Parameter{prm("User ID", "request.body|json.user.id", hashed)}}
	ex := mkEx(method("POST"), body("application/json", `{"user":{"id":"7","name":"x' OR 1=1--"}}`))
	det := apisessions.Detection{Verdict: apisessions.VerdictSuspicious, Score: 3, Findings: []apisessions.Finding{
		{Type: apisessions.AttackSQLi, Point: "request.body|json.user", Payload: `{"id":"7","name":"x' OR 1=1--"}`},
		{Type: apisessions.AttackSQLi, Point: "request.body", Payload: `{"user":{"id":"7","name":"x' OR 1=1--"}}`},
		{Type: apisessions.AttackSQLi, Point: "request.body|json.user.name", Payload: `x' OR 1=1--`},
	}}
	rec := MustProcess(t, MustSessionizer(t, cfg), ex, det)
	want := []string{`{"id":"***","name":"x' OR 1=1--"}`, `{"user":{"id":"***","name":"x' OR 1=1--"}}`, `x' OR 1=1--`}
	for i, f := range rec.Findings {
		if f.Payload != want[i] {
			t.Errorf("finding at %s: payload %q, want %q", f.Point, f.Payload, want[i])
		}
	}
}
