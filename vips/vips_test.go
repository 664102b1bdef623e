package vips

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"path/filepath"
	"testing"

	"github.com/gormthumb/gormthumb"
	"github.com/gormthumb/gormthumb/internal/testphoto"
	"github.com/gormthumb/gormthumb/thumb"
	"github.com/gormthumb/gormthumb/thumb/thumbtest"
	"gocloud.dev/blob/memblob"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

func process(t testing.TB, p thumb.Processor, data []byte, lim thumb.Limits, specs ...thumb.Spec) ([]thumb.Thumbnail, error) {
	t.Helper()
	return p.Process(context.Background(), bytes.NewReader(data), specs, lim)
}

// decodeThumb decodes a thumbnail and checks its format and recorded size.
func decodeThumb(t *testing.T, th thumb.Thumbnail, format string) image.Image {
	t.Helper()
	img, got, err := image.Decode(bytes.NewReader(th.Data))
	if err != nil {
		t.Fatalf("thumbnail does not decode: %v", err)
	}
	if got != format || string(th.Format) != format {
		t.Fatalf("thumbnail is %s (reported %s), want %s", got, th.Format, format)
	}
	if s := img.Bounds().Size(); s != image.Pt(th.Width, th.Height) {
		t.Fatalf("thumbnail is %v, reported %dx%d", s, th.Width, th.Height)
	}
	return img
}

// TestSameAsGoProcessor: every spec gives the Go processor's size and
// format, and pixels close to its own (a different resampler).
func TestSameAsGoProcessor(t *testing.T) {
	jpg := testphoto.JPEG(1600, 1200, 12, 90)
	pngA := testphoto.EncodePNG(testphoto.AlphaRamp(testphoto.Photo(900, 1300, 12, false)))
	cases := []struct {
		name string
		data []byte
		spec thumb.Spec
		fmt  string
	}{
		{"jpeg-contain", jpg, thumb.Spec{Width: 110, Height: 150}, "jpeg"},
		{"jpeg-cover", jpg, thumb.Spec{Width: 200, Height: 200, Fit: thumb.FitCover}, "jpeg"},
		{"jpeg-to-png", jpg, thumb.Spec{Width: 300, Height: 300, Format: thumb.PNG}, "png"},
		{"jpeg-small-box-no-upscale", testphoto.JPEG(80, 60, 12, 90), thumb.Spec{Width: 110, Height: 150}, "jpeg"},
		{"jpeg-upscale", testphoto.JPEG(80, 60, 12, 90), thumb.Spec{Width: 160, Height: 160, Upscale: true}, "jpeg"},
		{"jpeg-cover-small", testphoto.JPEG(80, 60, 12, 90), thumb.Spec{Width: 100, Height: 100, Fit: thumb.FitCover}, "jpeg"},
		{"png-alpha", pngA, thumb.Spec{Width: 110, Height: 150}, "png"},
		{"png-alpha-to-jpeg", pngA, thumb.Spec{Width: 110, Height: 150, Format: thumb.JPEG, Background: color.NRGBA{0, 0, 255, 255}}, "jpeg"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := process(t, Processor{}, c.data, thumb.Limits{}, c.spec)
			if err != nil {
				t.Fatal(err)
			}
			want, err := process(t, thumb.GoProcessor{}, c.data, thumb.Limits{}, c.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Width != want[0].Width || got[0].Height != want[0].Height {
				t.Fatalf("vips %dx%d, Go %dx%d", got[0].Width, got[0].Height, want[0].Width, want[0].Height)
			}
			g, w := decodeThumb(t, got[0], c.fmt), decodeThumb(t, want[0], c.fmt)
			if p := testphoto.PSNR(g, w); p < 25 { // two JPEG encoders on a photo with sensor noise: 26-40 dB; wrong colours score under 15
				t.Errorf("PSNR %.1f dB against the Go processor's thumbnail, want >= 25", p)
			}
			if c.fmt == "png" && c.name == "png-alpha" {
				if _, _, _, a := g.At(0, g.Bounds().Dy()/2).RGBA(); a>>8 > 100 {
					t.Errorf("left edge alpha %d, want the source's translucency kept", a>>8)
				}
			}
		})
	}
}

func corpus(t *testing.T, name string) []byte {
	t.Helper()
	return testphoto.Corpus(t, name)
}

// TestCorpus: the real-world images libvips reads come out at the Go
// processor's size and format; GIF and BMP go through the fallback.
func TestCorpus(t *testing.T) {
	for _, name := range []string{
		"jpeg-cmyk-ycck-adobe.jpg", "jpeg-gray.jpg", "jpeg-progressive.jpg", "jpeg-icc-srgb.jpg",
		"png-rgba-16bit.png", "png-gray-alpha.png", "png-palette-trns.png", "png-interlaced-rgba.png",
		"webp-lossless.webp", "webp-lossy-alpha.webp", "tiff-lzw.tiff", "gif-transparent.gif", "bmp-24bit.bmp",
	} {
		t.Run(name, func(t *testing.T) {
			data := corpus(t, name)
			spec := thumb.Spec{Width: 64, Height: 64}
			got, err := process(t, Processor{}, data, thumb.Limits{}, spec)
			if err != nil {
				t.Fatal(err)
			}
			ref, minPSNR := data, 22.0
			if name == "jpeg-cmyk-ycck-adobe.jpg" {
				// The same picture in RGB. libvips converts CMYK through a
				// default CMYK profile, which renders its black as dark
				// grey (about 30,32,40): same picture, lifted black point.
				ref, minPSNR = corpus(t, "jpeg-icc-srgb.jpg"), 15
			}
			want, err := process(t, thumb.GoProcessor{}, ref, thumb.Limits{}, spec)
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Format != want[0].Format || got[0].Width != want[0].Width || got[0].Height != want[0].Height {
				t.Fatalf("vips %s %dx%d, Go %s %dx%d", got[0].Format, got[0].Width, got[0].Height, want[0].Format, want[0].Width, want[0].Height)
			}
			g := decodeThumb(t, got[0], string(got[0].Format))
			w := decodeThumb(t, want[0], string(want[0].Format))
			p := testphoto.PSNR(g, w)
			t.Logf("PSNR %.1f dB against the Go processor's thumbnail", p)
			if p < minPSNR {
				t.Errorf("PSNR %.1f dB against the Go processor's thumbnail, want >= %.0f (wrong colours?)", p, minPSNR)
			}
		})
	}
}

type product struct {
	ID         uint
	Cover      gormthumb.ImageField
	CoverThumb gormthumb.ImageField `thumb:"110x150,source=Cover"`
}

// TestPlugin: the processor plugged into gormthumb makes a row's thumbnail
// and a bad source fails the save with the typed error.
func TestPlugin(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	db, err := gorm.Open(sqlite.Open(filepath.Join(t.TempDir(), "t.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Use(gormthumb.New(bucket, gormthumb.WithProcessor(Processor{}))); err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&product{}); err != nil {
		t.Fatal(err)
	}
	if err := bucket.WriteAll(ctx, "src/a.jpg", testphoto.JPEG(1600, 1200, 12, 90), nil); err != nil {
		t.Fatal(err)
	}
	p := product{Cover: gormthumb.ImageField{Key: "src/a.jpg"}}
	if err := db.Create(&p).Error; err != nil {
		t.Fatal(err)
	}
	data, err := bucket.ReadAll(ctx, p.CoverThumb.Key)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil || img.Bounds().Size() != image.Pt(110, 83) {
		t.Fatalf("thumbnail %v, %v; want a 110x83 JPEG", img.Bounds(), err)
	}
	if err := bucket.WriteAll(ctx, "src/b.jpg", []byte("<html>not an image</html>"), nil); err != nil {
		t.Fatal(err)
	}
	bad := product{Cover: gormthumb.ImageField{Key: "src/b.jpg"}}
	if err := db.Create(&bad).Error; !errors.Is(err, gormthumb.ErrNotImage) {
		t.Fatalf("error %v, want ErrNotImage", err)
	}
	var n int64
	db.Model(&product{}).Count(&n)
	if n != 1 {
		t.Fatalf("%d rows, want 1 (the failed create rolled back)", n)
	}
}

// TestConformance runs the thumb.Processor conformance suite on libvips,
// its geometry table against the Go processor's thumbnails.
func TestConformance(t *testing.T) {
	thumbtest.RunOptions(t, Processor{}, thumbtest.Options{Reference: thumb.GoProcessor{}})
}
