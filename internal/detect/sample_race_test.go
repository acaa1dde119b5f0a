//go:build race

package detect

// sampleEvery is how many CRS regression cases the suites step over per case
// run: the race detector makes Coraza ~10x slower, so CI runs a
// deterministic 1/50th of the suite.
const sampleEvery = 50
