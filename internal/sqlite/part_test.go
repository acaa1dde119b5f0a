package sqlite

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/cputime"
)

// partModel counts a part's values per kind the obvious way.
type partModel map[int]map[string]int

func (m partModel) add(r *apisessions.Record) {
	put := func(kind int, v string) {
		if v == "" {
			return
		}
		if m[kind] == nil {
			m[kind] = map[string]int{}
		}
		m[kind][v]++
	}
	put(kindUser, r.User)
	put(kindIP, r.ClientIP)
	put(kindHost, r.Host)
	put(kindEndpoint, r.Endpoint)
	put(kindMethod, r.Method)
	put(kindUserAgent, r.UserAgent)
	put(kindStatus, strconv.Itoa(r.Status))
}

// samePartValues fails unless p counts the values of m, each kind apart.
func samePartValues(t *testing.T, what string, p *part, m partModel) {
	t.Helper()
	total := 0
	for k := range numKinds {
		got := map[string]int{}
		for _, pv := range p.kindValues(k) {
			if pv.kind != k {
				t.Fatalf("%s: kindValues(%d) holds a value of kind %d", what, k, pv.kind)
			}
			if _, dup := got[pv.value]; dup {
				t.Fatalf("%s: kind %d lists %q twice", what, k, pv.value)
			}
			got[pv.value] = pv.n
		}
		want := m[k]
		if want == nil {
			want = map[string]int{}
		}
		if !maps.Equal(got, want) {
			t.Fatalf("%s: kind %d: %d values, want %d:\n got %v\nwant %v", what, k, len(got), len(want), got, want)
		}
		total += len(want)
	}
	if len(p.values) != total {
		t.Fatalf("%s: part holds %d values, want %d", what, len(p.values), total)
	}
}

// wideRecords returns records of one session whose values come from pools
// of size n: small pools repeat values, large ones give a part hundreds of
// values, past indexFrom, arriving in no particular kind order.
func wideRecords(rng *rand.Rand, count, n int) []apisessions.Record {
	base := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	pick := func(prefix string, size int) string {
		if rng.IntN(8) == 0 {
			return ""
		}
		return prefix + strconv.Itoa(rng.IntN(size))
	}
	recs := make([]apisessions.Record, count)
	for i := range recs {
		recs[i] = apisessions.Record{
			ID: fmt.Sprintf("r%d-%d", n, i), SessionID: "s", Day: "2026-11-20", Time: base.Add(time.Duration(i) * time.Second),
			User: pick("u", 3), ClientIP: pick("10.0.0.", n), Host: pick("h", 2), Endpoint: pick("/p/", n),
			Method: pick("M", 4), UserAgent: pick("ua", n), Status: 200 + rng.IntN(5),
		}
	}
	return recs
}

// TestPartValuesWide: a part counts its values right whether it scans them
// or, past indexFrom, indexes them, across the reordering an encode does
// and after decoding; and its unsaved count follows.
func TestPartValuesWide(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{5, 40, 400} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			recs := wideRecords(rng, 1500, n)
			m := partModel{}
			p := newPart("s", "2026-11-20")
			for i := range recs[:700] {
				p.add(&recs[i])
				m.add(&recs[i])
			}
			samePartValues(t, "after adds", p, m)
			if n == 400 && p.index == nil {
				t.Fatalf("a part of %d values has no index", len(p.values))
			}
			b := p.appendAggregate(nil)
			q := newPart("s", "2026-11-20")
			if err := q.decodeAggregate(b); err != nil {
				t.Fatal(err)
			}
			samePartValues(t, "decoded", q, m)
			p.markSaved()
			if p.unsaved != 0 {
				t.Fatalf("%d values unsaved after markSaved", p.unsaved)
			}
			// The encoded part (values reordered) and the decoded one
			// (index built anew) go on counting alike.
			saved := map[kindValue]bool{}
			for k, vs := range m {
				for v := range vs {
					saved[kindValue{k, v}] = true
				}
			}
			for i := range recs[700:] {
				r := &recs[700+i]
				p.add(r)
				q.add(r)
				m.add(r)
			}
			samePartValues(t, "encoded, then more adds", p, m)
			samePartValues(t, "decoded, then more adds", q, m)
			unsaved := 0
			for k, vs := range m {
				for v := range vs {
					if k < kindUserAgent && !saved[kindValue{k, v}] {
						unsaved++
					}
				}
			}
			if p.unsaved != unsaved || q.unsaved != unsaved {
				t.Fatalf("unsaved values: %d and %d, want %d", p.unsaved, q.unsaved, unsaved)
			}
			for _, pv := range p.values {
				if pv.saved != (pv.kind >= kindUserAgent || saved[kindValue{pv.kind, pv.value}]) {
					t.Fatalf("value %d %q: saved = %v", pv.kind, pv.value, pv.saved)
				}
			}
		})
	}
}

// BenchmarkPartAddWide merges requests that each bring new values (a
// scanner's session: distinct paths, user agents and addresses) into one
// part; the CPU per request must not grow with the part.
func BenchmarkPartAddWide(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			base := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			recs := make([]apisessions.Record, n)
			for i := range recs {
				recs[i] = apisessions.Record{ID: "r" + strconv.Itoa(i), SessionID: "s", Day: "2026-11-20",
					Time: base.Add(time.Duration(i) * time.Millisecond), Endpoint: "/scan/" + strconv.Itoa(i) + ".php",
					UserAgent: "ua " + strconv.Itoa(i), ClientIP: "10.0." + strconv.Itoa(i), Status: 404, Method: "GET"}
			}
			c0 := cputime.Process()
			for b.Loop() {
				p := newPart("s", "2026-11-20")
				for i := range recs {
					p.add(&recs[i])
				}
			}
			b.ReportMetric(float64((cputime.Process()-c0).Nanoseconds())/float64(b.N*n), "cpu-ns/request")
		})
	}
}

// TestWideSessionCrash: a session of hundreds of distinct values, merged
// over several batches (its values indexed and reordered between them),
// lists and filters the same after a crash and replay as in a store that
// never kept parts in memory.
func TestWideSessionCrash(t *testing.T) {
	recs := wideRecords(rand.New(rand.NewPCG(3, 4)), 1200, 500)
	for i := range recs {
		if i%3 == 0 {
			recs[i].SessionID = "other"
		}
	}
	batches := split(recs, 200)
	ref := MustOpen(t)
	for _, b := range batches {
		writeAll(t, ref, [][]apisessions.Record{b})
		if err := ref.flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "store.db")
	st := openAt(t, path, behindOptions())
	for i, b := range batches {
		writeAll(t, st, [][]apisessions.Record{b})
		if i == 2 {
			if err := st.flush(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	st.crash()
	st = openAt(t, path, behindOptions())
	defer st.Close()
	sameListings(t, st, ref, recs)
	for _, r := range recs[len(recs)-20:] {
		for _, f := range []apisessions.SessionFilter{{Endpoint: r.Endpoint}, {IP: r.ClientIP}} {
			if f.Endpoint == "" && f.IP == "" {
				continue
			}
			g, err := st.Sessions(t.Context(), apisessions.DefaultTenant, f)
			if err != nil {
				t.Fatal(err)
			}
			w, err := ref.Sessions(t.Context(), apisessions.DefaultTenant, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Sessions) == 0 || !reflect.DeepEqual(g, w) {
				t.Fatalf("Sessions(%+v): %d parts, reference %d", f, len(g.Sessions), len(w.Sessions))
			}
		}
	}
}
