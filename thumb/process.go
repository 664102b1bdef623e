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
	s, err := decodeSource(lr, lim, specs)
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
	w, h   int         // the full size of the picture as stored, before EXIF orientation
	scale  int         // img is the picture decoded at 1/scale (see scale.go)
	format Format
	orient int           // EXIF orientation 1..8
	anim   *gifStream    // an animated GIF, when its animation is kept (see gif.go)
	pal    color.Palette // a GIF's first-frame palette, reused for GIF output

	alpha, alphaKnown bool       // img has transparency: looked up once, when a format turns on it
	png               *pngShrunk // a streamed PNG: each plan's crop, box-averaged for it (see png.go)
}

// fullSize makes s a source decoded at full size.
func (s *source) fullSize() *source {
	b := s.img.Bounds()
	s.w, s.h, s.scale = b.Dx(), b.Dy(), 1
	return s
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

// decodeSource decodes src after checking its header against lim. A JPEG
// is decoded at the smallest scale that still serves every spec (see
// scale.go), a PNG box-averaged for each spec as it streams when every
// spec allows (see png.go). A GIF keeps its animation when a spec could
// write one and the animation fits the limits (see gif.go).
func decodeSource(src io.Reader, lim Limits, specs []Spec) (*source, error) {
	errs := &readErrs{r: src}
	cfg, c, head, r, err := sniffCodec(errs, lim)
	if err != nil {
		return nil, err
	}
	switch c.format {
	case GIF:
		return decodeGIF(r, lim, wantsAnimation(specs))
	case PNG:
		if st := planPNG(cfg.Width, cfg.Height, cfg.ColorModel, specs); st != nil { // png.go
			s, err := decodePNG(r, cfg, lim, st)
			if err != nil && errs.err != nil {
				return nil, errs.err
			}
			return s, err
		}
	case JPEG:
		orient := exifOrientation(head)
		scale := jpegScale(cfg, head, specs)
		img, err := decodeJPEG(r, cfg, lim, scale)
		if err != nil {
			if errs.err != nil {
				return nil, errs.err
			}
			return nil, err
		}
		return &source{img: img, w: cfg.Width, h: cfg.Height, scale: scale, format: JPEG, orient: orient}, nil
	}
	orient := 1
	if c.format == AVIF {
		orient = c.orient // irot and imir (HEIF's are applied by libheif)
	}
	img, err := c.decode(r)
	if err != nil {
		if errs.err != nil {
			return nil, errs.err
		}
		return nil, wrapf(ErrNotImage, "decoding %s: %v", c.format, err)
	}
	return (&source{img: img, format: c.format, orient: orient}).fullSize(), nil
}

// thumbnail makes one thumbnail of s.
func (s *source) thumbnail(ctx context.Context, spec Spec) (Thumbnail, error) {
	p := s.plan(spec)
	if s.anim != nil && p.Format == GIF {
		return animatedThumbnail(ctx, s.anim, p)
	}
	return makeThumbnail(s, p)
}

// plan plans spec for s (PlanFor). Whether s has transparency is looked
// up only when the format turns on it, and once.
func (s *source) plan(spec Spec) Plan {
	info := SourceInfo{Width: s.w, Height: s.h, Orientation: s.orient, Format: s.format}
	if FormatFor(spec, s.format, true) != FormatFor(spec, s.format, false) {
		if !s.alphaKnown {
			s.alpha, s.alphaKnown = !isOpaque(s.picture()), true
		}
		info.Alpha = s.alpha
	}
	return PlanFor(spec, info)
}

// makeThumbnail resizes, orients and encodes the thumbnail p plans of a
// decoded still source.
func makeThumbnail(s *source, p Plan) (Thumbnail, error) {
	small := s.render(p)
	var buf bytes.Buffer
	if err := encode(&buf, small, p, s.pal); err != nil {
		return Thumbnail{}, err
	}
	b := small.Bounds()
	return Thumbnail{Data: buf.Bytes(), Format: p.Format, Width: b.Dx(), Height: b.Dy()}, nil
}

// render resizes and orients the still picture of s as p plans: resized
// before it is turned, so a thumbnail is turned rather than a full-size
// image (the plan's box and cover anchor are turned to the pixels as
// stored, so `anchor=top` keeps the top of the picture as shown).
func (s *source) render(p Plan) image.Image {
	return applyOrientation(s.resize(p), s.orient) // png.go
}
