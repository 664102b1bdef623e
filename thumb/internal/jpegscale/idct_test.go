package jpegscale

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refIDCT is the 8x8 inverse DCT of T.81 A.3.3 in float64, before level
// shift, rounding and clamping.
func refIDCT(blk *[65]int32) (out [8][8]float64) {
	c := func(k int) float64 {
		if k == 0 {
			return 1 / math.Sqrt2
		}
		return 1
	}
	for y := range 8 {
		for x := range 8 {
			var s float64
			for v := range 8 {
				for u := range 8 {
					s += c(u) * c(v) * float64(blk[v*8+u]) *
						math.Cos(float64(2*x+1)*float64(u)*math.Pi/16) *
						math.Cos(float64(2*y+1)*float64(v)*math.Pi/16)
				}
			}
			out[y][x] = s / 4
		}
	}
	return out
}

func sample(v float64) int {
	return int(math.Min(255, math.Max(0, math.Floor(v+128+0.5))))
}

// randomBlock makes a sparse block like a dequantized JPEG block: most
// energy in the low frequencies.
func randomBlock(rng *rand.Rand, bs int) *[65]int32 {
	var b [65]int32
	for i := range 64 {
		y, x := i/8, i%8
		if y >= bs || x >= bs || rng.IntN(3) == 0 {
			continue
		}
		amp := 1024 / (1 + y + x)
		b[i] = int32(rng.IntN(2*amp+1) - amp)
	}
	return &b
}

func TestIDCT8MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	off := 0
	for range 2000 {
		b := randomBlock(rng, 8)
		ref := refIDCT(b)
		var dst [64]byte
		idct8(b, dst[:], 8)
		for y := range 8 {
			for x := range 8 {
				want := sample(ref[y][x])
				d := int(dst[y*8+x]) - want
				if d < -1 || d > 1 {
					t.Fatalf("idct8 sample (%d,%d) = %d, reference %d", x, y, dst[y*8+x], want)
				}
				if d != 0 {
					off++
				}
			}
		}
	}
	// Off by one only where the exact value is within the constants'
	// rounding error (about 2^-21 relative) of a half.
	t.Logf("idct8 is off by one from the exact rounded IDCT in %d of %d samples", off, 2000*64)
	if off > 2000*64/1000 {
		t.Errorf("idct8 differs from the exact rounded IDCT in %d of %d samples", off, 2000*64)
	}
}

// TestScaledIDCTIsBoxAverage checks that idct4 and idct2 give the box
// average of the exact 8x8 IDCT of a block that has only the coefficients
// they keep, and that the DC path gives round(dc/8).
func TestScaledIDCTIsBoxAverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, bs := range []int{4, 2} {
		s := 8 / bs
		for range 1000 {
			b := randomBlock(rng, bs)
			ref := refIDCT(b)
			var dst [16]byte
			if bs == 4 {
				idct4(b, dst[:], 4)
			} else {
				idct2(b, dst[:], 4)
			}
			for y := range bs {
				for x := range bs {
					var sum float64
					for yy := y * s; yy < y*s+s; yy++ {
						for xx := x * s; xx < x*s+s; xx++ {
							sum += ref[yy][xx]
						}
					}
					want := sample(sum / float64(s*s))
					if d := int(dst[y*4+x]) - want; d < -1 || d > 1 {
						t.Fatalf("idct%d sample (%d,%d) = %d, box average %d", bs, x, y, dst[y*4+x], want)
					}
				}
			}
		}
	}
	for dc := int32(-1100); dc <= 1100; dc++ {
		if got, want := int(clamp8((dc+4)>>3+128)), sample(float64(dc)/8); got != want {
			t.Fatalf("DC %d: %d, want %d", dc, got, want)
		}
	}
}
