package gormthumb

import (
	"image"

	"github.com/disintegration/imaging"
)

// fitSize returns the size of an sw×sh image fitted inside w×h keeping its
// aspect ratio, never smaller than 1 pixel, and never larger than the
// source unless upscale is set.
func fitSize(sw, sh, w, h int, upscale bool) (int, int) {
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

// resizeTo fits img into w×h according to spec.
func resizeTo(img image.Image, w, h int, spec Spec) image.Image {
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	if spec.Fit == FitCover {
		if !spec.Upscale && (sw < w || sh < h) {
			// Crop to the box's aspect ratio, then scale down if still larger.
			cw, ch := cropSize(sw, sh, w, h)
			img = imaging.CropAnchor(img, cw, ch, spec.Anchor)
			tw, th := fitSize(cw, ch, w, h, false)
			return resample(img, tw, th)
		}
		return imaging.Fill(img, w, h, spec.Anchor, imaging.Lanczos)
	}
	tw, th := fitSize(sw, sh, w, h, spec.Upscale)
	return resample(img, tw, th)
}

// cropSize is the largest w:h-shaped rectangle inside sw×sh.
func cropSize(sw, sh, w, h int) (int, int) {
	if int64(sw)*int64(h) > int64(sh)*int64(w) {
		return max(1, int(float64(sh)*float64(w)/float64(h)+0.5)), sh
	}
	return sw, max(1, int(float64(sw)*float64(h)/float64(w)+0.5))
}

// resample scales img to exactly tw×th with a Lanczos filter.
func resample(img image.Image, tw, th int) image.Image {
	b := img.Bounds()
	if b.Dx() == tw && b.Dy() == th {
		return img
	}
	return imaging.Resize(img, tw, th, imaging.Lanczos)
}
