//go:build race

package pngscale

// underRace is set when the tests run with -race, which makes decoding
// several times slower and checks nothing more in the heaviest
// differential tests: they then run a sample, and CI runs them in full
// without -race as well.
const underRace = true
