//go:build race

package jpegscale

// underRace is set when the tests run with -race, which makes this pure,
// single-goroutine decoding about ten times slower and checks nothing
// more: the heaviest differential tests then run a sample, and CI runs
// them in full without -race as well.
const underRace = true
