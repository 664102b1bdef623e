package pngscale

import (
	"bytes"
	"image/png"
	"testing"
)

// FuzzDecode decodes arbitrary bytes and compares with image/png: the same
// files accepted, errors of the same class, the same number of bytes read
// (compareWithStd), and, when both decode, exactly the box average of
// image/png's image (boxReference). The factor comes from the input's
// length; headers over maxFuzzPixels must get ErrTooLarge. Seeds: the corpus's PNGs under maxFuzzInput (the bomb is 124 KB)
// and the generated variants at 13×7, every colour type and depth, plain
// and interlaced. Run it with
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 5m ./thumb/internal/pngscale/
func FuzzDecode(f *testing.F) {
	for _, p := range corpusPNGs(f) {
		if b := readFile(f, p); len(b) <= maxFuzzInput {
			f.Add(b)
		}
	}
	for _, v := range variants() {
		if len(v.Data) <= 2000 {
			f.Add(v.Data)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		k := 1 + len(b)%4
		if compareWithStdMax(t, "fuzz", b, k, maxFuzzPixels) != nil {
			return
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil || cfg.Width*cfg.Height > maxFuzzPixels {
			return
		}
		std, err := stdDecode(b)
		if err != nil {
			return
		}
		got, err := Decode(bytes.NewReader(b), Options{Factor: k})
		if err != nil {
			t.Fatalf("k=%d: %v", k, err)
		}
		if d := sameImage(boxReference(t, std, k), got); d != "" {
			t.Fatalf("k=%d: %s", k, d)
		}
	})
}

// maxFuzzInput and maxFuzzPixels bound the inputs FuzzDecode tries, to
// keep it fast: a larger image must fail with ErrTooLarge.
const (
	maxFuzzInput  = 64 << 10
	maxFuzzPixels = 1 << 16
)
