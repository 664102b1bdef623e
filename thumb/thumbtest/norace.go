//go:build !race

package thumbtest

// raceEnabled: the suite runs under the race detector (see race.go).
const raceEnabled = false
