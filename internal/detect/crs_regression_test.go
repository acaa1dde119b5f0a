package detect

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/apisessions/apisessions"
	"github.com/goccy/go-yaml"
)

// The CRS regression suite (go-ftw YAML) shipped in the coraza-coreruleset
// module, run in-process.

type ftwFile struct {
	RuleID int       `yaml:"rule_id"`
	Tests  []ftwTest `yaml:"tests"`
}

type ftwTest struct {
	TestID int `yaml:"test_id"`
	Stages []struct {
		Input  ftwInput  `yaml:"input"`
		Output ftwOutput `yaml:"output"`
	} `yaml:"stages"`
}

type ftwInput struct {
	Method              *string       `yaml:"method"`
	URI                 *string       `yaml:"uri"`
	Version             *string       `yaml:"version"`
	Headers             yaml.MapSlice `yaml:"headers"`
	Data                *string       `yaml:"data"`
	EncodedRequest      string        `yaml:"encoded_request"`
	AutocompleteHeaders *bool         `yaml:"autocomplete_headers"`
}

type ftwOutput struct {
	Status int `yaml:"status"`
	Log    struct {
		ExpectIDs   []int `yaml:"expect_ids"`
		NoExpectIDs []int `yaml:"no_expect_ids"`
	} `yaml:"log"`
	ExpectError bool `yaml:"expect_error"`
}

// crsCase is one request of the suite with its expectations.
type crsCase struct {
	name     string // file rule id, test id, stage
	ex       *apisessions.Exchange
	proto    string
	expect   []int
	noExpect []int
	skip     string // reason the case cannot apply in-process
}

// crsTestsDir locates the tests/ folder of the coraza-coreruleset module.
func crsTestsDir(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/corazawaf/coraza-coreruleset/v4").Output()
	if err != nil {
		tb.Fatalf("locate coraza-coreruleset module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "tests")
	if _, err := os.Stat(dir); err != nil {
		tb.Fatalf("CRS regression tests: %v", err)
	}
	return dir
}

var loadOnce struct {
	sync.Once
	cases []crsCase
	err   error
}

// loadCRSCases reads every request-phase case of the suite, in a stable
// order. Response-phase folders (RESPONSE-*) need a backend reply and are
// listed as skipped.
func loadCRSCases(tb testing.TB) []crsCase {
	tb.Helper()
	dir := crsTestsDir(tb)
	loadOnce.Do(func() {
		var files []string
		loadOnce.err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(p, ".yaml") {
				files = append(files, p)
			}
			return nil
		})
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				loadOnce.err = err
				return
			}
			var ff ftwFile
			if err := yaml.Unmarshal(b, &ff); err != nil {
				loadOnce.err = fmt.Errorf("%s: %w", f, err)
				return
			}
			response := strings.Contains(f, "/RESPONSE-")
			for _, t := range ff.Tests {
				for si, st := range t.Stages {
					c := crsCase{
						name:     fmt.Sprintf("%d-%d-%d", ff.RuleID, t.TestID, si),
						expect:   st.Output.Log.ExpectIDs,
						noExpect: st.Output.Log.NoExpectIDs,
					}
					switch {
					case response:
						c.skip = "response phase: the case needs the test backend's reply"
					case len(c.expect) == 0 && len(c.noExpect) == 0:
						c.skip = "expects only an HTTP status or error, no rule IDs (DetectionOnly never blocks)"
					default:
						c.ex, c.proto, c.skip = ftwExchange(st.Input)
					}
					loadOnce.cases = append(loadOnce.cases, c)
				}
			}
		}
	})
	if loadOnce.err != nil {
		tb.Fatalf("load CRS regression cases: %v", loadOnce.err)
	}
	return loadOnce.cases
}

// ftwExchange builds the exchange go-ftw would send, or the reason it
// cannot.
func ftwExchange(in ftwInput) (*apisessions.Exchange, string, string) {
	if in.EncodedRequest != "" {
		raw, err := base64.StdEncoding.DecodeString(in.EncodedRequest)
		if err != nil {
			return nil, "", "encoded_request is not base64"
		}
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return nil, "", "encoded_request is a socket-level malformation net/http cannot parse: " + err.Error()
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, "", "encoded_request body cannot be read: " + err.Error()
		}
		ex := &apisessions.Exchange{ClientIP: "127.0.0.1", Request: apisessions.Request{Method: r.Method, URL: r.RequestURI, Body: body}}
		if r.Host != "" {
			ex.Request.Headers = append(ex.Request.Headers, apisessions.Header{Name: "Host", Value: r.Host})
		}
		for k, vs := range r.Header {
			for _, v := range vs {
				ex.Request.Headers = append(ex.Request.Headers, apisessions.Header{Name: k, Value: v})
			}
		}
		return ex, r.Proto, ""
	}
	method, uri, proto := "GET", "/", "HTTP/1.1"
	if in.Method != nil {
		method = *in.Method
	}
	if in.URI != nil {
		uri = *in.URI
	}
	if in.Version != nil {
		proto = *in.Version
	}
	if strings.ContainsAny(uri, " \r\n") || strings.ContainsAny(method, " \r\n") {
		return nil, "", "request line with raw spaces or line breaks: a socket-level malformation"
	}
	ex := &apisessions.Exchange{ClientIP: "127.0.0.1", Request: apisessions.Request{Method: method, URL: uri}}
	has := map[string]bool{}
	for _, kv := range in.Headers {
		k := fmt.Sprint(kv.Key)
		v := ""
		if kv.Value != nil {
			v = fmt.Sprint(kv.Value)
		}
		has[strings.ToLower(k)] = true
		ex.Request.Headers = append(ex.Request.Headers, apisessions.Header{Name: k, Value: v})
	}
	if in.Data != nil {
		ex.Request.Body = []byte(*in.Data)
	}
	auto := in.AutocompleteHeaders == nil || *in.AutocompleteHeaders
	if auto {
		// What go-ftw adds when autocompleting headers.
		if len(ex.Request.Body) > 0 && !has["content-length"] && !has["transfer-encoding"] {
			ex.Request.Headers = append(ex.Request.Headers, apisessions.Header{Name: "Content-Length", Value: fmt.Sprint(len(ex.Request.Body))})
		}
		if !has["connection"] {
			ex.Request.Headers = append(ex.Request.Headers, apisessions.Header{Name: "Connection", Value: "close"})
		}
	}
	return ex, proto, ""
}

// regressionOptions reproduce the CRS regression set-up (tests/regression
// README: rule 900005): blocking paranoia level 4 and the optional limits.
func regressionOptions(mode string) Options {
	o := DefaultOptions()
	o.Mode = mode
	o.ParanoiaLevel = 4
	o.AllowedMethods = nil // CRS's own default
	o.directives = `SecAction "id:900005,phase:1,nolog,pass,ctl:ruleRemoveById=910000,setvar:tx.crs_validate_utf8_encoding=1,setvar:tx.arg_name_length=100,setvar:tx.arg_length=400,setvar:tx.total_arg_length=64000,setvar:tx.max_num_args=255,setvar:tx.max_file_size=64100,setvar:tx.combined_file_sizes=65535"
`
	return o
}

func mustEngine(tb testing.TB, o Options) *Engine {
	tb.Helper()
	e, err := New(o)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return e
}

// testEngines shares engines between tests: loading CRS takes seconds,
// many more under the race detector.
var testEngines sync.Map // key -> *Engine

// sharedEngine returns the engine for the options, built once per test
// binary; key must name the options uniquely.
// enginePair returns the shared full and fast engines at a paranoia level.
func enginePair(tb testing.TB, pl int) (full, fast *Engine) {
	tb.Helper()
	o := DefaultOptions()
	o.ParanoiaLevel = pl
	o.Mode = ModeFull
	full = sharedEngine(tb, fmt.Sprintf("pl%d-full", pl), o)
	o.Mode = ModeFast
	fast = sharedEngine(tb, fmt.Sprintf("pl%d-fast", pl), o)
	return full, fast
}

func sharedEngine(tb testing.TB, key string, o Options) *Engine {
	tb.Helper()
	if e, ok := testEngines.Load(key); ok {
		return e.(*Engine)
	}
	e := mustEngine(tb, o)
	testEngines.Store(key, e)
	return e
}

func matchedIDs(r result) map[int]bool {
	ids := map[int]bool{}
	for _, m := range r.matched {
		ids[m.Rule().ID()] = true
	}
	return ids
}

// TestCRSRegression runs every applicable request-phase case of the CRS
// v4.25.0 regression suite through the full engine and checks the rule IDs
// that must and must not fire. Known failures are listed, with their reason,
// in testdata/crs-known-failures.txt; a case failing that is not listed
// fails the test, and so does a listed case that now passes.
func TestCRSRegression(t *testing.T) {
	cases := loadCRSCases(t)
	e := sharedEngine(t, "regression-full", regressionOptions(ModeFull))
	known := readKnownList(t, "testdata/crs-known-failures.txt")
	var pass, fail, skip, knownFail int
	var skipped, newFail []string
	for i, c := range cases {
		if c.skip != "" {
			skip++
			skipped = append(skipped, c.name+"\t"+c.skip)
			continue
		}
		if i%sampleEvery != 0 {
			continue
		}
		r, err := e.run(c.ex, c.proto, nil)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		ids := matchedIDs(r)
		var why []string
		for _, id := range c.expect {
			if !ids[id] {
				why = append(why, fmt.Sprintf("expected %d", id))
			}
		}
		for _, id := range c.noExpect {
			if ids[id] {
				why = append(why, fmt.Sprintf("unexpected %d", id))
			}
		}
		_, isKnown := known[c.name]
		switch {
		case len(why) == 0:
			pass++
			if isKnown {
				t.Errorf("%s passes now: remove it from testdata/crs-known-failures.txt", c.name)
			}
		case isKnown:
			knownFail++
		default:
			fail++
			newFail = append(newFail, c.name+"\t"+strings.Join(why, ", "))
		}
	}
	sort.Strings(newFail)
	for _, f := range newFail {
		t.Errorf("CRS case %s", f)
	}
	if sampleEvery == 1 && os.Getenv("DETECT_WRITE_SKIPPED") != "" {
		if err := os.WriteFile("testdata/crs-skipped.txt", []byte(strings.Join(skipped, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	checkSkippedList(t, skipped)
	t.Logf("CRS regression (every %d): pass %d, fail %d (known %d), skip %d", sampleEvery, pass, fail+knownFail, knownFail, skip)
	if pass == 0 {
		t.Fatal("no CRS case ran")
	}
}

// readKnownList reads "case<TAB>reason" lines.
func readKnownList(tb testing.TB, path string) map[string]string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read %s: %v", path, err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, _ := strings.Cut(line, "\t")
		m[name] = reason
	}
	return m
}

// checkSkippedList makes sure every skipped case is listed, with its reason,
// in testdata/crs-skipped.txt (regenerate with DETECT_WRITE_SKIPPED=1).
func checkSkippedList(t *testing.T, skipped []string) {
	t.Helper()
	listed := readKnownList(t, "testdata/crs-skipped.txt")
	for _, s := range skipped {
		name, _, _ := strings.Cut(s, "\t")
		if _, ok := listed[name]; !ok {
			t.Errorf("CRS case %s is skipped but not listed in testdata/crs-skipped.txt", name)
		}
	}
	if len(listed) != len(skipped) {
		t.Errorf("testdata/crs-skipped.txt lists %d cases, %d are skipped", len(listed), len(skipped))
	}
}
