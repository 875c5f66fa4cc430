//go:build race

package markdown

// raceEnabled reports whether the tests run under the race detector, which
// slows code too unevenly for timings to mean anything.
const raceEnabled = true
