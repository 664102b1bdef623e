package testphoto

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sync"
)

// PNGs12MP are the 4000×3000 PNG inputs of the benchmarks, photo-like so
// they compress as photos do: RGB and RGBA at 8 bits (21 and 26 MB), and
// RGB at 16 bits whose low byte carries 4 bits of noise below the 8-bit
// value (45 MB, within the default 50 MiB limit). image/png takes seconds
// to encode each, so they are kept in the temporary directory
// (gormthumb-testphoto/) and read from there by later runs.
var PNGs12MP = sync.OnceValue(func() []Source {
	const w, h = 4000, 3000
	return []Source{
		{"png-rgb", cachedPNG("png-rgb-v1.png", func() []byte { return PNG(w, h, 7, false) })},
		{"png-rgba", cachedPNG("png-rgba-v1.png", func() []byte { return PNG(w, h, 8, true) })},
		{"png-rgb16", cachedPNG("png-rgb16-v1.png", func() []byte { return EncodePNG(photo16(w, h, 9)) })},
	}
})

// photo16 is Photo(w, h, seed, false) at 16 bits a sample: each 8-bit
// value v becomes v·257 plus noise in [-8, 8).
func photo16(w, h int, seed uint64) *image.RGBA64 {
	src := Photo(w, h, seed, false)
	img := image.NewRGBA64(src.Rect)
	rng := uint32(seed)
	for i := 0; i < len(src.Pix); i += 4 {
		for c := range 3 {
			rng = rng*1664525 + 1013904223
			v := min(max(int(src.Pix[i+c])*257+int(rng>>28)-8, 0), 65535)
			img.Pix[2*i+2*c], img.Pix[2*i+2*c+1] = uint8(v>>8), uint8(v)
		}
		img.Pix[2*i+6], img.Pix[2*i+7] = 0xff, 0xff
	}
	return img
}

// cachedPNG returns the file name in the cache directory, making it with
// mk (and storing it) when it is not there or does not decode.
func cachedPNG(name string, mk func() []byte) []byte {
	dir := filepath.Join(os.TempDir(), "gormthumb-testphoto")
	path := filepath.Join(dir, name)
	if b, err := os.ReadFile(path); err == nil {
		if _, err := png.DecodeConfig(bytes.NewReader(b)); err == nil {
			return b
		}
	}
	b := mk()
	if os.MkdirAll(dir, 0o755) == nil {
		if f, err := os.CreateTemp(dir, name+".*"); err == nil {
			_, werr := f.Write(b)
			if cerr := f.Close(); werr == nil && cerr == nil {
				os.Rename(f.Name(), path)
			} else {
				os.Remove(f.Name())
			}
		}
	}
	return b
}
