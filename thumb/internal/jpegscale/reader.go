package jpegscale

import (
	"fmt"
	"io"
)

// Marker codes, T.81 table B.1.
const (
	markSOF0 = 0xc0 // baseline sequential
	markSOF1 = 0xc1 // extended sequential, Huffman
	markSOF2 = 0xc2 // progressive, Huffman
	markDHT  = 0xc4
	markRST0 = 0xd0
	markRST7 = 0xd7
	markSOI  = 0xd8
	markEOI  = 0xd9
	markSOS  = 0xda
	markDQT  = 0xdb
	markDRI  = 0xdd
	markAPP0 = 0xe0
	markAPP4 = 0xee // APP14, Adobe
	markAPPF = 0xef
	markCOM  = 0xfe
)

// bufSize is the size of the input window. The entropy decoder reads from it
// directly; markers and segments are parsed from it too.
const bufSize = 32 << 10

// source is a buffered reader over the input with a window the entropy
// decoder can read eight bytes at a time from.
type source struct {
	r     io.Reader
	buf   []byte
	i, j  int   // buf[i:j] is buffered, unread input
	err   error // sticky error from r, io.EOF included
	zeros int   // consecutive empty reads
}

// fill tries to buffer at least want (<= bufSize) bytes and reports whether
// it could. When it could not, s.err says why.
func (s *source) fill(want int) bool {
	for s.j-s.i < want {
		if s.err != nil {
			return false
		}
		if s.buf == nil {
			s.buf = make([]byte, bufSize)
		}
		if s.i > 0 {
			s.j = copy(s.buf, s.buf[s.i:s.j])
			s.i = 0
		}
		n, err := s.r.Read(s.buf[s.j:])
		s.j += n
		switch {
		case err != nil:
			s.err = err
		case n == 0:
			if s.zeros++; s.zeros > 100 {
				s.err = io.ErrNoProgress
			}
		default:
			s.zeros = 0
		}
	}
	return true
}

// readErr is the error to return when the input ended or failed: a
// truncated stream is ErrFormat, a failing reader's error is returned as is.
func (s *source) readErr() error {
	if s.err == nil || s.err == io.EOF {
		return fmt.Errorf("%w: unexpected EOF", ErrFormat)
	}
	return fmt.Errorf("jpegscale: reading: %w", s.err)
}

func (s *source) readByte() (byte, error) {
	if s.i == s.j && !s.fill(1) {
		return 0, s.readErr()
	}
	b := s.buf[s.i]
	s.i++
	return b, nil
}

// readFull reads len(p) bytes, len(p) <= bufSize.
func (s *source) readFull(p []byte) error {
	if !s.fill(len(p)) {
		return s.readErr()
	}
	s.i += copy(p, s.buf[s.i:s.j])
	return nil
}

func (s *source) skip(n int) error {
	for n > 0 {
		if s.i == s.j && !s.fill(1) {
			return s.readErr()
		}
		m := min(n, s.j-s.i)
		s.i += m
		n -= m
	}
	return nil
}

// component is a frame component, T.81 B.2.2.
type component struct {
	id   uint8
	h, v int   // sampling factors
	tq   uint8 // quantisation table
	bw   int   // blocks per line in a non-interleaved scan, T.81 A.2.2
	bh   int   // block lines in a non-interleaved scan
}

// run parses the stream from SOI to EOI, decoding every scan (or, in
// config mode, stopping at the first scan).
func (d *decoder) run() error {
	var tmp [2]byte
	if err := d.src.readFull(tmp[:]); err != nil {
		return err
	}
	if tmp[0] != 0xff || tmp[1] != markSOI {
		return formatErr("missing SOI marker")
	}
	for {
		marker, err := d.nextMarker()
		if err != nil {
			return err
		}
		if marker == markEOI {
			break
		}
		if markRST0 <= marker && marker <= markRST7 {
			// A stray restart marker after the last entropy-coded segment:
			// harmless, as image/jpeg and libjpeg treat it.
			continue
		}
		if err := d.src.readFull(tmp[:]); err != nil {
			return err
		}
		n := int(tmp[0])<<8 | int(tmp[1]) - 2
		if n < 0 {
			return formatErr("short segment length")
		}
		switch marker {
		case markSOF0, markSOF1, markSOF2:
			d.baseline = marker == markSOF0
			d.progressive = marker == markSOF2
			err = d.processSOF(n)
			if err == nil && d.configOnly && d.jfif {
				return nil
			}
		case markDHT:
			if d.configOnly {
				err = d.src.skip(n)
			} else {
				err = d.processDHT(n)
			}
		case markDQT:
			if d.configOnly {
				err = d.src.skip(n)
			} else {
				err = d.processDQT(n)
			}
		case markDRI:
			if d.configOnly {
				err = d.src.skip(n)
			} else {
				err = d.processDRI(n)
			}
		case markSOS:
			if d.configOnly {
				return nil
			}
			err = d.processSOS(n)
		case markAPP0:
			err = d.processAPP0(n)
		case markAPP4:
			err = d.processAPP14(n)
		default:
			switch {
			case markAPP0 <= marker && marker <= markAPPF || marker == markCOM:
				err = d.src.skip(n)
			case marker < 0xc0:
				err = formatErr(fmt.Sprintf("unknown marker %#x", marker))
			default:
				// SOF3, SOF5-7 (lossless, hierarchical), SOF9-15
				// (arithmetic), DAC, DNL, DHP, EXP, JPGn.
				err = unsupportedErr(fmt.Sprintf("marker %#x", marker))
			}
		}
		if err != nil {
			return err
		}
	}
	if d.configOnly || !d.scanned {
		return formatErr("missing SOS marker")
	}
	return nil
}

// nextMarker returns the next marker code, skipping extraneous bytes before
// it (as image/jpeg and libjpeg do) and fill bytes (T.81 B.1.1.2).
func (d *decoder) nextMarker() (byte, error) {
	s := &d.src
	for {
		b, err := s.readByte()
		if err != nil {
			return 0, err
		}
		if b != 0xff {
			continue
		}
		m, err := s.readByte()
		if err != nil {
			return 0, err
		}
		if m == 0 { // 0xff00 is stuffed data, not a marker
			continue
		}
		for m == 0xff {
			if m, err = s.readByte(); err != nil {
				return 0, err
			}
		}
		if m == 0 { // as image/jpeg: fill bytes then 0x00 is no marker
			return 0, formatErr("unknown marker 0x0")
		}
		return m, nil
	}
}

// processSOF reads a frame header, T.81 B.2.2, with image/jpeg's checks.
func (d *decoder) processSOF(n int) error {
	if d.nComp != 0 {
		return formatErr("multiple SOF markers")
	}
	switch n {
	case 6 + 3*1, 6 + 3*3, 6 + 3*4:
	default:
		return unsupportedErr("number of components")
	}
	var tmp [6 + 3*4]byte
	if err := d.src.readFull(tmp[:n]); err != nil {
		return err
	}
	if tmp[0] != 8 {
		return unsupportedErr(fmt.Sprintf("%d-bit precision", tmp[0]))
	}
	nComp := (n - 6) / 3
	d.height = int(tmp[1])<<8 | int(tmp[2])
	d.width = int(tmp[3])<<8 | int(tmp[4])
	if int(tmp[5]) != nComp {
		return formatErr("SOF has wrong length")
	}
	for i := range nComp {
		c := &d.comp[i]
		c.id = tmp[6+3*i]
		for j := range i {
			if d.comp[j].id == c.id {
				return formatErr("repeated component identifier")
			}
		}
		c.tq = tmp[8+3*i]
		if c.tq > 3 {
			return formatErr("bad Tq value")
		}
		hv := tmp[7+3*i]
		h, v := int(hv>>4), int(hv&0x0f)
		if h < 1 || 4 < h || v < 1 || 4 < v {
			return formatErr("bad sampling factors")
		}
		if h == 3 || v == 3 {
			return unsupportedErr("luma/chroma subsampling ratio")
		}
		switch nComp {
		case 1:
			// A single component is non-interleaved by definition
			// (T.81 A.2): its MCU is one block whatever H and V say.
			h, v = 1, 1
		case 3:
			// 4:4:4, 4:4:0, 4:2:2, 4:2:0, 4:1:1 and 4:1:0, with Cb and Cr
			// alike: the ratios image.YCbCr can hold.
			switch i {
			case 0:
				if v == 4 {
					return unsupportedErr("luma/chroma subsampling ratio")
				}
			case 1:
				if d.comp[0].h%h != 0 || d.comp[0].v%v != 0 {
					return unsupportedErr("luma/chroma subsampling ratio")
				}
			case 2:
				if d.comp[1].h != h || d.comp[1].v != v {
					return unsupportedErr("luma/chroma subsampling ratio")
				}
			}
		case 4:
			// CMYK and YCCK files in use are 1111 or 2112 (hv 22 11 11 22).
			switch i {
			case 0:
				if hv != 0x11 && hv != 0x22 {
					return unsupportedErr("luma/chroma subsampling ratio")
				}
			case 1, 2:
				if hv != 0x11 {
					return unsupportedErr("luma/chroma subsampling ratio")
				}
			case 3:
				if d.comp[0].h != h || d.comp[0].v != v {
					return unsupportedErr("luma/chroma subsampling ratio")
				}
			}
		}
		c.h, c.v = h, v
	}
	if d.width == 0 {
		return formatErr("zero width")
	}
	if d.height == 0 {
		// The height would follow in a DNL marker after the first scan.
		return unsupportedErr("height defined by DNL")
	}
	if d.opts.MaxPixels > 0 && int64(d.width)*int64(d.height) > d.opts.MaxPixels {
		return fmt.Errorf("%w: %dx%d is over %d pixels", ErrTooLarge, d.width, d.height, d.opts.MaxPixels)
	}
	d.nComp = nComp
	// Component 0 has the largest sampling factors (checked above), so it
	// defines the MCU.
	h0, v0 := d.comp[0].h, d.comp[0].v
	d.mxx = (d.width + 8*h0 - 1) / (8 * h0)
	d.myy = (d.height + 8*v0 - 1) / (8 * v0)
	for i := range nComp {
		c := &d.comp[i]
		cw := (d.width*c.h + h0 - 1) / h0
		ch := (d.height*c.v + v0 - 1) / v0
		c.bw = (cw + 7) / 8
		c.bh = (ch + 7) / 8
	}
	return nil
}

// processDQT reads quantisation tables, T.81 B.2.4.1, 8- or 16-bit.
func (d *decoder) processDQT(n int) error {
	var tmp [128]byte
	for n > 0 {
		n--
		x, err := d.src.readByte()
		if err != nil {
			return err
		}
		tq := x & 0x0f
		if tq > 3 {
			return formatErr("bad Tq value")
		}
		q := &d.quant[tq]
		switch x >> 4 {
		case 0:
			if n < 64 {
				return formatErr("DQT has wrong length")
			}
			n -= 64
			if err := d.src.readFull(tmp[:64]); err != nil {
				return err
			}
			for i := range q {
				q[i] = int32(tmp[i])
			}
		case 1:
			if n < 128 {
				return formatErr("DQT has wrong length")
			}
			n -= 128
			if err := d.src.readFull(tmp[:128]); err != nil {
				return err
			}
			for i := range q {
				q[i] = int32(tmp[2*i])<<8 | int32(tmp[2*i+1])
			}
		default:
			return formatErr("bad Pq value")
		}
	}
	return nil
}

// processDRI reads the restart interval, T.81 B.2.4.4.
func (d *decoder) processDRI(n int) error {
	if n != 2 {
		return formatErr("DRI has wrong length")
	}
	var tmp [2]byte
	if err := d.src.readFull(tmp[:]); err != nil {
		return err
	}
	d.ri = int(tmp[0])<<8 | int(tmp[1])
	return nil
}

// processAPP0 notes a JFIF marker, which means YCbCr for three components.
func (d *decoder) processAPP0(n int) error {
	if n < 5 {
		return d.src.skip(n)
	}
	var tmp [5]byte
	if err := d.src.readFull(tmp[:]); err != nil {
		return err
	}
	d.jfif = string(tmp[:]) == "JFIF\x00"
	return d.src.skip(n - 5)
}

// processAPP14 notes an Adobe marker's colour transform: 0 is RGB or CMYK,
// 1 YCbCr, 2 YCCK.
func (d *decoder) processAPP14(n int) error {
	if n < 12 {
		return d.src.skip(n)
	}
	var tmp [12]byte
	if err := d.src.readFull(tmp[:]); err != nil {
		return err
	}
	if string(tmp[:5]) == "Adobe" {
		d.adobeValid = true
		d.adobeTransform = tmp[11]
	}
	return d.src.skip(n - 12)
}

// isRGB reports whether a three-component file holds RGB rather than YCbCr,
// as image/jpeg decides it.
func (d *decoder) isRGB() bool {
	if d.jfif {
		return false
	}
	if d.adobeValid && d.adobeTransform == 0 {
		return true
	}
	return d.comp[0].id == 'R' && d.comp[1].id == 'G' && d.comp[2].id == 'B'
}
