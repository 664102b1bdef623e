package thumb

import (
	"cmp"
	"image"
	"image/color"

	"github.com/gormthumb/gormthumb/thumb/internal/jpegscale"
)

// The policy every Processor follows, decided here once: what size a
// thumbnail is, which region of the source it shows, how far a JPEG may be
// decoded at reduced scale, and which format it is written in. GoProcessor
// and the vips module's processor both make their thumbnails from PlanFor
// and FormatFor, and thumbtest checks every processor's output against
// them.

// SourceInfo is what planning a thumbnail needs to know of its source, all
// of it from the header.
type SourceInfo struct {
	// Width and Height are the picture's size as stored, before
	// Orientation.
	Width, Height int
	// Orientation is the EXIF orientation (1..8) that shows the stored
	// picture upright; 0 means 1.
	Orientation int
	// Format is the source's format.
	Format Format
	// Alpha says the picture has transparent or translucent pixels (not
	// merely an alpha channel).
	Alpha bool
	// Chroma is, for a JPEG that may be decoded at reduced scale, how
	// many pixels of the full-resolution plane one sample of its most
	// subsampled plane spans across and down: 1, 1 for grey and 4:4:4,
	// 2, 2 for 4:2:0, 4, 1 for 4:1:1. Zero for a source decoded at full
	// size only (every other format, and CMYK JPEGs).
	Chroma image.Point
}

// orientation is s.Orientation, 1 when it is not 1..8.
func (s SourceInfo) orientation() int {
	if s.Orientation < 1 || s.Orientation > 8 {
		return 1
	}
	return s.Orientation
}

// Plan is how one thumbnail is made from a source: the region of the
// stored picture it shows, resampled to Resize, then turned upright by the
// source's orientation, and encoded in Format. Sizes and the crop are on
// the full stored picture, whatever scale it is decoded at, so every
// decode gives the same thumbnail size and framing.
type Plan struct {
	// Width and Height are the thumbnail's size, as shown (after the
	// source's orientation).
	Width, Height int
	// Box is the spec's box turned to the pixels as stored: Width×Height
	// of the spec, swapped for the orientations that turn the picture a
	// quarter (5..8).
	Box image.Point
	// Crop is the region of the stored picture the thumbnail shows: all
	// of it for FitContain; for FitCover, the largest rectangle of the
	// box's shape inside it, placed at the spec's anchor (which names a
	// point of the picture as shown).
	Crop image.Rectangle
	// Resize is the size Crop is resampled to, as stored: Width×Height,
	// swapped for orientations 5..8.
	Resize image.Point
	// Scale is the reduced scale (1, 2, 4 or 8) a JPEG may be decoded at
	// for this thumbnail: the largest at which Crop keeps at least twice
	// Resize on both sides, and every colour plane at least Resize (see
	// scale.go). 1 for sources without Chroma.
	Scale int
	// Format is the format the thumbnail is written in (FormatFor).
	Format Format
	// Quality is the JPEG, WebP and AVIF quality: the spec's, or
	// DefaultQuality.
	Quality int
	// Background is the opaque colour transparent pixels are flattened
	// onto when the thumbnail is written as JPEG: the spec's, or white.
	Background color.NRGBA
}

// PlanFor plans the thumbnail spec asks for of the source src describes.
//
// The box is turned for src's orientation, and the cover anchor with it,
// so `anchor=top` keeps the top of the picture as shown. FitContain fits
// the picture inside the box keeping its aspect ratio (FitSize), never
// enlarging it unless spec.Upscale. FitCover crops the largest rectangle
// of the box's shape (CropSize) at the anchor and scales it to the box;
// a source smaller than the box, without Upscale, keeps the box's shape at
// the crop's own size, no larger.
func PlanFor(spec Spec, src SourceInfo) Plan {
	orient := src.orientation()
	turned := orient >= 5
	w, h := spec.Width, spec.Height
	if turned {
		w, h = h, w
	}
	sw, sh := src.Width, src.Height
	p := Plan{
		Box:        image.Pt(w, h),
		Scale:      1,
		Format:     FormatFor(spec, src.Format, src.Alpha),
		Quality:    cmp.Or(spec.Quality, DefaultQuality),
		Background: backgroundColor(spec.Background),
	}
	if spec.Fit == FitCover {
		cw, ch := CropSize(sw, sh, w, h)
		p.Crop = anchorRect(image.Rect(0, 0, sw, sh), cw, ch, storedAnchor(spec.Anchor, orient))
		p.Resize = image.Pt(w, h)
		if !spec.Upscale && (sw < w || sh < h) {
			p.Resize.X, p.Resize.Y = FitSize(cw, ch, w, h, false)
		}
	} else {
		p.Crop = image.Rect(0, 0, sw, sh)
		p.Resize.X, p.Resize.Y = FitSize(sw, sh, w, h, spec.Upscale)
	}
	p.Width, p.Height = p.Resize.X, p.Resize.Y
	if turned {
		p.Width, p.Height = p.Height, p.Width
	}
	if src.Format == JPEG && src.Chroma.X > 0 && src.Chroma.Y > 0 {
		// Colour planes: jpegscale returns each plane at its own
		// resolution divided by the scale, so with 2× luma a plane
		// subsampled by 2 still gets 1× the thumbnail; one subsampled by
		// more (4:1:1) would get less, so the box asked of ScaleFor is
		// widened by Chroma/2 where it is over 2.
		p.Scale = jpegscale.ScaleFor(p.Crop.Dx(), p.Crop.Dy(),
			p.Resize.X*max(1, src.Chroma.X/2), p.Resize.Y*max(1, src.Chroma.Y/2))
	}
	return p
}

// CropAt is p.Crop in the pixels of the picture decoded at 1/scale, whose
// bounds are b (pixel i of b covering stored pixels [i·scale,
// (i+1)·scale)): each edge at the nearest pixel boundary, clamped to b,
// never empty.
func (p Plan) CropAt(scale int, b image.Rectangle) image.Rectangle {
	return scaleRect(p.Crop, scale, b)
}

// scaleRect maps r, in full-size coordinates, into the pixels of b, an
// image decoded at 1/scale (pixel i of b covers full-size pixels
// [i·scale, (i+1)·scale)): each edge goes to the nearest pixel boundary,
// clamped to b, and the result is never empty.
func scaleRect(r image.Rectangle, scale int, b image.Rectangle) image.Rectangle {
	at := func(v, lo, hi int) int { return min(max(lo+(v+scale/2)/scale, lo), hi) }
	out := image.Rect(at(r.Min.X, b.Min.X, b.Max.X), at(r.Min.Y, b.Min.Y, b.Max.Y),
		at(r.Max.X, b.Min.X, b.Max.X), at(r.Max.Y, b.Min.Y, b.Max.Y))
	if out.Dx() == 0 {
		out.Min.X = max(out.Max.X-1, b.Min.X)
		out.Max.X = out.Min.X + 1
	}
	if out.Dy() == 0 {
		out.Min.Y = max(out.Max.Y-1, b.Min.Y)
		out.Max.Y = out.Min.Y + 1
	}
	return out
}

// FormatFor is the format a thumbnail is written in, for a source in
// format src that has transparency (alpha) or not: spec.Format if set;
// otherwise JPEG, PNG and GIF sources keep their format, and every other
// source (WebP, TIFF, BMP, HEIF, AVIF) becomes PNG if it has transparency
// and JPEG if not.
func FormatFor(spec Spec, src Format, alpha bool) Format {
	if spec.Format != FormatSource {
		return spec.Format
	}
	switch src {
	case JPEG, PNG, GIF:
		return src
	}
	if alpha {
		return PNG
	}
	return JPEG
}

// OutputFormat is FormatFor with the transparency read from img, the
// decoded source (nil counts as opaque): the format a thumbnail of img,
// in format src, is written in.
func OutputFormat(spec Spec, src Format, img image.Image) Format {
	return FormatFor(spec, src, img != nil && !isOpaque(img))
}

// FitSize returns the size of an sw×sh image fitted inside w×h keeping its
// aspect ratio, never smaller than 1 pixel, and never larger than the
// source unless upscale is set.
func FitSize(sw, sh, w, h int, upscale bool) (int, int) {
	if !upscale && sw <= w && sh <= h {
		return sw, sh
	}
	// Scale by the tighter side, rounding the other (Pillow's thumbnail).
	if int64(sw)*int64(h) >= int64(sh)*int64(w) {
		nh := int((float64(sh)*float64(w)/float64(sw) + 0.5))
		return w, max(nh, 1)
	}
	nw := int((float64(sw)*float64(h)/float64(sh) + 0.5))
	return max(nw, 1), h
}

// CropSize is the largest w:h-shaped rectangle inside sw×sh.
func CropSize(sw, sh, w, h int) (int, int) {
	if int64(sw)*int64(h) > int64(sh)*int64(w) {
		return max(1, int(float64(sh)*float64(w)/float64(h)+0.5)), sh
	}
	return sw, max(1, int(float64(sw)*float64(h)/float64(w)+0.5))
}

// anchorRect is the cw×ch rectangle of b at anchor (all of b when b is
// no larger).
func anchorRect(b image.Rectangle, cw, ch int, anchor Anchor) image.Rectangle {
	cw, ch = min(cw, b.Dx()), min(ch, b.Dy())
	x := b.Min.X + (b.Dx()-cw)/2
	y := b.Min.Y + (b.Dy()-ch)/2
	switch anchor {
	case TopLeft, Left, BottomLeft:
		x = b.Min.X
	case TopRight, Right, BottomRight:
		x = b.Max.X - cw
	}
	switch anchor {
	case TopLeft, Top, TopRight:
		y = b.Min.Y
	case BottomLeft, Bottom, BottomRight:
		y = b.Max.Y - ch
	}
	return image.Rect(x, y, x+cw, y+ch)
}

// anchorXY places each anchor on a 3x3 grid, x and y in -1..1 (y down).
var anchorXY = map[Anchor][2]int{
	TopLeft: {-1, -1}, Top: {0, -1}, TopRight: {1, -1},
	Left: {-1, 0}, Center: {0, 0}, Right: {1, 0},
	BottomLeft: {-1, 1}, Bottom: {0, 1}, BottomRight: {1, 1},
}

// storedAnchor is the anchor, in the pixels as stored, of an anchor in the
// picture as shown after EXIF orientation orient.
func storedAnchor(a Anchor, orient int) Anchor {
	xy, ok := anchorXY[a]
	if !ok {
		return a
	}
	x, y := xy[0], xy[1]
	switch orient {
	case 2:
		x = -x
	case 3:
		x, y = -x, -y
	case 4:
		y = -y
	case 5:
		x, y = y, x
	case 6:
		x, y = y, -x
	case 7:
		x, y = -y, -x
	case 8:
		x, y = -y, x
	}
	for k, v := range anchorXY {
		if v == [2]int{x, y} {
			return k
		}
	}
	return a
}
