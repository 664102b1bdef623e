//go:build race

package gormthumb

// underRace is set when the tests run with -race, which makes image work
// that has no concurrency to check many times slower.
const underRace = true
