package thumb

import (
	"image"
	"image/color"
)

// jpegScale picks the scale (1, 2, 4 or 8) to decode the JPEG whose header
// sniffCodec read (cfg, and the bytes head) at for all of specs. CMYK and
// YCCK files are decoded at full size: a reduced decode averages their
// planes before the conversion to RGB, which multiplies each colour by
// its K, and that product of averages is not the average of the products
// (the corpus's YCCK photo at 1/2 came out 31.4 dB from the full decode,
// its YCbCr twin 44.1). Every other file gets sourceScale's rule, with its
// chroma subsampling (jpegChroma).
func jpegScale(cfg image.Config, head []byte, specs []Spec) int {
	return sourceScale(jpegSource(cfg, head), specs)
}

// jpegSource is the SourceInfo of the JPEG whose header sniffCodec read
// (cfg, and the bytes head): its EXIF orientation, and its chroma
// subsampling (jpegChroma) unless it is CMYK (see jpegScale).
func jpegSource(cfg image.Config, head []byte) SourceInfo {
	src := SourceInfo{Width: cfg.Width, Height: cfg.Height, Orientation: exifOrientation(head), Format: JPEG}
	if cfg.ColorModel != color.CMYKModel {
		cx, cy := jpegChroma(head)
		src.Chroma = image.Pt(cx, cy)
	}
	return src
}

// sourceScale picks the one scale (1, 2, 4 or 8) that src, a JPEG, is
// decoded at for all of specs: the smallest of their plans' Scale (the
// sharpest decode any of them needs), so one decode serves them all; 1
// for a source without Chroma (decoded at full size only).
//
// Each plan's Scale (PlanFor) is the largest at which the region the
// thumbnail shows (the whole source, or the cover crop, planned on the
// full-size source exactly as the resize will: the box turned for
// orientations 5-8, never-upscale) keeps at least 2× the thumbnail's size
// on both sides (jpegscale.ScaleFor). A thumbnail more than half the
// source's size, as any Upscale one is, gets scale 1.
//
// Colour planes: jpegscale returns each plane at its own resolution
// divided by the scale, so with 2× luma, 4:2:0 or 4:2:2 chroma still gets
// 1× the thumbnail, which keeps it 40.2 dB PSNR or closer to the
// full-decode thumbnail (4:2:2 at 1/8; 43.7 dB for 4:2:0 photos); but 4:1:1
// chroma would get only 0.5× horizontally (34.4 dB at 1/8, the colours of
// fine detail smeared; 46.0 dB one step less). So the box asked of
// ScaleFor is widened by Chroma/2 (and heightened) where a plane is
// subsampled by more than 2: one scale step less for 4:1:1, none for
// 4:2:0.
func sourceScale(src SourceInfo, specs []Spec) int {
	if src.Format != JPEG || src.Chroma.X <= 0 || src.Chroma.Y <= 0 {
		return 1
	}
	scale := 8
	for _, spec := range specs {
		scale = min(scale, PlanFor(spec, src).Scale)
	}
	return scale
}
