package thumb

import (
	"image"
	"image/color"
	"testing"
)

// TestPlanFor: sizes, boxes, crops and resize targets of the policy, for
// contain and cover, orientations, anchors and sources smaller than the
// box.
func TestPlanFor(t *testing.T) {
	land := SourceInfo{Width: 4000, Height: 3000, Format: JPEG}
	turned := func(o int) SourceInfo { s := land; s.Orientation = o; return s }
	small := SourceInfo{Width: 50, Height: 40, Format: PNG}
	cases := []struct {
		what   string
		spec   Spec
		src    SourceInfo
		w, h   int             // the thumbnail, as shown
		box    image.Point     // as stored
		crop   image.Rectangle // as stored
		resize image.Point     // as stored
	}{
		{"contain", Spec{Width: 110, Height: 150}, land, 110, 83, image.Pt(110, 150), image.Rect(0, 0, 4000, 3000), image.Pt(110, 83)},
		{"contain, wide box", Spec{Width: 300, Height: 100}, land, 133, 100, image.Pt(300, 100), image.Rect(0, 0, 4000, 3000), image.Pt(133, 100)},
		{"contain, orientation 6 turns the box and the picture", Spec{Width: 110, Height: 150}, turned(6), 110, 147, image.Pt(150, 110), image.Rect(0, 0, 4000, 3000), image.Pt(147, 110)},
		{"contain, orientation 3 does not", Spec{Width: 110, Height: 150}, turned(3), 110, 83, image.Pt(110, 150), image.Rect(0, 0, 4000, 3000), image.Pt(110, 83)},
		{"orientation 0 is 1", Spec{Width: 110, Height: 150}, turned(0), 110, 83, image.Pt(110, 150), image.Rect(0, 0, 4000, 3000), image.Pt(110, 83)},
		{"orientation 9 is 1", Spec{Width: 110, Height: 150}, turned(9), 110, 83, image.Pt(110, 150), image.Rect(0, 0, 4000, 3000), image.Pt(110, 83)},
		{"cover, centre", Spec{Width: 100, Height: 100, Fit: FitCover}, land, 100, 100, image.Pt(100, 100), image.Rect(500, 0, 3500, 3000), image.Pt(100, 100)},
		{"cover, left", Spec{Width: 100, Height: 100, Fit: FitCover, Anchor: Left}, land, 100, 100, image.Pt(100, 100), image.Rect(0, 0, 3000, 3000), image.Pt(100, 100)},
		{"cover, bottomright", Spec{Width: 100, Height: 100, Fit: FitCover, Anchor: BottomRight}, land, 100, 100, image.Pt(100, 100), image.Rect(1000, 0, 4000, 3000), image.Pt(100, 100)},
		{"cover, top of a wide crop does not move it", Spec{Width: 100, Height: 100, Fit: FitCover, Anchor: Top}, land, 100, 100, image.Pt(100, 100), image.Rect(500, 0, 3500, 3000), image.Pt(100, 100)},
		{"cover, wide box crops top and bottom", Spec{Width: 400, Height: 100, Fit: FitCover, Anchor: Bottom}, land, 400, 100, image.Pt(400, 100), image.Rect(0, 2000, 4000, 3000), image.Pt(400, 100)},
		// Orientation 6 shows the stored left column as the top row.
		{"cover, top as shown is left as stored (6)", Spec{Width: 100, Height: 100, Fit: FitCover, Anchor: Top}, turned(6), 100, 100, image.Pt(100, 100), image.Rect(0, 0, 3000, 3000), image.Pt(100, 100)},
		{"cover, top as shown is right as stored (8)", Spec{Width: 100, Height: 100, Fit: FitCover, Anchor: Top}, turned(8), 100, 100, image.Pt(100, 100), image.Rect(1000, 0, 4000, 3000), image.Pt(100, 100)},
		{"cover, left as shown is right as stored (2)", Spec{Width: 100, Height: 100, Fit: FitCover, Anchor: Left}, turned(2), 100, 100, image.Pt(100, 100), image.Rect(1000, 0, 4000, 3000), image.Pt(100, 100)},
		{"cover, turned wide box, top", Spec{Width: 400, Height: 100, Fit: FitCover, Anchor: Top}, turned(6), 400, 100, image.Pt(100, 400), image.Rect(0, 0, 750, 3000), image.Pt(100, 400)},
		{"cover, turned wide box, left does not move it", Spec{Width: 400, Height: 100, Fit: FitCover, Anchor: Left}, turned(6), 400, 100, image.Pt(100, 400), image.Rect(1625, 0, 2375, 3000), image.Pt(100, 400)},
		{"contain, smaller source kept", Spec{Width: 110, Height: 150}, small, 50, 40, image.Pt(110, 150), image.Rect(0, 0, 50, 40), image.Pt(50, 40)},
		{"contain, smaller source upscaled", Spec{Width: 110, Height: 150, Upscale: true}, small, 110, 88, image.Pt(110, 150), image.Rect(0, 0, 50, 40), image.Pt(110, 88)},
		{"cover, smaller source: the box's shape at the crop's size", Spec{Width: 100, Height: 100, Fit: FitCover}, small, 40, 40, image.Pt(100, 100), image.Rect(5, 0, 45, 40), image.Pt(40, 40)},
		{"cover, smaller source upscaled", Spec{Width: 100, Height: 100, Fit: FitCover, Upscale: true}, small, 100, 100, image.Pt(100, 100), image.Rect(5, 0, 45, 40), image.Pt(100, 100)},
		{"cover, source smaller on one side", Spec{Width: 100, Height: 100, Fit: FitCover, Anchor: Right}, SourceInfo{Width: 300, Height: 60}, 60, 60, image.Pt(100, 100), image.Rect(240, 0, 300, 60), image.Pt(60, 60)},
		{"one pixel", Spec{Width: 1, Height: 1}, land, 1, 1, image.Pt(1, 1), image.Rect(0, 0, 4000, 3000), image.Pt(1, 1)},
		{"a sliver is at least one pixel", Spec{Width: 100, Height: 100}, SourceInfo{Width: 4000, Height: 10}, 100, 1, image.Pt(100, 100), image.Rect(0, 0, 4000, 10), image.Pt(100, 1)},
	}
	for _, c := range cases {
		p := PlanFor(c.spec, c.src)
		if p.Width != c.w || p.Height != c.h || p.Box != c.box || p.Crop != c.crop || p.Resize != c.resize {
			t.Errorf("%s: %dx%d box %v crop %v resize %v; want %dx%d box %v crop %v resize %v",
				c.what, p.Width, p.Height, p.Box, p.Crop, p.Resize, c.w, c.h, c.box, c.crop, c.resize)
		}
	}
}

// TestPlanInvariants: for every orientation, anchor and fit, the crop lies
// in the source, has the box's shape, and the size as shown is the resize
// target turned.
func TestPlanInvariants(t *testing.T) {
	for _, src := range []SourceInfo{{Width: 4000, Height: 3000}, {Width: 1200, Height: 1900}, {Width: 64, Height: 64}, {Width: 31, Height: 17}} {
		for o := 1; o <= 8; o++ {
			src.Orientation = o
			for a := Center; a <= BottomRight; a++ {
				for _, spec := range []Spec{{Width: 110, Height: 150}, {Width: 200, Height: 100, Fit: FitCover, Anchor: a}, {Width: 90, Height: 90, Fit: FitCover, Anchor: a, Upscale: true}} {
					p := PlanFor(spec, src)
					if !p.Crop.In(image.Rect(0, 0, src.Width, src.Height)) || p.Crop.Empty() {
						t.Fatalf("%+v of %+v: crop %v outside the source", spec, src, p.Crop)
					}
					w, h := p.Resize.X, p.Resize.Y
					if o >= 5 {
						w, h = h, w
					}
					if p.Width != w || p.Height != h || w < 1 || h < 1 {
						t.Fatalf("%+v of %+v: %dx%d, resize %v", spec, src, p.Width, p.Height, p.Resize)
					}
					if spec.Fit == FitCover {
						// The crop's aspect is the box's, to a pixel.
						if d := p.Crop.Dx()*p.Box.Y - p.Crop.Dy()*p.Box.X; d < -max(p.Box.X, p.Box.Y) || d > max(p.Box.X, p.Box.Y) {
							t.Fatalf("%+v of %+v: crop %v is not the box %v's shape", spec, src, p.Crop, p.Box)
						}
					}
				}
			}
		}
	}
}

// TestPlanScale: a JPEG's decode scale for one thumbnail; other sources
// and CMYK JPEGs (no Chroma) are decoded at full size.
func TestPlanScale(t *testing.T) {
	spec := Spec{Width: 110, Height: 150}
	cases := []struct {
		src  SourceInfo
		want int
	}{
		{SourceInfo{Width: 4000, Height: 3000, Format: JPEG, Chroma: image.Pt(2, 2)}, 8},
		{SourceInfo{Width: 4000, Height: 3000, Format: JPEG, Chroma: image.Pt(1, 1)}, 8},
		{SourceInfo{Width: 2000, Height: 1500, Format: JPEG, Chroma: image.Pt(4, 1)}, 4},
		{SourceInfo{Width: 4000, Height: 3000, Format: JPEG}, 1},
		{SourceInfo{Width: 4000, Height: 3000, Format: PNG, Chroma: image.Pt(2, 2)}, 1},
		{SourceInfo{Width: 400, Height: 300, Format: JPEG, Chroma: image.Pt(2, 2)}, 1},
	}
	for _, c := range cases {
		if got := PlanFor(spec, c.src).Scale; got != c.want {
			t.Errorf("%+v: scale %d, want %d", c.src, got, c.want)
		}
	}
}

// TestFormatFor: the output format of every source format, with and
// without transparency, and a format asked for.
func TestFormatFor(t *testing.T) {
	for _, c := range []struct {
		spec  Format
		src   Format
		alpha bool
		want  Format
	}{
		{FormatSource, JPEG, false, JPEG},
		{FormatSource, PNG, false, PNG},
		{FormatSource, PNG, true, PNG},
		{FormatSource, GIF, true, GIF},
		{FormatSource, WebP, false, JPEG},
		{FormatSource, WebP, true, PNG},
		{FormatSource, TIFF, false, JPEG},
		{FormatSource, BMP, true, PNG},
		{FormatSource, HEIF, false, JPEG},
		{FormatSource, AVIF, true, PNG},
		{PNG, JPEG, false, PNG},
		{JPEG, PNG, true, JPEG},
		{WebP, GIF, true, WebP},
		{AVIF, HEIF, false, AVIF},
	} {
		if got := FormatFor(Spec{Format: c.spec}, c.src, c.alpha); got != c.want {
			t.Errorf("format %q of %s (alpha %v): %s, want %s", c.spec, c.src, c.alpha, got, c.want)
		}
		if got := PlanFor(Spec{Width: 10, Height: 10, Format: c.spec}, SourceInfo{Width: 20, Height: 20, Format: c.src, Alpha: c.alpha}).Format; got != c.want {
			t.Errorf("plan of format %q of %s (alpha %v): %s, want %s", c.spec, c.src, c.alpha, got, c.want)
		}
	}
	opaque, translucent := image.NewNRGBA(image.Rect(0, 0, 2, 2)), image.NewNRGBA(image.Rect(0, 0, 2, 2))
	for i := range opaque.Pix {
		opaque.Pix[i] = 255
	}
	if got := OutputFormat(Spec{}, WebP, opaque); got != JPEG {
		t.Errorf("OutputFormat of an opaque WebP: %s", got)
	}
	if got := OutputFormat(Spec{}, WebP, translucent); got != PNG {
		t.Errorf("OutputFormat of a transparent WebP: %s", got)
	}
}

// TestPlanDefaults: quality 0 is DefaultQuality; a zero background is
// white, and any other is made opaque.
func TestPlanDefaults(t *testing.T) {
	src := SourceInfo{Width: 20, Height: 20, Format: PNG}
	for _, c := range []struct {
		spec    Spec
		quality int
		bg      color.NRGBA
	}{
		{Spec{}, DefaultQuality, color.NRGBA{255, 255, 255, 255}},
		{Spec{Quality: 40, Background: color.NRGBA{0, 0, 0, 1}}, 40, color.NRGBA{0, 0, 0, 255}},
		{Spec{Background: color.NRGBA{0, 200, 0, 255}}, DefaultQuality, color.NRGBA{0, 200, 0, 255}},
	} {
		c.spec.Width, c.spec.Height = 10, 10
		p := PlanFor(c.spec, src)
		if p.Quality != c.quality || p.Background != c.bg {
			t.Errorf("%+v: quality %d, background %v; want %d, %v", c.spec, p.Quality, p.Background, c.quality, c.bg)
		}
	}
}
