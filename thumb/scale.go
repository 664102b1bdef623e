package thumb

import "github.com/gormthumb/gormthumb/thumb/internal/jpegscale"

// jpegScale picks the one scale (1, 2, 4 or 8) that a sw×sh JPEG (as
// stored) with EXIF orientation orient and chroma subsampling cx×cy (see
// jpegChroma) is decoded at for all of specs: the smallest decode that
// still leaves the resizer at least twice each thumbnail's size in the
// full-resolution plane and at least once its size in every colour plane.
//
// For each spec it plans the thumbnail on the full-size source exactly as
// the resize will (planFit: the box turned for orientations 5-8, the cover
// crop, never-upscale), and asks jpegscale.ScaleFor for the largest scale
// at which the region the thumbnail shows (the whole source, or the cover
// crop) keeps at least 2× the thumbnail's size on both sides. A thumbnail
// more than half the source's size, as any Upscale one is, gets scale 1.
// The result is the smallest scale over the specs (the sharpest decode any
// of them needs), so one decode serves them all.
//
// Colour planes: jpegscale returns each plane at its own resolution
// divided by the scale, so with 2× luma, 4:2:0 or 4:2:2 chroma still gets
// 1× the thumbnail, which stays within 45 dB of the full-decode thumbnail;
// but 4:1:1 chroma would get only 0.5× horizontally (35.6 dB at 1/8, the
// colours of fine detail smeared). So the box asked of ScaleFor is
// widened by cx/2 (and heightened by cy/2) where a plane is subsampled by
// more than 2: one scale step less for 4:1:1, none for 4:2:0.
func jpegScale(sw, sh, orient, cx, cy int, specs []Spec) int {
	scale := 8
	for _, spec := range specs {
		w, h, stored := storedSpec(spec, orient)
		p := planFit(sw, sh, w, h, stored)
		scale = min(scale, jpegscale.ScaleFor(p.crop.Dx(), p.crop.Dy(), p.tw*max(1, cx/2), p.th*max(1, cy/2)))
	}
	return scale
}
