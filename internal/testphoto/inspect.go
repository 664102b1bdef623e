package testphoto

import (
	"image"
	"image/color"
)

// AlphaAt is the 8-bit alpha of img at (x, y) relative to its bounds.
func AlphaAt(img image.Image, x, y int) uint8 {
	_, _, _, a := img.At(img.Bounds().Min.X+x, img.Bounds().Min.Y+y).RGBA()
	return uint8(a >> 8)
}

// RGBAt is the 8-bit, non-premultiplied colour of img at (x, y) relative
// to its bounds.
func RGBAt(img image.Image, x, y int) [3]int {
	c := color.NRGBAModel.Convert(img.At(img.Bounds().Min.X+x, img.Bounds().Min.Y+y)).(color.NRGBA)
	return [3]int{int(c.R), int(c.G), int(c.B)}
}

// Near reports whether two colours differ by at most tol in every channel.
func Near(a, b [3]int, tol int) bool {
	for i := range a {
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}
