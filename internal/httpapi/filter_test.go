package httpapi

import (
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

var filterCases = []struct {
	name  string
	query string
	want  apisessions.SessionFilter
	err   bool
}{
	{name: "empty", query: "", want: apisessions.SessionFilter{Limit: DefaultLimit}},
	{name: "every text filter", query: "session=s&request=r&user=u&role=ro&ip=10.0.0.1&host=h&flow=f&endpoint=%2Fapi&attack_type=sqli&method=GET&cursor=c",
		want: apisessions.SessionFilter{SessionID: "s", RequestID: "r", User: "u", Role: "ro", IP: "10.0.0.1", Host: "h", Flow: "f",
			Endpoint: "/api", AttackType: "sqli", Method: "GET", Cursor: "c", Limit: DefaultLimit}},
	{name: "numbers and flags", query: "app=3&status=404&attacks=true&blocked=false&limit=7",
		want: apisessions.SessionFilter{Application: 3, Status: 404, Attacks: true, Blocked: new(false), Limit: 7}},
	{name: "times", query: "from=2026-11-20T10:00:00Z&to=2026-11-21",
		want: apisessions.SessionFilter{From: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
			To: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond), Limit: DefaultLimit}},
	{name: "limit clipped", query: "limit=5000", want: apisessions.SessionFilter{Limit: MaxLimit}},
	{name: "limit zero", query: "limit=0", err: true},
	{name: "limit word", query: "limit=ten", err: true},
	{name: "unknown parameter", query: "sesion=s", err: true},
	{name: "repeated parameter", query: "user=a&user=b", err: true},
	{name: "bad time", query: "from=yesterday", err: true},
	{name: "to before from", query: "from=2026-11-21&to=2026-11-20", err: true},
	{name: "bad bool", query: "attacks=maybe", err: true},
	{name: "status out of range", query: "status=1000", err: true},
	{name: "negative app", query: "app=-1", err: true},
}

func TestParseFilter(t *testing.T) {
	for _, tc := range filterCases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseFilter(q)
			if tc.err {
				if apisessions.ErrorCode(err) != apisessions.EINVALID {
					t.Fatalf("err %v, want EINVALID", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
			// The client's encoding reads back to the same filter.
			back, err := parseFilter(encodeFilter(got))
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("round trip: %+v, %v", back, err)
			}
		})
	}
}

// FuzzParseFilter: any query parses or is refused with EINVALID, never
// panics, and what parses survives the client's encoding.
func FuzzParseFilter(f *testing.F) {
	for _, tc := range filterCases {
		f.Add(tc.query)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		got, err := parseFilter(q)
		if err != nil {
			if apisessions.ErrorCode(err) != apisessions.EINVALID {
				t.Fatalf("error not EINVALID: %v", err)
			}
			return
		}
		if got.Limit < 1 || got.Limit > MaxLimit {
			t.Fatalf("limit %d", got.Limit)
		}
		back, err := parseFilter(encodeFilter(got))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !back.From.Equal(got.From) || !back.To.Equal(got.To) {
			t.Fatalf("times: %v %v / %v %v", got.From, got.To, back.From, back.To)
		}
		back.From, back.To, got.From, got.To = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(back, got) {
			t.Fatalf("round trip\n%+v\n%+v", got, back)
		}
	})
}

func TestETagMatch(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{`"abc"`, true},
		{`W/"abc"`, true},
		{`"x", "abc"`, true},
		{`*`, true},
		{`"abcd"`, false},
		{``, false},
		{`abc`, false},
	}
	for _, tc := range tests {
		t.Run(tc.header, func(t *testing.T) {
			if got := etagMatch(tc.header, `"abc"`); got != tc.want {
				t.Fatalf("got %v", got)
			}
		})
	}
}

func TestCSVCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"=1+1", "'=1+1"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@x", "'@x"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"a=1", "a=1"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := csvCell(tc.in); got != tc.want {
				t.Fatalf("csvCell(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
