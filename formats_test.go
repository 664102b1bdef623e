package gormthumb

import (
	"bytes"
	"image"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// Phone is an iPhone-style upload: the original is HEIC or AVIF; one
// thumbnail takes the default output format, one asks for AVIF and one
// for PNG, which is lossless and so compared with the truth.
type Phone struct {
	ID    uint
	Photo ImageField
	Small ImageField `thumb:"200x200,source=Photo"`
	Avif  ImageField `thumb:"200x200,source=Photo,format=avif,quality=60"`
	Exact ImageField `thumb:"200x200,source=Photo,format=png"`
}

// HEIC and AVIF originals go through the plugin like any other: Upload
// records their size as shown; the PNG thumbnail matches the reference
// picture (≥ 30 dB); the default thumbnail is a JPEG (a PNG when the
// source has alpha) and format=avif writes an AVIF, each as close to the
// truth as the same thumbnail made from the reference PNG itself.
func TestHEICAndAVIFThroughPlugin(t *testing.T) {
	cases := []struct {
		name, ref string
		format    string // of the default thumbnail
	}{
		{"heic-photo.heic", "reference/water.png", "jpeg"},
		{"heic-alpha.heic", "reference/alpha.png", "png"},
		{"avif-photo.avif", "reference/water.png", "jpeg"},
		{"avif-alpha.avif", "reference/alpha.png", "png"},
	}
	eachBackend(t, func(t *testing.T, e *env) {
		if underRace && e.name != "sqlite+mem" {
			// The WebAssembly codecs run some eight times slower under
			// -race; .ci/run also runs this test in full without it.
			t.Skip("under -race only sqlite+mem runs this test, with one source")
		}
		e.migrate(&Phone{})
		for _, c := range cases {
			if underRace && c.name != "heic-photo.heic" {
				continue
			}
			ref, _, err := image.Decode(bytes.NewReader(corpusBytes(t, c.ref)))
			if err != nil {
				t.Fatal(err)
			}
			orig, err := e.plugin.Upload(e.ctx, &Phone{}, "Photo", c.name, bytes.NewReader(corpusBytes(t, c.name)))
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			rb := ref.Bounds()
			if w, h, ok := orig.Size(); !ok || w != rb.Dx() || h != rb.Dy() {
				t.Fatalf("%s: Size() %d, %d, %v; want %v", c.name, w, h, ok, rb.Size())
			}
			p := Phone{Photo: orig}
			truth := Phone{Photo: e.put("truth/"+c.ref, corpusBytes(t, c.ref))}
			for _, row := range []*Phone{&p, &truth} {
				if err := e.db.Create(row).Error; err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
			}
			w, h, _ := p.Exact.Size()
			if w != 200 && h != 200 {
				t.Fatalf("%s: thumbnail %dx%d does not fill the box", c.name, w, h)
			}
			want := imaging.Resize(ref, w, h, imaging.Lanczos)
			if db := testphoto.PSNR(e.wantThumb(p.Exact.Key, w, h, "png"), want); db < 30 {
				t.Errorf("%s → %s: %.1f dB from the reference", c.name, p.Exact.Key, db)
			}
			// The JPEG encoder's own loss at the default quality is the bar
			// for the default thumbnail of an opaque source; the AVIF made
			// from the reference PNG is the bar for format=avif.
			small, smallBar := testphoto.PSNR(e.wantThumb(p.Small.Key, w, h, c.format), want), 30.0
			if c.format == "jpeg" {
				smallBar = testphoto.PSNR(testphoto.JPEGRoundTrip(want, DefaultQuality), want) - 1
			}
			if small < smallBar {
				t.Errorf("%s → %s: %.1f dB from the reference, want ≥ %.1f", c.name, p.Small.Key, small, smallBar)
			}
			avif := testphoto.PSNR(e.wantThumb(p.Avif.Key, w, h, "avif"), want)
			if avifBar := testphoto.PSNR(e.wantThumb(truth.Avif.Key, w, h, "avif"), want) - 1; avif < avifBar {
				t.Errorf("%s → %s: %.1f dB from the reference, want ≥ %.1f", c.name, p.Avif.Key, avif, avifBar)
			}
		}
	})
}
