package pngscale

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// The unrolled Average filters are the plain one, for every pixel size,
// row length (whole pixels or not) and first row or not.
func TestAverageUnrolled(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, bpp := range []int{1, 2, 3, 4, 6, 8} {
		for n := 0; n < 40; n++ {
			cur, prev := make([]byte, n), make([]byte, n)
			for i := range cur {
				cur[i], prev[i] = byte(rng.IntN(256)), byte(rng.IntN(256))
			}
			want := bytes.Clone(cur)
			for i := range want {
				var a int
				if i >= bpp {
					a = int(want[i-bpp])
				}
				want[i] += uint8((a + int(prev[i])) / 2)
			}
			got := bytes.Clone(cur)
			unfilter(ftAverage, got, prev, bpp)
			if !bytes.Equal(got, want) {
				t.Fatalf("bpp %d, %d bytes: %v, want %v", bpp, n, got, want)
			}
		}
	}
}
