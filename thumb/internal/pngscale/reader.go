package pngscale

import (
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"image"
	"io"
)

// The chunk reading below follows image/png's reader.go (Go 1.26) step by
// step, reads included, so that a stream is accepted or refused as
// image/png accepts or refuses it and the source is read just as far
// before an error.

// Colour types.
const (
	ctGrayscale      = 0
	ctTrueColor      = 2
	ctPaletted       = 3
	ctGrayscaleAlpha = 4
	ctTrueColorAlpha = 6
)

// A cb is a combination of colour type and bit depth.
const (
	cbInvalid = iota
	cbG1
	cbG2
	cbG4
	cbG8
	cbGA8
	cbTC8
	cbP1
	cbP2
	cbP4
	cbP8
	cbTCA8
	cbG16
	cbGA16
	cbTC16
	cbTCA16
)

func cbPaletted(cb int) bool { return cbP1 <= cb && cb <= cbP8 }

func cbTrueColor(cb int) bool { return cb == cbTC8 || cb == cbTC16 }

// nFilter is the number of filter types (None, Sub, Up, Average, Paeth).
const nFilter = 5

// Interlace methods.
const (
	itNone  = 0
	itAdam7 = 1
)

// interlaceScan places one pass of Adam7: its pixel (i, j) is the image's
// (xOffset + i·xFactor, yOffset + j·yFactor).
type interlaceScan struct {
	xFactor, yFactor, xOffset, yOffset int
}

var (
	adam7 = []interlaceScan{
		{8, 8, 0, 0},
		{8, 8, 4, 0},
		{4, 8, 0, 4},
		{4, 4, 2, 0},
		{2, 4, 0, 2},
		{2, 2, 1, 0},
		{1, 2, 0, 1},
	}
	noInterlace = []interlaceScan{{1, 1, 0, 0}}
)

// Decoding stages: IHDR, PLTE (if any), tRNS (if any), IDAT and IEND
// come in that order.
const (
	dsStart = iota
	dsSeenIHDR
	dsSeenPLTE
	dsSeentRNS
	dsSeenIDAT
	dsSeenIEND
)

const pngHeader = "\x89PNG\r\n\x1a\n"

var chunkOrderError = formatError("chunk out of order")

// decoder holds the state of one Decode call.
type decoder struct {
	src       sourceReader
	r         io.Reader // &src
	maxPixels int64
	regions   []Region
	crc       hash.Hash32

	width, height int
	depth         int
	cb            int
	stage         int
	interlace     int
	idatLength    uint32
	tmp           [3 * 256]byte

	// palette is the colours of a paletted image as image/png ends up
	// with them, non-premultiplied RGBA: PLTE's entries, opaque black past
	// them, and tRNS's alphas over the first entries.
	palette [256][4]uint8

	// useTransparent and transparent are tRNS for grey and truecolour
	// images.
	useTransparent bool
	transparent    [6]byte
}

func (d *decoder) parseIHDR(length uint32) error {
	if length != 13 {
		return formatError("bad IHDR length")
	}
	if _, err := io.ReadFull(d.r, d.tmp[:13]); err != nil {
		return err
	}
	d.crc.Write(d.tmp[:13])
	if d.tmp[10] != 0 {
		return unsupportedError("compression method")
	}
	if d.tmp[11] != 0 {
		return unsupportedError("filter method")
	}
	if d.tmp[12] != itNone && d.tmp[12] != itAdam7 {
		return formatError("invalid interlace method")
	}
	d.interlace = int(d.tmp[12])

	w := int32(binary.BigEndian.Uint32(d.tmp[0:4]))
	h := int32(binary.BigEndian.Uint32(d.tmp[4:8]))
	if w <= 0 || h <= 0 {
		return formatError("non-positive dimension")
	}
	nPixels64 := int64(w) * int64(h)
	nPixels := int(nPixels64)
	if nPixels64 != int64(nPixels) {
		return unsupportedError("dimension overflow")
	}
	// There can be up to 8 bytes per pixel, for 16 bits per channel RGBA.
	if nPixels != (nPixels*8)/8 {
		return unsupportedError("dimension overflow")
	}

	d.cb = cbInvalid
	d.depth = int(d.tmp[8])
	switch d.depth {
	case 1:
		switch d.tmp[9] {
		case ctGrayscale:
			d.cb = cbG1
		case ctPaletted:
			d.cb = cbP1
		}
	case 2:
		switch d.tmp[9] {
		case ctGrayscale:
			d.cb = cbG2
		case ctPaletted:
			d.cb = cbP2
		}
	case 4:
		switch d.tmp[9] {
		case ctGrayscale:
			d.cb = cbG4
		case ctPaletted:
			d.cb = cbP4
		}
	case 8:
		switch d.tmp[9] {
		case ctGrayscale:
			d.cb = cbG8
		case ctTrueColor:
			d.cb = cbTC8
		case ctPaletted:
			d.cb = cbP8
		case ctGrayscaleAlpha:
			d.cb = cbGA8
		case ctTrueColorAlpha:
			d.cb = cbTCA8
		}
	case 16:
		switch d.tmp[9] {
		case ctGrayscale:
			d.cb = cbG16
		case ctTrueColor:
			d.cb = cbTC16
		case ctGrayscaleAlpha:
			d.cb = cbGA16
		case ctTrueColorAlpha:
			d.cb = cbTCA16
		}
	}
	if d.cb == cbInvalid {
		return unsupportedError(fmt.Sprintf("bit depth %d, color type %d", d.tmp[8], d.tmp[9]))
	}
	d.width, d.height = int(w), int(h)
	if err := d.verifyChecksum(); err != nil {
		return err
	}
	if d.maxPixels > 0 && nPixels64 > d.maxPixels {
		return fmt.Errorf("%w: %dx%d is more than %d pixels", ErrTooLarge, w, h, d.maxPixels)
	}
	return nil
}

func (d *decoder) parsePLTE(length uint32) error {
	np := int(length / 3) // The number of palette entries.
	if length%3 != 0 || np <= 0 || np > 256 || np > 1<<uint(d.depth) {
		return formatError("bad PLTE length")
	}
	n, err := io.ReadFull(d.r, d.tmp[:3*np])
	if err != nil {
		return err
	}
	d.crc.Write(d.tmp[:n])
	switch d.cb {
	case cbP1, cbP2, cbP4, cbP8:
		for i := range d.palette {
			d.palette[i] = [4]uint8{0, 0, 0, 0xff}
		}
		for i := range np {
			d.palette[i] = [4]uint8{d.tmp[3*i+0], d.tmp[3*i+1], d.tmp[3*i+2], 0xff}
		}
	case cbTC8, cbTCA8, cbTC16, cbTCA16:
		// A PLTE chunk is optional, and ignorable, for truecolour images.
	default:
		return formatError("PLTE, color type mismatch")
	}
	return d.verifyChecksum()
}

func (d *decoder) parsetRNS(length uint32) error {
	switch d.cb {
	case cbG1, cbG2, cbG4, cbG8, cbG16:
		if length != 2 {
			return formatError("bad tRNS length")
		}
		n, err := io.ReadFull(d.r, d.tmp[:length])
		if err != nil {
			return err
		}
		d.crc.Write(d.tmp[:n])

		copy(d.transparent[:], d.tmp[:length])
		// As image/png does: the grey value scaled to 8 bits, in a byte.
		switch d.cb {
		case cbG1:
			d.transparent[1] *= 0xff
		case cbG2:
			d.transparent[1] *= 0x55
		case cbG4:
			d.transparent[1] *= 0x11
		}
		d.useTransparent = true

	case cbTC8, cbTC16:
		if length != 6 {
			return formatError("bad tRNS length")
		}
		n, err := io.ReadFull(d.r, d.tmp[:length])
		if err != nil {
			return err
		}
		d.crc.Write(d.tmp[:n])

		copy(d.transparent[:], d.tmp[:length])
		d.useTransparent = true

	case cbP1, cbP2, cbP4, cbP8:
		if length > 256 {
			return formatError("bad tRNS length")
		}
		n, err := io.ReadFull(d.r, d.tmp[:length])
		if err != nil {
			return err
		}
		d.crc.Write(d.tmp[:n])
		for i := range n {
			d.palette[i][3] = d.tmp[i]
		}

	default:
		return formatError("tRNS, color type mismatch")
	}
	return d.verifyChecksum()
}

// Read presents the IDAT chunks as one continuous stream, as image/png's
// decoder.Read does: checking each chunk's CRC when it is used up and
// failing if the chunk after it is not an IDAT.
func (d *decoder) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for d.idatLength == 0 {
		if err := d.verifyChecksum(); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(d.r, d.tmp[:8]); err != nil {
			return 0, err
		}
		d.idatLength = binary.BigEndian.Uint32(d.tmp[:4])
		if string(d.tmp[4:8]) != "IDAT" {
			return 0, formatError("not enough pixel data")
		}
		d.crc.Reset()
		d.crc.Write(d.tmp[4:8])
	}
	if int(d.idatLength) < 0 {
		return 0, unsupportedError("IDAT chunk length overflow")
	}
	n, err := d.r.Read(p[:min(len(p), int(d.idatLength))])
	d.crc.Write(p[:n])
	d.idatLength -= uint32(n)
	return n, err
}

// parseChunk reads one chunk. It stops at the first IDAT, before its data,
// and reports so (the caller then streams the image data).
func (d *decoder) parseChunk() (idat bool, err error) {
	if _, err := io.ReadFull(d.r, d.tmp[:8]); err != nil {
		return false, err
	}
	length := binary.BigEndian.Uint32(d.tmp[:4])
	d.crc.Reset()
	d.crc.Write(d.tmp[4:8])

	switch string(d.tmp[4:8]) {
	case "IHDR":
		if d.stage != dsStart {
			return false, chunkOrderError
		}
		d.stage = dsSeenIHDR
		return false, d.parseIHDR(length)
	case "PLTE":
		if d.stage != dsSeenIHDR {
			return false, chunkOrderError
		}
		d.stage = dsSeenPLTE
		return false, d.parsePLTE(length)
	case "tRNS":
		if cbPaletted(d.cb) {
			if d.stage != dsSeenPLTE {
				return false, chunkOrderError
			}
		} else if cbTrueColor(d.cb) {
			if d.stage != dsSeenIHDR && d.stage != dsSeenPLTE {
				return false, chunkOrderError
			}
		} else if d.stage != dsSeenIHDR {
			return false, chunkOrderError
		}
		d.stage = dsSeentRNS
		return false, d.parsetRNS(length)
	case "IDAT":
		if d.stage < dsSeenIHDR || d.stage > dsSeenIDAT || (d.stage == dsSeenIHDR && cbPaletted(d.cb)) {
			return false, chunkOrderError
		} else if d.stage == dsSeenIDAT {
			// Trailing zero-length or garbage IDAT chunks are ignored.
			break
		}
		d.stage = dsSeenIDAT
		d.idatLength = length
		return true, nil
	case "IEND":
		if d.stage != dsSeenIDAT {
			return false, chunkOrderError
		}
		d.stage = dsSeenIEND
		if length != 0 {
			return false, formatError("bad IEND length")
		}
		return false, d.verifyChecksum()
	}
	if length > 0x7fffffff {
		return false, formatError(fmt.Sprintf("Bad chunk length: %d", length))
	}
	// Skip this chunk (of a known length), checking its CRC.
	var ignored [4096]byte
	for length > 0 {
		n, err := io.ReadFull(d.r, ignored[:min(len(ignored), int(length))])
		if err != nil {
			return false, err
		}
		d.crc.Write(ignored[:n])
		length -= uint32(n)
	}
	return false, d.verifyChecksum()
}

func (d *decoder) verifyChecksum() error {
	if _, err := io.ReadFull(d.r, d.tmp[:4]); err != nil {
		return err
	}
	if binary.BigEndian.Uint32(d.tmp[:4]) != d.crc.Sum32() {
		return formatError("invalid checksum")
	}
	return nil
}

func (d *decoder) checkHeader() error {
	if _, err := io.ReadFull(d.r, d.tmp[:len(pngHeader)]); err != nil {
		return err
	}
	if string(d.tmp[:len(pngHeader)]) != pngHeader {
		return formatError("not a PNG file")
	}
	return nil
}

// decode reads the chunks up to the first IDAT, then streams the image
// data (see stream) and the chunks after it up to IEND.
func (d *decoder) decode() ([]image.Image, error) {
	d.crc = crc32.NewIEEE()
	if err := d.checkHeader(); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	for {
		idat, err := d.parseChunk()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if idat {
			return d.stream()
		}
	}
}

// finish is what image/png does after the image data: it checks that the
// zlib stream ends (verifying its checksum) exactly at the end of the
// last IDAT chunk's data, checks that chunk's CRC, and reads the chunks
// after it up to IEND.
func (d *decoder) finish(zr io.Reader) error {
	var one [1]byte
	var err error
	n := 0
	for i := 0; n == 0 && err == nil; i++ {
		if i == 100 {
			return io.ErrNoProgress
		}
		n, err = zr.Read(one[:])
	}
	if err != nil && err != io.EOF {
		return formatError(err.Error())
	}
	if n != 0 || d.idatLength != 0 {
		return formatError("too much pixel data")
	}
	if err := d.verifyChecksum(); err != nil {
		return err
	}
	for d.stage != dsSeenIEND {
		if _, err := d.parseChunk(); err != nil {
			return err
		}
	}
	return nil
}

// bitsPerPixel is the bits one pixel takes in the image data.
func (d *decoder) bitsPerPixel() int {
	switch d.cb {
	case cbG1, cbG2, cbG4, cbG8, cbP1, cbP2, cbP4, cbP8:
		return d.depth
	case cbGA8, cbG16:
		return 16
	case cbTC8:
		return 24
	case cbTCA8, cbGA16:
		return 32
	case cbTC16:
		return 48
	}
	return 64 // cbTCA16
}

// passes are the image's interlace passes.
func (d *decoder) passes() []interlaceScan {
	if d.interlace == itAdam7 {
		return adam7
	}
	return noInterlace
}

// passSize is the size in pixels of pass p (0 wide or high when the image
// is too small to have any of its pixels).
func (d *decoder) passSize(p interlaceScan) (int, int) {
	return (d.width - p.xOffset + p.xFactor - 1) / p.xFactor, (d.height - p.yOffset + p.yFactor - 1) / p.yFactor
}

// rowBytes is the size of one row of a w-pixel pass, its filter byte
// included.
func (d *decoder) rowBytes(w int) int { return 1 + (d.bitsPerPixel()*w+7)/8 }
