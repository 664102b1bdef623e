package thumb_test

import (
	"fmt"
	"image/color"

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
