package thumb_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"

	"github.com/gormthumb/gormthumb/internal/testphoto"
	"github.com/gormthumb/gormthumb/thumb"
)

// The canonical key writes the size and only the options that differ from
// their defaults: a spec that spells a default out has the key of one that
// does not.
func ExampleSpec_CanonicalKey() {
	fmt.Println(thumb.Spec{Width: 110, Height: 150}.CanonicalKey())
	fmt.Println(thumb.Spec{Width: 110, Height: 150, Quality: thumb.DefaultQuality, Background: color.NRGBA{255, 255, 255, 255}}.CanonicalKey())
	fmt.Println(thumb.Spec{Width: 64, Height: 64, Fit: thumb.FitCover, Anchor: thumb.Top, Format: thumb.WebP, Quality: 80}.CanonicalKey())
	// Output:
	// s2:110x150
	// s2:110x150
	// s2:64x64,fit=cover,anchor=top,format=webp,quality=80
}

// A set of widths (a `widths=` tag) has a key of its own.
func ExampleSpec_CanonicalSetKey() {
	fmt.Println(thumb.Spec{Format: thumb.WebP}.CanonicalSetKey([]int{320, 640, 1280}))
	// Output:
	// s2:widths=320|640|1280,format=webp
}

// The legacy key is what earlier versions computed digests from, so that
// the thumbnails they named are recognised.
func ExampleSpec_LegacyKey() {
	fmt.Println(thumb.Spec{Width: 110, Height: 150}.LegacyKey())
	fmt.Println(thumb.Spec{Width: 64, Height: 64, Fit: thumb.FitCover, Anchor: thumb.Top}.LegacyKey())
	// Output:
	// {Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}
	// {Width:64 Height:64 Fit:1 Anchor:2 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}
}

func ExampleParseAnchor() {
	a, err := thumb.ParseAnchor("topleft")
	fmt.Println(a == thumb.TopLeft, err)
	fmt.Println(a, thumb.Anchor(0), thumb.FitCover)
	// Output:
	// true <nil>
	// topleft center cover
}

// A 4000×3000 JPEG whose EXIF orientation 6 shows it as a 3000×4000
// portrait: a 100×100 cover crop anchored at the top of the picture as
// shown keeps the left of the pixels as stored.
func ExamplePlanFor() {
	src := thumb.SourceInfo{Width: 4000, Height: 3000, Orientation: 6, Format: thumb.JPEG, Chroma: image.Pt(2, 2)}
	p := thumb.PlanFor(thumb.Spec{Width: 100, Height: 100, Fit: thumb.FitCover, Anchor: thumb.Top}, src)
	fmt.Println(p.Width, p.Height, p.Crop, p.Resize, p.Scale, p.Format)
	p = thumb.PlanFor(thumb.Spec{Width: 110, Height: 150}, src)
	fmt.Println(p.Width, p.Height, p.Crop, p.Resize, p.Scale, p.Format)
	// Output:
	// 100 100 (0,0)-(3000,3000) (100,100) 8 jpeg
	// 110 147 (0,0)-(4000,3000) (147,110) 8 jpeg
}

func ExampleFormatFor() {
	fmt.Println(thumb.FormatFor(thumb.Spec{}, thumb.WebP, false))
	fmt.Println(thumb.FormatFor(thumb.Spec{}, thumb.WebP, true))
	fmt.Println(thumb.FormatFor(thumb.Spec{}, thumb.PNG, false))
	fmt.Println(thumb.FormatFor(thumb.Spec{Format: thumb.AVIF}, thumb.PNG, true))
	// Output:
	// jpeg
	// png
	// png
	// avif
}

// A JPEG decoded at 1/8 shows a cover crop through the pixels CropAt maps
// it to.
func ExamplePlan_CropAt() {
	p := thumb.PlanFor(thumb.Spec{Width: 100, Height: 100, Fit: thumb.FitCover, Anchor: thumb.Right},
		thumb.SourceInfo{Width: 4000, Height: 3000, Format: thumb.JPEG, Chroma: image.Pt(2, 2)})
	fmt.Println(p.Crop, p.Scale, p.CropAt(p.Scale, image.Rect(0, 0, 500, 375)))
	// Output:
	// (1000,0)-(4000,3000) 8 (125,0)-(500,375)
}

// The header says all PlanFor needs but whether the picture has
// transparency.
func ExampleHeader_SourceInfo() {
	h, _, err := thumb.Sniff(bytes.NewReader(testphoto.WithEXIF(testphoto.JPEG(400, 300, 1, 90), testphoto.EXIF{Orientation: 6})), thumb.Limits{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", h.SourceInfo())
	// Output:
	// {Width:400 Height:300 Orientation:6 Format:jpeg Alpha:false Chroma:(2,2)}
}
