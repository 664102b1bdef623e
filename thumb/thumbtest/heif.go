package thumbtest

import (
	"bytes"
	"image"
	"slices"
	"testing"

	"github.com/disintegration/imaging"
	_ "github.com/gen2brain/avif" // decoding AVIF thumbnails
	"github.com/gormthumb/gormthumb/internal/testphoto"
	"github.com/gormthumb/gormthumb/thumb"
)

// testHEIF checks HEIF and AVIF sources (the corpus's heif-enc and avifenc
// files against the PNGs they were made from), their irot and imir, their
// typed errors and limits, and AVIF output.
func testHEIF(t *testing.T, p thumb.Processor, o Options) {
	files := []struct {
		name, ref string
		format    thumb.Format
		alpha     bool
	}{
		{"heic-photo.heic", "reference/water.png", thumb.HEIF, false},
		{"heic-alpha.heic", "reference/alpha.png", thumb.HEIF, true},
		{"avif-photo.avif", "reference/water.png", thumb.AVIF, false},
		{"avif-alpha.avif", "reference/alpha.png", thumb.AVIF, true},
	}
	skip := func(t *testing.T, f thumb.Format) {
		if slices.Contains(o.Skip, f) {
			t.Skipf("%s skipped for this processor (Options.Skip)", f)
		}
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			skip(t, f.format)
			src := testphoto.Corpus(t, f.name)
			spec := thumb.Spec{Width: 160, Height: 160, Format: thumb.PNG}
			out, imgs := mustProcess(t, p, src, spec, thumb.Spec{Width: 160, Height: 160})
			_, want := mustProcess(t, p, testphoto.Corpus(t, f.ref), spec)
			if imgs[0].Bounds().Size() != want[0].Bounds().Size() {
				t.Fatalf("%v, want %v", imgs[0].Bounds().Size(), want[0].Bounds().Size())
			}
			if q := psnr(t, imgs[0], want[0]); q < 28 {
				t.Errorf("%.1f dB from the thumbnail of the PNG it was made from, want >= 28", q)
			}
			wantFormat := thumb.JPEG
			if f.alpha {
				wantFormat = thumb.PNG
			}
			if out[1].Format != wantFormat {
				t.Errorf("default output %s, want %s", out[1].Format, wantFormat)
			}
			// Turned 90° anticlockwise, then left and right exchanged.
			turned := testphoto.WithTransforms(src, testphoto.Irot(1), testphoto.Imir(1))
			_, got := mustProcess(t, p, turned, spec)
			shown := imaging.FlipH(imaging.Rotate90(want[0]))
			if got[0].Bounds().Size() != shown.Bounds().Size() {
				t.Fatalf("irot 1, imir 1: %v, want %v", got[0].Bounds().Size(), shown.Bounds().Size())
			}
			if q := psnr(t, got[0], shown); q < 25 {
				t.Errorf("irot 1, imir 1: %.1f dB from the reference turned so, want >= 25 (not upright?)", q)
			}
			// Hostile variants.
			_, _, err := process(t, p, testphoto.WithSize(src, 100_000, 100_000), thumb.Limits{}, spec)
			wantSentinel(t, "header claiming 100000x100000", err, thumb.ErrTooLarge)
			_, _, err = process(t, p, src[:len(src)/2], thumb.Limits{}, spec)
			wantSentinel(t, "cut in half", err, thumb.ErrNotImage)
			_, _, err = process(t, p, src, thumb.Limits{MaxPixels: int64(sourcePixels(t, src)) - 1}, spec)
			wantSentinel(t, "one pixel over the limit", err, thumb.ErrTooLarge)
		})
	}
	t.Run("avif-output", func(t *testing.T) {
		skip(t, thumb.AVIF)
		src := testphoto.JPEG(800, 600, 12, 95)
		lo, _ := mustProcess(t, p, src, thumb.Spec{Width: 300, Height: 300, Format: thumb.AVIF, Quality: 20})
		hi, imgs := mustProcess(t, p, src, thumb.Spec{Width: 300, Height: 300, Format: thumb.AVIF, Quality: 95})
		if hi[0].Format != thumb.AVIF || imgs[0].Bounds().Size() != image.Pt(300, 225) {
			t.Fatalf("%s %v, want avif 300x225", hi[0].Format, imgs[0].Bounds().Size())
		}
		if len(lo[0].Data) >= len(hi[0].Data) {
			t.Errorf("quality 20 is %d bytes, quality 95 %d: quality not honoured", len(lo[0].Data), len(hi[0].Data))
		}
	})
}

// sourcePixels is the pixel count of a source's primary image, from Sniff.
func sourcePixels(t *testing.T, src []byte) int {
	h, _, err := thumb.Sniff(bytes.NewReader(src), thumb.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return h.Width * h.Height
}
