package jpegscale

import (
	"image"
	"image/color"
)

// output builds the image Decode returns from the decoded planes, with
// image/jpeg's colour decisions.
func (d *decoder) output() (image.Image, error) {
	if d.progressive {
		d.finishProgressive()
	}
	if d.nComp == 1 {
		return d.gray, nil
	}
	if d.nComp == 4 {
		return d.cmyk()
	}
	if d.isRGB() {
		return d.rgb(), nil
	}
	return d.ycc, nil
}

// rgb interleaves the planes of a three-component RGB file (Adobe
// transform 0, or components named R, G, B) into an *image.RGBA.
func (d *decoder) rgb() *image.RGBA {
	src := d.ycc
	b := src.Rect
	img := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*b.Dx()]
		yo := src.YOffset(0, y)
		for x := range b.Dx() {
			co := src.COffset(x, y)
			p := row[4*x : 4*x+4 : 4*x+4]
			p[0], p[1], p[2], p[3] = src.Y[yo+x], src.Cb[co], src.Cr[co], 255
		}
	}
	return img
}

// cmyk builds the *image.CMYK of a four-component file. Adobe stores CMYK
// inverted (255 is no ink). For YCCK (Adobe transform other than 0) the
// YCbCr part is converted to RGB, which inverted is CMY, and K is inverted;
// for CMYK every channel is inverted. Channels sampled at half resolution are
// read at (x/2, y/2).
func (d *decoder) cmyk() (image.Image, error) {
	if !d.adobeValid {
		return nil, unsupportedErr("4-component JPEG without Adobe APP14 marker")
	}
	src := d.ycc
	b := src.Rect
	img := image.NewCMYK(b)
	k, ks := d.pix[3], d.stride[3]
	if d.adobeTransform != 0 {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := img.Pix[y*img.Stride : y*img.Stride+4*b.Dx()]
			yo := src.YOffset(0, y)
			for x := range b.Dx() {
				co := src.COffset(x, y)
				r, g, bl := color.YCbCrToRGB(src.Y[yo+x], src.Cb[co], src.Cr[co])
				p := row[4*x : 4*x+4 : 4*x+4]
				p[0], p[1], p[2], p[3] = r, g, bl, 255-k[y*ks+x]
			}
		}
		return img, nil
	}
	planes := [4][]byte{src.Y, src.Cb, src.Cr, k}
	strides := [4]int{src.YStride, src.CStride, src.CStride, ks}
	for t := range 4 {
		sub := d.comp[t].h != d.comp[0].h || d.comp[t].v != d.comp[0].v
		for y := b.Min.Y; y < b.Max.Y; y++ {
			sy := y
			if sub {
				sy /= 2
			}
			srow := planes[t][sy*strides[t]:]
			row := img.Pix[y*img.Stride : y*img.Stride+4*b.Dx()]
			for x := range b.Dx() {
				sx := x
				if sub {
					sx /= 2
				}
				row[4*x+t] = 255 - srow[sx]
			}
		}
	}
	return img, nil
}
