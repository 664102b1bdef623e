//go:build race

package thumb

// underRace is set when the tests run with -race, which makes pure image
// work (no concurrency to check) many times slower.
const underRace = true
