package thumb

import (
	"bytes"
	"testing"
)

// WebP thumbnails are smaller than JPEG ones of the same visual quality:
// for each photo, the JPEG at the default quality sets a PSNR (against the
// lossless thumbnail), and the WebP at the lowest quality that reaches it is
// compared in bytes. The ratios are logged for the record.
func TestWebPSmallerThanJPEGAtEqualPSNR(t *testing.T) {
	if underRace {
		t.Skip("a size measurement with no concurrency: skipped under -race (about 10 s); run without -race")
	}
	var jpegTotal, webpTotal int
	for _, name := range []string{"exif-landscape_1.jpg", "exif-portrait_1.jpg", "jpeg-progressive.jpg", "jpeg-icc-srgb.jpg"} {
		spec := Spec{Width: 400, Height: 400}
		src := corpusBytes(t, name)
		lossless := spec
		lossless.Format = PNG
		ths, imgs := thumbs(t, src, lossless, spec)
		ref, jpg := imgs[0], imgs[1]
		target := psnr(t, jpg, ref)
		small := decodeImage(t, ths[0].Data)
		lo, hi := 1, 100 // find the lowest WebP quality reaching target
		var best []byte
		for lo <= hi {
			q := (lo + hi) / 2
			var buf bytes.Buffer
			if err := encodeWebP(&buf, small, q); err != nil {
				t.Fatal(err)
			}
			if psnr(t, decodeImage(t, buf.Bytes()), ref) >= target {
				best, hi = buf.Bytes(), q-1
			} else {
				lo = q + 1
			}
		}
		if best == nil {
			t.Fatalf("%s: no WebP quality reaches the JPEG's %.1f dB", name, target)
		}
		t.Logf("%s: JPEG q%d %d bytes at %.1f dB; WebP q%d %d bytes (%.2f of the JPEG)",
			name, DefaultQuality, len(ths[1].Data), target, lo, len(best), float64(len(best))/float64(len(ths[1].Data)))
		jpegTotal += len(ths[1].Data)
		webpTotal += len(best)
	}
	t.Logf("total: WebP %d bytes / JPEG %d bytes = %.2f", webpTotal, jpegTotal, float64(webpTotal)/float64(jpegTotal))
	if webpTotal >= jpegTotal {
		t.Fatalf("WebP %d bytes is not smaller than JPEG %d bytes at equal PSNR", webpTotal, jpegTotal)
	}
}
