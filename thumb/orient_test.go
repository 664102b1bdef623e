package thumb

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// Every EXIF orientation comes out upright: each variant's thumbnail matches
// the orientation-1 thumbnail of the same photo (the variants are separately
// JPEG-compressed, so they are compared by PSNR; a mirrored result scores
// 9-14 dB, a correct one 33.3-41.8 dB), and the JPEG written carries no EXIF
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
		src := testphoto.WithEXIF(testphoto.EncodeJPEG(inverse[o](shown), 95), testphoto.EXIF{Orientation: o})
		for _, c := range []struct {
			anchor Anchor
			want   [3]int
		}{{Left, [3]int{0, 0, 255}}, {Center, [3]int{0, 200, 0}}, {Right, [3]int{255, 0, 0}}} {
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
