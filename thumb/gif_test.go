package thumb

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// An animated GIF keeps its animation: every frame as a viewer shows it
// (disposal methods applied), resized, with its delay and the loop count.
func TestAnimatedGIF(t *testing.T) {
	src := testphoto.AnimatedGIF(20, 16, 3)
	// Frame 0 fills the screen red; frame 1 paints x 3..12 blue and is
	// disposed to background (transparent); frame 2 paints x 6..15 green.
	th, _ := thumb(t, src, Spec{Width: 40, Height: 40}) // not upscaled: same size
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
	if _, img := thumb(t, src, Spec{Width: 10, Height: 10, Format: PNG}); rgbAt(img, 5, 4) != red {
		t.Errorf("PNG of an animated GIF: %v", rgbAt(img, 5, 4))
	}
	out, err := GoProcessor{}.Process(context.Background(), bytes.NewReader(src), []Spec{{Width: 20, Height: 16}}, Limits{MaxPixels: 400})
	if err != nil {
		t.Fatal(err)
	}
	if g, err := gif.DecodeAll(bytes.NewReader(out[0].Data)); err != nil || len(g.Image) != 1 {
		t.Fatalf("over budget: %v, %d frames", err, len(g.Image))
	}

	// The real-world animation: 42 frames, most of them sub-rectangles.
	src = corpusBytes(t, "gif-animated.gif")
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
