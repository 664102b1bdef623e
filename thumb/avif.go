package thumb

import (
	"fmt"
	"image"
	"io"

	"github.com/gen2brain/avif"
	"github.com/gormthumb/gormthumb/thumb/internal/isobmff"
)

// AVIF is read and written with github.com/gen2brain/avif: libavif (with
// libaom) as WebAssembly embedded in the package (wazero), or the system's
// shared libavif when it is version 1.1 or later (the unversioned
// libavif.so, loaded with purego, no cgo; Debian 12's libavif15 is 0.11 and
// is not used). libavif decodes 8-bit AVIF to RGBA and 10- and 12-bit AVIF
// to RGBA64, alpha included (premultiplied, as those types are), and
// leaves the container's transformations to its caller: the clean aperture
// (clap) is cropped here and irot and imir become the source's
// orientation, applied to the thumbnail (codec.orient), as EXIF
// orientation is for a JPEG.

// decodeAVIF decodes the AVIF file whose header is h, as stored but for
// its clean aperture.
func decodeAVIF(r io.Reader, h *isobmff.Image) (image.Image, error) {
	data, err := readComplete(r, h)
	if err != nil {
		return nil, err
	}
	img, err := safeDecode(avif.Decode, avif.Dynamic, data)
	if err != nil {
		return nil, err
	}
	if got := img.Bounds(); got != image.Rect(0, 0, h.Width, h.Height) {
		return nil, fmt.Errorf("decoded %v, the header says %dx%d", got.Size(), h.Width, h.Height)
	}
	if h.Crop != nil {
		img = subImage(img, *h.Crop)
	}
	return img, nil
}

// avifSpeed is libavif's encoder speed for thumbnails (0 slowest .. 10
// fastest).
const avifSpeed = 8

// encodeAVIF writes img as lossy AVIF, 4:2:0, alpha kept, at quality q
// (libavif's scale, 1..100 here).
func encodeAVIF(w io.Writer, img image.Image, q int) error {
	return avif.Encode(w, img, avif.Options{Quality: q, QualityAlpha: q, Speed: avifSpeed, ChromaSubsampling: image.YCbCrSubsampleRatio420})
}
