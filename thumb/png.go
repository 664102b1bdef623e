package thumb

import (
	"errors"
	"image"
	"image/color"
	"io"
	"slices"

	"github.com/disintegration/imaging"

	"github.com/gormthumb/gormthumb/thumb/internal/pngscale"
)

// PNG sources are streamed through thumb/internal/pngscale when every
// spec lets the resize box-average the source first (planPNG): pngscale
// inflates in one goroutine and, in the caller's, unfilters each row and
// adds it into the k×k cells of each spec's grid, the very grid and
// arithmetic of the resize's box pre-shrink (the spec's crop, the factor
// it would use), so the thumbnails of an 8-bit PNG come out identical to
// those made from image/png's full decode, and the full-size pixels are
// never held. Other PNGs (a spec that needs more than a sixth of the
// source's size) are decoded by image/png, as before. pngscale accepts
// and refuses exactly what image/png does, and its errors, like
// image/png's, wrap ErrNotImage.
//
// 16-bit PNGs, which the resize has no pre-shrink for (it gives them to
// Lanczos whole, reading 8 bits a sample), are streamed box-averaged to
// no less than six times the thumbnail rather than three, and that goes to
// Lanczos as it is: the thumbnails stay within 40 dB of the whole-image
// Lanczos pass they had (at three times, a 2 to 12-pixel thumbnail of a
// noisy source came out 31 to 38 dB from it, as an 8-bit one does
// from a Lanczos pass alone).

// pngStream is how a PNG is streamed for a set of specs.
type pngStream struct {
	plans   []pngGeometry     // each spec's, as render plans it
	regions []pngscale.Region // each distinct plan's crop and box factor
	index   []int             // the region of each plan
	wide    bool              // 16-bit samples: see above
}

// planPNG plans each spec on a sw×sh PNG whose header said model exactly
// as render will, and picks each plan's box factor: the resize's
// (boxFactor), for twice the thumbnail's size when the samples are 16
// bits. It returns nil when a spec gets no box: the PNG is then decoded
// in full.
func planPNG(sw, sh int, model color.Model, specs []Spec) *pngStream {
	st := &pngStream{}
	margin := 1
	switch model {
	case color.Gray16Model, color.RGBA64Model, color.NRGBA64Model:
		st.wide, margin = true, 2
	}
	for _, spec := range specs {
		p := geometryOf(PlanFor(spec, SourceInfo{Width: sw, Height: sh, Orientation: 1, Format: PNG}))
		r := pngscale.Region{Rect: p.Crop, Factor: boxFactor(p.Crop.Dx(), p.Crop.Dy(), margin*p.Resize.X, margin*p.Resize.Y, 1)}
		if r.Factor == 0 {
			return nil
		}
		i := slices.Index(st.regions, r)
		if i < 0 {
			i = len(st.regions)
			st.regions = append(st.regions, r)
		}
		st.plans, st.index = append(st.plans, p), append(st.index, i)
	}
	if len(st.plans) == 0 {
		return nil
	}
	return st
}

// pngGeometry is what of a Plan the streamed pixels depend on.
type pngGeometry struct {
	Crop   image.Rectangle
	Resize image.Point
}

// geometryOf is p's pngGeometry.
func geometryOf(p Plan) pngGeometry { return pngGeometry{p.Crop, p.Resize} }

// pngShrunk is a streamed PNG: each plan's crop, box-averaged for it.
type pngShrunk struct {
	imgs map[pngGeometry]image.Image
	wide bool // 16-bit samples: straight to Lanczos
}

// decodePNG streams the PNG in r, whose header said cfg, as st says. The
// source's img is the whole picture's region when the first spec shows it
// all, nil otherwise: render takes each plan's pixels from s.png. Errors
// wrap ErrNotImage or ErrTooLarge, except a failure of r itself, which is
// returned as it is.
func decodePNG(r io.Reader, cfg image.Config, lim Limits, st *pngStream) (*source, error) {
	imgs, err := pngscale.DecodeRegions(r, st.regions, pngscale.Options{MaxPixels: lim.MaxPixels})
	switch {
	case err == nil:
	case errors.Is(err, pngscale.ErrTooLarge):
		return nil, wrapf(ErrTooLarge, "decoding png: %v", err)
	case errors.Is(err, pngscale.ErrFormat), errors.Is(err, pngscale.ErrUnsupported):
		return nil, wrapf(ErrNotImage, "decoding png: %v", err)
	default:
		return nil, err
	}
	s := &source{w: cfg.Width, h: cfg.Height, format: PNG, orient: 1, png: &pngShrunk{imgs: map[pngGeometry]image.Image{}, wide: st.wide}}
	for i, p := range st.plans {
		s.png.imgs[p] = imgs[st.index[i]]
	}
	if st.regions[0].Rect == image.Rect(0, 0, cfg.Width, cfg.Height) {
		s.img, s.scale = imgs[0], st.regions[0].Factor
	}
	return s, nil
}

// resize makes the thumbnail p plans: from the plan's own box-averaged
// pixels when the source was streamed (then only the final resample is
// left), else from the decoded picture (resizePlanned).
func (s *source) resize(p Plan) image.Image {
	if s.png != nil {
		if img, ok := s.png.imgs[geometryOf(p)]; ok {
			if s.png.wide {
				return imaging.Resize(img, p.Resize.X, p.Resize.Y, imaging.Lanczos)
			}
			return resample(img, p.Resize.X, p.Resize.Y)
		}
	}
	return resizePlanned(s.img, s.scale, p)
}

// picture is the decoded picture of s, or for a streamed PNG that kept no
// whole one, one of its reduced regions (enough to tell transparency).
func (s *source) picture() image.Image {
	if s.img == nil && s.png != nil {
		for _, img := range s.png.imgs {
			return img
		}
	}
	return s.img
}

// DecodedBytesFor is DecodedBytes for a source thumbnailed for specs: a
// PNG those specs let stream is charged what streaming holds (pngscale's
// rows, cell sums and reduced regions, the inflater's state) and what the
// resize and the encoder take from there; every other source
// DecodedBytes.
func (h Header) DecodedBytesFor(specs []Spec) int64 {
	if h.Format == PNG && h.png.Width == h.Width && h.png.Height == h.Height {
		if st := planPNG(h.Width, h.Height, h.ColorModel, specs); st != nil {
			var reduced int64
			for _, r := range st.regions {
				reduced += 4 * int64(r.Rect.Dx()/r.Factor) * int64(r.Rect.Dy()/r.Factor)
			}
			return pngscale.Footprint(h.png, st.regions) + reduced/2 + pngEncodeBytes
		}
	}
	return h.DecodedBytes()
}

// pngEncodeBytes bounds what encoding a thumbnail allocates beyond its
// pixels (compress/flate's compressor, for a PNG, is about 1 MB).
const pngEncodeBytes = 2 << 20
