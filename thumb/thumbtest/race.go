//go:build race

package thumbtest

// raceEnabled: the suite runs under the race detector, which slows image
// code several times over, so its longest tables run a sample.
const raceEnabled = true
