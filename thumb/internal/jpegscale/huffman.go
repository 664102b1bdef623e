package jpegscale

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// lutBits is the number of bits of the bit stream one table look-up
// resolves. Codes of up to lutBits bits (nearly all of them in practice)
// decode in one look-up; longer ones walk the canonical code (T.81 F.2.2.3).
const lutBits = 9

// A lut entry packs:
//
//	bits 0-4   bits to consume: code length, plus the value bits if lutFast
//	bit  5     lutFast: the value is decoded too (code length + size <= lutBits)
//	bits 8-15  the symbol (for AC tables RRRRSSSS, for DC tables SSSS)
//	bits 16-31 the extended value, as int16, if lutFast
//
// A zero entry means the code is longer than lutBits.
const lutFast = 1 << 5

// A skip entry (AC tables, for decoding only the DC coefficient) packs:
//
//	bits 0-4   bits to consume: code length + size
//	bits 8-12  code length
//	bits 16-23 coefficients to advance: run+1, 16 for ZRL, 64 for EOB
//
// A zero entry means: use the general path (long codes, EOB runs).

// huffTable is a decoding table, T.81 C and F.2.2.3.
type huffTable struct {
	lut     [1 << lutBits]uint32
	skip    [1 << lutBits]uint32
	maxcode [18]int32 // largest code of each length, -1 if none; [17] is a sentinel
	valptr  [17]int32 // index in vals of the first code of each length, minus that code
	vals    [256]uint8
}

// processDHT reads Huffman tables, T.81 B.2.4.2, and builds their look-up
// tables.
func (d *decoder) processDHT(n int) error {
	var tmp [17]byte
	for n > 0 {
		if n < 17 {
			return formatErr("DHT has wrong length")
		}
		if err := d.src.readFull(tmp[:]); err != nil {
			return err
		}
		tc, th := tmp[0]>>4, tmp[0]&0x0f
		if tc > 1 {
			return formatErr("bad Tc value")
		}
		if th > 3 || (d.baseline && th > 1) {
			return formatErr("bad Th value")
		}
		var counts [17]int
		total := 0
		for i := 1; i <= 16; i++ {
			counts[i] = int(tmp[i])
			total += counts[i]
		}
		if total == 0 {
			return formatErr("Huffman table has zero length")
		}
		if total > 256 {
			return formatErr("Huffman table has excessive length")
		}
		n -= 17 + total
		if n < 0 {
			return formatErr("DHT has wrong length")
		}
		h := d.huff[tc][th]
		if h == nil {
			h = new(huffTable)
			d.huff[tc][th] = h
		}
		if err := d.src.readFull(h.vals[:total]); err != nil {
			return err
		}
		if err := h.build(&counts, tc == 0); err != nil {
			d.huff[tc][th] = nil
			return err
		}
	}
	return nil
}

// build derives the canonical codes (T.81 C.2) and the look-up tables.
func (h *huffTable) build(counts *[17]int, dc bool) error {
	clear(h.lut[:])
	clear(h.skip[:])
	code, k := 0, 0
	for l := 1; l <= 16; l++ {
		h.maxcode[l] = -1
		if counts[l] > 0 {
			h.valptr[l] = int32(k - code)
			for range counts[l] {
				if code >= 1<<l {
					return formatErr("bad Huffman table")
				}
				if l <= lutBits {
					h.fill(code, l, h.vals[k], dc)
				}
				code++
				k++
			}
			h.maxcode[l] = int32(code - 1)
		}
		code <<= 1
	}
	h.maxcode[17] = 1 << 30
	return nil
}

// fill sets the look-up entries of every lutBits-bit pattern that starts
// with the l-bit code c.
func (h *huffTable) fill(c, l int, sym uint8, dc bool) {
	size := int(sym & 15)
	run := int(sym >> 4)
	if dc {
		size, run = int(sym), 0
	}
	first := c << (lutBits - l)
	for p := first; p < first+1<<(lutBits-l); p++ {
		e := uint32(l) | uint32(sym)<<8
		fast := l+size <= lutBits && (dc || size > 0)
		if fast && size <= 16 {
			v := int32(0)
			if size > 0 {
				v = extend(int32(p>>(lutBits-l-size))&(1<<size-1), size)
			}
			e = uint32(l+size) | lutFast | uint32(sym)<<8 | uint32(uint16(int16(v)))<<16
		}
		h.lut[p] = e
		if !dc {
			switch {
			case sym == 0x00: // EOB
				h.skip[p] = uint32(l) | uint32(l)<<8 | 64<<16
			case sym == 0xf0: // ZRL
				h.skip[p] = uint32(l) | uint32(l)<<8 | 16<<16
			case size > 0:
				h.skip[p] = uint32(l+size) | uint32(l)<<8 | uint32(run+1)<<16
			}
		}
	}
}

// extend is T.81 F.2.2.1 EXTEND: v is the size-bit (size >= 1) magnitude.
func extend(v int32, size int) int32 {
	if v < 1<<(size-1) {
		v += -1<<size + 1
	}
	return v
}

// decode returns the symbol at the top of acc and its code length, or a
// zero length for a code that is not in the table.
func (h *huffTable) decode(acc uint64) (sym uint8, l int) {
	if e := h.lut[acc>>(64-lutBits)]; e != 0 {
		sym = uint8(e >> 8)
		l = int(e & 31)
		if e&lutFast != 0 {
			// A fast DC symbol is a size below lutBits, so sym&15 is the
			// size for both kinds of table.
			l -= int(sym & 15)
		}
		return sym, l
	}
	c := int32(acc >> 48)
	for l = lutBits + 1; l <= 16; l++ {
		if code := c >> (16 - l); code <= h.maxcode[l] {
			return h.vals[uint8(h.valptr[l]+code)], l
		}
	}
	return 0, 0
}

// The bit reader keeps up to 64 bits of the entropy-coded segment in acc,
// most significant first, n of them valid and the rest zero. Byte stuffing
// (0xff00) is removed as bytes enter acc. At a marker or the end of input
// it stops taking bytes and sets eos: from then on acc shifts in zeros and
// n goes negative as soon as a decode uses a bit the stream does not have,
// which the callers check once per block.

// refill tops acc up to at least 56 bits unless the segment ends first.
func (d *decoder) refill(acc uint64, n int) (uint64, int) {
	if d.eos {
		return acc, n
	}
	s := &d.src
	if s.j-s.i >= 8 {
		v := binary.BigEndian.Uint64(s.buf[s.i : s.i+8])
		// No 0xff byte among the eight: take as many whole bytes as fit.
		if (^v-0x0101010101010101)&v&0x8080808080808080 == 0 {
			k := (63 - n) >> 3
			acc |= v >> uint(n)
			n += k << 3
			acc &^= ^uint64(0) >> uint(n)
			s.i += k
			return acc, n
		}
	}
	return d.refillSlow(acc, n)
}

func (d *decoder) refillSlow(acc uint64, n int) (uint64, int) {
	s := &d.src
	for n <= 56 {
		if s.j-s.i < 2 && !s.fill(2) && s.j-s.i < 1 {
			d.eos = true
			break
		}
		b := s.buf[s.i]
		if b == 0xff {
			if s.j-s.i < 2 || s.buf[s.i+1] != 0 {
				// A marker (or 0xff at the end of input) ends the segment.
				d.eos = true
				break
			}
			s.i += 2
		} else {
			s.i++
		}
		acc |= uint64(b) << uint(56-n)
		n += 8
	}
	return acc, n
}

// overrun is the error for a segment whose decoding used bits past its end.
func (d *decoder) overrun() error {
	if d.src.err != nil && d.src.j-d.src.i < 2 {
		return d.src.readErr()
	}
	return fmt.Errorf("%w: entropy-coded data ends early", ErrFormat)
}

// resetBits starts a new entropy-coded segment.
func (d *decoder) resetBits() {
	d.acc, d.nbits, d.eos = 0, 0, false
}

// restart skips to and past the restart marker RSTm (m = 0..7) after an
// interval: other bytes before it are ignored, a 0xff00 pair too, but any
// other marker is an error (as image/jpeg's findRST does).
func (d *decoder) restart(m int) error {
	d.resetBits()
	s := &d.src
	want := byte(markRST0 + m)
	for {
		if s.j-s.i < 2 && !s.fill(2) {
			return s.readErr()
		}
		b0, b1 := s.buf[s.i], s.buf[s.i+1]
		switch {
		case b0 != 0xff:
			s.i++
		case b1 == want:
			s.i += 2
			return nil
		case b1 == 0xff:
			s.i++
		case b1 == 0x00:
			s.i += 2
		default:
			return formatErr("bad RST marker")
		}
	}
}

// skipSegment skips an entropy-coded segment, restart markers included,
// up to the next other marker.
func (d *decoder) skipSegment() error {
	d.resetBits()
	s := &d.src
	for {
		if s.j-s.i < 2 && !s.fill(2) {
			return s.readErr()
		}
		buf := s.buf[s.i:s.j]
		i := 0
		for {
			k := bytes.IndexByte(buf[i:], 0xff)
			if k < 0 {
				i = len(buf)
				break
			}
			i += k
			if i+1 >= len(buf) {
				break
			}
			if m := buf[i+1]; m != 0 && (m < markRST0 || m > markRST7) {
				s.i += i
				return nil
			}
			i += 2
		}
		s.i += i
	}
}
