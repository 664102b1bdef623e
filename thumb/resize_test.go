package thumb

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// The resize filter's quality: a thumbnail of a known smooth pattern (the
// photo-like test image at 800x600) stays within 40 dB PSNR of an exact
// area-average reduction by 8 (each output pixel the mean of an 8x8 block).
// Lanczos measured 43.7 dB; nearest neighbour scores 30.2.
func TestResizeFilterPSNR(t *testing.T) {
	src := photo(800, 600, 7)
	_, got := thumb(t, testphoto.EncodePNG(src), Spec{Width: 100, Height: 100, Format: PNG})
	want := image.NewNRGBA(image.Rect(0, 0, 100, 75))
	for y := 0; y < 75; y++ {
		for x := 0; x < 100; x++ {
			var sum [4]int
			for dy := 0; dy < 8; dy++ {
				for dx := 0; dx < 8; dx++ {
					o := src.PixOffset(8*x+dx, 8*y+dy)
					for k := 0; k < 4; k++ {
						sum[k] += int(src.Pix[o+k])
					}
				}
			}
			o := want.PixOffset(x, y)
			for k := 0; k < 4; k++ {
				want.Pix[o+k] = uint8((sum[k] + 32) / 64)
			}
		}
	}
	p := psnr(t, got, want)
	t.Logf("thumbnail vs 8x8 area average: %.1f dB", p)
	if p < 40 {
		t.Fatalf("thumbnail is %.1f dB from the area-average reference, want >= 40", p)
	}
	nearest := imaging.Resize(src, 100, 75, imaging.NearestNeighbor)
	t.Logf("nearest neighbour vs 8x8 area average: %.1f dB", psnr(t, nearest, want))
}

// Quality and correctness of the fast resize path in resize.go: the box
// pre-shrink followed by Lanczos must stay within 40 dB PSNR (and 0.99
// SSIM) of one plain Lanczos pass over the whole source, for every pixel
// layout it reads directly.

// perfPhoto is testphoto.Photo: a deterministic photo-like image.
var perfPhoto = testphoto.Photo

// perfJPEGDecoded returns img as Go's JPEG decoder returns it (*image.YCbCr, 4:2:0).
func perfJPEGDecoded(_ testing.TB, img image.Image, quality int) image.Image {
	return testphoto.JPEGRoundTrip(img, quality)
}

// perfSSIM is the mean SSIM of the luma of img and ref over 8×8 windows.
func perfSSIM(img, ref image.Image) float64 {
	luma := func(im image.Image) [][]float64 {
		b := im.Bounds()
		out := make([][]float64, b.Dy())
		for y := range out {
			out[y] = make([]float64, b.Dx())
			for x := range out[y] {
				r, g, bb, _ := im.At(b.Min.X+x, b.Min.Y+y).RGBA()
				out[y][x] = (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bb)) / 257
			}
		}
		return out
	}
	p, q := luma(img), luma(ref)
	const c1, c2 = (0.01 * 255) * (0.01 * 255), (0.03 * 255) * (0.03 * 255)
	var sum float64
	var n int
	for y := 0; y+8 <= len(p); y += 4 {
		for x := 0; x+8 <= len(p[0]); x += 4 {
			var mp, mq, vp, vq, cov float64
			for j := range 8 {
				for i := range 8 {
					mp += p[y+j][x+i]
					mq += q[y+j][x+i]
				}
			}
			mp, mq = mp/64, mq/64
			for j := range 8 {
				for i := range 8 {
					dp, dq := p[y+j][x+i]-mp, q[y+j][x+i]-mq
					vp, vq, cov = vp+dp*dp, vq+dq*dq, cov+dp*dq
				}
			}
			vp, vq, cov = vp/63, vq/63, cov/63
			sum += (2*mp*mq + c1) * (2*cov + c2) / ((mp*mp + mq*mq + c1) * (vp + vq + c2))
			n++
		}
	}
	return sum / float64(n)
}

// perfPaletted quantises img to a 6×6×6 colour cube plus a transparent entry.
func perfPaletted(img *image.NRGBA) *image.Paletted {
	var pal color.Palette
	for r := range 6 {
		for g := range 6 {
			for b := range 6 {
				pal = append(pal, color.NRGBA{uint8(r * 51), uint8(g * 51), uint8(b * 51), 255})
			}
		}
	}
	pal = append(pal, color.NRGBA{})
	b := img.Bounds()
	out := image.NewPaletted(b, pal)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			i := int(c.R+25)/51*36 + int(c.G+25)/51*6 + int(c.B+25)/51
			if (x/40+y/40)%7 == 0 {
				i = len(pal) - 1 // transparent patches
			}
			out.Pix[out.PixOffset(x, y)] = uint8(i)
		}
	}
	return out
}

// convertTo copies img into dst pixel by pixel, through dst's colour model.
func convertTo[T draw.Image](dst T, img image.Image) T {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			dst.Set(x, y, img.At(x, y))
		}
	}
	return dst
}

// TestFastResizeQuality: the fast path (box pre-shrink + Lanczos) against a
// single Lanczos pass over the full source, on every pixel layout the box
// pass reads natively, for fitted and cropped (sub-image) sources.
func TestFastResizeQuality(t *testing.T) {
	w, h := 1200, 900 // pre-shrinks by 2 to 6: the box pass always runs
	if testing.Short() {
		w, h = 800, 600
	}
	photo := perfPhoto(w, h, 1, false)
	translucent := perfPhoto(w, h, 2, true)
	ycbcr := perfJPEGDecoded(t, photo, 90)
	if _, ok := ycbcr.(*image.YCbCr); !ok {
		t.Fatalf("JPEG decoded as %T, want *image.YCbCr", ycbcr)
	}
	odd := image.Rect(101, 37, w-3, h-51) // odd origin: chroma grid alignment
	sources := []struct {
		name string
		img  image.Image
	}{
		{"ycbcr420", ycbcr},
		{"ycbcr420-subimage", ycbcr.(*image.YCbCr).SubImage(odd)},
		{"nrgba-opaque", photo},
		{"nrgba-alpha", translucent},
		{"nrgba-subimage", translucent.SubImage(odd)},
		{"rgba-alpha", convertTo(image.NewRGBA(translucent.Bounds()), translucent)},
		{"gray", convertTo(image.NewGray(photo.Bounds()), photo)},
		{"paletted", perfPaletted(photo)},
		{"cmyk", convertTo(image.NewCMYK(photo.Bounds()), photo)},
	}
	boxes := [][2]int{{110, 150}, {64, 64}}
	for _, s := range sources {
		t.Run(s.name, func(t *testing.T) {
			b := s.img.Bounds()
			for _, box := range boxes {
				tw, th := FitSize(b.Dx(), b.Dy(), box[0], box[1], false)
				if preshrink(s.img, tw, th) == nil {
					t.Fatalf("%T %v → %dx%d: no fast path taken", s.img, b, tw, th)
				}
				got := resample(s.img, tw, th)
				want := imaging.Resize(s.img, tw, th, imaging.Lanczos)
				p, q := psnr(t, got, want), perfSSIM(got, want)
				t.Logf("%v → %dx%d: PSNR %.1f dB, SSIM %.4f", b.Size(), tw, th, p, q)
				if p < 40 {
					t.Errorf("%dx%d: PSNR %.1f dB against single-pass Lanczos, want >= 40", tw, th, p)
				}
				if q < 0.99 {
					t.Errorf("%dx%d: SSIM %.4f against single-pass Lanczos, want >= 0.99", tw, th, q)
				}
			}
		})
	}
}

// TestPreshrinkUniform: the box average of a flat colour is that colour
// exactly, with alpha handled as weights (non-premultiplied colour kept).
func TestPreshrinkUniform(t *testing.T) {
	c := color.NRGBA{200, 100, 50, 128}
	src := image.NewNRGBA(image.Rect(0, 0, 1000, 800))
	for i := 0; i < len(src.Pix); i += 4 {
		copy(src.Pix[i:], []uint8{c.R, c.G, c.B, c.A})
	}
	got := preshrink(src, 100, 80)
	if got == nil {
		t.Fatal("no fast path for NRGBA")
	}
	b := got.Bounds()
	if b.Dx() < 100 || b.Dy() < 80 || b.Dx() > 2*preshrinkMargin*100 || b.Dy() > 2*preshrinkMargin*80 {
		t.Fatalf("pre-shrunk to %v, want at most %dx the target 100x80", b.Size(), 2*preshrinkMargin)
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if p := got.(*image.NRGBA).NRGBAAt(x, y); p != c {
				t.Fatalf("pixel %d,%d = %v, want %v", x, y, p, c)
			}
		}
	}
}

// TestCoverCropsWithoutCopy: fit=cover crops the source as a sub-image
// sharing its pixels, at the anchor asked for.
func TestCoverCropsWithoutCopy(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 2000, 1000))
	for y := range 1000 {
		for x := range 2000 {
			c := color.NRGBA{255, 0, 0, 255} // left half red
			if x >= 1000 {
				c = color.NRGBA{0, 0, 255, 255} // right half blue
			}
			src.SetNRGBA(x, y, c)
		}
	}
	crop := cropAnchor(src, 1000, 1000, Left)
	if n, ok := crop.(*image.NRGBA); !ok || &n.Pix[0] != &src.Pix[0] {
		t.Fatalf("crop is a %T not sharing the source's pixels", crop)
	}
	for anchor, want := range map[Anchor]color.NRGBA{
		Left:  {255, 0, 0, 255},
		Right: {0, 0, 255, 255},
	} {
		got := resizePlanned(src, 1, PlanFor(Spec{Width: 100, Height: 100, Fit: FitCover, Anchor: anchor}, SourceInfo{Width: 2000, Height: 1000}))
		if s := got.Bounds().Size(); s != image.Pt(100, 100) {
			t.Fatalf("anchor %v: size %v, want 100x100", anchor, s)
		}
		if c := color.NRGBAModel.Convert(got.At(50, 50)).(color.NRGBA); c != want {
			t.Errorf("anchor %v: centre %v, want %v", anchor, c, want)
		}
	}
}

// TestPreshrinkBadPaletteIndex: an index past the palette's end (which
// image.Paletted allows) reads as transparent, not a panic.
func TestPreshrinkBadPaletteIndex(t *testing.T) {
	src := image.NewPaletted(image.Rect(0, 0, 400, 400), color.Palette{color.White})
	for i := range src.Pix {
		src.Pix[i] = uint8(i % 3) // 1 and 2 are out of range
	}
	got := preshrink(src, 40, 40)
	if got == nil {
		t.Fatal("no fast path for Paletted")
	}
	c := got.(*image.NRGBA).NRGBAAt(5, 5)
	if c.R != 255 || c.A < 70 || c.A > 100 {
		t.Errorf("pixel = %v, want white at a third opacity", c)
	}
}

// TestSumRow: the row sum is exact for every cell width.
func TestSumRow(t *testing.T) {
	row := make([]uint8, 5000)
	for i := range row {
		row[i] = uint8(i*7919 + i/3)
	}
	for _, k := range []int{1, 2, 3, 7, 8, 9, 12, 13, 14, 15, 16, 64, 2500} {
		acc := make([]uint32, len(row)/k)
		sumRow(acc, row, k)
		for i := range acc {
			var want uint32
			for _, v := range row[i*k : i*k+k] {
				want += uint32(v)
			}
			if acc[i] != want {
				t.Fatalf("k=%d cell %d: %d, want %d", k, i, acc[i], want)
			}
		}
	}
}

// cropAnchor returns the cw×ch part of img at anchor, as a sub-image that
// shares img's pixels (imaging.CropAnchor would copy them).
func cropAnchor(img image.Image, cw, ch int, anchor Anchor) image.Image {
	return subImage(img, anchorRect(img.Bounds(), cw, ch, anchor))
}
