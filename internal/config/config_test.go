package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

func TestParse(t *testing.T) {
	c, err := Parse([]byte(validYAML))
	if err != nil {
		t.Fatal(err)
	}
	want := apisessions.Config{
		Retention:      apisessions.Duration(72 * time.Hour),
		DayTimezone:    "Europe/Paris",
		HashAlgorithm:  "hmac-sha256",
		TrustedProxies: []string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32"},
		Applications: []apisessions.Application{
			{ID: 1, Name: "shop", Hosts: []string{"shop.example.com", "*.shop.example.com"}, Mode: "blocking"},
			{ID: 2, Name: "api", Hosts: []string{"api.example.com", "api.example.com:8443", "[2001:db8::1]:443"}},
		},
		Analyze: apisessions.Analyze{Hosts: []string{"shop.example.com"}, Applications: []int{1, 2}},
		Parameters: []apisessions.Parameter{
			{Name: "Session", Point: "response.body|json.token|jwt.sid", Group: true, Hash: true},
			{Name: "Username", Point: "request.body|json.username", Type: "user"},
			{Name: "Role", Point: "response.body|json.role", Type: "role"},
			{Name: "Checkout", Point: "request.body|json.order_id", Context: true},
		},
		Mask: []string{"request.body|json.password", "request.header.X-Card"},
		Flows: []apisessions.FlowRule{
			{Name: "Transfers", Method: "POST", Path: "/bank/transfer*"},
			{Name: "Search", Method: "get", Path: "*/search"},
		},
		Detection: apisessions.DetectionConfig{ParanoiaLevel: 4, AnomalyThreshold: 1, ExcludeRules: []int{920350},
			Responses: true, BodyLimit: 65536},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", c, want)
	}
}

func TestParseJSON(t *testing.T) {
	c, err := Parse([]byte(`{"retention": "7d", "parameters": [{"name": "U", "point": "request.query.u", "type": "user"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Retention != apisessions.Duration(7*24*time.Hour) || len(c.Parameters) != 1 || c.Parameters[0].Type != "user" {
		t.Errorf("Parse = %+v", c)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, s := range []string{"", "\n", "# nothing\n", "---\n", "null\n"} {
		c, err := Parse([]byte(s))
		if err != nil || !reflect.DeepEqual(c, apisessions.Config{}) {
			t.Errorf("Parse(%q) = %+v, %v; want the zero configuration", s, c, err)
		}
	}
}

// parseErrors are documents Parse refuses, with the exact error. They seed
// FuzzParseValidate too.
var parseErrors = []struct {
	name, yaml, want string
}{
	{"unknown top-level field", "retention: 168h\nretension: 1h\n", `line 2: retension: unknown field`},
	{"unknown nested field", "parameters:\n  - name: a\n    point: request.query.a\n    grup: true\n", `line 4: parameters[0].grup: unknown field`},
	{"unknown field in flow style", "applications:\n  - {id: 1, name: x, modes: off}\n", `line 2: applications[0].modes: unknown field`},
	{"wrong type", "applications:\n  - id: one\n", `line 2: applications[0].id: want an integer, not a string`},
	{"scalar for a list", "mask: request.body\n", `line 1: mask: want a list, not a string`},
	{"mapping for a string", "parameters: [{name: a, point: {x: 1}}]\n", `line 1: parameters[0].point: want a string, not a mapping`},
	{"overflow", "detection:\n  paranoia_level: 99999999999999999999\n", `line 2: detection.paranoia_level: number 99999999999999999999 is too large`},
	{"bad duration", "hash_algorithm: md5\nretention: a week\n", `line 2: retention: bad duration "a week": want a number with a unit such as 168h or 7d`},
	{"explicit zero retention", "retention: 0s\n", `line 1: retention: must be positive, not 0 (leave it out for the default, 168h)`},
	{"fraction for an ID", "applications:\n  - {id: 1.5, name: x}\n", `line 2: applications[0].id: want an integer, not 1.5`},
	{"fraction in a list of IDs", "analyze: {applications: [1, 2.0]}\n", `line 1: analyze.applications[1]: want an integer, not 2.0`},
	{"fraction for a level", "detection:\n  paranoia_level: 1.5\n", `line 2: detection.paranoia_level: want an integer, not 1.5`},
	{"duplicate key", "retention: 1h\nretention: 2h\n", `line 2: mapping key "retention" already defined at [1:1]`},
	{"bad syntax", "parameters: [\n", `line 1: sequence end token ']' not found`},
	{"two documents", "retention: 1h\n---\nretention: 2h\n", `line 3: more than one YAML document: a configuration is one document`},
	{"a list, not a mapping", "- a\n- b\n", `line 1: want a mapping, not a list`},
	{"too large", "# " + strings.Repeat("x", MaxFileBytes) + "\n", `configuration is 262147 bytes, more than the 262144 allowed`},
	{"brackets too deep", "mask: [\n" + strings.Repeat("[", 64), `line 2: brackets nested more than 64 deep`},
	{"a tag that crashes the YAML library", "parameters: !!binary aGVsbG8=\n", `the YAML library could not read this document (unsupported tag or structure)`},
	{"too many aliases", "mask: &a [request.query.a]\nflows: [" + strings.Repeat("*a, ", 100) + "*a]\n", `line 2: more than 100 aliases (*name)`},
	{"indented too deep", "mask:\n" + strings.Repeat("- ", 129) + "x\n", `line 2: nested more than 256 columns deep`},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range parseErrors {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			if err.Error() != tt.want {
				t.Errorf("Parse error:\n got %q\nwant %q", err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error is %T, want *ParseError", err)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	in := apisessions.Config{Applications: []apisessions.Application{{ID: 1, Name: "a"}, {ID: 2, Name: "b", Mode: "off"}}}
	got := WithDefaults(in)
	want := apisessions.Config{
		Retention:     apisessions.Duration(168 * time.Hour),
		DayTimezone:   "UTC",
		HashAlgorithm: "md5",
		Applications:  []apisessions.Application{{ID: 1, Name: "a", Mode: "monitoring"}, {ID: 2, Name: "b", Mode: "off"}},
		Detection:     apisessions.DetectionConfig{ParanoiaLevel: 1, AnomalyThreshold: 5, BodyLimit: 128 << 10},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WithDefaults:\n got %+v\nwant %+v", got, want)
	}
	if in.Applications[0].Mode != "" {
		t.Error("WithDefaults modified its argument")
	}
	if again := WithDefaults(got); !reflect.DeepEqual(again, got) {
		t.Error("WithDefaults is not idempotent")
	}
	set, err := Parse([]byte(validYAML))
	if err != nil {
		t.Fatal(err)
	}
	if d := WithDefaults(set); d.Retention != set.Retention || d.DayTimezone != set.DayTimezone ||
		d.HashAlgorithm != set.HashAlgorithm || d.Detection.ParanoiaLevel != 4 || d.Detection.BodyLimit != 65536 {
		t.Errorf("WithDefaults overrode set fields: %+v", d)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, src := range []string{validYAML, "", `retention: 1h30m`, manyParameters(3)} {
		c, err := Parse([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []apisessions.Config{c, WithDefaults(c)} {
			b, err := Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(b)
			if err != nil {
				t.Fatalf("Parse(Marshal) = %v\n%s", err, b)
			}
			if !reflect.DeepEqual(back, c) {
				t.Errorf("round trip:\n got %+v\nwant %+v\nYAML:\n%s", back, c, b)
			}
		}
	}
}

func TestMarshal(t *testing.T) {
	c := apisessions.Config{
		Retention:    apisessions.Duration(168 * time.Hour),
		Applications: []apisessions.Application{{ID: 1, Name: "- a", Hosts: []string{"*.shop.example.com", "null", "1", "#c", ""}}},
		Flows:        []apisessions.FlowRule{{Name: "*", Path: "*"}},
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `retention: 168h
applications:
  - id: 1
    name: "- a"
    hosts:
      - "*.shop.example.com"
      - "null"
      - "1"
      - "#c"
      - ""
flows:
  - name: "*"
    path: "*"
`
	if string(b) != want {
		t.Errorf("Marshal:\n%s\nwant\n%s", b, want)
	}
	back, err := Parse(b)
	if err != nil || !reflect.DeepEqual(back, c) {
		t.Errorf("Parse(Marshal) = %+v, %v", back, err)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		168 * time.Hour: "168h", 90 * time.Minute: "1h30m", time.Minute: "1m", 90 * time.Second: "1m30s",
		time.Hour + time.Second: "1h0m1s", 1500 * time.Millisecond: "1.5s", 0: "0s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	broken := filepath.Join(dir, "broken.yaml")
	for path, s := range map[string]string{good: validYAML, bad: "hash_algorithm: sha1\n", broken: "nope: 1\n"} {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, ps, err := Load(good)
	if err != nil || len(ps) != 0 || c.Detection.AnomalyThreshold != 1 || c.Applications[1].Mode != "monitoring" {
		t.Errorf("Load(good) = %+v, %v, %v", c, ps, err)
	}
	c, ps, err = Load(bad)
	if err != nil || len(ps) != 1 || ps[0].Path != "hash_algorithm" || c.Retention != apisessions.Duration(apisessions.DefaultRetention) {
		t.Errorf("Load(bad) = %+v, %v, %v", c, ps, err)
	}
	if _, _, err = Load(broken); err == nil || err.Error() != broken+": line 1: nope: unknown field" {
		t.Errorf("Load(broken) error = %v", err)
	}
	if _, _, err = Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want not exist", err)
	}
}

// FuzzParseValidate checks that no document makes Parse or Validate panic,
// and that what Parse accepts survives Marshal and Parse again.
func FuzzParseValidate(f *testing.F) {
	f.Add([]byte(validYAML))
	for _, tt := range refusals {
		f.Add([]byte(tt.yaml))
	}
	for _, tt := range parseErrors {
		if len(tt.yaml) < 4096 {
			f.Add([]byte(tt.yaml))
		}
	}
	f.Add([]byte("a: &a [*a, *a]\nb: *a\n"))
	f.Add([]byte("parameters: !!binary aGVsbG8=\n"))
	f.Add([]byte("{retention: 1e3h, detection: {paranoia_level: 0x10}}"))
	f.Add([]byte("mask: ['[[[', \"{{{\"] # [[[\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for _, p := range Validate(c) {
			if p.Path == "" || p.Reason == "" {
				t.Fatalf("incomplete problem %+v", p)
			}
		}
		Validate(WithDefaults(c))
		b, err := Marshal(c)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(Marshal(c)) = %v\n%s", err, b)
		}
		// Compared as YAML: an empty list and no list are the same
		// configuration.
		b2, err := Marshal(back)
		if err != nil || string(b2) != string(b) {
			t.Fatalf("round trip changed the configuration:\n%s\nthen\n%s", b, b2)
		}
	})
}

// TestParseAliasesAndStars checks that the document-shape limits leave
// ordinary uses alone: a few aliases, and '*' in quoted host and path
// patterns.
func TestParseAliasesAndStars(t *testing.T) {
	doc := `applications:
  - {id: 1, name: a, hosts: &h ["*.shop.example.com", shop.example.com]}
  - {id: 2, name: b}
analyze: {hosts: *h}
flows: [{name: All, path: "*"}, {name: Admin, path: '/admin/*'}]
`
	c, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Analyze.Hosts, []string{"*.shop.example.com", "shop.example.com"}) || c.Flows[1].Path != "/admin/*" {
		t.Errorf("Parse = %+v", c)
	}
	if ps := Validate(c); len(ps) != 0 {
		t.Errorf("Validate = %v", ps)
	}
}
