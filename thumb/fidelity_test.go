package thumb

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/gen2brain/webp"
	"github.com/gormthumb/gormthumb/internal/testphoto"
	xdraw "golang.org/x/image/draw"
)

// ---------------------------------------------------------------------------
// Helpers that make test sources.

// webpBytes is a lossy WebP of a w×h photo with an alpha gradient.
func webpBytes(t testing.TB, w, h int) []byte {
	img := photo(w, h, 5)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Pix[img.PixOffset(x, y)+3] = uint8(255 * y / h)
		}
	}
	var buf bytes.Buffer
	if err := webp.Encode(&buf, img, webp.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ---------------------------------------------------------------------------
// Helpers that inspect results.

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

// psnr compares two images of the same size on premultiplied 8-bit RGBA
// (so the colour of fully transparent pixels does not count), in dB.
func psnr(t testing.TB, a, b image.Image) float64 {
	t.Helper()
	ab, bb := a.Bounds(), b.Bounds()
	if ab.Dx() != bb.Dx() || ab.Dy() != bb.Dy() {
		t.Fatalf("psnr of %v and %v", ab, bb)
	}
	pa, pb := toRGBA(a), toRGBA(b)
	var sum float64
	for i := range pa.Pix {
		d := float64(pa.Pix[i]) - float64(pb.Pix[i])
		sum += d * d
	}
	mse := sum / float64(4*ab.Dx()*ab.Dy())
	if mse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/mse)
}

// toRGBA copies img into a premultiplied RGBA image at the origin.
func toRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	return dst
}

var (
	alphaAt = testphoto.AlphaAt
	rgbAt   = testphoto.RGBAt
	near    = testphoto.Near
)

// ---------------------------------------------------------------------------
// Fidelity

// Every EXIF orientation comes out upright: each variant's thumbnail matches
// the orientation-1 thumbnail of the same photo (the variants are separately
// JPEG-compressed, so they are compared by PSNR; a mirrored result scores
// 10-15 dB, a correct one 34-43 dB), and the JPEG written carries no EXIF
// that a viewer could apply a second time.
func TestEXIFOrientationUpright(t *testing.T) {
	for _, kind := range []string{"landscape", "portrait"} {
		_, want := thumb(t, corpusBytes(t, "exif-"+kind+"_1.jpg"), Spec{Width: 90, Height: 90, Format: PNG})
		for o := 0; o <= 8; o++ {
			if underRace && (o%2 == 0) == (kind == "portrait") {
				continue // -race: each orientation once, from one of the two photos
			}
			name := fmt.Sprintf("exif-%s_%d.jpg", kind, o)
			ths, imgs := thumbs(t, corpusBytes(t, name), Spec{Width: 90, Height: 90, Format: PNG}, Spec{Width: 90, Height: 90})
			got, jt := imgs[0], ths[1]
			if got.Bounds() != want.Bounds() {
				t.Fatalf("%s: %v, want %v", name, got.Bounds(), want.Bounds())
			}
			if p := psnr(t, got, want); p < 30 {
				t.Errorf("%s: %.1f dB from the upright thumbnail, want >= 30", name, p)
			}
			if jt.Format != JPEG || bytes.Contains(jt.Data, []byte("Exif")) || hasJPEGSegment(jt.Data, 0xE1) {
				t.Errorf("%s: thumbnail is %s and carries EXIF", name, jt.Format)
			}
		}
	}
	// Our own EXIF writer, for the metadata test below, is read the same way.
	src := testphoto.WithEXIF(jpegBytes(t, 40, 20), testphoto.EXIF{Orientation: 6})
	if th, _ := thumb(t, src, Spec{Width: 100, Height: 100}); th.Width != 20 || th.Height != 40 {
		t.Fatalf("orientation 6 of 40x20 gave %dx%d", th.Width, th.Height)
	}
}

// A cover crop keeps the anchored side of the picture as shown, whatever
// its EXIF orientation: bands red, green, blue from left to right as shown
// are stored turned for each orientation, and anchor=left must keep blue.
func TestCoverAnchorFollowsOrientation(t *testing.T) {
	shown := image.NewNRGBA(image.Rect(0, 0, 60, 20))
	for y := 0; y < 20; y++ {
		for x := 0; x < 60; x++ {
			shown.SetNRGBA(x, y, []color.NRGBA{{0, 0, 255, 255}, {0, 200, 0, 255}, {255, 0, 0, 255}}[x/20])
		}
	}
	// Storing for orientation o means applying the inverse of its display
	// transform.
	inverse := map[int]func(image.Image) *image.NRGBA{
		1: imaging.Clone, 2: imaging.FlipH, 3: imaging.Rotate180, 4: imaging.FlipV,
		5: imaging.Transpose, 6: imaging.Rotate90, 7: imaging.Transverse, 8: imaging.Rotate270,
	}
	for o := 1; o <= 8; o++ {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, inverse[o](shown), &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
		src := testphoto.WithEXIF(buf.Bytes(), testphoto.EXIF{Orientation: o})
		for _, c := range []struct {
			anchor Anchor
			want   [3]int
		}{{imaging.Left, [3]int{0, 0, 255}}, {imaging.Center, [3]int{0, 200, 0}}, {imaging.Right, [3]int{255, 0, 0}}} {
			th, img := thumb(t, src, Spec{Width: 10, Height: 10, Fit: FitCover, Anchor: c.anchor, Format: PNG})
			if th.Width != 10 || th.Height != 10 {
				t.Fatalf("orientation %d: %dx%d", o, th.Width, th.Height)
			}
			if got := rgbAt(img, 5, 5); !near(got, c.want, 40) {
				t.Errorf("orientation %d, anchor %v: centre %v, want %v", o, c.anchor, got, c.want)
			}
		}
	}
}

// Colour models and layouts decode to the right colours, and alpha stays:
// each corpus file's thumbnail (written as PNG, lossless) is compared with
// an independent reference, Go's standard decoders and x/image/draw's
// Catmull-Rom scaler, on premultiplied RGBA. Measured 32.9-53.1 dB; a wrong
// colour conversion or lost alpha drops far below 28.
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
		t.Errorf("CMYK thumbnail is %.1f dB from the sRGB one, want >= 30 (measured 35.1)", p)
	}
	// WebP colours match the same pictures stored losslessly in other
	// formats (x/image/webp alone: 26.7 dB for the lossy one).
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

// Transparent pixels written as JPEG are flattened onto the background:
// white by default, the tag's colour when given; never black.
func TestFlattenOntoBackground(t *testing.T) {
	src := pngBytes(t, 100, 50, true) // alpha 0 at the left edge, 255 at the right
	for _, c := range []struct {
		bg   color.NRGBA
		want [3]int
	}{{color.NRGBA{}, [3]int{255, 255, 255}}, {color.NRGBA{0, 200, 0, 255}, [3]int{0, 200, 0}}} {
		th, img := thumb(t, src, Spec{Width: 100, Height: 50, Format: JPEG, Background: c.bg})
		if th.Format != JPEG {
			t.Fatalf("format %s", th.Format)
		}
		if got := rgbAt(img, 0, 25); !near(got, c.want, 12) {
			t.Errorf("background %v: transparent edge came out %v, want %v", c.bg, got, c.want)
		}
	}
	// A WebP with alpha written as JPEG by the default format rules is
	// PNG instead: it keeps its alpha.
	if th, _ := thumb(t, webpBytes(t, 40, 30), Spec{Width: 20, Height: 20}); th.Format != PNG {
		t.Errorf("WebP with alpha became %s", th.Format)
	}
}

// The resize filter's quality: a thumbnail of a known smooth pattern (the
// photo-like test image at 800x600) stays within 40 dB PSNR of an exact
// area-average reduction by 8 (each output pixel the mean of an 8x8 block).
// Lanczos measured 52.8 dB; nearest neighbour scores 31.5.
func TestResizeFilterPSNR(t *testing.T) {
	src := photo(800, 600, 7)
	var buf bytes.Buffer
	if err := png.Encode(&buf, src); err != nil {
		t.Fatal(err)
	}
	_, got := thumb(t, buf.Bytes(), Spec{Width: 100, Height: 100, Format: PNG})
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

// hasJPEGSegment reports whether a JPEG has a marker segment before its
// first scan (0xE1 APP1/EXIF, 0xFE COM, ...).
func hasJPEGSegment(b []byte, marker byte) bool {
	for i := 2; i+4 <= len(b) && b[i] == 0xFF; {
		m := b[i+1]
		if m == 0xDA {
			return false
		}
		if m == marker {
			return true
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
	return false
}

// ---------------------------------------------------------------------------
// GIF

// An animated GIF keeps its animation: every frame as a viewer shows it
// (disposal methods applied), resized, with its delay and the loop count.
func TestAnimatedGIF(t *testing.T) {
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, animatedGIF(20, 16, 3)); err != nil {
		t.Fatal(err)
	}
	// Frame 0 fills the screen red; frame 1 paints x 3..12 blue and is
	// disposed to background (transparent); frame 2 paints x 6..15 green.
	th, _ := thumb(t, buf.Bytes(), Spec{Width: 40, Height: 40}) // not upscaled: same size
	g, err := gif.DecodeAll(bytes.NewReader(th.Data))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != 3 || g.Delay[0] != 10 || g.Delay[1] != 20 || g.Delay[2] != 30 || g.LoopCount != 0 {
		t.Fatalf("%d frames, delays %v, loop %d", len(g.Image), g.Delay, g.LoopCount)
	}
	red, blue, green := [3]int{255, 0, 0}, [3]int{0, 0, 255}, [3]int{0, 200, 0}
	checks := []struct {
		frame, x, y int
		want        [3]int
		clear       bool
	}{
		{0, 1, 1, red, false}, {0, 10, 8, red, false},
		{1, 1, 1, red, false}, {1, 4, 8, blue, false}, {1, 15, 8, red, false},
		{2, 1, 1, red, false}, {2, 4, 8, [3]int{}, true}, {2, 10, 8, green, false},
	}
	shown := playGIF(g)
	for _, c := range checks {
		img := shown[c.frame]
		if img.Bounds() != image.Rect(0, 0, 20, 16) {
			t.Fatalf("frame %d bounds %v", c.frame, img.Bounds())
		}
		if a := alphaAt(img, c.x, c.y); c.clear != (a == 0) {
			t.Errorf("frame %d at %d,%d: alpha %d", c.frame, c.x, c.y, a)
		} else if !c.clear && rgbAt(img, c.x, c.y) != c.want {
			t.Errorf("frame %d at %d,%d: %v, want %v", c.frame, c.x, c.y, rgbAt(img, c.x, c.y), c.want)
		}
	}
	// Other output formats, and animations over the memory budget
	// (frames x screen > 2 x MaxPixels), get the first frame.
	if _, img := thumb(t, buf.Bytes(), Spec{Width: 10, Height: 10, Format: PNG}); rgbAt(img, 5, 4) != red {
		t.Errorf("PNG of an animated GIF: %v", rgbAt(img, 5, 4))
	}
	out, err := GoProcessor{}.Process(context.Background(), bytes.NewReader(buf.Bytes()), []Spec{{Width: 20, Height: 16}}, Limits{MaxPixels: 400})
	if err != nil {
		t.Fatal(err)
	}
	if g, err := gif.DecodeAll(bytes.NewReader(out[0].Data)); err != nil || len(g.Image) != 1 {
		t.Fatalf("over budget: %v, %d frames", err, len(g.Image))
	}

	// The real-world animation: 42 frames, most of them sub-rectangles.
	src := corpusBytes(t, "gif-animated.gif")
	sg, _ := gif.DecodeAll(bytes.NewReader(src))
	th, _ = thumb(t, src, Spec{Width: 100, Height: 100})
	g, err = gif.DecodeAll(bytes.NewReader(th.Data))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != len(sg.Image) || fmt.Sprint(g.Delay) != fmt.Sprint(sg.Delay) || g.LoopCount != sg.LoopCount {
		t.Fatalf("%d frames (want %d), delays %v (want %v), loop %d (want %d)",
			len(g.Image), len(sg.Image), g.Delay, sg.Delay, g.LoopCount, sg.LoopCount)
	}
	// Every frame as shown matches the source's frame as shown, resized.
	// The animation is opaque, so it was written as deltas: much smaller
	// than 42 whole frames.
	want, got := playGIF(sg), playGIF(g)
	for i := range want {
		if underRace && i%5 != 4 {
			continue // -race: every fifth frame (errors would add up over the frames)
		}
		if p := psnr(t, got[i], reference(want[i], 100, 100)); p < 25 {
			t.Errorf("frame %d is %.1f dB from the reference, want >= 25", i, p)
		}
	}
	if len(th.Data) > 150_000 {
		t.Errorf("animated thumbnail is %d bytes", len(th.Data))
	}
}

// playGIF returns the frames of g as a viewer shows them, honouring each
// frame's position and disposal.
func playGIF(g *gif.GIF) []*image.NRGBA {
	screen := image.Rect(0, 0, g.Config.Width, g.Config.Height)
	if screen.Empty() {
		screen = g.Image[0].Bounds()
	}
	canvas := image.NewNRGBA(screen)
	var shown []*image.NRGBA
	for i, fr := range g.Image {
		before := image.NewNRGBA(screen)
		copy(before.Pix, canvas.Pix)
		draw.Draw(canvas, fr.Bounds(), fr, fr.Bounds().Min, draw.Over)
		snap := image.NewNRGBA(screen)
		copy(snap.Pix, canvas.Pix)
		shown = append(shown, snap)
		switch g.Disposal[i] {
		case gif.DisposalBackground:
			draw.Draw(canvas, fr.Bounds(), image.Transparent, image.Point{}, draw.Src)
		case gif.DisposalPrevious:
			canvas = before
		}
	}
	return shown
}

// A still GIF with transparency keeps it, in about the same place.
func TestGIFTransparency(t *testing.T) {
	src := decodeFile(t, "gif-transparent.gif")
	th, img := thumb(t, corpusBytes(t, "gif-transparent.gif"), Spec{Width: 100, Height: 100})
	if th.Format != GIF {
		t.Fatalf("format %s", th.Format)
	}
	ref := reference(src, th.Width, th.Height)
	same, n := 0, 0
	for y := 0; y < th.Height; y++ {
		for x := 0; x < th.Width; x++ {
			if a := alphaAt(ref, x, y); a == 0 || a == 255 {
				n++
				if (alphaAt(img, x, y) == 0) == (a == 0) {
					same++
				}
			}
		}
	}
	if float64(same) < 0.95*float64(n) {
		t.Fatalf("transparency matches the reference on %d of %d pixels", same, n)
	}
}

// ---------------------------------------------------------------------------
// Metadata

// A thumbnail carries nothing from the source's metadata: no EXIF (GPS
// position, camera make and serial), no comment, no PNG text chunks.
func TestNoMetadataInThumbnails(t *testing.T) {
	secrets := []string{"Exif", "SecretCam", "SN-4815162342", "meet me at noon"}
	src := testphoto.WithEXIF(jpegBytes(t, 300, 200), testphoto.EXIF{Make: "SecretCam", Serial: "SN-4815162342", GPS: true, Comment: "meet me at noon"})
	for _, s := range secrets {
		if !bytes.Contains(src, []byte(s)) {
			t.Fatalf("source lacks %q", s)
		}
	}
	if !hasJPEGSegment(src, 0xE1) || !hasJPEGSegment(src, 0xFE) {
		t.Fatal("source lacks its APP1 or COM segment")
	}
	pngSrc := withPNGText(pngBytes(t, 300, 200, false), "Comment", "meet me at noon")
	for _, source := range [][]byte{src, pngSrc} {
		out, err := GoProcessor{}.Process(context.Background(), bytes.NewReader(source),
			[]Spec{{Width: 100, Height: 100}, {Width: 100, Height: 100, Format: JPEG}, {Width: 100, Height: 100, Format: PNG},
				{Width: 100, Height: 100, Format: GIF}, {Width: 100, Height: 100, Format: WebP}}, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for _, th := range out {
			for _, s := range secrets {
				if bytes.Contains(th.Data, []byte(s)) {
					t.Errorf("%s thumbnail contains %q", th.Format, s)
				}
			}
			if th.Format == JPEG && (hasJPEGSegment(th.Data, 0xE1) || hasJPEGSegment(th.Data, 0xFE)) {
				t.Errorf("JPEG thumbnail has an APP1 or COM segment")
			}
			for _, chunk := range []string{"tEXt", "zTXt", "iTXt", "eXIf", "EXIF", "XMP "} {
				if bytes.Contains(th.Data, []byte(chunk)) {
					t.Errorf("%s thumbnail contains %q", th.Format, chunk)
				}
			}
		}
	}
}

// withPNGText inserts a tEXt chunk after a PNG's IHDR.
func withPNGText(p []byte, key, text string) []byte {
	data := append(append([]byte(key), 0), text...)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, "tEXt"...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	const afterIHDR = 8 + 8 + 13 + 4
	return append(append(append([]byte{}, p[:afterIHDR]...), chunk...), p[afterIHDR:]...)
}

// ---------------------------------------------------------------------------
// WebP

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
