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

// PSNR compares two images of the same size on premultiplied 8-bit RGBA
// (so the colour of fully transparent pixels does not count), in dB; 99
// for identical images. Images of different sizes panic.
func PSNR(a, b image.Image) float64 {
	if a.Bounds().Size() != b.Bounds().Size() {
		panic(fmt.Sprintf("testphoto.PSNR of %v and %v", a.Bounds().Size(), b.Bounds().Size()))
	}
	pa, pb := ToRGBA(a), ToRGBA(b)
	var sum float64
	for i := range pa.Pix {
		d := float64(pa.Pix[i]) - float64(pb.Pix[i])
		sum += d * d
	}
	mse := sum / float64(len(pa.Pix))
	if mse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/mse)
}

// ToRGBA copies img into a premultiplied RGBA image at the origin.
func ToRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	return dst
}
