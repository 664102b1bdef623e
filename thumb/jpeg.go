package thumb

import (
	"encoding/binary"
	"errors"
	"image"
	"io"

	"github.com/gormthumb/gormthumb/thumb/internal/jpegscale"
)

// JPEG sources are decoded by thumb/internal/jpegscale, our own decoder,
// at 1/1, 1/2, 1/4 or 1/8 of their size (scale.go picks the scale), so a
// thumbnail of a 12-megapixel photo never holds its full-size pixels
// (CMYK files excepted: see jpegScale).
// image/jpeg still reads the header (sniffCodec: size, limits) and writes
// JPEG thumbnails, but never decodes a source's pixels: jpegscale accepts
// and refuses what image/jpeg does, and what it refuses (arithmetic coding,
// lossless or hierarchical modes, 12-bit samples, odd sampling factors)
// image/jpeg refuses as well, so there is nothing to fall back to. Those
// files fail with ErrUnsupportedFormat; most of them already fail the
// header check, where image/jpeg reports them as not an image.

// maxScans bounds the scans of a progressive JPEG. A progressive JPEG may
// hold any number of scans, and a decoder walks the image's coefficients
// once per scan; a scan can take a few bytes, so a 1 MB file of repeated
// scans could keep a core busy for hours. Decoding stops with ErrTooLarge
// past scans × pixels > 100 × MaxPixels: 100 scans for a 50-megapixel
// image, over 400 at 12 megapixels, while real encoders write 10 or so
// (libjpeg) to a few dozen (mozjpeg).
func maxScans(cfg image.Config, lim Limits) int {
	return int(max(100, 100*lim.MaxPixels/max(1, int64(cfg.Width)*int64(cfg.Height))))
}

// decodeJPEG decodes the JPEG in r, whose header said cfg, at 1/scale.
// Errors wrap ErrNotImage, ErrUnsupportedFormat or ErrTooLarge, except a
// failure of r itself, which is returned wrapped as jpegscale returns it
// (decodeSource reports the reader's own error instead).
func decodeJPEG(r io.Reader, cfg image.Config, lim Limits, scale int) (image.Image, error) {
	img, err := jpegscale.Decode(r, jpegscale.Options{Scale: scale, MaxPixels: lim.MaxPixels, MaxScans: maxScans(cfg, lim)})
	switch {
	case err == nil:
		return img, nil
	case errors.Is(err, jpegscale.ErrTooLarge):
		return nil, wrapf(ErrTooLarge, "decoding jpeg: %v", err)
	case errors.Is(err, jpegscale.ErrUnsupported):
		return nil, wrapf(ErrUnsupportedFormat, "decoding jpeg: %v", err)
	case errors.Is(err, jpegscale.ErrFormat):
		return nil, wrapf(ErrNotImage, "decoding jpeg: %v", err)
	}
	return nil, err
}

// jpegSegments calls fn with the marker and payload of each segment of the
// JPEG header in head, up to the first scan, while fn returns true. It
// stops quietly at anything malformed and at the end of head.
func jpegSegments(head []byte, fn func(marker byte, payload []byte) bool) {
	if len(head) < 4 || head[0] != 0xFF || head[1] != 0xD8 {
		return
	}
	for i := 2; i+4 <= len(head); {
		if head[i] != 0xFF {
			return
		}
		marker := head[i+1]
		if marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 || marker == 0xFF {
			i++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan / end: the header is over
			return
		}
		n := int(binary.BigEndian.Uint16(head[i+2:]))
		if n < 2 || i+2+n > len(head) {
			return
		}
		if !fn(marker, head[i+4:i+2+n]) {
			return
		}
		i += 2 + n
	}
}

// isSOF reports whether marker starts a frame header (SOF0-SOF15, which
// leave out DHT, JPG and DAC).
func isSOF(marker byte) bool {
	return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
}

// jpegChroma reads the frame header in head and returns how many pixels of
// the full-resolution plane one sample of the most subsampled plane spans,
// horizontally and vertically: 1, 1 for gray and 4:4:4; 2, 2 for 4:2:0;
// 2, 1 for 4:2:2; 4, 1 for 4:1:1. It returns 1, 1 when head holds no
// readable frame header (the decoder then says what is wrong).
func jpegChroma(head []byte) (cx, cy int) {
	cx, cy = 1, 1
	jpegSegments(head, func(marker byte, p []byte) bool {
		if !isSOF(marker) {
			return true
		}
		if len(p) < 6 || len(p) < 6+3*int(p[5]) {
			return false
		}
		comps := p[6 : 6+3*int(p[5])]
		hmax, vmax := 1, 1
		for i := 0; i < len(comps); i += 3 {
			hmax, vmax = max(hmax, int(comps[i+1]>>4)), max(vmax, int(comps[i+1]&15))
		}
		for i := 0; i < len(comps); i += 3 {
			if h, v := int(comps[i+1]>>4), int(comps[i+1]&15); h > 0 && v > 0 {
				cx, cy = max(cx, hmax/h), max(cy, vmax/v)
			}
		}
		return false
	})
	return cx, cy
}
