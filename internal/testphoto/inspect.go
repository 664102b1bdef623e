package testphoto

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
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

// PSNR is the peak signal-to-noise ratio between two images of the same
// size, in dB: the one definition every test of the repository states its
// thresholds in. The error is the mean square over the 8-bit R, G and B
// channels of each image composited onto black (its premultiplied colour,
// as image.Image's RGBA method gives it), so translucency counts through
// the colour it leaves and the colour of fully transparent pixels not at
// all; alpha itself is compared separately, by AlphaPSNR. For opaque
// images this is the usual RGB PSNR. 99 for identical images; images of
// different sizes panic.
func PSNR(a, b image.Image) float64 { return psnr(a, b, [4]bool{true, true, true, false}) }

// AlphaPSNR is PSNR over the 8-bit alpha channel alone.
func AlphaPSNR(a, b image.Image) float64 { return psnr(a, b, [4]bool{false, false, false, true}) }

// psnr is the PSNR of a and b over the premultiplied RGBA channels that
// use says.
func psnr(a, b image.Image, use [4]bool) float64 {
	if a.Bounds().Size() != b.Bounds().Size() {
		panic(fmt.Sprintf("testphoto.PSNR of %v and %v", a.Bounds().Size(), b.Bounds().Size()))
	}
	pa, pb := ToRGBA(a), ToRGBA(b)
	var sum float64
	n := 0
	for i := range pa.Pix {
		if use[i%4] {
			d := float64(pa.Pix[i]) - float64(pb.Pix[i])
			sum += d * d
			n++
		}
	}
	if n == 0 || sum == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/(sum/float64(n)))
}

// ToRGBA copies img into a premultiplied RGBA image at the origin.
func ToRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	return dst
}
