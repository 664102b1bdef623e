// Package testphoto makes deterministic, photo-like test images for the
// tests and benchmarks of gormthumb and its vips module.
package testphoto

import (
	"image"
	"math"
)

// Photo makes a deterministic w×h image with what photos have: smooth
// gradients of light and colour, hard-edged objects, fine texture and a
// little sensor noise. With alpha, its alpha varies across the image
// between 96 and 255 (mostly translucent); without, it is opaque.
func Photo(w, h int, seed uint64, alpha bool) *image.NRGBA {
	rng := seed*0x9E3779B97F4A7C15 + 1
	next := func() uint64 { // xorshift64*
		rng ^= rng >> 12
		rng ^= rng << 25
		rng ^= rng >> 27
		return rng * 2685821657736338717
	}
	unit := func() float64 { return float64(next()>>11) / (1 << 53) }
	// A coarse grid of colours, interpolated: light and large shapes.
	const gw, gh = 9, 7
	var grid [gh][gw][3]float64
	for y := range gh {
		for x := range gw {
			for c := range 3 {
				grid[y][x][c] = 30 + 190*unit()
			}
		}
	}
	// Objects with hard edges.
	type disc struct {
		x, y, r2 float64
		c        [3]float64
	}
	discs := make([]disc, 12)
	for i := range discs {
		r := (0.03 + 0.12*unit()) * float64(min(w, h))
		discs[i] = disc{unit() * float64(w), unit() * float64(h), r * r, [3]float64{255 * unit(), 255 * unit(), 255 * unit()}}
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		fy := float64(y) / float64(h) * (gh - 1)
		iy := min(int(fy), gh-2)
		ty := fy - float64(iy)
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := range w {
			fx := float64(x) / float64(w) * (gw - 1)
			ix := min(int(fx), gw-2)
			tx := fx - float64(ix)
			var c [3]float64
			for k := range 3 {
				a := grid[iy][ix][k]*(1-tx) + grid[iy][ix+1][k]*tx
				b := grid[iy+1][ix][k]*(1-tx) + grid[iy+1][ix+1][k]*tx
				c[k] = a*(1-ty) + b*ty
			}
			for _, d := range discs {
				dx, dy := float64(x)-d.x, float64(y)-d.y
				if dx*dx+dy*dy < d.r2 {
					c = d.c
				}
			}
			// Fine texture (fabric, foliage) and noise.
			tex := 12 * math.Sin(float64(x)*0.31+float64(y)*0.17) * math.Sin(float64(y)*0.23)
			n := next()
			p := row[4*x : 4*x+4 : 4*x+4]
			for k := range 3 {
				p[k] = clampU8(c[k] + tex + float64(int(n>>(8*k)&15)-8))
			}
			p[3] = 255
			if alpha {
				p[3] = uint8(96 + (x*159/w+y*64/h)%160)
			}
		}
	}
	return img
}

func clampU8(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}
