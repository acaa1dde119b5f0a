package detect

import (
	"context"
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
	e := mustEngine(b, o)
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

// BenchmarkMixCold is the mix without what repetition buys: the fast
// engine's verdict cache is off, and the corpus is 20,000 exchanges, so a
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

// BenchmarkShapes is ns/op for the three request shapes of issue 4.
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
		for _, mode := range []string{ModeFast, ModeFull} {
			b.Run(s.name+"/"+mode, func(b *testing.B) { benchEngine(b, mode, []*apisessions.Exchange{s.ex}) })
		}
	}
}
