package thumb

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"io"
)

// GoProcessor is the default, pure-Go Processor.
//
// It reads the source once: the header is sniffed through a recorder and
// checked against the Limits before any pixel is decoded, then replayed into
// the decoder. GIFs are the exception that proves the rule: their frame
// sizes and count are only known after scanning the whole stream, so a GIF
// is buffered (at most Limits.MaxBytes of compressed bytes), scanned, and
// decoded from that buffer (see gif.go).
type GoProcessor struct{}

// Process implements Processor.
func (GoProcessor) Process(ctx context.Context, src io.Reader, specs []Spec, lim Limits) ([]Thumbnail, error) {
	lim = lim.WithDefaults()
	lr := &limitedReader{r: src, n: lim.MaxBytes}
	s, err := decodeSource(lr, lim, wantsAnimation(specs))
	if err != nil {
		return nil, err
	}
	if lr.n < 0 {
		// A decoder that took its last byte past the limit may have
		// ignored the error that came with it (image/jpeg does).
		return nil, wrapf(ErrTooLarge, "source is larger than the byte limit of %d", lim.MaxBytes)
	}
	out := make([]Thumbnail, 0, len(specs))
	for _, spec := range specs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := s.thumbnail(ctx, spec)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// source is a decoded source image, ready to be thumbnailed.
type source struct {
	img    image.Image // the still picture (a GIF's first frame on its canvas)
	format Format
	orient int           // EXIF orientation 1..8
	anim   *gifStream    // an animated GIF, when its animation is kept (see gif.go)
	pal    color.Palette // a GIF's first-frame palette, reused for GIF output
}

// wantsAnimation reports whether any spec could write an animated GIF.
func wantsAnimation(specs []Spec) bool {
	for _, s := range specs {
		if s.Format == FormatSource || s.Format == GIF {
			return true
		}
	}
	return false
}

// decodeSource decodes src after checking its header against lim. A GIF
// keeps its animation when animate is set and the animation fits the limits
// (see gif.go).
func decodeSource(src io.Reader, lim Limits, animate bool) (*source, error) {
	errs := &readErrs{r: src}
	cfg, c, head, r, err := sniffCodec(errs, lim)
	if err != nil {
		return nil, err
	}
	if c.format == GIF {
		return decodeGIF(r, lim, animate)
	}
	orient := 1
	var scans *scanCounter
	if c.format == JPEG {
		orient = exifOrientation(head)
		scans = &scanCounter{r: r, max: maxScans(cfg, lim)}
		r = scans
	}
	if c.format == AVIF {
		orient = heifOrientation(head) // irot and imir (HEIF's are applied by libheif)
	}
	img, err := c.decode(r)
	if err != nil {
		if scans != nil && scans.err != nil {
			return nil, scans.err
		}
		if errs.err != nil {
			return nil, errs.err
		}
		return nil, wrapf(ErrNotImage, "decoding %s: %v", c.format, err)
	}
	return &source{img: img, format: c.format, orient: orient}, nil
}

// thumbnail makes one thumbnail of s.
func (s *source) thumbnail(ctx context.Context, spec Spec) (Thumbnail, error) {
	if s.anim != nil && OutputFormat(spec, s.format, s.img) == GIF {
		return animatedThumbnail(ctx, s.anim, spec)
	}
	return makeThumbnail(s.img, s.format, s.orient, spec, s.pal)
}

// makeThumbnail resizes, orients and encodes one thumbnail from a decoded
// source. pal, if any, is the palette to write a GIF with.
func makeThumbnail(img image.Image, srcFormat Format, orient int, spec Spec, pal color.Palette) (Thumbnail, error) {
	// Resize before rotating: the box is swapped for orientations that
	// transpose, so we rotate a thumbnail rather than a full-size image.
	// The cover anchor is turned the same way, so `anchor=top` keeps the
	// top of the picture as shown, not of the pixels as stored.
	w, h := spec.Width, spec.Height
	if orient >= 5 && orient <= 8 {
		w, h = h, w
	}
	spec.Anchor = storedAnchor(spec.Anchor, orient)
	small := resizeTo(img, w, h, spec)
	small = applyOrientation(small, orient)
	format := OutputFormat(spec, srcFormat, img)
	var buf bytes.Buffer
	if err := encode(&buf, small, format, spec, pal); err != nil {
		return Thumbnail{}, err
	}
	b := small.Bounds()
	return Thumbnail{Data: buf.Bytes(), Format: format, Width: b.Dx(), Height: b.Dy()}, nil
}
