package jpegscale

import (
	"bytes"
	"os"
	"testing"
)

// FuzzDecode decodes arbitrary bytes at every scale: no panic, every error
// wraps exactly one sentinel (a bytes.Reader never fails), and a decoded
// image is ceil(W/s) x ceil(H/s) for the W and H DecodeConfig reports.
// Seeds: the corpus files under maxFuzzInput (the 350 KB EXIF photos are
// left to the other tests: at a few decodes per second under coverage
// instrumentation they stall the fuzzer's minimizer), small generated
// variants, and truncated and bit-flipped copies.
func FuzzDecode(f *testing.F) {
	for _, p := range corpusFiles(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= maxFuzzInput {
			f.Add(b)
		}
	}
	for _, v := range fuzzSeeds(f) {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		decodeAll(t, "fuzz", b, Options{MaxPixels: 1 << 20, MaxScans: 500})
	})
}

// maxFuzzInput bounds the inputs FuzzDecode tries, to keep it fast.
const maxFuzzInput = 100 << 10

// fuzzSeeds are small generated files (cjpeg ones when cjpeg is present),
// plus truncated and bit-flipped copies.
func fuzzSeeds(f *testing.F) [][]byte {
	img := photo(40, 24, 3)
	var seeds [][]byte
	var buf bytes.Buffer
	stdEncode(&buf, img, 80)
	seeds = append(seeds, buf.Bytes())
	if _, err := execLook("cjpeg"); err == nil {
		pnm := ppm(img)
		for _, args := range [][]string{
			{"-progressive"}, {"-progressive", "-sample", "1x1", "-restart", "1B"},
			{"-restart", "1B", "-sample", "2x1"}, {"-grayscale", "-progressive"}, {"-sample", "4x2"},
		} {
			seeds = append(seeds, run(f, pnm, "cjpeg", args...))
		}
	}
	n := len(seeds)
	for i := range n {
		s := seeds[i]
		seeds = append(seeds, s[:len(s)/2], s[:len(s)-3])
		c := bytes.Clone(s)
		c[len(c)*2/3] ^= 0x10
		seeds = append(seeds, c)
	}
	return seeds
}
