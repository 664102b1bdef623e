package thumb

import (
	"image"
	"io"

	"github.com/gen2brain/webp"
	xwebp "golang.org/x/image/webp"
)

// WebP output uses github.com/gen2brain/webp: libwebp itself, run through
// the system's shared libwebp when one is installed (loaded with purego, no
// cgo) and otherwise as WebAssembly embedded in the package (wazero), so the
// module builds and works with no system library at all. The WebAssembly
// runtime is compiled on the first WebP encode (about 0.2 s), then a
// thumbnail takes a few milliseconds.
//
// Only the encoder is used: WebP sources are decoded by golang.org/x/image/webp
// (pure Go) through the codecs table, whatever image.Decode would pick.

// encodeWebP writes img as lossy WebP (alpha kept) at quality q (1..100).
func encodeWebP(w io.Writer, img image.Image, q int) error {
	return webp.Encode(w, img, webp.Options{Quality: q, Method: 4})
}

// decodeWebP decodes a WebP with golang.org/x/image/webp and fixes its
// colours. Lossy WebP (VP8) stores limited-range BT.601 YCbCr (black is
// Y=16, white Y=235), but x/image/webp returns it as an image.YCbCr, which Go
// converts as full-range JPEG YCbCr: blacks come out gray and whites dull
// (golang/go#40173). So lossy results are converted here with libwebp's own
// fixed-point formulas (src/dsp/yuv.h). Lossless WebP is RGB and untouched.
func decodeWebP(r io.Reader) (image.Image, error) {
	img, err := xwebp.Decode(r)
	if err != nil {
		return nil, err
	}
	switch m := img.(type) {
	case *image.YCbCr:
		return limitedRangeToNRGBA(m, nil, 0), nil
	case *image.NYCbCrA:
		return limitedRangeToNRGBA(&m.YCbCr, m.A, m.AStride), nil
	}
	return img, nil
}

// limitedRangeToNRGBA converts limited-range YCbCr (plus an optional alpha
// plane) to NRGBA, nearest chroma sample.
func limitedRangeToNRGBA(m *image.YCbCr, alpha []uint8, aStride int) *image.NRGBA {
	b := m.Rect
	dst := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		o := dst.PixOffset(b.Min.X, y)
		for x := b.Min.X; x < b.Max.X; x++ {
			yy := int(m.Y[m.YOffset(x, y)])
			ci := m.COffset(x, y)
			u, v := int(m.Cb[ci]), int(m.Cr[ci])
			yv := yy * 19077 >> 8
			dst.Pix[o+0] = clip8(yv + (v*26149)>>8 - 14234)
			dst.Pix[o+1] = clip8(yv - (u*6419)>>8 - (v*13320)>>8 + 8708)
			dst.Pix[o+2] = clip8(yv + (u*33050)>>8 - 17685)
			dst.Pix[o+3] = 255
			if alpha != nil {
				dst.Pix[o+3] = alpha[(y-b.Min.Y)*aStride+(x-b.Min.X)]
			}
			o += 4
		}
	}
	return dst
}

// clip8 is libwebp's VP8Clip8: a 14-bit fixed-point value to 0..255.
func clip8(v int) uint8 {
	if v&^16383 == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}
