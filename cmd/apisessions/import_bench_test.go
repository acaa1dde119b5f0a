package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// benchExchanges sizes the traffic of BenchmarkImport; profile with
//
//	go test -run '^$' -bench Import/dry -benchtime 1x -cpuprofile cpu.out ./cmd/apisessions -import.exchanges 100000
var benchExchanges = flag.Int("import.exchanges", 20000, "exchanges generated for BenchmarkImport")

// BenchmarkImport imports generated traffic with detection off, without a
// store (the floor of issue 3) and into the embedded store, and reports
// exchanges per second of each.
func BenchmarkImport(b *testing.B) {
	n := *benchExchanges
	traffic := filepath.Join(b.TempDir(), "traffic.jsonl")
	start := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	mustCLI(b, "generate", "--exchanges", fmt.Sprint(n), "--sessions", fmt.Sprint(max(n/20, 1)),
		"--start", start, "--attacks", "0.01", "-o", traffic)
	for _, mode := range []string{"dry", "store"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				args := []string{"import", "--detect", "off", "--config", "../../examples/config.yaml",
					"--data", b.TempDir()}
				if mode == "dry" {
					args = append(args, "--dry-run")
				}
				mustCLI(b, append(args, traffic)...)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "exchanges/s")
		})
	}
}
