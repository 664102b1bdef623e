package jpegscale

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"
)

// Scaled decoding is checked against two references:
//
//   - libjpeg-turbo's own scaled decode, djpeg -scale 1/s -nosmooth (its
//     reduced IDCTs use a few more coefficients than ours; -nosmooth turns
//     off its interpolating chroma upsampling, which ours does not do);
//   - image/jpeg's full decode box-averaged by s.
//
// Both references are RGB images with a chroma sample per pixel, while ours
// keeps the file's chroma subsampling at every scale (a 4:2:0 file decoded
// at 1/8 has one chroma sample per 2x2 output pixels, as image/jpeg's has at
// 1/1). So three figures are measured:
//
//   - Y: PSNR of the BT.601 luma, at the decoded size;
//   - C: RGB PSNR after box-averaging both images to the chroma
//     resolution (the decoder's accuracy on what the file holds);
//   - RGB: RGB PSNR at the decoded size, which for subsampled files is
//     dominated by the chroma resolution the file chose.
//
// Y and C must reach minPSNR: 33 dB, a level at which differences in a
// photo are not visible side by side; the measured worst cases are in the
// test log. RGB is only checked against a sanity bar, minRGBPSNR.
const (
	minPSNR    = 33
	minRGBPSNR = 20
	// minPSNRGraphics is the bar for Pillow's pil_sample pictures (the
	// jpeg-icc-srgb and jpeg-cmyk-ycck-adobe files): synthetic hard edges,
	// 0 to 230 within one block, where dropping the block's highest
	// frequencies rings by a few units next to the edge and a box average
	// does not. Photos stay above minPSNR.
	minPSNRGraphics = 27
)

func scaledInputs(t *testing.T) []variant {
	var vs []variant
	dir := corpusDir(t)
	for _, f := range []string{"exif-landscape_1.jpg", "exif-portrait_6.jpg", "jpeg-progressive.jpg", "jpeg-gray.jpg",
		"jpeg-sof1-16bit-qtables.jpg", "jpeg-icc-srgb.jpg", "jpeg-cmyk-ycck-adobe.jpg"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, variant{name: f, data: b})
	}
	for _, v := range generatedVariants(t) {
		vs = append(vs, v)
	}
	return vs
}

func TestScaled(t *testing.T) {
	djpeg := true
	if _, err := execLook("djpeg"); err != nil {
		djpeg = false
		t.Log("djpeg not found (install libjpeg-turbo-progs): comparing with the box-averaged decode only")
	}
	worst := map[int][3]float64{}
	for _, v := range scaledInputs(t) {
		var full *image.RGBA
		var fullCMYK *image.CMYK
		if m, err := stdDecode(v.data); err == nil {
			full = toRGB(m)
			fullCMYK, _ = m.(*image.CMYK)
		} else if djpeg {
			full = parsePNM(t, run(t, v.data, "djpeg", "-nosmooth", "-ppm"))
		}
		cfg, err := DecodeConfig(bytes.NewReader(v.data))
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		for _, s := range []int{2, 4, 8} {
			m, err := Decode(bytes.NewReader(v.data), Options{Scale: s})
			if err != nil {
				t.Errorf("%s 1/%d: %v", v.name, s, err)
				continue
			}
			want := image.Rect(0, 0, (cfg.Width+s-1)/s, (cfg.Height+s-1)/s)
			if m.Bounds() != want {
				t.Errorf("%s 1/%d: bounds %v, want %v", v.name, s, m.Bounds(), want)
				continue
			}
			if m.ColorModel() != cfg.ColorModel {
				t.Errorf("%s 1/%d: colour model %v, want %v", v.name, s, m.ColorModel(), cfg.ColorModel)
			}
			if c, ok := m.(*image.CMYK); ok && fullCMYK != nil {
				// Compare CMYK files channel by channel: the conversion to RGB
				// multiplies by K, which box averaging does not commute with.
				// Subsampled channels are compared at their resolution.
				cx, cy := subsampling(t, v.data)
				ref := boxDown(cmykAsRGBA(fullCMYK), s)
				p := psnrCMYK(t, c, ref)
				if cx > 1 || cy > 1 {
					a := boxDownXY(cmykAsRGBA(c), cx, cy)
					p = psnrCMYK(t, &image.CMYK{Pix: a.Pix, Stride: a.Stride, Rect: a.Rect}, boxDownXY(ref, cx, cy))
				}
				t.Logf("%-28s 1/%d %4dx%-4d box: CMYK at chroma resolution %5.1f", v.name, s, want.Dx(), want.Dy(), p)
				if p < minPSNRGraphics {
					t.Errorf("%s 1/%d: PSNR vs box-averaged CMYK %.1f dB < %d", v.name, s, p, minPSNRGraphics)
				}
				continue
			}
			got := toRGB(m)
			cx, cy := chromaFactors(m)
			w := worst[s]
			if w == [3]float64{} {
				w = [3]float64{1e9, 1e9, 1e9}
			}
			check := func(ref *image.RGBA, what string) (pY, pC, pRGB float64) {
				pY = psnrLuma(t, got, ref)
				pC = psnr(t, boxDownXY(got, cx, cy), boxDownXY(ref, cx, cy))
				pRGB = psnr(t, got, ref)
				w[0], w[1], w[2] = min(w[0], pY), min(w[1], pC), min(w[2], pRGB)
				bar := minPSNR
				if v.name == "jpeg-icc-srgb.jpg" {
					bar = minPSNRGraphics
				}
				if pY < float64(bar) || pC < float64(bar) || pRGB < minRGBPSNR {
					t.Errorf("%s 1/%d vs %s: PSNR luma %.1f dB, RGB at chroma resolution %.1f dB (min %d); RGB %.1f dB (min %d)",
						v.name, s, what, pY, pC, bar, pRGB, minRGBPSNR)
				}
				return
			}
			y1, c1, r1 := check(boxDown(full, s), "box-averaged full decode")
			line := fmtPSNR("box", y1, c1, r1)
			if djpeg && cfg.ColorModel != color.CMYKModel {
				ref := parsePNM(t, run(t, v.data, "djpeg", "-scale", "1/"+itoa(s), "-nosmooth", "-ppm"))
				if ref.Rect.Size() != got.Rect.Size() {
					t.Errorf("%s 1/%d: size %v, djpeg's %v", v.name, s, got.Rect.Size(), ref.Rect.Size())
					continue
				}
				y2, c2, r2 := check(ref, "djpeg")
				line += "; " + fmtPSNR("djpeg", y2, c2, r2)
			}
			worst[s] = w
			t.Logf("%-28s 1/%d %4dx%-4d %s", v.name, s, want.Dx(), want.Dy(), line)
		}
	}
	for _, s := range []int{2, 4, 8} {
		t.Logf("worst at 1/%d over both references: luma %.1f dB, RGB at chroma resolution %.1f dB, RGB %.1f dB", s, worst[s][0], worst[s][1], worst[s][2])
	}
}

// chromaFactors returns how many output pixels share a chroma sample.
func chromaFactors(m image.Image) (int, int) {
	y, ok := m.(*image.YCbCr)
	if !ok {
		return 1, 1
	}
	switch y.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 1, 1
}

func fmtPSNR(what string, y, c, rgb float64) string {
	return fmt.Sprintf("%s: Y %5.1f C %5.1f RGB %5.1f", what, y, c, rgb)
}

// psnrLuma compares the BT.601 luma of two RGB images.
func psnrLuma(t testing.TB, a, b *image.RGBA) float64 {
	la, lb := luma(a), luma(b)
	return psnr(t, la, lb)
}

func luma(m *image.RGBA) *image.RGBA {
	out := image.NewRGBA(m.Rect)
	for i := 0; i < len(m.Pix); i += 4 {
		y := uint8((299*int(m.Pix[i]) + 587*int(m.Pix[i+1]) + 114*int(m.Pix[i+2]) + 500) / 1000)
		out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = y, y, y, 255
	}
	return out
}

// cmykAsRGBA reinterprets CMYK samples as four RGBA-like channels, for
// boxDown.
func cmykAsRGBA(m *image.CMYK) *image.RGBA {
	return &image.RGBA{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
}

// psnrCMYK compares all four channels of a CMYK image with reference
// samples held in an RGBA (see cmykAsRGBA).
func psnrCMYK(t testing.TB, a *image.CMYK, ref *image.RGBA) float64 {
	t.Helper()
	x := cmykAsRGBA(a)
	// Channels C, M, Y, then K (copied into the first channel).
	kx, kr := image.NewRGBA(x.Rect), image.NewRGBA(ref.Rect)
	for i := 0; i < len(x.Pix); i += 4 {
		kx.Pix[i], kx.Pix[i+1], kx.Pix[i+2] = x.Pix[i+3], x.Pix[i+3], x.Pix[i+3]
	}
	for i := 0; i < len(ref.Pix); i += 4 {
		kr.Pix[i], kr.Pix[i+1], kr.Pix[i+2] = ref.Pix[i+3], ref.Pix[i+3], ref.Pix[i+3]
	}
	return min(psnr(t, x, ref), psnr(t, kx, kr))
}

// subsampling returns the ratio of the first to the second component's
// sampling factors.
func subsampling(t testing.TB, b []byte) (int, int) {
	d := newDecoder(bytes.NewReader(b), Options{}, true)
	if err := d.run(); err != nil || d.nComp < 2 {
		return 1, 1
	}
	return d.comp[0].h / d.comp[1].h, d.comp[0].v / d.comp[1].v
}
