//go:build !race

package capture

// raceEnabled is set when tests run with -race, which makes decoding several
// times slower: memory tests then stream less.
const raceEnabled = false
