package point

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"reflect"
	"testing"

	"github.com/apisessions/apisessions"
)

// hdrs builds headers from name, value pairs.
func hdrs(kv ...string) apisessions.Headers {
	var h apisessions.Headers
	for i := 0; i+1 < len(kv); i += 2 {
		h = append(h, apisessions.Header{Name: kv[i], Value: kv[i+1]})
	}
	return h
}

// reqEx is an exchange with the given request and no response.
func reqEx(method, url string, h apisessions.Headers, body string) *apisessions.Exchange {
	return &apisessions.Exchange{ClientIP: "203.0.113.7", Request: apisessions.Request{Method: method, URL: url, Headers: h, Body: []byte(body)}}
}

// withResp adds a response to ex.
func withResp(ex *apisessions.Exchange, status int, h apisessions.Headers, body string) *apisessions.Exchange {
	ex.Response = &apisessions.Response{Status: status, Headers: h, Body: []byte(body)}
	return ex
}

func gzipped(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func zlibbed(s string) string {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func deflated(s string) string {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestSpeed)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

// jwtOf returns an unsigned-looking JWT whose payload is claims.
func jwtOf(claims string) string {
	return "eyJhbGciOiJIUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".c2ln"
}

const multipartBody = "--XyZ\r\n" +
	"Content-Disposition: form-data; name=\"title\"\r\n\r\n" +
	"Holiday\r\n" +
	"--XyZ\r\n" +
	"Content-Disposition: form-data; name=\"avatar\"; filename=\"me.png\"\r\n" +
	"Content-Type: image/png\r\n\r\n" +
	"\x89PNG binary\r\n" +
	"--XyZ\r\n" +
	"Content-Disposition: form-data; name=\"tag\"\r\n\r\n" +
	"a\r\n" +
	"--XyZ\r\n" +
	"Content-Disposition: form-data; name=\"tag\"\r\n\r\n" +
	"b\r\n" +
	"--XyZ--\r\n"

const xmlBody = `<?xml version="1.0"?>
<order id="o-1" xmlns:p="urn:p">
  <customer>alice</customer>
  <item sku="A1"><qty>2</qty></item>
  <item sku="B2"><qty>1</qty></item>
  <p:note>fragile &amp; heavy</p:note>
</order>`

const graphqlEnvelope = `{"query":"query GetUser($id: ID!) { user(id: $id, active: true) { id name orders(first: 5, filter: {status: \"open\", min: 10}) { total } } } mutation Other { x }","operationName":"GetUser","variables":{"id":"u-42","opts":{"deep":[1,2]}}}`

// evalCases: one exchange, one point, the values it yields.
var evalCases = []struct {
	name  string
	ex    func() *apisessions.Exchange
	point string
	want  []string
}{
	// sources
	{"method", func() *apisessions.Exchange { return reqEx("POST", "/a", nil, "") }, "request.method", []string{"POST"}},
	{"host from URL", func() *apisessions.Exchange { return reqEx("GET", "https://shop.example.com:8443/a?b", nil, "") }, "request.host", []string{"shop.example.com:8443"}},
	{"host from header", func() *apisessions.Exchange { return reqEx("GET", "/a", hdrs("Host", "api.example.com"), "") }, "request.host", []string{"api.example.com"}},
	{"path", func() *apisessions.Exchange { return reqEx("GET", "https://h/api/users/42?x=1", nil, "") }, "request.path", []string{"/api/users/42"}},
	{"path segment 0", func() *apisessions.Exchange { return reqEx("GET", "/api/users/42?x=1", nil, "") }, "request.path[0]", []string{"api"}},
	{"path segment 2", func() *apisessions.Exchange { return reqEx("GET", "/api/users/42?x=1", nil, "") }, "request.path[2]", []string{"42"}},
	{"path segment past the end", func() *apisessions.Exchange { return reqEx("GET", "/api/users/42", nil, "") }, "request.path[3]", nil},
	{"path empty segment", func() *apisessions.Exchange { return reqEx("GET", "/api/", nil, "") }, "request.path[1]", nil},
	{"path segment url-decoded", func() *apisessions.Exchange { return reqEx("GET", "/files/a%20b", nil, "") }, "request.path[1]|url", []string{"a b"}},
	{"url is the request target", func() *apisessions.Exchange { return reqEx("GET", "https://h/a?b=1#frag", nil, "") }, "request.url", []string{"/a?b=1"}},
	{"ip", func() *apisessions.Exchange { return reqEx("GET", "/", nil, "") }, "request.ip", []string{"203.0.113.7"}},
	{"status", func() *apisessions.Exchange { return withResp(reqEx("GET", "/", nil, ""), 404, nil, "") }, "response.status", []string{"404"}},
	{"no response", func() *apisessions.Exchange { return reqEx("GET", "/", nil, "") }, "response.status", nil},
	{"no response body", func() *apisessions.Exchange { return reqEx("GET", "/", nil, "") }, "response.body|json.a", nil},
	{"raw body", func() *apisessions.Exchange { return reqEx("POST", "/", nil, "hello") }, "request.body", []string{"hello"}},
	{"empty body", func() *apisessions.Exchange { return reqEx("POST", "/", nil, "") }, "request.body", nil},
	{"response body", func() *apisessions.Exchange { return withResp(reqEx("GET", "/", nil, ""), 200, nil, "ok") }, "response.body", []string{"ok"}},

	// headers: case-insensitive, repeats kept in order
	{"header", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-Api-Key", "k1"), "") }, "request.header.X-Api-Key", []string{"k1"}},
	{"header any case", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("x-api-key", "k1"), "") }, "request.header.X-API-KEY", []string{"k1"}},
	{"header repeated", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-F", "a", "Y", "y", "x-f", "b"), "") }, "request.header.X-F", []string{"a", "b"}},
	{"header repeated [1]", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-F", "a", "x-f", "b"), "") }, "request.header.X-F[1]", []string{"b"}},
	{"header repeated [2] absent", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-F", "a", "x-f", "b"), "") }, "request.header.X-F[2]", nil},
	{"header empty value", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-F", "", "X-F", "b"), "") }, "request.header.X-F", []string{"b"}},
	{"header absent", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-F", "a"), "") }, "request.header.X-G", nil},
	{"response header", func() *apisessions.Exchange {
		return withResp(reqEx("GET", "/", nil, ""), 200, hdrs("X-Token", "t"), "")
	}, "response.header.X-Token", []string{"t"}},

	// cookies
	{"cookie", func() *apisessions.Exchange {
		return reqEx("GET", "/", hdrs("Cookie", "a=1; PHPSESSID=ab12;theme=dark"), "")
	}, "request.cookie.PHPSESSID", []string{"ab12"}},
	{"cookie with dots", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("Cookie", "connect.sid=s%3Axyz"), "") }, `request.cookie["connect.sid"]`, []string{"s%3Axyz"}},
	{"cookie url-decoded", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("Cookie", "connect.sid=s%3Axyz"), "") }, `request.cookie["connect.sid"]|url`, []string{"s:xyz"}},
	{"cookie names are case-sensitive", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("Cookie", "SID=1"), "") }, "request.cookie.sid", nil},
	{"cookie across headers", func() *apisessions.Exchange {
		return reqEx("GET", "/", hdrs("Cookie", "a=1", "cookie", "a=2; b=3"), "")
	}, "request.cookie.a", []string{"1", "2"}},
	{"cookie value with =", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("Cookie", "t=a=b="), "") }, "request.cookie.t", []string{"a=b="}},
	{"cookie base64 json", func() *apisessions.Exchange {
		return reqEx("GET", "/", hdrs("Cookie", "state="+base64.StdEncoding.EncodeToString([]byte(`{"uid":"u7"}`))), "")
	}, "request.cookie.state|base64|json.uid", []string{"u7"}},
	{"response cookie from Set-Cookie", func() *apisessions.Exchange {
		return withResp(reqEx("GET", "/", hdrs("Cookie", "sid=old"), ""), 200, hdrs("Set-Cookie", "sid=new; Path=/; HttpOnly", "Set-Cookie", "x=1"), "")
	}, "response.cookie.sid", []string{"new"}},
	{"response cookie is not the request's", func() *apisessions.Exchange {
		return withResp(reqEx("GET", "/", hdrs("Cookie", "sid=old"), ""), 200, nil, "")
	}, "response.cookie.sid", nil},
	{"request cookie ignores Set-Cookie", func() *apisessions.Exchange {
		return withResp(reqEx("GET", "/", nil, ""), 200, hdrs("Set-Cookie", "sid=new"), "")
	}, "request.cookie.sid", nil},

	// query
	{"query", func() *apisessions.Exchange { return reqEx("GET", "/?token=abc&x=1", nil, "") }, "request.query.token", []string{"abc"}},
	{"query repeated", func() *apisessions.Exchange { return reqEx("GET", "/?a=1&a=2&a=3", nil, "") }, "request.query.a", []string{"1", "2", "3"}},
	{"query [1]", func() *apisessions.Exchange { return reqEx("GET", "/?a=1&a=2&a=3", nil, "") }, "request.query.a[1]", []string{"2"}},
	{"query [N] counts empty values", func() *apisessions.Exchange { return reqEx("GET", "/?a=&a=2", nil, "") }, "request.query.a[1]", []string{"2"}},
	{"query decoded", func() *apisessions.Exchange { return reqEx("GET", "/?next=%2Fhome&q=a+b%21", nil, "") }, "request.query.q", []string{"a b!"}},
	{"query name decoded", func() *apisessions.Exchange { return reqEx("GET", "/?user%5Bname%5D=x", nil, "") }, `request.query["user[name]"]`, []string{"x"}},
	{"query bad escape kept", func() *apisessions.Exchange { return reqEx("GET", "/?q=100%zz", nil, "") }, "request.query.q", []string{"100%zz"}},
	{"query absent", func() *apisessions.Exchange { return reqEx("GET", "/p", nil, "") }, "request.query.q", nil},
	{"query json", func() *apisessions.Exchange { return reqEx("GET", `/?f=%7B%22a%22%3A1%7D`, nil, "") }, "request.query.f|json.a", []string{"1"}},

	// json
	{"json member", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `{"user":{"email":"a@x"}}`) }, "request.body|json.user.email", []string{"a@x"}},
	{"json array element", func() *apisessions.Exchange {
		return reqEx("POST", "/", nil, `{"items":[{"sku":"A"},{"sku":"B"}]}`)
	}, "request.body|json.items[1].sku", []string{"B"}},
	{"json root array", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `[[1,2],[3]]`) }, "request.body|json[0][1]", []string{"2"}},
	{"json number bool", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `{"n":-1.5e3,"b":false}`) }, "request.body|json.n", []string{"-1.5e3"}},
	{"json false", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `{"n":-1.5e3,"b":false}`) }, "request.body|json.b", []string{"false"}},
	{"json null is empty", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `{"n":null}`) }, "request.body|json.n", nil},
	{"json empty string", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `{"n":""}`) }, "request.body|json.n", nil},
	{"json object raw", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `{"a": {"b": [1, 2]} }`) }, "request.body|json.a", []string{`{"b": [1, 2]}`}},
	{"json whole", func() *apisessions.Exchange { return reqEx("POST", "/", nil, ` {"a":1} `) }, "request.body|json", []string{`{"a":1}`}},
	{"json escapes", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `{"s":"a\"b\u00e9\ud83d\ude00\n"}`) }, "request.body|json.s", []string{"a\"bé😀\n"}},
	{"json escaped key", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `{"a\u002eb":1}`) }, `request.body|json["a.b"]`, []string{"1"}},
	{"json duplicate key: first", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `{"a":1,"a":2}`) }, "request.body|json.a", []string{"1"}},
	{"json missing", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `{"a":1}`) }, "request.body|json.b", nil},
	{"json name on array", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `[{"a":1}]`) }, "request.body|json.a", nil},
	{"json invalid", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `{"a":1,}`) }, "request.body|json.a", nil},
	{"json trailing garbage", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `{"a":1} x`) }, "request.body|json.a", nil},
	{"json not json", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `a=1`) }, "request.body|json.a", nil},
	{"json in json string", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `{"d":"{\"x\":\"y\"}"}`) }, "request.body|json.d|json.x", []string{"y"}},
	{"json in header", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-Ctx", `{"tenant":"t1"}`), "") }, "request.header.X-Ctx|json.tenant", []string{"t1"}},
	{"json over repeated headers", func() *apisessions.Exchange {
		return reqEx("GET", "/", hdrs("X-Ctx", `{"t":"1"}`, "X-Ctx", `{"t":"2"}`), "")
	}, "request.header.X-Ctx|json.t", []string{"1", "2"}},
	{"json response", func() *apisessions.Exchange {
		return withResp(reqEx("GET", "/", nil, `{"role":"user"}`), 200, nil, `{"role":"admin"}`)
	}, "response.body|json.role", []string{"admin"}},

	// form
	{"form", func() *apisessions.Exchange { return reqEx("POST", "/", nil, "login=alice&password=s3cret") }, "request.body|form.login", []string{"alice"}},
	{"form decoded", func() *apisessions.Exchange { return reqEx("POST", "/", nil, "q=a+b%26c&x") }, "request.body|form.q", []string{"a b&c"}},
	{"form repeated", func() *apisessions.Exchange { return reqEx("POST", "/", nil, "t=1&t=2") }, "request.body|form.t", []string{"1", "2"}},
	{"form [1]", func() *apisessions.Exchange { return reqEx("POST", "/", nil, "t=1&t=2") }, "request.body|form.t[1]", []string{"2"}},
	{"form absent", func() *apisessions.Exchange { return reqEx("POST", "/", nil, "t=1") }, "request.body|form.u", nil},

	// multipart
	{"multipart field", func() *apisessions.Exchange { return reqEx("POST", "/", nil, multipartBody) }, "request.body|multipart.title", []string{"Holiday"}},
	{"multipart file is its file name", func() *apisessions.Exchange { return reqEx("POST", "/", nil, multipartBody) }, "request.body|multipart.avatar", []string{"me.png"}},
	{"multipart repeated", func() *apisessions.Exchange { return reqEx("POST", "/", nil, multipartBody) }, "request.body|multipart.tag", []string{"a", "b"}},
	{"multipart [1]", func() *apisessions.Exchange { return reqEx("POST", "/", nil, multipartBody) }, "request.body|multipart.tag[1]", []string{"b"}},
	{"multipart file name kept raw", func() *apisessions.Exchange {
		return reqEx("POST", "/", nil, "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"../../etc/passwd\"\r\n\r\nx\r\n--b--\r\n")
	}, "request.body|multipart.f", []string{"../../etc/passwd"}},
	{"multipart not multipart", func() *apisessions.Exchange { return reqEx("POST", "/", nil, "title=x") }, "request.body|multipart.title", nil},

	// xml
	{"xml element", func() *apisessions.Exchange { return reqEx("POST", "/", nil, xmlBody) }, "request.body|xml.order.customer", []string{"alice"}},
	{"xml attribute", func() *apisessions.Exchange { return reqEx("POST", "/", nil, xmlBody) }, `request.body|xml.order["@id"]`, []string{"o-1"}},
	{"xml repeated", func() *apisessions.Exchange { return reqEx("POST", "/", nil, xmlBody) }, "request.body|xml.order.item.@sku", []string{"A1", "B2"}},
	{"xml [1]", func() *apisessions.Exchange { return reqEx("POST", "/", nil, xmlBody) }, "request.body|xml.order.item[1].qty", []string{"1"}},
	{"xml prefixed local name", func() *apisessions.Exchange { return reqEx("POST", "/", nil, xmlBody) }, "request.body|xml.order.note", []string{"fragile & heavy"}},
	{"xml prefixed full name", func() *apisessions.Exchange { return reqEx("POST", "/", nil, xmlBody) }, `request.body|xml.order["p:note"]`, []string{"fragile & heavy"}},
	{"xml wrong root", func() *apisessions.Exchange { return reqEx("POST", "/", nil, xmlBody) }, "request.body|xml.customer", nil},
	{"xml invalid", func() *apisessions.Exchange { return reqEx("POST", "/", nil, "<a><b>1</a>") }, "request.body|xml.a.b", nil},
	{"xml not xml", func() *apisessions.Exchange { return reqEx("POST", "/", nil, `{"a":1}`) }, "request.body|xml.a", nil},

	// base64, url
	{"base64 std padded", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-D", "aGk/Pz8+"), "") }, "request.header.X-D|base64", []string{"hi???>"}},
	{"base64 std unpadded", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-D", "aGVsbG8"), "") }, "request.header.X-D|base64", []string{"hello"}},
	{"base64 url padded", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-D", "aGk_Pz8-"), "") }, "request.header.X-D|base64", []string{"hi???>"}},
	{"base64 url unpadded", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-D", "PDw_Pw"), "") }, "request.header.X-D|base64", []string{"<<??"}},
	{"base64 padded with =", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-D", "aGVsbG8="), "") }, "request.header.X-D|base64", []string{"hello"}},
	{"base64 invalid", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-D", "a$b!"), "") }, "request.header.X-D|base64", nil},
	{"base64 mixed alphabets", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-D", "ab+_"), "") }, "request.header.X-D|base64", nil},
	{"url decode", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-D", "a%20b+c%2F"), "") }, "request.header.X-D|url", []string{"a b+c/"}},
	{"url decode twice", func() *apisessions.Exchange { return reqEx("GET", "/?r=%252Fetc", nil, "") }, "request.query.r|url", []string{"/etc"}},

	// gzip and deflate
	{"gzip", func() *apisessions.Exchange {
		return withResp(reqEx("GET", "/", nil, ""), 200, hdrs("Content-Encoding", "gzip"), gzipped(`{"token":"t-1"}`))
	}, "response.body|gzip|json.token", []string{"t-1"}},
	{"content-encoding undone for body", func() *apisessions.Exchange {
		return withResp(reqEx("GET", "/", nil, ""), 200, hdrs("Content-Encoding", "gzip"), gzipped(`{"token":"t-1"}`))
	}, "response.body|json.token", []string{"t-1"}},
	{"content-encoding deflate", func() *apisessions.Exchange {
		return reqEx("POST", "/", hdrs("Content-Encoding", "deflate"), zlibbed("a=1"))
	}, "request.body|form.a", []string{"1"}},
	{"content-encoding that does not decode", func() *apisessions.Exchange {
		return reqEx("POST", "/", hdrs("Content-Encoding", "gzip"), "a=1")
	}, "request.body|form.a", []string{"1"}},
	{"zlib deflate", func() *apisessions.Exchange { return reqEx("POST", "/", nil, zlibbed("a=1")) }, "request.body|gzip|form.a", []string{"1"}},
	{"raw deflate", func() *apisessions.Exchange { return reqEx("POST", "/", nil, deflated("a=1")) }, "request.body|gzip|form.a", []string{"1"}},
	{"gzip of plain text", func() *apisessions.Exchange { return reqEx("POST", "/", nil, "plain text") }, "request.body|gzip", nil},

	// jwt
	{"jwt bearer", func() *apisessions.Exchange {
		return reqEx("GET", "/", hdrs("Authorization", "Bearer "+jwtOf(`{"sub":"alice","sid":"s-1","n":3}`)), "")
	}, "request.header.Authorization|jwt.sub", []string{"alice"}},
	{"jwt bearer any case", func() *apisessions.Exchange {
		return reqEx("GET", "/", hdrs("Authorization", "bearer  "+jwtOf(`{"sub":"alice"}`)), "")
	}, "request.header.Authorization|jwt.sub", []string{"alice"}},
	{"jwt raw", func() *apisessions.Exchange {
		return reqEx("GET", "/", hdrs("X-Token", jwtOf(`{"sub":"bob","n":3}`)), "")
	}, "request.header.X-Token|jwt.n", []string{"3"}},
	{"jwt payload", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("X-Token", jwtOf(`{"sub":"bob"}`)), "") }, "request.header.X-Token|jwt", []string{`{"sub":"bob"}`}},
	{"jwt padded payload", func() *apisessions.Exchange {
		return reqEx("GET", "/", hdrs("X-Token", "e30."+base64.URLEncoding.EncodeToString([]byte(`{"sub":"c"}`))+".sig"), "")
	}, "request.header.X-Token|jwt.sub", []string{"c"}},
	{"jwt opaque token", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("Authorization", "Bearer abcdef"), "") }, "request.header.Authorization|jwt.sub", nil},
	{"jwt bad payload", func() *apisessions.Exchange { return reqEx("GET", "/", hdrs("Authorization", "Bearer a.!!!.c"), "") }, "request.header.Authorization|jwt.sub", nil},
	{"jwt in cookie", func() *apisessions.Exchange {
		return reqEx("GET", "/", hdrs("Cookie", "jwt="+jwtOf(`{"role":"admin"}`)), "")
	}, "request.cookie.jwt|jwt.role", []string{"admin"}},

	// graphql
	{"graphql operation", func() *apisessions.Exchange { return reqEx("POST", "/graphql", nil, graphqlEnvelope) }, "request.body|graphql.operation", []string{"query"}},
	{"graphql name", func() *apisessions.Exchange { return reqEx("POST", "/graphql", nil, graphqlEnvelope) }, "request.body|graphql.name", []string{"GetUser"}},
	{"graphql fields", func() *apisessions.Exchange { return reqEx("POST", "/graphql", nil, graphqlEnvelope) }, "request.body|graphql.fields", []string{"user", "user.id", "user.name", "user.orders", "user.orders.total"}},
	{"graphql fields [3]", func() *apisessions.Exchange { return reqEx("POST", "/graphql", nil, graphqlEnvelope) }, "request.body|graphql.fields[3]", []string{"user.orders"}},
	{"graphql arg variable", func() *apisessions.Exchange { return reqEx("POST", "/graphql", nil, graphqlEnvelope) }, `request.body|graphql.args["user.id"]`, []string{"$id"}},
	{"graphql arg literal", func() *apisessions.Exchange { return reqEx("POST", "/graphql", nil, graphqlEnvelope) }, `request.body|graphql.args["user.active"]`, []string{"true"}},
	{"graphql arg object flattened", func() *apisessions.Exchange { return reqEx("POST", "/graphql", nil, graphqlEnvelope) }, `request.body|graphql.args["user.orders.filter.status"]`, []string{"open"}},
	{"graphql variables", func() *apisessions.Exchange { return reqEx("POST", "/graphql", nil, graphqlEnvelope) }, "request.body|graphql.variables.id", []string{"u-42"}},
	{"graphql variables nested", func() *apisessions.Exchange { return reqEx("POST", "/graphql", nil, graphqlEnvelope) }, "request.body|graphql.variables.opts.deep[1]", []string{"2"}},
	{"graphql operationName picks", func() *apisessions.Exchange {
		return reqEx("POST", "/graphql", nil, `{"query":"query A { a } mutation B { b(x: 1) }","operationName":"B"}`)
	}, "request.body|graphql.fields", []string{"b"}},
	{"graphql first operation", func() *apisessions.Exchange {
		return reqEx("POST", "/graphql", nil, `{"query":"query A { a } mutation B { b(x: 1) }"}`)
	}, "request.body|graphql.name", []string{"A"}},
	{"graphql shorthand document", func() *apisessions.Exchange {
		return reqEx("POST", "/graphql", hdrs("Content-Type", "application/graphql"), `{ me { email } }`)
	}, "request.body|graphql.fields", []string{"me", "me.email"}},
	{"graphql alias, fragments, directives", func() *apisessions.Exchange {
		return reqEx("POST", "/graphql", nil, `mutation Login { u: login(user: "al\"ice", pass: """pw""") @skip(if: false) { ...F ... on T { token } } } fragment F on T { secret }`)
	}, "request.body|graphql.fields", []string{"login", "login.token"}},
	{"graphql string argument", func() *apisessions.Exchange {
		return reqEx("POST", "/graphql", nil, `mutation Login { u: login(user: "al\"ice", pass: """pw""") { token } }`)
	}, `request.body|graphql.args["login.user"]`, []string{`al"ice`}},
	{"graphql list argument", func() *apisessions.Exchange {
		return reqEx("POST", "/graphql", nil, `{ items(ids: [1, 2, 3], n: 4) { id } }`)
	}, `request.body|graphql.args["items.ids"]`, []string{"[1, 2, 3]"}},
	{"graphql from GET query", func() *apisessions.Exchange {
		return reqEx("GET", "/graphql?query=%7B+me+%7B+id+%7D+%7D", nil, "")
	}, "request.query.query|graphql.fields[1]", []string{"me.id"}},
	{"graphql batch", func() *apisessions.Exchange {
		return reqEx("POST", "/graphql", nil, `[{"query":"query One { a }"},{"query":"query Two { b }"}]`)
	}, "request.body|graphql.name", []string{"One"}},
	{"graphql invalid", func() *apisessions.Exchange { return reqEx("POST", "/graphql", nil, `query { a(`) }, "request.body|graphql.operation", nil},
	{"graphql not graphql", func() *apisessions.Exchange { return reqEx("POST", "/graphql", nil, `{"a":1}`) }, "request.body|graphql.operation", nil},
}

func TestValues(t *testing.T) {
	e := NewEvaluator(DefaultLimits())
	for _, tc := range evalCases {
		t.Run(tc.name, func(t *testing.T) {
			ex := tc.ex()
			e.Reset(ex)
			p := MustParse(tc.point)
			got := append([]string(nil), e.Values(p)...)
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Values(%s) = %q, want %q", tc.point, got, tc.want)
			}
			first, ok := e.First(p)
			if ok != (len(tc.want) > 0) || ok && first != tc.want[0] {
				t.Errorf("First(%s) = %q, %v; want the first of %q", tc.point, first, ok, tc.want)
			}
			if e.Truncated() {
				t.Errorf("Truncated() on a small exchange")
			}
			// A fresh evaluator (nothing cached) agrees.
			f := NewEvaluator(Limits{})
			f.Reset(ex)
			if again := f.Values(p); !reflect.DeepEqual(nilIfEmpty(again), tc.want) {
				t.Errorf("fresh evaluator: Values = %q, want %q", again, tc.want)
			}
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}

func TestEvaluatorCachesPerExchange(t *testing.T) {
	e := NewEvaluator(DefaultLimits())
	p := MustParse("request.body|json.a")
	e.Reset(reqEx("POST", "/", nil, `{"a":"one"}`))
	if v, _ := e.First(p); v != "one" {
		t.Fatalf("first exchange: %q", v)
	}
	e.Reset(reqEx("POST", "/", nil, `{"a":"two"}`))
	if v, _ := e.First(p); v != "two" {
		t.Fatalf("after Reset the previous body leaked: %q", v)
	}
	// Values is valid until the next call: a copy survives it.
	e.Reset(reqEx("GET", "/?q=1&q=2", nil, ""))
	vs := append([]string(nil), e.Values(MustParse("request.query.q"))...)
	e.Values(MustParse("request.method"))
	if !reflect.DeepEqual(vs, []string{"1", "2"}) {
		t.Errorf("copied values = %q", vs)
	}
}

func TestEvaluatorBeforeReset(t *testing.T) {
	e := NewEvaluator(DefaultLimits())
	if v := e.Values(MustParse("request.method")); len(v) != 0 {
		t.Errorf("Values before Reset = %q, want nothing", v)
	}
	if _, ok := e.First(MustParse("request.method")); ok {
		t.Error("First before Reset found a value")
	}
}

func TestBodyDecodedOnce(t *testing.T) {
	ex := reqEx("POST", "/", hdrs("Authorization", "Bearer "+jwtOf(`{"sub":"a","sid":"b"}`)), `{"a":1,"b":{"c":2},"d":[3]}`)
	e := NewEvaluator(DefaultLimits())
	ps := []*Point{MustParse("request.body|json.a"), MustParse("request.body|json.b.c"), MustParse("request.body|json.d[0]"),
		MustParse("request.header.Authorization|jwt.sub"), MustParse("request.header.Authorization|jwt.sid")}
	e.Reset(ex)
	for _, p := range ps {
		e.First(p)
	}
	toks, memo := len(e.toks), len(e.memo)
	if memo != 2 {
		t.Errorf("%d decodings for one body and one token, want 2", memo)
	}
	for _, p := range ps {
		e.First(p)
	}
	if len(e.toks) != toks || len(e.memo) != memo {
		t.Errorf("evaluating again decoded again: tokens %d -> %d, decodings %d -> %d", toks, len(e.toks), memo, len(e.memo))
	}
	// A point that does not need the body does not decode it.
	e.Reset(ex)
	e.First(MustParse("request.method"))
	if len(e.memo) != 0 || e.side[0].bodyDone {
		t.Error("the body was read for request.method")
	}
	// Allocation budget: with warm buffers, bodies are read in place and
	// decoded into reused buffers; what allocates is the copy of each value
	// that leaves the evaluator.
	allocs := testing.AllocsPerRun(50, func() {
		e.Reset(ex)
		for _, p := range ps {
			e.First(p)
		}
	})
	if allocs > float64(len(ps)) {
		t.Errorf("%v allocations per exchange, want at most %d", allocs, len(ps))
	}
}

func TestValuesOutliveTheExchange(t *testing.T) {
	e := NewEvaluator(DefaultLimits())
	ex := reqEx("POST", "/", hdrs("Authorization", "Bearer "+jwtOf(`{"sub":"alice"}`), "X-D", "aGVsbG8"), `{"user":"alice"}`)
	e.Reset(ex)
	user, _ := e.First(MustParse("request.body|json.user"))
	sub, _ := e.First(MustParse("request.header.Authorization|jwt.sub"))
	all := append([]string(nil), e.Values(MustParse("request.header.X-D|base64"))...)
	listed := map[string]string{}
	e.List(func(point, value string) bool { listed[point] = value; return true })
	// The caller reuses the body buffer, and the evaluator its buffers.
	copy(ex.Request.Body, `{"user":"mallory"}`)
	e.Reset(reqEx("POST", "/", hdrs("Authorization", "Bearer "+jwtOf(`{"sub":"bobby"}`), "X-D", "d29ybGQ"), `{"user":"bob"}`))
	e.First(MustParse("request.body|json.user"))
	e.First(MustParse("request.header.Authorization|jwt.sub"))
	e.Values(MustParse("request.header.X-D|base64"))
	if user != "alice" || sub != "alice" || len(all) != 1 || all[0] != "hello" {
		t.Errorf("values changed after the exchange: user=%q sub=%q base64=%q", user, sub, all)
	}
	if listed["request.body|json.user"] != "alice" || listed["request.header.Authorization|jwt.sub"] != "alice" {
		t.Errorf("listed values changed after the exchange: %q", listed)
	}
}

func encodeStd(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestHeaderNamesFoldASCIIOnly(t *testing.T) {
	// "ſ" (U+017F) folds to "s" in Unicode but header names are ASCII:
	// it must not match, so that listing and evaluation agree.
	e := NewEvaluator(DefaultLimits())
	e.Reset(reqEx("GET", "/", hdrs("X-ſ", "1", "x-S", "2"), ""))
	if got := e.Values(MustParse("request.header.X-S")); len(got) != 1 || got[0] != "2" {
		t.Errorf("Values = %q, want [2]", got)
	}
	checkListRoundTrip(t, reqEx("GET", "/", hdrs("X-ſ", "1", "x-S", "2", "X-S", `{"a":[1]}`), ""), DefaultLimits())
}
