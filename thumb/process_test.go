package thumb

import "testing"

// Colour models and layouts decode to the right colours, and alpha stays:
// each corpus file's thumbnail (written as PNG, lossless) is compared with
// an independent reference, Go's standard decoders and x/image/draw's
// Catmull-Rom scaler, by PSNR (testphoto.PSNR, as every threshold here).
// Measured 31.7-54.6 dB; a wrong colour conversion or lost alpha drops far
// below 28.
func TestColoursAndAlpha(t *testing.T) {
	cases := []struct {
		name        string
		transparent bool // the source has fully transparent areas
	}{
		{"jpeg-cmyk-ycck-adobe.jpg", false}, {"jpeg-gray.jpg", false}, {"jpeg-progressive.jpg", false},
		{"jpeg-sof1-16bit-qtables.jpg", false}, {"jpeg-icc-srgb.jpg", false},
		{"png-rgba-16bit.png", true}, {"png-palette-trns.png", true}, {"png-palette-interlaced.png", true},
		{"png-interlaced-rgba.png", true}, {"png-gray-alpha.png", true}, {"png-gray-alpha-16bit.png", true},
		{"png-interlaced-gray-16bit.png", false},
		{"webp-lossless.webp", false}, {"webp-lossy.webp", false}, {"webp-lossy-alpha.webp", true},
		{"tiff-lzw.tiff", false}, {"tiff-deflate.tiff", false}, {"bmp-24bit.bmp", false}, {"bmp-8bit-palette.bmp", false},
		{"gif-transparent.gif", true},
	}
	for _, c := range cases {
		th, got := thumb(t, corpusBytes(t, c.name), Spec{Width: 24, Height: 24, Format: PNG})
		if p := psnr(t, got, reference(decodeFile(t, c.name), th.Width, th.Height)); p < 28 {
			t.Errorf("%s: %.1f dB from the reference resize, want >= 28", c.name, p)
		}
		holes := 0
		for y := 0; y < th.Height; y++ {
			for x := 0; x < th.Width; x++ {
				if alphaAt(got, x, y) < 8 {
					holes++
				}
			}
		}
		if c.transparent != (holes > 0) {
			t.Errorf("%s: %d transparent pixels in the thumbnail", c.name, holes)
		}
	}
	// The CMYK (YCCK) sample and its sRGB twin give the same thumbnail.
	_, cmyk := thumb(t, corpusBytes(t, "jpeg-cmyk-ycck-adobe.jpg"), Spec{Width: 50, Height: 50, Format: PNG})
	_, rgb := thumb(t, corpusBytes(t, "jpeg-icc-srgb.jpg"), Spec{Width: 50, Height: 50, Format: PNG})
	if p := psnr(t, cmyk, rgb); p < 30 {
		t.Errorf("CMYK thumbnail is %.1f dB from the sRGB one, want >= 30 (measured 33.9)", p)
	}
	// WebP colours match the same pictures stored losslessly in other
	// formats (35.6 dB for the lossy one; x/image/webp alone: 25.5 dB).
	for _, twin := range [][2]string{{"webp-lossy.webp", "bmp-24bit.bmp"}, {"webp-lossless.webp", "tiff-lzw.tiff"}} {
		_, w := thumb(t, corpusBytes(t, twin[0]), Spec{Width: 75, Height: 75, Format: PNG})
		_, o := thumb(t, corpusBytes(t, twin[1]), Spec{Width: 75, Height: 75, Format: PNG})
		if p := psnr(t, w, o); p < 32 {
			t.Errorf("%s is %.1f dB from %s, want >= 32", twin[0], p, twin[1])
		}
	}
	// A grayscale JPEG stays gray.
	_, gray := thumb(t, corpusBytes(t, "jpeg-gray.jpg"), Spec{Width: 32, Height: 32})
	for y := 0; y < 32; y += 3 {
		for x := 0; x < 32; x += 3 {
			if c := rgbAt(gray, x, y); !near(c, [3]int{c[0], c[0], c[0]}, 3) {
				t.Fatalf("gray JPEG thumbnail has colour %v at %d,%d", c, x, y)
			}
		}
	}
	// Sources with transparency keep it in formats that have it.
	for _, f := range []Format{FormatSource, PNG, GIF, WebP} {
		th, img := thumb(t, corpusBytes(t, "png-palette-trns.png"), Spec{Width: 32, Height: 32, Format: f})
		if alphaAt(img, 0, 0) != 0 || alphaAt(img, 16, 16) != 255 {
			t.Errorf("%s thumbnail: alpha %d at the clear corner, %d in the opaque centre",
				th.Format, alphaAt(img, 0, 0), alphaAt(img, 16, 16))
		}
	}
}
