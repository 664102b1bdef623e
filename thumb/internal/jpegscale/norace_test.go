//go:build !race

package jpegscale

const underRace = false
