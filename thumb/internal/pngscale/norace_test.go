//go:build !race

package pngscale

const underRace = false
