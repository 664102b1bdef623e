package jpegscale

import (
	"math/bits"
)

// kmaps[bs] maps a zig-zag position to its index in the row-major bs x bs
// corner a progressive file keeps per block, or to 255 if it is not kept.
var kmaps = func() (m [9][64]uint8) {
	for _, bs := range []int{1, 2, 4, 8} {
		for k, u := range unzig {
			r, c := int(u)/8, int(u)%8
			m[bs][k] = 255
			if r < bs && c < bs {
				m[bs][k] = uint8(r*bs + c)
			}
		}
	}
	return m
}()

// decodeProgressive decodes one scan of a progressive file (T.81 G.1.2)
// into the coefficient buffers. At 1/8 AC scans are skipped unread.
func (d *decoder) decodeProgressive(sc *scan) error {
	bs := d.bs
	kn := bs * bs
	for i := range sc.n {
		ci := sc.comps[i].ci
		if d.coef[ci] == nil {
			c := &d.comp[ci]
			d.coef[ci] = make([]int16, d.mxx*c.h*d.myy*c.v*kn)
		}
	}
	if sc.ss > 0 {
		if bs == 1 {
			// Only DC is kept, and no AC scan can change it.
			return d.skipSegment()
		}
		ci := sc.comps[0].ci
		c := &d.comp[ci]
		if sc.comps[0].ac == nil {
			return formatErr("uninitialized Huffman table")
		}
		if d.mask[ci] == nil {
			d.mask[ci] = make([]uint64, d.mxx*c.h*d.myy*c.v)
		}
	} else if sc.ah == 0 {
		for i := range sc.n {
			if sc.comps[i].dc == nil {
				return formatErr("uninitialized Huffman table")
			}
		}
	}
	return d.forEachBlock(sc, func(c *scanComp, pred *int32, bx, by int) error {
		return d.progressiveBlock(sc, c, pred, bx, by)
	})
}

// progressiveBlock decodes the part of the block at (bx, by) of a
// component that scan sc carries.
func (d *decoder) progressiveBlock(sc *scan, c *scanComp, pred *int32, bx, by int) error {
	b := by*d.mxx*d.comp[c.ci].h + bx
	kn := d.bs * d.bs
	coef := d.coef[c.ci][b*kn : b*kn+kn]
	if sc.ss == 0 {
		if sc.ah == 0 {
			diff, err := d.decodeDC(c.dc)
			if err != nil {
				return err
			}
			*pred += diff
			coef[0] = int16(*pred << sc.al)
			return nil
		}
		if d.readBit() {
			coef[0] |= int16(1 << sc.al)
		}
		return nil
	}
	mask := &d.mask[c.ci][b]
	if sc.ah == 0 {
		return d.acFirst(c.ac, coef, mask, sc.ss, sc.se, sc.al)
	}
	return d.acRefine(c.ac, coef, mask, sc.ss, sc.se, sc.al)
}

// decodeDC decodes a DC difference, T.81 F.2.2.1.
func (d *decoder) decodeDC(h *huffTable) (int32, error) {
	acc, n := d.acc, d.nbits
	if n < 32 {
		acc, n = d.refill(acc, n)
	}
	var diff int32
	if e := h.lut[acc>>(64-lutBits)]; e&lutFast != 0 {
		l := e & 31
		acc <<= l
		n -= int(l)
		diff = int32(e) >> 16
	} else {
		s, l := h.decode(acc)
		if l == 0 {
			return 0, formatErr("bad Huffman code")
		}
		if s > 16 {
			return 0, formatErr("excessive DC component")
		}
		acc <<= uint(l)
		n -= l
		if s > 0 {
			diff = extend(int32(acc>>(64-s)), int(s))
			acc <<= s
			n -= int(s)
		}
	}
	d.acc, d.nbits = acc, n
	return diff, nil
}

// readBit reads one bit.
func (d *decoder) readBit() bool {
	if d.nbits < 32 {
		d.acc, d.nbits = d.refill(d.acc, d.nbits)
	}
	b := d.acc>>63 != 0
	d.acc <<= 1
	d.nbits--
	return b
}

// acFirst decodes a block of an AC first scan (T.81 G.1.2.2): coefficients
// ss..se (zig-zag) at precision al. It keeps those in the block's corner and
// notes every non-zero one in mask.
func (d *decoder) acFirst(h *huffTable, coef []int16, mask *uint64, ss, se, al int) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	kmap := &kmaps[d.bs]
	acc, n := d.acc, d.nbits
	m := *mask
	for k := ss; k <= se; {
		if n < 32 {
			acc, n = d.refill(acc, n)
		}
		sym, l := h.decode(acc)
		if l == 0 {
			return formatErr("bad Huffman code")
		}
		acc <<= uint(l)
		n -= l
		r, s := int(sym>>4), uint(sym&15)
		if s == 0 {
			if r == 15 {
				k += 16
				continue
			}
			d.eobrun = 1 << r
			if r > 0 {
				d.eobrun |= int(acc >> (64 - r))
				acc <<= uint(r)
				n -= r
			}
			d.eobrun--
			break
		}
		k += r
		if k > se {
			break
		}
		v := extend(int32(acc>>(64-s)), int(s))
		acc <<= s
		n -= int(s)
		m |= 1 << uint(k)
		if i := kmap[k&63]; int(i) < len(coef) {
			coef[i] = int16(v << al)
		}
		k++
	}
	*mask = m
	d.acc, d.nbits = acc, n
	return nil
}

// acRefine decodes a block of an AC refinement scan (T.81 G.1.2.3): new
// coefficients of magnitude 1<<al, and a correction bit for every
// coefficient in ss..se that was already non-zero.
func (d *decoder) acRefine(h *huffTable, coef []int16, mask *uint64, ss, se, al int) error {
	kmap := &kmaps[d.bs]
	delta := int16(1 << al)
	m := *mask
	k := ss
	acc, n := d.acc, d.nbits
	if d.eobrun == 0 {
	loop:
		for ; k <= se; k++ {
			if n < 32 {
				acc, n = d.refill(acc, n)
			}
			sym, l := h.decode(acc)
			if l == 0 {
				return formatErr("bad Huffman code")
			}
			acc <<= uint(l)
			n -= l
			r, s := int(sym>>4), sym&15
			var z int16
			switch s {
			case 0:
				if r != 15 {
					d.eobrun = 1 << r
					if r > 0 {
						d.eobrun |= int(acc >> (64 - r))
						acc <<= uint(r)
						n -= r
					}
					break loop
				}
			case 1:
				z = delta
				if acc>>63 == 0 {
					z = -z
				}
				acc <<= 1
				n--
			default:
				return formatErr("unexpected Huffman code")
			}
			// Pass r coefficients that are still zero, refining the
			// non-zero ones on the way; stop at the next zero one.
			for ; k <= se; k++ {
				if m&(1<<uint(k)) != 0 {
					if n < 32 {
						acc, n = d.refill(acc, n)
					}
					if acc>>63 != 0 {
						correct(coef, kmap[k&63], delta)
					}
					acc <<= 1
					n--
					continue
				}
				if r == 0 {
					break
				}
				r--
			}
			if k > se {
				*mask = m
				d.acc, d.nbits = acc, n
				return formatErr("too many coefficients")
			}
			if z != 0 {
				m |= 1 << uint(k)
				if i := kmap[k&63]; int(i) < len(coef) {
					coef[i] = z
				}
			}
		}
	}
	if d.eobrun > 0 {
		d.eobrun--
		if k <= se {
			band := m >> uint(k) << uint(k)
			if se < 63 {
				band &= 1<<uint(se+1) - 1
			}
			for band != 0 {
				z := bits.TrailingZeros64(band)
				band &= band - 1
				if n < 32 {
					acc, n = d.refill(acc, n)
				}
				if acc>>63 != 0 {
					correct(coef, kmap[z], delta)
				}
				acc <<= 1
				n--
			}
		}
	}
	*mask = m
	d.acc, d.nbits = acc, n
	return nil
}

// correct applies a correction bit to a kept non-zero coefficient.
func correct(coef []int16, i uint8, delta int16) {
	if int(i) >= len(coef) {
		return
	}
	if coef[i] >= 0 {
		coef[i] += delta
	} else {
		coef[i] -= delta
	}
}

// finishProgressive dequantizes the kept coefficients and transforms every
// block inside the image into the output planes.
func (d *decoder) finishProgressive() {
	bs := d.bs
	kn := bs * bs
	for ci := range d.nComp {
		coef := d.coef[ci]
		if coef == nil {
			continue
		}
		c := &d.comp[ci]
		q := &d.quant[c.tq]
		stride := d.mxx * c.h
		mask := d.mask[ci]
		for by := range c.bh {
			for bx := range c.bw {
				b := by*stride + bx
				cb := coef[b*kn : b*kn+kn]
				off := by*bs*d.stride[ci] + bx*bs
				if bs == 1 {
					d.pix[ci][off] = clamp8((int32(cb[0])*q[0]+4)>>3 + 128)
					continue
				}
				d.blk[0] = int32(cb[0]) * q[0]
				last := 0
				if mask != nil {
					// Only the coefficients that became non-zero.
					m := mask[b] &^ 1
					if m != 0 {
						last = 63 - bits.LeadingZeros64(m)
						for m != 0 {
							z := bits.TrailingZeros64(m)
							m &= m - 1
							if i := kmaps[bs][z]; int(i) < kn {
								d.blk[zmaps[bs][z]] = int32(cb[i]) * q[z]
							}
						}
					}
				}
				d.writeBlock(ci, off, last)
			}
		}
	}
}
