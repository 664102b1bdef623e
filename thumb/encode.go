package thumb

import (
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
)

// isOpaque reports whether img has no transparent or translucent pixel,
// as its Opaque method says (an image without one counts as not opaque).
func isOpaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}

// encode writes img in p.Format at p.Quality (a GIF with the colours of
// pal when given; a JPEG flattened onto p.Background). Encoding never
// copies metadata: the output carries no EXIF, comments or orientation
// from the source.
func encode(w io.Writer, img image.Image, p Plan, pal color.Palette) error {
	q := p.Quality
	switch p.Format {
	case JPEG:
		if !isOpaque(img) {
			img = flatten(img, p.Background)
		}
		return jpeg.Encode(w, img, &jpeg.Options{Quality: q})
	case PNG:
		return (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(w, img)
	case GIF:
		return gif.Encode(w, toPaletted(img, pal), nil)
	case WebP:
		return encodeWebP(w, img, q)
	case AVIF:
		return encodeAVIF(w, img, q)
	}
	return wrapf(ErrUnsupportedFormat, "cannot write %q", p.Format)
}

// flatten draws img over bg, made opaque.
func flatten(img image.Image, bg color.NRGBA) image.Image {
	bg.A = 255
	b := img.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Bounds(), &image.Uniform{bg}, image.Point{}, draw.Src)
	draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Over)
	return dst
}

// Extension is the file extension for a format, without the dot ("jpg"
// for JPEG, "heic" for HEIF).
func (f Format) Extension() string {
	switch f {
	case JPEG:
		return "jpg"
	case HEIF:
		return "heic"
	}
	return string(f)
}

// ContentType is the MIME type for a format ("image/jpeg"; "image/heic"
// for HEIF, which is HEVC-coded HEIF: the type registered for it, and the
// one Apple's devices send).
func (f Format) ContentType() string {
	if f == HEIF {
		return "image/heic"
	}
	return "image/" + string(f)
}
