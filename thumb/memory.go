package thumb

import (
	"image/color"
)

// DecodedBytes estimates, from the header alone, the memory decoding the
// image and thumbnailing it takes: its pixels at the decoder's own layout
// (8 bytes a pixel for 16-bit RGBA, 4 for 8-bit RGBA and CMYK, up to 3 for
// JPEG's YCbCr, 2 for 16-bit grey, 1 for 8-bit grey and palettes), twice
// that for a GIF (frames are drawn onto an RGBA canvas), plus an eighth for
// the resize's working copies (HEIF and AVIF: see heifDecodedBytes). It
// is an upper bound for the common cases and is meant for admission
// control (gormthumb's WithMemoryLimit), not for accounting.
func (h Header) DecodedBytes() int64 {
	px := int64(h.Width) * int64(h.Height)
	if h.Format == HEIF || h.Format == AVIF {
		return heifDecodedBytes(h.Format, px)
	}
	var perPixel int64
	switch h.ColorModel {
	case color.RGBA64Model, color.NRGBA64Model:
		perPixel = 8
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		perPixel = 4
	case color.YCbCrModel, color.NYCbCrAModel:
		perPixel = 3
	case color.Gray16Model:
		perPixel = 2
	case color.GrayModel, color.AlphaModel:
		perPixel = 1
	default:
		perPixel = 4 // a palette is 1, but is drawn onto RGBA; unknown models too
	}
	if h.Format == GIF {
		perPixel = 8
	}
	b := px * perPixel
	return b + b/8
}

// heifDecodedBytes is DecodedBytes for HEIF and AVIF, whose decoders run
// as WebAssembly in memory the Go heap holds (when no system library is
// used) and need a lot besides the pixels: measured allocations, with the
// WebAssembly builds, were about 13 MB + 20 bytes a pixel for HEIF and
// 50 MB + 41 bytes a pixel for AVIF (libaom's decoder), the bound allows a
// little more. With the system libheif the Go heap holds 3 bytes a pixel
// (the rest is C memory, which the bound covers as well).
func heifDecodedBytes(f Format, px int64) int64 {
	if f == AVIF {
		return 56<<20 + 48*px
	}
	return 16<<20 + 24*px
}
