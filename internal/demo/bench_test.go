package demo

import (
	"io"
	"testing"

	"github.com/apisessions/apisessions"
)

// BenchmarkWriteJSONL measures generating and encoding; b.N exchanges.
func BenchmarkWriteJSONL(b *testing.B) {
	o := DefaultTrafficOptions()
	o.Exchanges = b.N
	o.Sessions = max(b.N/20, 1)
	cw := &countWriter{}
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := WriteJSONL(cw, o); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "exchanges/s")
	b.ReportMetric(float64(cw.n)/float64(b.N), "bytes/exchange")
}

// BenchmarkGenerate is the generator alone, the baseline of WriteJSONL.
func BenchmarkGenerate(b *testing.B) {
	o := DefaultTrafficOptions()
	o.Exchanges = b.N
	o.Sessions = max(b.N/20, 1)
	b.ReportAllocs()
	b.ResetTimer()
	if err := Generate(o, func(*apisessions.Exchange) error { return nil }); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "exchanges/s")
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
