package thumb

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// FuzzProcess feeds arbitrary bytes through the whole decode-and-thumbnail
// path. Every input must either give thumbnails that decode to the size
// they claim, or fail with one of the typed errors; it must never panic or
// outgrow the (small) limits. Seeds: small generated images of every format
// we read, plus the real-world corpus files up to 64 KB when ../shared is
// present. Run it with
//
//	go test -run '^$' -fuzz FuzzProcess -fuzztime 10m -parallel 1 .
func FuzzProcess(f *testing.F) {
	for _, s := range seedImages(f) {
		f.Add(s)
	}
	if files, _ := filepath.Glob(filepath.Join("..", "shared", "testdata", "images", "*")); len(files) > 0 {
		for _, p := range files {
			if st, err := os.Stat(p); err == nil && st.Size() <= 64<<10 && filepath.Ext(p) != ".md" {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
		}
	}
	specs := []Spec{
		{Width: 16, Height: 16},
		{Width: 9, Height: 5, Fit: FitCover, Format: PNG},
		{Width: 12, Height: 12, Format: JPEG, Background: color.NRGBA{200, 10, 10, 255}},
	}
	lim := Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 22, MaxFrames: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := GoProcessor{}.Process(context.Background(), bytes.NewReader(data), specs, lim)
		if err != nil {
			if !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrUnsupportedFormat) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if len(out) != len(specs) {
			t.Fatalf("%d thumbnails for %d specs", len(out), len(specs))
		}
		for i, th := range out {
			cfg, format, err := image.DecodeConfig(bytes.NewReader(th.Data))
			if err != nil {
				t.Fatalf("thumbnail %d does not decode: %v", i, err)
			}
			if Format(format) != th.Format || cfg.Width != th.Width || cfg.Height != th.Height {
				t.Fatalf("thumbnail %d is %s %dx%d, claims %s %dx%d", i, format, cfg.Width, cfg.Height, th.Format, th.Width, th.Height)
			}
			if th.Width > 16 || th.Height > 16 || th.Width < 1 || th.Height < 1 {
				t.Fatalf("thumbnail %d is %dx%d", i, th.Width, th.Height)
			}
		}
	})
}

// seedImages returns small images in every format the processor reads,
// including the awkward cases: alpha, a paletted PNG, an animated GIF whose
// frames are sub-rectangles, and a JPEG with an EXIF orientation.
func seedImages(t testing.TB) [][]byte {
	t.Helper()
	var seeds [][]byte
	add := func(enc func(*bytes.Buffer) error) {
		var buf bytes.Buffer
		if err := enc(&buf); err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, buf.Bytes())
	}
	seeds = append(seeds, jpegBytes(t, 24, 18), pngBytes(t, 20, 12, true), gifBytes(t, 10, 14))
	seeds = append(seeds, testphoto.WithEXIF(jpegBytes(t, 12, 20), testphoto.EXIF{Orientation: 6, Comment: "seed"}))
	add(func(b *bytes.Buffer) error { return png.Encode(b, paletted(17, 9)) })
	seeds = append(seeds, testphoto.AnimatedGIF(20, 16, 3))
	add(func(b *bytes.Buffer) error { return bmp.Encode(b, photo(13, 7, 3)) })
	add(func(b *bytes.Buffer) error {
		return tiff.Encode(b, photo(11, 9, 4), &tiff.Options{Compression: tiff.Deflate})
	})
	seeds = append(seeds, webpBytes(t, 15, 10))
	seeds = append(seeds, testdataBytes(t, "heic-gray.heic"), testdataBytes(t, "avif-gray.avif"))
	return seeds
}

// paletted is a w×h image with a 4-colour palette, one entry transparent.
func paletted(w, h int) *image.Paletted {
	pal := color.Palette{color.NRGBA{}, color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 255, 0, 255}, color.NRGBA{0, 0, 255, 255}}
	img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for i := range img.Pix {
		img.Pix[i] = uint8(i % 4)
	}
	return img
}
