// Package pngscale is a streaming PNG decoder that box-averages the image
// by an integer factor as its rows arrive, so that a thumbnail of a
// 12-megapixel PNG never holds its full-size pixels.
//
// # Streaming
//
// Decode reads the chunks in the order image/png reads them. From the
// first IDAT on, one goroutine inflates the image data and cuts it into
// rows (checking each row's filter byte) and the calling goroutine
// unfilters each row, converts it to 8-bit samples and adds it into k×k
// cells; a finished row of cells becomes a row of the output. Rows travel
// between the two in a few batches of about 64 KiB, handed back and forth
// over channels, so at any time the decoder holds those batches, a row of
// cell sums and the output, never the image. An image of less than 256 KiB
// of image data is inflated and reduced by the calling goroutine alone.
// DecodeRegions does the same for several rectangles at once, each with
// its own factor, from one pass over the data.
//
// The cells form a grid centred on the image (or region), as thumb's box
// pre-shrink places it: floor(W/k) × floor(H/k) cells, the fewer than k
// columns and rows left over split between the edges and dropped. Each cell is the
// average of its k×k pixels, exactly as thumb's pre-shrink computes it from
// the image image/png returns: grey stays grey (*image.Gray), everything
// else becomes *image.NRGBA, its colour weighted by alpha, so transparent
// pixels do not darken their neighbours. 16-bit samples keep their high
// byte, as thumb's resize (disintegration/imaging) reads them, 1, 2 and
// 4-bit grey is scaled to 8 bits as image/png does, palette indexes past the palette are opaque
// black (or take their tRNS alpha), as in image/png, and a tRNS colour
// compares with the samples exactly as image/png compares them.
//
// Interlaced (Adam7) images are reduced pass by pass: each pass's pixels
// are added into the cells they fall in as the pass arrives, so the
// decoder keeps the sums of every cell (4 bytes a channel while k ≤ 257,
// 8 beyond) until the last pass, rather than a row of them.
//
// # Compatibility with image/png
//
// Decode accepts and rejects exactly the streams image/png's Decode does,
// reading the source the same way: the same chunk order rules, chunk CRCs
// checked, the zlib stream read row by row, trailing data after the
// zlib stream and chunks up to IEND checked the same way.
//
// The zlib stream is inflated by github.com/klauspost/compress/zlib rather
// than compress/zlib: it decodes the same streams and refuses the same
// corrupt ones (the differential tests and the fuzz target compare with
// image/png), and a thumbnail's decode took 0.84 to 0.87 of the time with
// it (BenchmarkInflater); it also makes no garbage as it goes, where
// compress/flate makes new Huffman tables for every block. One difference
// remains: in a corrupt stream it may read a byte or so further than
// compress/flate before the error shows (the tests allow 8), so a source
// that itself fails just there reports its own error where image/png
// would report the corrupt data. Valid streams are read exactly as far.
//
// Every error wraps ErrFormat (image/png's FormatError, truncation and
// zlib errors), ErrUnsupported (its UnsupportedError) or ErrTooLarge
// (Options.MaxPixels), except an error of the source reader itself (other
// than io.EOF), which is returned as it is.
package pngscale

import (
	"errors"
	"fmt"
	"image"
	"io"
)

var (
	// ErrFormat reports data that is not a PNG, or a PNG that is corrupt
	// or truncated.
	ErrFormat = errors.New("pngscale: invalid PNG")
	// ErrUnsupported reports a PNG image/png does not decode either: an
	// unknown compression or filter method, a bad combination of bit
	// depth and colour type.
	ErrUnsupported = errors.New("pngscale: unsupported PNG")
	// ErrTooLarge reports a PNG over Options.MaxPixels.
	ErrTooLarge = errors.New("pngscale: PNG too large")
)

// Options control Decode and DecodeRegions.
type Options struct {
	// Factor is Decode's cell side (0 means 1). It is lowered to the
	// image's shorter side when that is smaller, and to 4096.
	Factor int
	// MaxPixels, if positive, is the largest Width*Height accepted. A larger
	// image fails with ErrTooLarge before anything is allocated for it.
	MaxPixels int64
}

// Region is a rectangle of the image and the side of the cells it is
// averaged in, for DecodeRegions.
type Region struct {
	// Rect is clipped to the image; empty, it is the whole image.
	Rect image.Rectangle
	// Factor is the cell side, at least 1 and at most 4096, lowered to
	// the shorter side of Rect when that is smaller.
	Factor int
}

// Config is what a PNG's IHDR chunk says.
type Config struct {
	Width, Height int
	Depth         int  // bits per sample: 1, 2, 4, 8 or 16
	ColorType     int  // 0 grey, 2 RGB, 3 palette, 4 grey and alpha, 6 RGBA
	Interlaced    bool // Adam7
}

// ParseIHDR reads the Config from the start of a PNG file (the signature
// and the IHDR chunk, 33 bytes), without checking its CRC. It reports
// false when b does not start that way.
func ParseIHDR(b []byte) (Config, bool) {
	if len(b) < 33 || string(b[:8]) != pngHeader || string(b[8:16]) != "\x00\x00\x00\x0dIHDR" {
		return Config{}, false
	}
	h := b[16:29]
	return Config{
		Width:      int(int32(be32(h[0:]))),
		Height:     int(int32(be32(h[4:]))),
		Depth:      int(h[8]),
		ColorType:  int(h[9]),
		Interlaced: h[12] == itAdam7,
	}, true
}

// Decode decodes the PNG in r averaged in opts.Factor × opts.Factor cells
// (see the package doc): an *image.Gray for grey images without tRNS,
// otherwise an *image.NRGBA, with bounds (0,0)-(W/k,H/k).
func Decode(r io.Reader, opts Options) (image.Image, error) {
	imgs, err := DecodeRegions(r, []Region{{Factor: opts.Factor}}, opts)
	if err != nil {
		return nil, err
	}
	return imgs[0], nil
}

// DecodeRegions decodes the PNG in r once and returns each region
// averaged in cells of its factor, as Decode does the whole image: each
// region's grid of floor(w/k) × floor(h/k) cells centred on it.
// opts.Factor is not used.
func DecodeRegions(r io.Reader, regions []Region, opts Options) ([]image.Image, error) {
	d := &decoder{src: sourceReader{r: r}, maxPixels: opts.MaxPixels, regions: regions}
	d.r = &d.src
	imgs, err := d.decode()
	if d.src.err != nil {
		return nil, d.src.err
	}
	if err != nil {
		return nil, wrapErr(err)
	}
	return imgs, nil
}

// wrapErr makes err, an error from the decoder other than one of the
// source's, wrap one of the package's sentinels, keeping its text.
func wrapErr(err error) error {
	var fe formatError
	var ue unsupportedError
	switch {
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrFormat), errors.Is(err, ErrUnsupported):
		return err
	case errors.As(err, &ue):
		return fmt.Errorf("%w: %s", ErrUnsupported, string(ue))
	case errors.As(err, &fe):
		return fmt.Errorf("%w: %s", ErrFormat, string(fe))
	case err == io.EOF, err == io.ErrUnexpectedEOF:
		return fmt.Errorf("%w: unexpected end of file", ErrFormat)
	}
	return fmt.Errorf("%w: %v", ErrFormat, err)
}

// formatError is image/png's FormatError: the input is not a valid PNG.
type formatError string

func (e formatError) Error() string { return "png: invalid format: " + string(e) }

// unsupportedError is image/png's UnsupportedError: a valid but
// unimplemented PNG feature.
type unsupportedError string

func (e unsupportedError) Error() string { return "png: unsupported feature: " + string(e) }

// sourceReader remembers the first error other than io.EOF that the
// source returned, so that it is reported as what it is, however the
// decoder (zlib, for one) passed it on.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Footprint is the most memory, in bytes, DecodeRegions holds for a PNG
// with the IHDR cfg: each region's output and cell sums (a row of them,
// or all of them for an interlaced image), the row batches, a converted
// row and the inflater's state. It assumes four channels whatever the
// colour type, since a tRNS chunk can make a grey image's output RGBA.
func Footprint(cfg Config, regions []Region) int64 {
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return 0
	}
	w := int64(cfg.Width)
	passes := int64(len(noInterlace))
	if cfg.Interlaced {
		passes = int64(len(adam7))
	}
	var total int64
	for _, reg := range regions {
		k, ow, oh, _, _ := cells(cfg.Width, cfg.Height, reg)
		sums, sumBytes := int64(ow), int64(4)
		if cfg.Interlaced {
			sums *= int64(oh)
		}
		if k > 257 {
			sumBytes = 8
		}
		total += 4*int64(ow)*int64(oh) + 4*sums*sumBytes + 4*passes*int64(ow+1)
	}
	bits := int64(64) // bits a pixel; the most for an invalid header
	if ch := [...]int64{1, 0, 3, 1, 2, 0, 4}; cfg.ColorType >= 0 && cfg.ColorType < len(ch) && ch[cfg.ColorType] > 0 && cfg.Depth <= 16 {
		bits = ch[cfg.ColorType] * int64(max(cfg.Depth, 1))
	}
	rs := 1 + (bits*w+7)/8
	buf := rs * int64(rowsPerBatch(int(rs), cfg.Height))
	return total + nBatches*buf + 4*w + inflaterBytes
}

// inflaterBytes bounds the inflater's state: klauspost/compress's zlib
// reader (about 40 KB, its 32 KiB window included), the 4 KiB read
// buffer in front of it, the goroutine and the channels.
const inflaterBytes = 128 << 10
