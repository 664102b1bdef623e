package thumb

import (
	"fmt"
	"image"
	"io"

	"github.com/gen2brain/avif"
)

// AVIF is read and written with github.com/gen2brain/avif: libavif (with
// libaom) as WebAssembly embedded in the package (wazero), or the system's
// shared libavif when it is version 1.1 or later (the unversioned
// libavif.so, loaded with purego, no cgo; Debian 12's libavif15 is 0.11 and
// is not used). libavif decodes 8-bit AVIF to RGBA and 10- and 12-bit AVIF
// to RGBA64, alpha included (premultiplied, as those types are), and
// leaves the container's transformations to its caller: the clean aperture
// (clap) is cropped here and irot and imir become the source's
// orientation, applied to the thumbnail (heifOrientation), as EXIF
// orientation is for a JPEG.

// decodeAVIF decodes an AVIF file, as stored but for its clean aperture.
func decodeAVIF(r io.Reader) (image.Image, error) {
	data, h, err := readWholeHEIF(r)
	if err != nil {
		return nil, err
	}
	img, err := safeDecode(avif.Decode, data)
	if err != nil {
		return nil, err
	}
	if avif.Dynamic() != nil {
		repairFreed(img) // see heif.go
	}
	if got := img.Bounds(); got != image.Rect(0, 0, h.width, h.height) {
		return nil, fmt.Errorf("decoded %v, the header says %dx%d", got.Size(), h.width, h.height)
	}
	if h.crop != nil {
		if s, ok := img.(subImager); ok {
			img = s.SubImage(*h.crop)
		}
	}
	return img, nil
}

// subImager is what the decoded image types have in common for a crop.
type subImager interface {
	SubImage(image.Rectangle) image.Image
}

// avifSpeed is libavif's encoder speed for thumbnails (0 slowest .. 10
// fastest).
const avifSpeed = 8

// encodeAVIF writes img as lossy AVIF, 4:2:0, alpha kept, at quality q
// (libavif's 0..100 scale; 0 means DefaultQuality).
func encodeAVIF(w io.Writer, img image.Image, q int) error {
	if q == 0 {
		q = DefaultQuality
	}
	return avif.Encode(w, img, avif.Options{Quality: q, QualityAlpha: q, Speed: avifSpeed, ChromaSubsampling: image.YCbCrSubsampleRatio420})
}
