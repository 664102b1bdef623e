package thumb

import (
	"bytes"
	"image"
	"testing"
	"time"

	"github.com/gen2brain/avif"
)

// format=avif writes an AVIF that gen2brain/avif decodes to the size the
// Thumbnail claims, close to the lossless thumbnail, smaller at lower
// quality, with its alpha.
func TestAVIFOutput(t *testing.T) {
	if f, err := ParseFormat("avif"); err != nil || f != AVIF {
		t.Fatalf("ParseFormat(avif) = %q, %v", f, err)
	}
	src := jpegBytes(t, 800, 600)
	var sizes []int
	for _, q := range []int{20, 0, 95} {
		ths, imgs := thumbs(t, src, Spec{Width: 300, Height: 300, Format: AVIF, Quality: q}, Spec{Width: 300, Height: 300, Format: PNG})
		th := ths[0]
		if th.Format != AVIF || th.Width != 300 || th.Height != 225 {
			t.Fatalf("quality %d: %s %dx%d", q, th.Format, th.Width, th.Height)
		}
		img, err := avif.Decode(bytes.NewReader(th.Data))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds() != image.Rect(0, 0, 300, 225) {
			t.Fatalf("decodes to %v", img.Bounds())
		}
		if p := psnr(t, img, imgs[1]); q != 20 && p < 30 {
			t.Errorf("quality %d: %.1f dB from the lossless thumbnail", q, p)
		}
		sizes = append(sizes, len(th.Data))
	}
	if !(sizes[0] < sizes[1] && sizes[1] < sizes[2]) {
		t.Errorf("sizes at quality 20, default (%d) and 95: %v, want increasing", DefaultQuality, sizes)
	}
	// Alpha is kept: an AVIF of an AVIF with transparency.
	th, _ := thumb(t, corpusBytes(t, "avif-alpha.avif"), Spec{Width: 100, Height: 100, Format: AVIF})
	img, err := avif.Decode(bytes.NewReader(th.Data))
	if err != nil {
		t.Fatal(err)
	}
	if isOpaque(img) || alphaAt(img, 0, 0) > 16 {
		t.Errorf("AVIF output lost the alpha (corner %d)", alphaAt(img, 0, 0))
	}
}

// AVIF thumbnails against JPEG and WebP ones of the same visual quality,
// as TestWebPSmallerThanJPEGAtEqualPSNR measures them: for each photo, the
// JPEG at the default quality sets a PSNR (against the lossless
// thumbnail), and the AVIF and WebP at the lowest quality that reaches it
// are compared in bytes. The ratios (and the time an AVIF thumbnail takes)
// are logged for the record.
func TestAVIFSmallerThanJPEGAtEqualPSNR(t *testing.T) {
	if underRace {
		t.Skip("a size measurement with no concurrency: skipped under -race; run without -race")
	}
	if testing.Short() {
		t.Skip("a measurement of a few seconds: skipped with -short")
	}
	var jpegTotal, avifTotal, webpTotal int
	var avifTime time.Duration
	var avifCount int
	for _, name := range []string{"exif-landscape_1.jpg", "exif-portrait_1.jpg", "jpeg-progressive.jpg", "jpeg-icc-srgb.jpg"} {
		spec := Spec{Width: 400, Height: 400}
		lossless := spec
		lossless.Format = PNG
		ths, imgs := thumbs(t, corpusBytes(t, name), lossless, spec)
		ref, jpg := imgs[0], imgs[1]
		target := psnr(t, jpg, ref)
		small := decodeImage(t, ths[0].Data)
		lowest := func(encode func(*bytes.Buffer, int) error, decode func([]byte) image.Image) (int, []byte) {
			lo, hi := 1, 100
			var best []byte
			for lo <= hi {
				q := (lo + hi) / 2
				var buf bytes.Buffer
				if err := encode(&buf, q); err != nil {
					t.Fatal(err)
				}
				if psnr(t, decode(buf.Bytes()), ref) >= target {
					best, hi = buf.Bytes(), q-1
				} else {
					lo = q + 1
				}
			}
			if best == nil {
				t.Fatalf("%s: no quality reaches the JPEG's %.1f dB", name, target)
			}
			return lo, best
		}
		aq, a := lowest(func(b *bytes.Buffer, q int) error {
			start := time.Now()
			defer func() { avifTime += time.Since(start); avifCount++ }()
			return encodeAVIF(b, small, q)
		}, func(b []byte) image.Image {
			img, err := avif.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			return img
		})
		wq, w := lowest(func(b *bytes.Buffer, q int) error { return encodeWebP(b, small, q) }, func(b []byte) image.Image { return decodeImage(t, b) })
		j := len(ths[1].Data)
		t.Logf("%s: JPEG q%d %d bytes at %.1f dB; AVIF q%d %d bytes (%.2f of the JPEG); WebP q%d %d bytes (%.2f)",
			name, DefaultQuality, j, target, aq, len(a), float64(len(a))/float64(j), wq, len(w), float64(len(w))/float64(j))
		jpegTotal += j
		avifTotal += len(a)
		webpTotal += len(w)
	}
	t.Logf("total: AVIF %d bytes / JPEG %d bytes = %.2f; WebP %d = %.2f; an AVIF encode (speed %d) took %v on average",
		avifTotal, jpegTotal, float64(avifTotal)/float64(jpegTotal), webpTotal, float64(webpTotal)/float64(jpegTotal), avifSpeed, avifTime/time.Duration(avifCount))
	if avifTotal >= jpegTotal {
		t.Fatalf("AVIF %d bytes is not smaller than JPEG %d bytes at equal PSNR", avifTotal, jpegTotal)
	}
}
