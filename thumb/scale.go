package thumb

import (
	"image"
	"image/color"

	"github.com/gormthumb/gormthumb/thumb/internal/jpegscale"
)

// jpegScale picks the scale (1, 2, 4 or 8) to decode the JPEG whose header
// sniffCodec read (cfg, and the bytes head) at for all of specs. CMYK and
// YCCK files are decoded at full size: a reduced decode averages their
// planes before the conversion to RGB, which multiplies each colour by
// its K, and that product of averages is not the average of the products
// (the corpus's YCCK photo at 1/2 came out 32.6 dB from the full decode,
// its YCbCr twin 45.3). Every other file gets specScale's rule.
func jpegScale(cfg image.Config, head []byte, orient int, specs []Spec) int {
	if cfg.ColorModel == color.CMYKModel {
		return 1
	}
	cx, cy := jpegChroma(head)
	return specScale(cfg.Width, cfg.Height, orient, cx, cy, specs)
}

// specScale picks the one scale (1, 2, 4 or 8) that a sw×sh JPEG (as
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
// 1× the thumbnail, which keeps it 41.5 dB PSNR or closer to the
// full-decode thumbnail (4:2:2 at 1/8; 45 dB for 4:2:0 photos); but 4:1:1
// chroma would get only 0.5× horizontally (35.6 dB at 1/8, the colours of
// fine detail smeared; 47.3 dB one step less). So the box asked of ScaleFor is
// widened by cx/2 (and heightened by cy/2) where a plane is subsampled by
// more than 2: one scale step less for 4:1:1, none for 4:2:0.
func specScale(sw, sh, orient, cx, cy int, specs []Spec) int {
	scale := 8
	for _, spec := range specs {
		w, h, stored := storedSpec(spec, orient)
		p := planFit(sw, sh, w, h, stored)
		scale = min(scale, jpegscale.ScaleFor(p.crop.Dx(), p.crop.Dy(), p.tw*max(1, cx/2), p.th*max(1, cy/2)))
	}
	return scale
}
