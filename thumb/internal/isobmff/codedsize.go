package isobmff

import (
	"encoding/binary"
	"errors"
)

// The size an HEVC or AV1 stream codes is its own, not the container's:
// libheif and libavif decode the whole coded picture and then fit it to
// the ispe size (libavif scales it), so a file whose ispe says 64x64 could
// carry a 16384x16384 picture and pass a check of the ispe alone. These
// read the coded size from the stream's headers, for the Limits: the HEVC
// sequence parameter set in the hvcC property (so in the meta box), and
// the AV1 sequence header OBU at the start of the item's data (so just
// after the meta box, in the usual layout).

var errCodedSize = errors.New("no readable sequence header")

// bits reads a bit string, most significant bit first, remembering the
// first overrun instead of panicking.
type bits struct {
	b   []byte
	pos int // in bits
	bad bool
}

func (r *bits) u(n int) uint64 {
	var v uint64
	for range n {
		if r.pos >= 8*len(r.b) {
			r.bad = true
			return 0
		}
		v = v<<1 | uint64(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

// leadingZeros counts zero bits up to a one (consumed), at most 32.
func (r *bits) leadingZeros() int {
	n := 0
	for r.u(1) == 0 && !r.bad {
		if n++; n >= 32 {
			r.bad = true
			return 0
		}
	}
	return n
}

// ue is HEVC's Exp-Golomb ue(v).
func (r *bits) ue() uint64 {
	n := r.leadingZeros()
	return (1<<n - 1) + r.u(n)
}

// hevcCodedSize reads the coded picture size from the first SPS of an
// hvcC property's body.
func hevcCodedSize(hvcC []byte) (w, h int, err error) {
	if len(hvcC) < 23 {
		return 0, 0, errCodedSize
	}
	p, arrays := 23, int(hvcC[22])
	for range arrays {
		if p+3 > len(hvcC) {
			return 0, 0, errCodedSize
		}
		typ, n := hvcC[p]&0x3F, int(binary.BigEndian.Uint16(hvcC[p+1:]))
		p += 3
		for range n {
			if p+2 > len(hvcC) {
				return 0, 0, errCodedSize
			}
			size := int(binary.BigEndian.Uint16(hvcC[p:]))
			if p+2+size > len(hvcC) {
				return 0, 0, errCodedSize
			}
			if typ == 33 {
				return hevcSPSSize(hvcC[p+2 : p+2+size])
			}
			p += 2 + size
		}
	}
	return 0, 0, errCodedSize
}

// hevcSPSSize reads pic_width/height_in_luma_samples from an SPS NAL unit
// (ITU-T H.265 7.3.2.2).
func hevcSPSSize(nal []byte) (int, int, error) {
	if len(nal) < 3 {
		return 0, 0, errCodedSize
	}
	rbsp := make([]byte, 0, min(len(nal), 64))
	zeros := 0
	for _, b := range nal[2:min(len(nal), 256)] { // the size comes within the first few dozen bytes
		if zeros >= 2 && b == 3 {
			zeros = 0
			continue // emulation prevention
		}
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
		rbsp = append(rbsp, b)
	}
	r := &bits{b: rbsp}
	r.u(4)
	subLayers := int(r.u(3))
	r.u(1)
	r.u(96) // general profile, tier and level
	var profile, level [8]bool
	for i := range subLayers {
		profile[i], level[i] = r.u(1) == 1, r.u(1) == 1
	}
	if subLayers > 0 {
		r.u(2 * (8 - subLayers))
	}
	for i := range subLayers {
		if profile[i] {
			r.u(88)
		}
		if level[i] {
			r.u(8)
		}
	}
	r.ue()
	if r.ue() == 3 {
		r.u(1)
	}
	w, h := r.ue(), r.ue()
	if r.bad || w == 0 || h == 0 || w > 1<<20 || h > 1<<20 {
		return 0, 0, errCodedSize
	}
	return int(w), int(h), nil
}

// av1CodedSize reads max_frame_width/height from the sequence header OBU
// among the first OBUs of an AV1 item's data (AV1 5.5).
func av1CodedSize(data []byte) (int, int, error) {
	for len(data) > 0 {
		hdr := data[0]
		typ, ext, hasSize := hdr>>3&15, hdr&4 != 0, hdr&2 != 0
		p := 1
		if ext {
			p++
		}
		size := len(data) - p
		if hasSize {
			var v uint64
			for i := 0; ; i++ {
				if i == 8 || p >= len(data) {
					return 0, 0, errCodedSize
				}
				b := data[p]
				p++
				v |= uint64(b&0x7F) << (7 * i)
				if b&0x80 == 0 {
					break
				}
			}
			if v > uint64(len(data)-p) {
				size = -1 // runs past what was read: fine for a sequence header, which is short
			} else {
				size = int(v)
			}
		}
		if typ == 1 {
			return av1SequenceHeaderSize(data[p:])
		}
		if size < 0 {
			return 0, 0, errCodedSize
		}
		data = data[p+size:]
	}
	return 0, 0, errCodedSize
}

func av1SequenceHeaderSize(b []byte) (int, int, error) {
	r := &bits{b: b}
	r.u(3) // seq_profile
	r.u(1) // still_picture
	if r.u(1) == 1 {
		r.u(5) // reduced still picture header: seq_level_idx
	} else {
		decoderModel, bufferDelayLen := false, 0
		if r.u(1) == 1 { // timing_info_present_flag
			r.u(64)
			if r.u(1) == 1 { // equal_picture_interval
				n := r.leadingZeros()
				r.u(n)
			}
			if decoderModel = r.u(1) == 1; decoderModel {
				bufferDelayLen = int(r.u(5)) + 1
				r.u(32 + 5 + 5)
			}
		}
		initialDelay := r.u(1) == 1
		ops := int(r.u(5)) + 1
		for range ops {
			r.u(12)
			if r.u(5) > 7 {
				r.u(1)
			}
			if decoderModel && r.u(1) == 1 {
				r.u(2*bufferDelayLen + 1)
			}
			if initialDelay && r.u(1) == 1 {
				r.u(4)
			}
		}
	}
	wb, hb := int(r.u(4))+1, int(r.u(4))+1
	w, h := r.u(wb)+1, r.u(hb)+1
	if r.bad {
		return 0, 0, errCodedSize
	}
	return int(w), int(h), nil
}
