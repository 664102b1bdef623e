// Package vips is an optional gormthumb.Processor backed by libvips, for
// applications that can install it (Debian: apt-get install libvips-dev).
// It is a separate Go module so that the gormthumb core stays pure Go.
//
//	plugin := gormthumb.New(bucket, gormthumb.WithProcessor(vips.Processor{}))
//
// libvips decodes JPEG at a reduced scale (shrink-on-load) and streams the
// rest, so a thumbnail of a 12-megapixel JPEG costs a fraction of Go's
// decode alone and a few MB of memory. It makes the same thumbnails as
// gormthumb.GoProcessor (same sizes, fit, anchor, formats, quality,
// background, no upscaling unless asked, EXIF orientation applied, no
// metadata kept) and returns the same typed errors. JPEG, PNG, WebP and
// TIFF sources written as JPEG, PNG or WebP go through libvips; anything
// else (GIF, BMP, formats neither reads) goes to the Fallback processor
// with the bytes already read.
//
// libvips needs the whole compressed source in memory (it is read once,
// within Limits.MaxBytes); the image's size and page count are checked
// against the limits from its header before any pixel is decoded. Each
// size asked for is its own reduced-scale decode of those bytes, which for
// JPEG costs less than sharing one full-size decode.
package vips

import (
	"bytes"
	"context"
	"fmt"
	"image/color"
	"io"

	"github.com/disintegration/imaging"
	"github.com/gormthumb/gormthumb"
)

// Processor is a gormthumb.Processor that uses libvips. The zero value is
// ready to use; libvips is started on first use.
type Processor struct {
	// Fallback handles what libvips is not used for (GIF and BMP sources,
	// GIF output, unknown bytes). Nil means gormthumb.GoProcessor{}.
	Fallback gormthumb.Processor
}

// Process implements gormthumb.Processor.
func (p Processor) Process(ctx context.Context, src io.Reader, specs []gormthumb.Spec, lim gormthumb.Limits) ([]gormthumb.Thumbnail, error) {
	lim = lim.WithDefaults()
	data, err := io.ReadAll(io.LimitReader(src, lim.MaxBytes+1))
	if err != nil {
		return nil, err // the plugin's reader reports ErrTooLarge itself; others are storage errors
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: source is larger than the byte limit of %d", gormthumb.ErrTooLarge, lim.MaxBytes)
	}
	format, cformat := sniff(data)
	if format == "" || !writable(specs) {
		return p.fallback().Process(ctx, bytes.NewReader(data), specs, lim)
	}
	if err := start(); err != nil {
		return nil, err
	}
	w, h, pages, orient, err := header(cformat, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s header: %s", gormthumb.ErrNotImage, format, err)
	}
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("%w: %s with empty size %dx%d", gormthumb.ErrNotImage, format, w, h)
	}
	if int64(w)*int64(h) > lim.MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d is more than %d pixels", gormthumb.ErrTooLarge, w, h, lim.MaxPixels)
	}
	if pages > lim.MaxFrames {
		return nil, fmt.Errorf("%w: %d pages is more than %d", gormthumb.ErrTooLarge, pages, lim.MaxFrames)
	}
	if orient >= 5 && orient <= 8 {
		w, h = h, w // sizes below are of the upright image
	}
	out := make([]gormthumb.Thumbnail, 0, len(specs))
	for _, spec := range specs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := makeThumbnail(data, format, w, h, spec)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func (p Processor) fallback() gormthumb.Processor {
	if p.Fallback != nil {
		return p.Fallback
	}
	return gormthumb.GoProcessor{}
}

// sniff detects the formats this processor reads from their magic bytes.
func sniff(b []byte) (gormthumb.Format, int) {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return gormthumb.JPEG, cJPEG
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return gormthumb.PNG, cPNG
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return gormthumb.WebP, cWebP
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return gormthumb.TIFF, cTIFF
	}
	return "", 0
}

// saveFormats are the output formats written through libvips.
var saveFormats = map[gormthumb.Format]int{gormthumb.JPEG: cJPEG, gormthumb.PNG: cPNG, gormthumb.WebP: cWebP}

// writable reports whether every explicitly requested output format is
// one libvips writes here.
func writable(specs []gormthumb.Spec) bool {
	for _, s := range specs {
		if _, ok := saveFormats[s.Format]; s.Format != gormthumb.FormatSource && !ok {
			return false
		}
	}
	return true
}

// makeThumbnail makes one thumbnail of data, whose upright size is sw×sh.
func makeThumbnail(data []byte, src gormthumb.Format, sw, sh int, spec gormthumb.Spec) (gormthumb.Thumbnail, error) {
	size, crop := sizeForce, cropNone
	tw, th := fitSize(sw, sh, spec.Width, spec.Height, spec.Upscale)
	if spec.Fit == gormthumb.FitCover {
		size, crop = sizeBoth, cropFor(sw, sh, spec.Width, spec.Height, spec.Anchor)
		tw, th = spec.Width, spec.Height
		if !spec.Upscale && (sw < tw || sh < th) {
			cw, ch := cropSize(sw, sh, tw, th)
			tw, th = fitSize(cw, ch, tw, th, false)
		}
	}
	im, err := thumbnail(data, tw, th, size, crop)
	if err != nil {
		return gormthumb.Thumbnail{}, fmt.Errorf("%w: decoding %s: %s", gormthumb.ErrNotImage, src, err)
	}
	defer im.close()
	format := spec.Format
	if format == gormthumb.FormatSource {
		format = src
		if src != gormthumb.JPEG && src != gormthumb.PNG {
			format = gormthumb.JPEG
			if im.alpha() {
				format = gormthumb.PNG
			}
		}
	}
	if format == gormthumb.JPEG && im.alpha() {
		bg := spec.Background
		if bg == (color.NRGBA{}) {
			bg = color.NRGBA{255, 255, 255, 255}
		}
		flat, err := im.flatten(bg.R, bg.G, bg.B)
		if err != nil {
			return gormthumb.Thumbnail{}, fmt.Errorf("%w: flattening %s: %s", gormthumb.ErrNotImage, src, err)
		}
		defer flat.close()
		im = flat
	}
	q := spec.Quality
	if q == 0 {
		q = gormthumb.DefaultQuality
	}
	buf, err := im.save(saveFormats[format], q)
	if err != nil {
		return gormthumb.Thumbnail{}, fmt.Errorf("%w: decoding %s: %s", gormthumb.ErrNotImage, src, err)
	}
	return gormthumb.Thumbnail{Data: buf, Format: format, Width: im.width(), Height: im.height()}, nil
}

// cropFor maps an anchor to libvips's crop position along the axis a
// cover fit of sw×sh into w×h crops.
func cropFor(sw, sh, w, h int, a gormthumb.Anchor) interesting {
	wide := int64(sw)*int64(h) > int64(sh)*int64(w) // crops left/right
	switch {
	case wide && (a == imaging.Left || a == imaging.TopLeft || a == imaging.BottomLeft),
		!wide && (a == imaging.Top || a == imaging.TopLeft || a == imaging.TopRight):
		return cropLow
	case wide && (a == imaging.Right || a == imaging.TopRight || a == imaging.BottomRight),
		!wide && (a == imaging.Bottom || a == imaging.BottomLeft || a == imaging.BottomRight):
		return cropHigh
	}
	return cropMid
}

// fitSize is gormthumb's: sw×sh fitted inside w×h keeping the aspect
// ratio (Pillow's thumbnail rounding), at least 1 pixel, never larger
// than the source unless upscale.
func fitSize(sw, sh, w, h int, upscale bool) (int, int) {
	if !upscale && sw <= w && sh <= h {
		return sw, sh
	}
	if int64(sw)*int64(h) >= int64(sh)*int64(w) {
		return w, max(int(float64(sh)*float64(w)/float64(sw)+0.5), 1)
	}
	return max(int(float64(sw)*float64(h)/float64(sh)+0.5), 1), h
}

// cropSize is gormthumb's: the largest w:h-shaped rectangle inside sw×sh.
func cropSize(sw, sh, w, h int) (int, int) {
	if int64(sw)*int64(h) > int64(sh)*int64(w) {
		return max(1, int(float64(sh)*float64(w)/float64(h)+0.5)), sh
	}
	return sw, max(1, int(float64(sw)*float64(h)/float64(w)+0.5))
}
