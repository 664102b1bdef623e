// Package thumbtest is the conformance suite of thumb.Processor, in the
// spirit of gocloud.dev/blob/drivertest: every Processor (the pure-Go
// thumb.GoProcessor, the libvips one in the vips module, one of your own)
// runs the same tests of the contract documented on thumb.Processor.
//
//	func TestConformance(t *testing.T) { thumbtest.Run(t, myProcessor{}) }
//
// or, to compare its pixels with another processor's than
// thumb.GoProcessor's in the geometry table,
//
//	thumbtest.RunOptions(t, myProcessor{}, thumbtest.Options{Reference: otherProcessor{}})
//
// The suite checks output sizes (fit inside the box, never upscaled unless
// asked), cover crops and their anchor, EXIF orientation, which format each
// source becomes, transparency, quality, that no metadata is copied, the
// typed errors for broken and hostile files, and the Limits. Its geometry
// table (geometry.go) checks, for specs × sources (every fit, anchor,
// orientation and output format), that each thumbnail has the size and
// format thumb.PlanFor plans and shows the same region of the picture as
// a reference processor's (Options.Reference). Images are compared by
// PSNR (testphoto.PSNR) with floors that processors with other resampling
// filters pass. HEIF and AVIF sources and AVIF output are tested too
// (heif.go); RunOptions skips them for a processor that has neither. Cases
// that read the shared real-world corpus
// (shared/testdata/images beside the repository) are skipped, saying so,
// when it is absent.
package thumbtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // decoding thumbnails
	_ "image/png"
	"sync"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/gormthumb/gormthumb/internal/testphoto"
	"github.com/gormthumb/gormthumb/thumb"
	_ "golang.org/x/image/webp"
)

// Run runs the conformance suite against p.
func Run(t *testing.T, p thumb.Processor) { RunOptions(t, p, Options{}) }

// Options adapt the suite to a processor.
type Options struct {
	// Skip lists formats p does not read or write (thumb.HEIF,
	// thumb.AVIF): the cases that need them are skipped, saying so.
	Skip []thumb.Format
	// Reference is the processor the geometry table compares p's pixels
	// with: for every spec and source, p's thumbnail must show the same
	// region of the picture, turned the same way, as the reference's.
	// Nil means thumb.GoProcessor{} (which, run against itself, has only
	// its sizes and formats checked there).
	Reference thumb.Processor
}

// RunOptions runs the conformance suite against p, as o says.
func RunOptions(t *testing.T, p thumb.Processor, o Options) {
	t.Run("Sizes", func(t *testing.T) { testSizes(t, p) })
	t.Run("CoverAnchor", func(t *testing.T) { testCoverAnchor(t, p) })
	t.Run("Orientation", func(t *testing.T) { testOrientation(t, p) })
	t.Run("Formats", func(t *testing.T) { testFormats(t, p) })
	t.Run("Transparency", func(t *testing.T) { testTransparency(t, p) })
	t.Run("Quality", func(t *testing.T) { testQuality(t, p) })
	t.Run("NoMetadata", func(t *testing.T) { testNoMetadata(t, p) })
	t.Run("HostileFiles", func(t *testing.T) { testHostile(t, p) })
	t.Run("Limits", func(t *testing.T) { testLimits(t, p) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, p) })
	t.Run("Geometry", func(t *testing.T) { testGeometry(t, p, o) })
	t.Run("HEIFAndAVIF", func(t *testing.T) { testHEIF(t, p, o) })
}

// process runs p and checks that every thumbnail decodes to the format and
// size it claims.
func process(t *testing.T, p thumb.Processor, data []byte, lim thumb.Limits, specs ...thumb.Spec) ([]thumb.Thumbnail, []image.Image, error) {
	t.Helper()
	out, err := p.Process(context.Background(), bytes.NewReader(data), specs, lim)
	if err != nil {
		return nil, nil, err
	}
	if len(out) != len(specs) {
		t.Fatalf("%d thumbnails for %d specs", len(out), len(specs))
	}
	imgs := make([]image.Image, len(out))
	for i, th := range out {
		img, format, err := image.Decode(bytes.NewReader(th.Data))
		if err != nil {
			t.Fatalf("thumbnail %d (%s) does not decode: %v", i, th.Format, err)
		}
		if thumb.Format(format) != th.Format || img.Bounds().Dx() != th.Width || img.Bounds().Dy() != th.Height {
			t.Fatalf("thumbnail %d is %s %v, claims %s %dx%d", i, format, img.Bounds().Size(), th.Format, th.Width, th.Height)
		}
		imgs[i] = img
	}
	return out, imgs, nil
}

// mustProcess is process that fails the test on an error.
func mustProcess(t *testing.T, p thumb.Processor, data []byte, specs ...thumb.Spec) ([]thumb.Thumbnail, []image.Image) {
	t.Helper()
	out, imgs, err := process(t, p, data, thumb.Limits{}, specs...)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	return out, imgs
}

// psnr is testphoto.PSNR, failing the test on images of different sizes.
func psnr(t *testing.T, a, b image.Image) float64 {
	t.Helper()
	if a.Bounds().Size() != b.Bounds().Size() {
		t.Fatalf("psnr of %v and %v", a.Bounds().Size(), b.Bounds().Size())
	}
	return testphoto.PSNR(a, b)
}

// halves is a w×h PNG, red in its first half and blue in its second
// (left/right when wide, top/bottom when tall).
func halves(w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{255, 0, 0, 255}
			if (w >= h && x >= w/2) || (w < h && y >= h/2) {
				c = color.NRGBA{0, 0, 255, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return testphoto.EncodePNG(img)
}

func testSizes(t *testing.T, p thumb.Processor) {
	jpg := testphoto.JPEG(400, 300, 1, 90)
	small := testphoto.JPEG(50, 40, 2, 90)
	cases := []struct {
		name string
		data []byte
		spec thumb.Spec
		w, h int
	}{
		{"contain-wide", jpg, thumb.Spec{Width: 110, Height: 150}, 110, 83},
		{"contain-tall-box", jpg, thumb.Spec{Width: 300, Height: 100}, 133, 100},
		{"never-upscaled", small, thumb.Spec{Width: 110, Height: 150}, 50, 40},
		{"upscale", small, thumb.Spec{Width: 110, Height: 150, Upscale: true}, 110, 88},
		{"cover", jpg, thumb.Spec{Width: 100, Height: 100, Fit: thumb.FitCover}, 100, 100},
		{"cover-small-source", small, thumb.Spec{Width: 100, Height: 100, Fit: thumb.FitCover}, 40, 40},
		{"one-pixel", jpg, thumb.Spec{Width: 1, Height: 1}, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, _ := mustProcess(t, p, c.data, c.spec)
			if out[0].Width != c.w || out[0].Height != c.h {
				t.Fatalf("%dx%d, want %dx%d", out[0].Width, out[0].Height, c.w, c.h)
			}
		})
	}
	t.Run("one-per-spec-in-order", func(t *testing.T) {
		specs := []thumb.Spec{{Width: 40, Height: 40}, {Width: 200, Height: 200, Format: thumb.PNG}, {Width: 64, Height: 64, Fit: thumb.FitCover}}
		out, _ := mustProcess(t, p, jpg, specs...)
		want := [][2]int{{40, 30}, {200, 150}, {64, 64}}
		for i, th := range out {
			if th.Width != want[i][0] || th.Height != want[i][1] {
				t.Errorf("thumbnail %d is %dx%d, want %v", i, th.Width, th.Height, want[i])
			}
		}
		if out[1].Format != thumb.PNG {
			t.Errorf("thumbnail 1 is %s, want png", out[1].Format)
		}
	})
	t.Run("looks-like-the-source", func(t *testing.T) {
		src := testphoto.Photo(800, 600, 3, false)
		_, imgs := mustProcess(t, p, testphoto.EncodePNG(src), thumb.Spec{Width: 200, Height: 200})
		want := imaging.Resize(src, 200, 150, imaging.Lanczos)
		if q := psnr(t, imgs[0], want); q < 25 {
			t.Errorf("%.1f dB from a Lanczos resize of the source, want >= 25", q)
		}
	})
}

func testCoverAnchor(t *testing.T, p thumb.Processor) {
	wide, tall := halves(800, 400), halves(400, 800)
	red := func(img image.Image) bool {
		r, _, b, _ := img.At(img.Bounds().Min.X+img.Bounds().Dx()/2, img.Bounds().Min.Y+img.Bounds().Dy()/2).RGBA()
		return r > b
	}
	cases := []struct {
		src     []byte
		anchor  thumb.Anchor
		wantRed bool
	}{
		{wide, thumb.Left, true}, {wide, thumb.TopLeft, true}, {wide, thumb.BottomLeft, true},
		{wide, thumb.Right, false}, {wide, thumb.BottomRight, false},
		{tall, thumb.Top, true}, {tall, thumb.TopRight, true},
		{tall, thumb.Bottom, false}, {tall, thumb.BottomLeft, false},
	}
	for _, c := range cases {
		_, imgs := mustProcess(t, p, c.src, thumb.Spec{Width: 100, Height: 100, Fit: thumb.FitCover, Anchor: c.anchor, Format: thumb.PNG})
		if red(imgs[0]) != c.wantRed {
			t.Errorf("anchor %v on %v: centre red=%v, want %v", c.anchor, imgs[0].Bounds().Size(), !c.wantRed, c.wantRed)
		}
	}
}

func testOrientation(t *testing.T, p thumb.Processor) {
	t.Run("generated", func(t *testing.T) {
		// Stored 40x20, orientation 6 (rotate 90° clockwise to show): the
		// picture as shown is 20x40.
		src := testphoto.WithEXIF(testphoto.JPEG(40, 20, 4, 90), testphoto.EXIF{Orientation: 6})
		out, _ := mustProcess(t, p, src, thumb.Spec{Width: 100, Height: 100, Upscale: true})
		if out[0].Width != 50 || out[0].Height != 100 {
			t.Fatalf("%dx%d, want 50x100 (upright)", out[0].Width, out[0].Height)
		}
	})
	t.Run("corpus", func(t *testing.T) {
		spec := thumb.Spec{Width: 90, Height: 90, Format: thumb.PNG}
		for _, kind := range []string{"landscape", "portrait"} {
			_, want := mustProcess(t, p, testphoto.Corpus(t, "exif-"+kind+"_1.jpg"), spec)
			for o := 2; o <= 8; o++ {
				_, got := mustProcess(t, p, testphoto.Corpus(t, fmt.Sprintf("exif-%s_%d.jpg", kind, o)), spec)
				if got[0].Bounds().Size() != want[0].Bounds().Size() {
					t.Errorf("%s orientation %d: %v, want %v", kind, o, got[0].Bounds().Size(), want[0].Bounds().Size())
					continue
				}
				// A mirrored or turned result scores 9-14 dB.
				if q := psnr(t, got[0], want[0]); q < 25 {
					t.Errorf("%s orientation %d: %.1f dB from orientation 1, want >= 25 (not upright?)", kind, o, q)
				}
			}
		}
	})
}

func testFormats(t *testing.T, p thumb.Processor) {
	opaque := testphoto.Photo(120, 90, 5, false)
	cases := []struct {
		name string
		data func(t *testing.T) []byte
		spec thumb.Spec
		want thumb.Format
	}{
		{"jpeg-stays-jpeg", func(*testing.T) []byte { return testphoto.JPEG(120, 90, 5, 90) }, thumb.Spec{}, thumb.JPEG},
		{"png-stays-png", func(*testing.T) []byte { return testphoto.EncodePNG(opaque) }, thumb.Spec{}, thumb.PNG},
		{"gif-stays-gif", func(*testing.T) []byte { return testphoto.GIF(120, 90) }, thumb.Spec{}, thumb.GIF},
		{"opaque-webp-becomes-jpeg", func(t *testing.T) []byte { return testphoto.Corpus(t, "webp-lossy.webp") }, thumb.Spec{}, thumb.JPEG},
		{"webp-with-alpha-becomes-png", func(t *testing.T) []byte { return testphoto.Corpus(t, "webp-lossy-alpha.webp") }, thumb.Spec{}, thumb.PNG},
		{"tiff-becomes-jpeg", func(t *testing.T) []byte { return testphoto.Corpus(t, "tiff-lzw.tiff") }, thumb.Spec{}, thumb.JPEG},
		{"bmp-becomes-jpeg", func(t *testing.T) []byte { return testphoto.Corpus(t, "bmp-24bit.bmp") }, thumb.Spec{}, thumb.JPEG},
		{"asked-png", func(*testing.T) []byte { return testphoto.JPEG(120, 90, 5, 90) }, thumb.Spec{Format: thumb.PNG}, thumb.PNG},
		{"asked-jpeg", func(*testing.T) []byte { return testphoto.EncodePNG(opaque) }, thumb.Spec{Format: thumb.JPEG}, thumb.JPEG},
		{"asked-gif", func(*testing.T) []byte { return testphoto.JPEG(120, 90, 5, 90) }, thumb.Spec{Format: thumb.GIF}, thumb.GIF},
		{"asked-webp", func(*testing.T) []byte { return testphoto.JPEG(120, 90, 5, 90) }, thumb.Spec{Format: thumb.WebP}, thumb.WebP},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.spec.Width, c.spec.Height = 60, 60
			out, _ := mustProcess(t, p, c.data(t), c.spec)
			if out[0].Format != c.want {
				t.Fatalf("%s, want %s", out[0].Format, c.want)
			}
		})
	}
	t.Run("format-from-bytes-not-name", func(t *testing.T) {
		// Processors see bytes only: a PNG is a PNG whatever it was called.
		out, _ := mustProcess(t, p, testphoto.EncodePNG(opaque), thumb.Spec{Width: 60, Height: 60})
		if out[0].Format != thumb.PNG {
			t.Fatalf("%s, want png", out[0].Format)
		}
	})
}

func testTransparency(t *testing.T, p thumb.Processor) {
	img := testphoto.AlphaRamp(testphoto.Photo(200, 100, 6, false)) // alpha 0 at the left edge
	src := testphoto.EncodePNG(img)
	t.Run("png-keeps-alpha", func(t *testing.T) {
		_, imgs := mustProcess(t, p, src, thumb.Spec{Width: 100, Height: 100})
		if a := testphoto.AlphaAt(imgs[0], 0, 25); a > 16 {
			t.Errorf("left edge alpha %d, want about 0", a)
		}
		if a := testphoto.AlphaAt(imgs[0], 99, 25); a < 230 {
			t.Errorf("right edge alpha %d, want about 255", a)
		}
	})
	t.Run("jpeg-flattens-onto-white", func(t *testing.T) {
		_, imgs := mustProcess(t, p, src, thumb.Spec{Width: 100, Height: 100, Format: thumb.JPEG})
		if got := testphoto.RGBAt(imgs[0], 0, 25); !testphoto.Near(got, [3]int{255, 255, 255}, 16) {
			t.Errorf("transparent edge came out %v, want white", got)
		}
	})
	t.Run("jpeg-flattens-onto-background", func(t *testing.T) {
		_, imgs := mustProcess(t, p, src, thumb.Spec{Width: 100, Height: 100, Format: thumb.JPEG, Background: color.NRGBA{0, 200, 0, 255}})
		if got := testphoto.RGBAt(imgs[0], 0, 25); !testphoto.Near(got, [3]int{0, 200, 0}, 16) {
			t.Errorf("transparent edge came out %v, want the background 0,200,0", got)
		}
	})
}

func testQuality(t *testing.T, p thumb.Processor) {
	src := testphoto.JPEG(800, 600, 7, 95)
	for _, f := range []thumb.Format{thumb.JPEG, thumb.WebP} {
		lo, _ := mustProcess(t, p, src, thumb.Spec{Width: 300, Height: 300, Format: f, Quality: 20})
		hi, _ := mustProcess(t, p, src, thumb.Spec{Width: 300, Height: 300, Format: f, Quality: 95})
		if len(lo[0].Data) >= len(hi[0].Data) {
			t.Errorf("%s: quality 20 is %d bytes, quality 95 %d: quality not honoured", f, len(lo[0].Data), len(hi[0].Data))
		}
	}
}

func testNoMetadata(t *testing.T, p thumb.Processor) {
	secrets := []string{"Exif", "SecretCam", "SN-4815162342", "meet me at noon"}
	src := testphoto.WithEXIF(testphoto.JPEG(300, 200, 8, 90), testphoto.EXIF{Make: "SecretCam", Serial: "SN-4815162342", GPS: true, Comment: "meet me at noon"})
	out, _ := mustProcess(t, p, src, thumb.Spec{Width: 100, Height: 100}, thumb.Spec{Width: 100, Height: 100, Format: thumb.PNG}, thumb.Spec{Width: 100, Height: 100, Format: thumb.WebP})
	for _, th := range out {
		for _, s := range secrets {
			if bytes.Contains(th.Data, []byte(s)) {
				t.Errorf("%s thumbnail contains %q", th.Format, s)
			}
		}
	}
}

// wantSentinel fails unless err wraps sentinel and no other of the three.
func wantSentinel(t *testing.T, what string, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Errorf("%s: got %v, want an error wrapping %v", what, err, sentinel)
		return
	}
	for _, other := range []error{thumb.ErrNotImage, thumb.ErrUnsupportedFormat, thumb.ErrTooLarge} {
		if other != sentinel && errors.Is(err, other) {
			t.Errorf("%s: %v wraps %v too", what, err, other)
		}
	}
}

func testHostile(t *testing.T, p thumb.Processor) {
	spec := thumb.Spec{Width: 50, Height: 50}
	jpg := testphoto.JPEG(400, 300, 9, 90)
	generated := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, thumb.ErrNotImage},
		{"text", []byte("hello, this is not an image at all"), thumb.ErrNotImage},
		{"html", []byte("<!DOCTYPE html><html><body>hi</body></html>"), thumb.ErrNotImage},
		{"truncated-jpeg", jpg[:len(jpg)/2], thumb.ErrNotImage},
		{"jpeg-header-only", jpg[:20], thumb.ErrNotImage},
		{"ico", append([]byte{0, 0, 1, 0, 1, 0, 16, 16}, make([]byte, 64)...), thumb.ErrUnsupportedFormat},
		{"psd", append([]byte("8BPS\x00\x01"), make([]byte, 64)...), thumb.ErrUnsupportedFormat},
	}
	for _, c := range generated {
		_, _, err := process(t, p, c.data, thumb.Limits{}, spec)
		wantSentinel(t, c.name, err, c.want)
	}
	corpus := []struct {
		name string
		want error
	}{
		{"png-bomb-32000x32000.png", thumb.ErrTooLarge},
		{"gif-bomb-huge-frame.gif", thumb.ErrTooLarge},
		{"jpeg-truncated-progressive.jpg", thumb.ErrNotImage},
		{"png-truncated.png", thumb.ErrNotImage},
		{"png-bad-idat-crc.png", thumb.ErrNotImage},
		{"png-bad-signature.png", thumb.ErrNotImage},
		{"png-garbage-after-signature.png", thumb.ErrNotImage},
		{"png-missing-idat.png", thumb.ErrNotImage},
		{"not-an-image-ole-doc.jpg", thumb.ErrNotImage},
		{"not-an-image-text.png", thumb.ErrNotImage},
	}
	for _, c := range corpus {
		_, _, err := process(t, p, testphoto.Corpus(t, c.name), thumb.Limits{}, spec)
		wantSentinel(t, c.name, err, c.want)
	}
}

func testLimits(t *testing.T, p thumb.Processor) {
	spec := thumb.Spec{Width: 50, Height: 50}
	jpg := testphoto.JPEG(400, 300, 10, 90)
	png := testphoto.EncodePNG(testphoto.Photo(400, 300, 10, false))
	cases := []struct {
		name string
		data []byte
		lim  thumb.Limits
	}{
		{"jpeg-pixels", jpg, thumb.Limits{MaxPixels: 400*300 - 1}},
		{"png-pixels", png, thumb.Limits{MaxPixels: 400*300 - 1}},
		{"bytes", jpg, thumb.Limits{MaxBytes: int64(len(jpg) - 1)}},
		{"gif-frames", testphoto.AnimatedGIF(40, 40, 12), thumb.Limits{MaxFrames: 10}},
	}
	for _, c := range cases {
		_, _, err := process(t, p, c.data, c.lim, spec)
		wantSentinel(t, c.name, err, thumb.ErrTooLarge)
	}
	// At the limits exactly, the same sources are fine.
	for _, c := range []struct {
		name string
		data []byte
		lim  thumb.Limits
	}{
		{"jpeg-pixels", jpg, thumb.Limits{MaxPixels: 400 * 300}},
		{"bytes", jpg, thumb.Limits{MaxBytes: int64(len(jpg))}},
		{"gif-frames", testphoto.AnimatedGIF(40, 40, 10), thumb.Limits{MaxFrames: 10}},
	} {
		if _, _, err := process(t, p, c.data, c.lim, spec); err != nil {
			t.Errorf("%s at the limit: %v", c.name, err)
		}
	}
}

func testConcurrent(t *testing.T, p thumb.Processor) {
	src := testphoto.JPEG(1200, 900, 11, 90)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			out, err := p.Process(context.Background(), bytes.NewReader(src), []thumb.Spec{{Width: 110, Height: 150}}, thumb.Limits{})
			if err == nil && (len(out) != 1 || out[0].Width != 110 || out[0].Height != 83) {
				err = fmt.Errorf("got %+v", out)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
