package jpegscale

import (
	"fmt"
)

// unzig maps a zig-zag position to its natural (row-major) index in an
// 8x8 block, T.81 figure A.6.
var unzig = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
}

// zmaps[bs] maps a zig-zag position to its natural index in an 8x8 block if
// it is in the top-left bs x bs corner, else to the sink slot 64.
var zmaps = func() (m [9][64]uint8) {
	for _, bs := range []int{1, 2, 4, 8} {
		for k, u := range unzig {
			m[bs][k] = 64
			if int(u)/8 < bs && int(u)%8 < bs {
				m[bs][k] = u
			}
		}
	}
	return m
}()

// scanComp is one component of a scan.
type scanComp struct {
	ci     int // index in d.comp
	dc, ac *huffTable
}

// scan is a scan header, T.81 B.2.3.
type scan struct {
	n              int
	comps          [4]scanComp
	ss, se, ah, al int
}

// processSOS reads a scan header and decodes (or skips) the scan.
func (d *decoder) processSOS(n int) error {
	if d.nComp == 0 {
		return formatErr("missing SOF marker")
	}
	d.scans++
	if d.opts.MaxScans > 0 && d.scans > d.opts.MaxScans {
		return fmt.Errorf("%w: more than %d scans", ErrTooLarge, d.opts.MaxScans)
	}
	if n < 6 || 4+2*d.nComp < n || n%2 != 0 {
		return formatErr("SOS has wrong length")
	}
	var tmp [4 + 2*4]byte
	if err := d.src.readFull(tmp[:n]); err != nil {
		return err
	}
	sc := &d.scan
	*sc = scan{n: int(tmp[0])}
	if n != 4+2*sc.n {
		return formatErr("SOS length inconsistent with number of components")
	}
	totalHV := 0
	for i := range sc.n {
		cs := tmp[1+2*i]
		ci := -1
		for j := range d.nComp {
			if d.comp[j].id == cs {
				ci = j
			}
		}
		if ci < 0 {
			return formatErr("unknown component selector")
		}
		for j := range i {
			if sc.comps[j].ci == ci {
				return formatErr("repeated component selector")
			}
		}
		totalHV += d.comp[ci].h * d.comp[ci].v
		td, ta := tmp[2+2*i]>>4, tmp[2+2*i]&0x0f
		if td > 3 || (d.baseline && td > 1) {
			return formatErr("bad Td value")
		}
		if ta > 3 || (d.baseline && ta > 1) {
			return formatErr("bad Ta value")
		}
		sc.comps[i] = scanComp{ci: ci, dc: d.huff[0][td], ac: d.huff[1][ta]}
	}
	if d.nComp > 1 && totalHV > 10 {
		return formatErr("total sampling factors too large")
	}
	sc.ss, sc.se = 0, 63
	if d.progressive {
		sc.ss, sc.se = int(tmp[1+2*sc.n]), int(tmp[2+2*sc.n])
		sc.ah, sc.al = int(tmp[3+2*sc.n]>>4), int(tmp[3+2*sc.n]&0x0f)
		if (sc.ss == 0 && sc.se != 0) || sc.ss > sc.se || sc.se > 63 {
			return formatErr("bad spectral selection bounds")
		}
		if sc.ss != 0 && sc.n != 1 {
			return formatErr("progressive AC coefficients for more than one component")
		}
		if sc.ah != 0 && sc.ah != sc.al+1 {
			return formatErr("bad successive approximation values")
		}
	}
	d.allocate()
	d.scanned = true
	d.resetBits()
	// d.eobrun is not reset here: an EOB run that a corrupt scan leaves
	// unfinished carries into the next scan that reads AC coefficients, as
	// in image/jpeg (libjpeg drops it). A valid scan never leaves one, and
	// dropping it would make us accept files image/jpeg rejects, or the
	// reverse, once the next AC scan starts out of step.
	if d.progressive {
		return d.decodeProgressive(sc)
	}
	return d.decodeSequential(sc)
}

// decodeSequential decodes a baseline or extended sequential scan,
// writing each block to the output planes as it is decoded.
func (d *decoder) decodeSequential(sc *scan) error {
	for i := range sc.n {
		c := &sc.comps[i]
		if c.dc == nil || c.ac == nil {
			return formatErr("uninitialized Huffman table")
		}
	}
	return d.forEachBlock(sc, d.sequentialBlock)
}

// forEachBlock calls f for every data unit of scan sc in scan order, with
// the unit's component, that component's DC predictor and the block's
// position in the component, T.81 A.2. It handles restart intervals
// (counted in MCUs, or in data units for a non-interleaved scan), and
// reports an overrun as soon as a unit has used bits the segment does not
// have.
func (d *decoder) forEachBlock(sc *scan, f func(c *scanComp, pred *int32, bx, by int) error) error {
	pred := &d.pred
	*pred = [4]int32{}
	interleaved := sc.n > 1
	total := d.mxx * d.myy
	cw := 0
	if !interleaved {
		c := &d.comp[sc.comps[0].ci]
		cw = c.bw
		total = c.bw * c.bh
	}
	rst := 0
	for mcu := 0; mcu < total; {
		if interleaved {
			mx, my := mcu%d.mxx, mcu/d.mxx
			for i := range sc.n {
				c := &sc.comps[i]
				fc := &d.comp[c.ci]
				for v := range fc.v {
					for h := range fc.h {
						if err := f(c, &pred[i], mx*fc.h+h, my*fc.v+v); err != nil {
							return err
						}
					}
				}
			}
		} else {
			if err := f(&sc.comps[0], &pred[0], mcu%cw, mcu/cw); err != nil {
				return err
			}
		}
		mcu++
		if d.nbits < 0 {
			return d.overrun()
		}
		if d.ri > 0 && mcu%d.ri == 0 && mcu < total {
			if err := d.restart(rst); err != nil {
				return err
			}
			rst = (rst + 1) & 7
			*pred = [4]int32{}
			d.eobrun = 0
		}
	}
	return nil
}

// sequentialBlock decodes the block at (bx, by) of a component and writes
// it, scaled, to the component's plane.
func (d *decoder) sequentialBlock(c *scanComp, pred *int32, bx, by int) error {
	q := &d.quant[d.comp[c.ci].tq]
	bs := d.bs
	ci := c.ci
	off := by*bs*d.stride[ci] + bx*bs
	if bs == 1 {
		if err := d.decodeDCOnly(c.dc, c.ac, pred); err != nil {
			return err
		}
		v := (*pred*q[0]+4)>>3 + 128
		d.pix[ci][off] = clamp8(v)
		return nil
	}
	last, err := d.decodeBlock(c.dc, c.ac, pred, q, &zmaps[bs])
	if err != nil {
		return err
	}
	d.writeBlock(ci, off, last)
	return nil
}

// writeBlock transforms d.blk, whose highest stored zig-zag position is
// last, into the bs x bs samples at off in plane ci, and clears d.blk.
func (d *decoder) writeBlock(ci, off, last int) {
	blk := &d.blk
	dst := d.pix[ci][off:]
	stride := d.stride[ci]
	bs := d.bs
	if last == 0 {
		v := clamp8((blk[0]+4)>>3 + 128)
		for y := range bs {
			row := dst[y*stride : y*stride+bs]
			for x := range row {
				row[x] = v
			}
		}
		blk[0] = 0
		return
	}
	switch bs {
	case 8:
		idct8(blk, dst, stride)
		for _, u := range unzig[:last+1] {
			blk[u] = 0
		}
	case 4:
		idct4(blk, dst, stride)
		for y := range 4 {
			clear(blk[y*8 : y*8+4])
		}
	case 2:
		idct2(blk, dst, stride)
		blk[0], blk[1], blk[8], blk[9] = 0, 0, 0, 0
	}
}

// decodeBlock decodes one sequential block (T.81 F.2.2) into d.blk,
// dequantized, keeping the coefficients zmap sends to the corner it
// transforms, and returns the highest zig-zag position it stored.
func (d *decoder) decodeBlock(dcT, acT *huffTable, pred *int32, q *[64]int32, zmap *[64]uint8) (int, error) {
	diff, err := d.decodeDC(dcT)
	if err != nil {
		return 0, err
	}
	acc, n := d.acc, d.nbits
	blk := &d.blk
	*pred += diff
	blk[0] = *pred * q[0]
	last := 0
	if d.eobrun > 0 {
		d.eobrun--
	} else {
		for k := 1; k < 64; {
			if n < 32 {
				acc, n = d.refill(acc, n)
			}
			e := acT.lut[acc>>(64-lutBits)]
			if e&lutFast != 0 {
				k += int(e>>12) & 15
				if k > 63 { // a run past the end: stop before the value bits
					l := e&31 - e>>8&15
					acc <<= l
					n -= int(l)
					break
				}
				l := e & 31
				acc <<= l
				n -= int(l)
				blk[zmap[k&63]] = int32(e) >> 16 * q[k&63]
				last = k
				k++
				continue
			}
			sym, l := acT.decode(acc)
			if l == 0 {
				return 0, formatErr("bad Huffman code")
			}
			acc <<= uint(l)
			n -= l
			r, s := int(sym>>4), uint(sym&15)
			if s == 0 {
				if r == 15 {
					k += 16
					continue
				}
				if r > 0 { // an EOB run, which image/jpeg honours here too
					d.eobrun = 1<<r | int(acc>>(64-r))
					acc <<= uint(r)
					n -= r
					d.eobrun--
				}
				break
			}
			k += r
			if k > 63 {
				break
			}
			v := extend(int32(acc>>(64-s)), int(s))
			acc <<= s
			n -= int(s)
			blk[zmap[k&63]] = v * q[k&63]
			last = k
			k++
		}
	}
	d.acc, d.nbits = acc, n
	if n < 0 {
		return 0, d.overrun()
	}
	return last, nil
}

// decodeDCOnly decodes one sequential block, keeping only the DC
// coefficient (in *pred) and skipping the AC ones.
func (d *decoder) decodeDCOnly(dcT, acT *huffTable, pred *int32) error {
	diff, err := d.decodeDC(dcT)
	if err != nil {
		return err
	}
	acc, n := d.acc, d.nbits
	*pred += diff
	if d.eobrun > 0 {
		d.eobrun--
	} else {
		for k := 1; k < 64; {
			if n < 32 {
				acc, n = d.refill(acc, n)
			}
			if e := acT.skip[acc>>(64-lutBits)]; e != 0 {
				k += int(e >> 16)
				if k >= 64 {
					// A coefficient at 63 (or ZRL to 64) ends the block
					// with its bits; EOB, or a run past the end, without
					// the value bits.
					l := e & 31
					if k > 64 {
						l = e >> 8 & 31
					}
					acc <<= l
					n -= int(l)
					break
				}
				l := e & 31
				acc <<= l
				n -= int(l)
				continue
			}
			sym, l := acT.decode(acc)
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
				if r > 0 {
					d.eobrun = 1<<r | int(acc>>(64-r))
					acc <<= uint(r)
					n -= r
					d.eobrun--
				}
				break
			}
			k += r
			if k > 63 {
				break
			}
			acc <<= s
			n -= int(s)
			k++
		}
	}
	d.acc, d.nbits = acc, n
	if n < 0 {
		return d.overrun()
	}
	return nil
}

func clamp8(v int32) uint8 {
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return uint8(v)
}
