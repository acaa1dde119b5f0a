package demo

import (
	"github.com/apisessions/apisessions/internal/cputime"

	"encoding/json"
	"io"
	"testing"
	"time"

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
	cpu0 := cputime.Process()
	if _, err := WriteJSONL(cw, o); err != nil {
		b.Fatal(err)
	}
	reportRates(b, cpu0)
	b.ReportMetric(float64(cw.n)/float64(b.N), "bytes/exchange")
}

// BenchmarkGenerate is the generator alone, the baseline of WriteJSONL.
func BenchmarkGenerate(b *testing.B) {
	o := DefaultTrafficOptions()
	o.Exchanges = b.N
	o.Sessions = max(b.N/20, 1)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	if err := Generate(o, func(*apisessions.Exchange) error { return nil }); err != nil {
		b.Fatal(err)
	}
	reportRates(b, cpu0)
}

// BenchmarkEncodingJSONBaseline writes the same traffic with encoding/json
// (the struct of the tests, headers as pairs): the baseline AppendJSONL is
// measured against.
func BenchmarkEncodingJSONBaseline(b *testing.B) {
	o := DefaultTrafficOptions()
	o.Exchanges = b.N
	o.Sessions = max(b.N/20, 1)
	cw := &countWriter{}
	enc := json.NewEncoder(cw)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	err := Generate(o, func(ex *apisessions.Exchange) error {
		var l line
		l.ID, l.ClientIP = &ex.ID, &ex.ClientIP
		l.Time = ex.Time.UTC().Format(timeLayout)
		l.Request.Method, l.Request.URL = ex.Request.Method, ex.Request.URL
		for _, h := range ex.Request.Headers {
			l.Request.Headers = append(l.Request.Headers, [2]string{h.Name, h.Value})
		}
		if len(ex.Request.Body) > 0 {
			body := string(ex.Request.Body)
			l.Request.Body = &body
		}
		l.Response = &struct {
			Status     int         `json:"status"`
			Headers    [][2]string `json:"headers"`
			Body       *string     `json:"body"`
			BodyBase64 bool        `json:"body_base64"`
			DurationMS float64     `json:"duration_ms"`
		}{Status: ex.Response.Status, DurationMS: float64(ex.Response.Duration) / 1e6}
		for _, h := range ex.Response.Headers {
			l.Response.Headers = append(l.Response.Headers, [2]string{h.Name, h.Value})
		}
		body := string(ex.Response.Body)
		l.Response.Body = &body
		return enc.Encode(&l)
	})
	if err != nil {
		b.Fatal(err)
	}
	reportRates(b, cpu0)
}

// reportRates reports exchanges per second of wall time and per second of
// the process's CPU time (GC included), which a busy machine disturbs less.
func reportRates(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "exchanges/s")
	if cpu := cputime.Process() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "exchanges/cpu-s")
	}
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
