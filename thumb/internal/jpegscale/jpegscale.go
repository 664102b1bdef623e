// Package jpegscale is a pure-Go JPEG decoder (ITU T.81) that can decode at
// 1/1, 1/2, 1/4 or 1/8 of the stored size, the way libjpeg's scaled decoding
// does, so that a thumbnail of a 12-megapixel photo never needs the full-size
// pixels.
//
// # Scaled IDCT
//
// A JPEG stores each 8x8 block of samples as 64 DCT coefficients. At scale
// 1/s the decoder turns each block into an N x N block of output samples,
// N = 8/s, using only the top-left N x N coefficients (the lowest
// frequencies). The weights are the exact box average of the 8x8 inverse DCT
// over s x s pixel cells, restricted to those coefficients:
//
//	W_N(m,k) = (1/s) * sum_{n=m*s}^{m*s+s-1} C(k)/2 * cos((2n+1)k*pi/16),  k < N
//
// so a decoded pixel is what a box filter over the full-size decode would give,
// minus the contribution of the dropped higher frequencies (which a box filter
// would alias into the result anyway). At 1/8 that is only the DC term:
// round(dc*q0/8)+128. All IDCTs are integer (int64 fixed point with 20
// fractional bits per pass and one rounding at the end), so they are
// deterministic on every platform. The 8x8 IDCT is our own even/odd
// decomposition, close to the exact transform; it is not image/jpeg's IDCT,
// so at 1/1 a sample (Y, Cb, Cr, gray, or CMYK channel of a CMYK file) may
// differ from image/jpeg's by at most 1. Outputs that image/jpeg derives by a
// colour conversion of those samples (YCCK to CMYK) may differ by at most 2,
// because the conversion amplifies a chroma difference of 1 by up to 1.77.
//
// # Memory rule
//
// Width*Height is checked against Options.MaxPixels as soon as the frame
// header is read, before anything is allocated for pixels or coefficients.
// After that the decoder allocates only the output planes, of
// ceil(W/s) x ceil(H/s) samples per component (rounded up to whole blocks,
// as image/jpeg does), a 32 KiB input buffer, and for progressive files a
// coefficient buffer that keeps only the coefficients the scale needs: 64 per
// block at 1/1, 16 at 1/2, 4 at 1/4 and 1 (DC) at 1/8, as int16, plus at 1/2
// and 1/4 a 64-bit mask per block that remembers which coefficients are
// already non-zero (successive-approximation refinement scans read a
// correction bit for each of those, kept or not). At 1/8 a progressive
// file's AC scans are skipped without Huffman decoding, since no later scan
// can change a DC coefficient through them.
//
// # Compatibility with image/jpeg
//
// Decode returns the same image types as image/jpeg (*image.YCbCr with the
// file's subsampling ratio, *image.Gray, *image.CMYK, *image.RGBA) and
// accepts and rejects the same streams, with one deliberate exception:
// restart intervals in non-interleaved scans count data units as T.81 A.2.2
// says (image/jpeg counts whole MCUs there, and so rejects valid progressive
// files with restart intervals and subsampled luma that libjpeg reads).
// At 1/8 a corrupt AC scan of a progressive file is not read, so it is not
// reported either. And three kinds of corrupt header that image/jpeg lets
// through are errors: a frame of zero width or height (image/jpeg returns
// an empty image, and ignores a DNL marker), a DQT segment that ends just
// after a table's Pq/Tq byte (image/jpeg keeps the table it had), and a
// DHT whose code counts overflow the code space (libjpeg rejects that too).
//
// In entropy-coded data that means image/jpeg's checks, which are looser
// than T.81 in places, and no stricter ones: a Huffman code that is not in
// its table, a DC magnitude category over 16, a refinement run or ZRL past
// the end of the band, a refinement symbol with a size other than 0 or 1,
// and data that ends early are errors; a run or ZRL past the end of the
// band in other scans ends the block, magnitude categories up to 16 (DC)
// and 15 (AC) are decoded (8-bit samples need 11 and 10), r/0 symbols in
// sequential scans are EOB runs, and an EOB run that a scan leaves
// unfinished carries into the next AC scan (libjpeg would drop it).
// Rejecting any of these would reject corrupt files that image/jpeg
// decodes.
package jpegscale

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
)

var (
	// ErrFormat reports data that is not a JPEG, or a JPEG that is corrupt
	// or truncated.
	ErrFormat = errors.New("jpegscale: invalid JPEG")
	// ErrUnsupported reports a valid JPEG that this package does not decode:
	// arithmetic coding, lossless or hierarchical modes, 12-bit samples,
	// unusual component counts or sampling factors.
	ErrUnsupported = errors.New("jpegscale: unsupported JPEG")
	// ErrTooLarge reports a JPEG over Options.MaxPixels or Options.MaxScans.
	ErrTooLarge = errors.New("jpegscale: JPEG too large")
)

// Config is what the headers of a JPEG say about it.
type Config struct {
	// Width and Height are the stored size from the frame header (SOF).
	Width, Height int
	// Components is 1 (gray), 3 (YCbCr or RGB) or 4 (CMYK or YCCK).
	Components int
	// Progressive is true for a progressive (SOF2) JPEG.
	Progressive bool
	// ColorModel is the model of the image Decode returns:
	// color.YCbCrModel, color.GrayModel, color.CMYKModel or
	// color.RGBAModel, decided exactly as image/jpeg decides it (JFIF and
	// Adobe APP14 markers, component identifiers).
	ColorModel color.Model
}

// Options control Decode.
type Options struct {
	// Scale is 1, 2, 4 or 8 (0 means 1): the image is decoded at
	// ceil(W/Scale) x ceil(H/Scale).
	Scale int
	// MaxPixels, if positive, is the largest Width*Height accepted. A larger
	// image fails with ErrTooLarge before anything is allocated for it.
	MaxPixels int64
	// MaxScans, if positive, is the largest number of scans (SOS markers)
	// accepted. One more fails with ErrTooLarge.
	MaxScans int
}

// DecodeConfig reads the headers of a JPEG up to its first scan and reports
// its size, components and colour model without decoding pixels.
func DecodeConfig(r io.Reader) (Config, error) {
	d := newDecoder(r, Options{}, true)
	if err := d.run(); err != nil {
		return Config{}, err
	}
	if d.nComp == 0 {
		return Config{}, fmt.Errorf("%w: missing SOF marker", ErrFormat)
	}
	return d.config(), nil
}

// Decode decodes a JPEG at scale 1/opts.Scale. It returns the types
// image/jpeg returns: *image.YCbCr (with the file's subsampling ratio),
// *image.Gray, *image.CMYK or *image.RGBA, with bounds
// (0,0)-(ceil(W/Scale),ceil(H/Scale)).
//
// Every error wraps exactly one of ErrFormat, ErrUnsupported and ErrTooLarge,
// except an error from r itself (other than io.EOF), which is wrapped as is.
func Decode(r io.Reader, opts Options) (image.Image, error) {
	switch opts.Scale {
	case 0:
		opts.Scale = 1
	case 1, 2, 4, 8:
	default:
		return nil, fmt.Errorf("%w: scale %d is not 1, 2, 4 or 8", ErrUnsupported, opts.Scale)
	}
	d := newDecoder(r, opts, false)
	if err := d.run(); err != nil {
		return nil, err
	}
	return d.output()
}

// ScaleFor returns the scale to decode a w x h image at for a thumbnail that
// fits a boxW x boxH box: the largest s in {8, 4, 2, 1} with
// ceil(w/s) >= 2*boxW and ceil(h/s) >= 2*boxH, so that the resizer that
// follows still has at least twice the output resolution in each dimension
// to filter from (enough for Lanczos to hide the decoder's simpler filter).
// A non-positive box dimension imposes no limit in that dimension; it
// returns 1 when even 1/2 would be too small.
func ScaleFor(w, h, boxW, boxH int) int {
	for _, s := range [...]int{8, 4, 2} {
		if (boxW <= 0 || (w+s-1)/s >= 2*boxW) && (boxH <= 0 || (h+s-1)/s >= 2*boxH) {
			return s
		}
	}
	return 1
}

func (d *decoder) config() Config {
	c := Config{Width: d.width, Height: d.height, Components: d.nComp, Progressive: d.progressive}
	switch d.nComp {
	case 1:
		c.ColorModel = color.GrayModel
	case 3:
		c.ColorModel = color.YCbCrModel
		if d.isRGB() {
			c.ColorModel = color.RGBAModel
		}
	default:
		c.ColorModel = color.CMYKModel
	}
	return c
}

func formatErr(msg string) error      { return fmt.Errorf("%w: %s", ErrFormat, msg) }
func unsupportedErr(msg string) error { return fmt.Errorf("%w: %s", ErrUnsupported, msg) }
