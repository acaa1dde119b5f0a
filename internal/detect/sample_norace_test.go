//go:build !race

package detect

// sampleEvery is how many CRS regression cases the suites step over per case
// run: all of them without the race detector.
const sampleEvery = 1
