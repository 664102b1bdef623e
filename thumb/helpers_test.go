package thumb

import (
	"bytes"
	"context"
	"errors"
	"image"
	"io"
	"testing"

	xdraw "golang.org/x/image/draw"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// Test images: internal/testphoto's deterministic, photo-like images, and
// the shared real-world corpus.

func photo(w, h int, seed int) *image.NRGBA { return testphoto.Photo(w, h, uint64(seed), false) }

func jpegBytes(t testing.TB, w, h int) []byte { return testphoto.JPEG(w, h, 1, 90) }

// pngBytes is testphoto.PhotoPNG: with alpha, its alpha ramps from 0 at
// the left edge to 255 at the right.
func pngBytes(t testing.TB, w, h int, alpha bool) []byte { return testphoto.PhotoPNG(w, h, alpha) }

func gifBytes(t testing.TB, w, h int) []byte { return testphoto.GIF(w, h) }

func corpusBytes(t testing.TB, name string) []byte { return testphoto.Corpus(t, name) }

// webpBytes is a lossy WebP of a w×h photo whose alpha ramps from 0 at
// the top to 255 at the bottom.
func webpBytes(t testing.TB, w, h int) []byte {
	img := photo(w, h, 5)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Pix[img.PixOffset(x, y)+3] = uint8(255 * y / h)
		}
	}
	return testphoto.EncodeWebP(img, 90)
}

// thumb runs the processor on data with one spec and decodes the result,
// checking that it claims the size and format it has.
func thumb(t testing.TB, data []byte, spec Spec) (Thumbnail, image.Image) {
	t.Helper()
	ths, imgs := thumbs(t, data, spec)
	return ths[0], imgs[0]
}

// thumbs is thumb for several specs (one decode).
func thumbs(t testing.TB, data []byte, specs ...Spec) ([]Thumbnail, []image.Image) {
	t.Helper()
	out, err := GoProcessor{}.Process(context.Background(), bytes.NewReader(data), specs, Limits{})
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	var imgs []image.Image
	for _, th := range out {
		img, format, err := image.Decode(bytes.NewReader(th.Data))
		if err != nil {
			t.Fatalf("thumbnail does not decode: %v", err)
		}
		if Format(format) != th.Format || img.Bounds().Dx() != th.Width || img.Bounds().Dy() != th.Height {
			t.Fatalf("thumbnail is %s %v, claims %s %dx%d", format, img.Bounds(), th.Format, th.Width, th.Height)
		}
		imgs = append(imgs, img)
	}
	return out, imgs
}

// decodeFile decodes a corpus file with the standard decoders (WebP with
// decodeImage's range fix).
func decodeFile(t testing.TB, name string) image.Image {
	t.Helper()
	return decodeImage(t, corpusBytes(t, name))
}

// reference scales img to w×h with x/image/draw's Catmull-Rom filter: an
// independent resize to compare ours with.
func reference(img image.Image, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(dst, dst.Rect, img, img.Bounds(), xdraw.Src, nil)
	return dst
}

// psnr is testphoto.PSNR, failing the test on images of different sizes.
func psnr(t testing.TB, a, b image.Image) float64 {
	t.Helper()
	if a.Bounds().Size() != b.Bounds().Size() {
		t.Fatalf("psnr of %v and %v", a.Bounds(), b.Bounds())
	}
	return testphoto.PSNR(a, b)
}

// isTyped reports whether err wraps one of the sentinels.
func isTyped(err error) bool {
	return errors.Is(err, ErrNotImage) || errors.Is(err, ErrUnsupportedFormat) || errors.Is(err, ErrTooLarge)
}

// toRGBA is testphoto.ToRGBA.
var toRGBA = testphoto.ToRGBA

var (
	alphaAt = testphoto.AlphaAt
	rgbAt   = testphoto.RGBAt
	near    = testphoto.Near
)

// decodeImage decodes b with the standard decoders, except that WebP goes
// through decodeWebP: x/image/webp's own colours are off (see webp.go).
func decodeImage(t testing.TB, b []byte) image.Image {
	t.Helper()
	decode := func(r io.Reader) (image.Image, error) { img, _, err := image.Decode(r); return img, err }
	if match("RIFF????WEBPVP8", b) {
		decode = decodeWebP
	}
	img, err := decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}
