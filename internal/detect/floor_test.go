package detect

import "testing"

// BenchmarkFloor is the cost of the rules the fast path always runs: the
// full engine without any of the screened rules, the fast path's floor.
func BenchmarkFloor(b *testing.B) {
	e := mustEngine(b, DefaultOptions())
	var ids []int
	for _, r := range e.screen.rules {
		ids = append(ids, r.id)
	}
	g := newCorpus(11)
	get := g.benignGET()
	get.Request.URL = "/api/v1/users/42?id=17&name=bob&page=2&size=20&sort=name&order=asc&filter=active&lang=en&tz=UTC"
	o := DefaultOptions()
	o.Mode = ModeFull
	o.ExcludeRules = ids
	b.Run("get9-always-rules-only", func(b *testing.B) { benchEngineOpts(b, o, get) })
	exs := newCorpus(7).mix(2000)
	b.Run("mix-always-rules-only", func(b *testing.B) { benchEngineOpts(b, o, exs...) })
}
