//go:build race

package wire

// raceEnabled lets the slowest test skip itself under the race detector,
// which makes scanning 64 MiB take half a minute; TestDecompressionBomb
// covers the same path with a smaller limit.
const raceEnabled = true
