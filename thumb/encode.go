package thumb

import (
	"cmp"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
)

// OutputFormat is the format a thumbnail of a source in format src is
// written in: spec.Format if set; otherwise JPEG, PNG and GIF keep their
// format, and other sources (WebP, TIFF, BMP, HEIF, AVIF) become PNG if
// they have transparency and JPEG if not.
func OutputFormat(spec Spec, src Format, img image.Image) Format {
	if spec.Format != FormatSource {
		return spec.Format
	}
	switch src {
	case JPEG, PNG, GIF:
		return src
	}
	if img != nil && !isOpaque(img) {
		return PNG
	}
	return JPEG
}

func isOpaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}

// encode writes img in format (a GIF with the colours of pal when given).
// Encoding never copies metadata: the output carries no EXIF, comments or
// orientation from the source.
func encode(w io.Writer, img image.Image, format Format, spec Spec, pal color.Palette) error {
	q := cmp.Or(spec.Quality, DefaultQuality)
	switch format {
	case JPEG:
		if !isOpaque(img) {
			img = flatten(img, spec.Background)
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
	return wrapf(ErrUnsupportedFormat, "cannot write %q", format)
}

// flatten draws img over the opaque background of a spec's Background
// (backgroundColor: white when it is zero).
func flatten(img image.Image, bg color.NRGBA) image.Image {
	bg = backgroundColor(bg)
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
