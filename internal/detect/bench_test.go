package detect

import (
	"context"
	"net/url"
	"testing"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/cputime"
)

func benchEngine(b *testing.B, mode string, exs []*apisessions.Exchange) {
	o := DefaultOptions()
	o.Mode = mode
	benchEngineOpts(b, o, exs...)
}

func benchEngineOpts(b *testing.B, o Options, exs ...*apisessions.Exchange) {
	benchDetect(b, mustEngine(b, o), exs)
}

// benchDetect runs e over exs, in order and over again past the end.
func benchDetect(b *testing.B, e *Engine, exs []*apisessions.Exchange) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	for i := 0; b.Loop(); i++ {
		if _, err := e.Detect(ctx, exs[i%len(exs)]); err != nil {
			b.Fatal(err)
		}
	}
	// The machine is shared: wall time per op counts other processes' turns,
	// CPU time of this process per op does not.
	cpu := cputime.Process() - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "req/cpu-s")
}

// BenchmarkMix is the realistic API mix; run with -cpu 1 for req/s per core.
func BenchmarkMix(b *testing.B) {
	exs := newCorpus(7).mix(2000)
	for _, mode := range []string{ModeFast, ModeFull} {
		b.Run(mode, func(b *testing.B) { benchEngine(b, mode, exs) })
	}
}

// BenchmarkMixAPI is the mix of issue 4 on traffic that reads like a real
// API's (see apiGen): 70% GET with 5 to 10 parameters, 25% JSON POST or
// PUT with 0.5 to 4 KB bodies, 5% attacks. Full CRS flags about 5% of it
// (TestMixAPIPremise), where it flags 17% of BenchmarkMix's keyword-heavy
// text. The corpus is 20,000 exchanges and each engine starts empty: run
// with -benchtime 2000x (TestMixAPIPremise's 2,000) up to 20000x, so that
// no exchange comes twice and the fast engine's value memo knows only the
// values that earlier exchanges repeat.
func BenchmarkMixAPI(b *testing.B) {
	exs, _ := newAPICorpus(7).mix(20000)
	for _, mode := range []string{ModeFast, ModeFull} {
		b.Run(mode, func(b *testing.B) { benchEngine(b, mode, exs) })
	}
}

// BenchmarkMixAPIWarm is BenchmarkMixAPI's fast engine in the state of a
// node that has been running: before the timer starts it inspects the last
// 10,000 exchanges of the corpus, so that its lazy DFAs hold the states API
// traffic reaches and its value memo the values that traffic repeats. The
// timed exchanges are the first ones, which it has not seen: run with
// -benchtime 10000x at most, so that none comes twice.
func BenchmarkMixAPIWarm(b *testing.B) {
	exs, _ := newAPICorpus(7).mix(20000)
	o := DefaultOptions()
	e := mustEngine(b, o)
	for _, ex := range exs[10000:] {
		if _, err := e.Detect(context.Background(), ex); err != nil {
			b.Fatal(err)
		}
	}
	benchDetect(b, e, exs[:10000])
}

// BenchmarkMixAPIByClass is BenchmarkMixAPI's fast engine on each class of
// the mix alone (benign GET, benign JSON, attacks), to show where its time
// goes: the mix costs 0.70 GET + 0.25 JSON + 0.05 attack. The classes are
// those of BenchmarkMixAPI's 20,000 exchanges: run with -benchtime 1000x
// at most, so that no exchange comes twice (there are about 1,000 attacks).
func BenchmarkMixAPIByClass(b *testing.B) {
	exs, attack := newAPICorpus(7).mix(20000)
	classes := map[string][]*apisessions.Exchange{}
	for i, ex := range exs {
		c := "json"
		switch {
		case attack[i]:
			c = "attack"
		case ex.Request.Method == "GET":
			c = "get"
		}
		classes[c] = append(classes[c], ex)
	}
	for _, c := range []string{"get", "json", "attack"} {
		b.Run(c, func(b *testing.B) { benchEngine(b, ModeFast, classes[c]) })
	}
}

// TestMixAPIPremise checks that BenchmarkMixAPI measures what issue 4
// describes: the shapes and shares of the mix, every attack flagged by the
// full engine, and between 4% and 7% of the requests flagged in all (5%
// attacks plus CRS's false positives on benign text). Under -race or
// -short, where running full CRS on the 2,000 requests takes minutes, it
// checks the attacks and the shapes only.
func TestMixAPIPremise(t *testing.T) {
	exs, attack := newAPICorpus(7).mix(2000)
	full, _ := enginePair(t, 1)
	whole := sampleEvery == 1 && !testing.Short()
	var gets, jsons, attacks, flagged, falsePos int
	for i, ex := range exs {
		r := ex.Request
		switch {
		case attack[i]:
			attacks++
		case r.Method == "GET":
			gets++
			u, err := url.Parse(r.URL)
			if err != nil {
				t.Fatalf("exchange %d: %v", i, err)
			}
			if n := len(u.Query()); n < 5 || n > 10 {
				t.Errorf("exchange %d: GET with %d parameters, want 5 to 10", i, n)
			}
		default:
			jsons++
			if (r.Method != "POST" && r.Method != "PUT") || len(r.Body) < 500 || len(r.Body) > 4096 {
				t.Errorf("exchange %d: %s with a %d-byte body, want a POST or PUT with 0.5 to 4 KB", i, r.Method, len(r.Body))
			}
		}
		if !attack[i] && !whole {
			continue
		}
		d, err := full.Detect(context.Background(), ex)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case d.Malicious():
			flagged++
			if !attack[i] {
				falsePos++
				t.Logf("benign exchange %d flagged (score %d): %.120q", i, d.Score, d.Findings[0].Payload)
			}
		case attack[i]:
			t.Errorf("attack %d not flagged by full CRS (score %d): %s %.200q %.200q", i, d.Score, r.URL, r.Headers[len(r.Headers)-1].Value, r.Body)
		}
	}
	share := func(n int) float64 { return 100 * float64(n) / float64(len(exs)) }
	t.Logf("%d requests: %.1f%% GET, %.1f%% JSON, %.1f%% attacks", len(exs), share(gets), share(jsons), share(attacks))
	for _, c := range []struct {
		what     string
		n        int
		min, max float64
	}{{"GET", gets, 67, 73}, {"JSON", jsons, 22, 28}, {"attacks", attacks, 4, 6}} {
		if s := share(c.n); s < c.min || s > c.max {
			t.Errorf("%s are %.1f%% of the mix, want %.0f%% to %.0f%%", c.what, s, c.min, c.max)
		}
	}
	if !whole {
		t.Logf("benign requests not run (-race or -short): every attack flagged")
		return
	}
	t.Logf("full CRS flags %.2f%% (%d attacks, %d benign)", share(flagged), flagged-falsePos, falsePos)
	if s := share(flagged); s < 4 || s > 7 {
		t.Errorf("full CRS flags %.2f%% of the mix, want 4%% to 7%%: %d of %d benign requests flagged", s, falsePos, len(exs)-attacks)
	}
}

// BenchmarkMixCold is the mix without what repetition buys: the fast
// engine's value memo is off, and the corpus is 20,000 exchanges, so a
// run of fewer operations never sees the same exchange twice (values still
// repeat across exchanges as API traffic does: enum values, header values).
func BenchmarkMixCold(b *testing.B) {
	exs := newCorpus(8).mix(20000)
	o := DefaultOptions()
	o.CacheEntries = 0
	b.Run(ModeFast, func(b *testing.B) { benchEngineOpts(b, o, exs...) })
	o.Mode = ModeFull
	b.Run(ModeFull, func(b *testing.B) { benchEngineOpts(b, o, exs...) })
}

// BenchmarkShapes is ns/op for the three request shapes of issue 4. Each
// runs one request over and over, so the fast engine's value memo knows
// every value after the first run: fast-cold is the fast engine with the
// memo off, the cost of a request whose values are all new.
func BenchmarkShapes(b *testing.B) {
	g := newCorpus(11)
	get := g.benignGET()
	get.Request.URL = "/api/v1/users/42?id=17&name=bob&page=2&size=20&sort=name&order=asc&filter=active&lang=en&tz=UTC"
	post := g.benignJSON()
	body := g.jsonBody(1000)
	post.Request.Body = mustJSON(body)
	attack := g.benignGET()
	attack.Request.URL = "/api/v1/users?id=1%27%20UNION%20SELECT%20password%20FROM%20users--&page=2"
	for _, s := range []struct {
		name string
		ex   *apisessions.Exchange
	}{{"get9", get}, {"post1k", post}, {"attack", attack}} {
		for _, mode := range []string{ModeFast, "fast-cold", ModeFull} {
			o := DefaultOptions()
			if mode == "fast-cold" {
				o.CacheEntries = 0
			} else {
				o.Mode = mode
			}
			b.Run(s.name+"/"+mode, func(b *testing.B) { benchEngineOpts(b, o, s.ex) })
		}
	}
}
