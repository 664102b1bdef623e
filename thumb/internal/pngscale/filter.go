package pngscale

// Filter types.
const (
	ftNone    = 0
	ftSub     = 1
	ftUp      = 2
	ftAverage = 3
	ftPaeth   = 4
)

// unfilter reverses filter ft (< nFilter: the inflater checked it) on
// cdat, a row without its filter byte, in place. pdat is the previous row
// of the same pass, nil for a pass's first row (as if all zero). bpp is
// the filter's distance: bytes per pixel, at least 1.
func unfilter(ft byte, cdat, pdat []byte, bpp int) {
	switch ft {
	case ftSub:
		for i := bpp; i < len(cdat); i++ {
			cdat[i] += cdat[i-bpp]
		}
	case ftUp:
		if pdat == nil {
			return
		}
		pdat = pdat[:len(cdat)]
		for i, p := range pdat {
			cdat[i] += p
		}
	case ftAverage:
		if pdat == nil {
			for i := bpp; i < len(cdat); i++ {
				cdat[i] += cdat[i-bpp] / 2
			}
			return
		}
		pdat = pdat[:len(cdat)]
		for i := range min(bpp, len(cdat)) {
			cdat[i] += pdat[i] / 2
		}
		switch {
		case len(cdat)%bpp != 0 || len(cdat) < bpp:
		case bpp == 3:
			average3(cdat, pdat)
			return
		case bpp == 4:
			average4(cdat, pdat)
			return
		case bpp == 6:
			average3x2(cdat, pdat)
			return
		case bpp == 8:
			average4x2(cdat, pdat)
			return
		}
		for i := bpp; i < len(cdat); i++ {
			cdat[i] += uint8((int(cdat[i-bpp]) + int(pdat[i])) / 2)
		}
	case ftPaeth:
		if pdat == nil {
			// Paeth(a, 0, 0) is a: the Sub filter.
			for i := bpp; i < len(cdat); i++ {
				cdat[i] += cdat[i-bpp]
			}
			return
		}
		filterPaeth(cdat, pdat[:len(cdat)], bpp)
	}
}

// avg is the Average filter's predictor of a, the byte to the left, and
// b, the byte above.
func avg(a, b uint8) uint8 { return uint8((uint16(a) + uint16(b)) >> 1) }

// average3 reverses the Average filter on a row of 3-byte pixels whose
// first pixel is done, keeping each channel's last byte in a register:
// three independent chains instead of one through memory.
func average3(cdat, pdat []byte) {
	r, g, b := cdat[0], cdat[1], cdat[2]
	for i := 3; i+3 <= len(cdat); i += 3 {
		c, p := cdat[i:i+3:i+3], pdat[i:i+3:i+3]
		r = c[0] + avg(r, p[0])
		g = c[1] + avg(g, p[1])
		b = c[2] + avg(b, p[2])
		c[0], c[1], c[2] = r, g, b
	}
}

// average4 is average3 for 4-byte pixels.
func average4(cdat, pdat []byte) {
	r, g, b, a := cdat[0], cdat[1], cdat[2], cdat[3]
	for i := 4; i+4 <= len(cdat); i += 4 {
		c, p := cdat[i:i+4:i+4], pdat[i:i+4:i+4]
		r = c[0] + avg(r, p[0])
		g = c[1] + avg(g, p[1])
		b = c[2] + avg(b, p[2])
		a = c[3] + avg(a, p[3])
		c[0], c[1], c[2], c[3] = r, g, b, a
	}
}

// average3x2 is average3 for 6-byte pixels (16-bit RGB).
func average3x2(cdat, pdat []byte) {
	r0, r1, g0, g1, b0, b1 := cdat[0], cdat[1], cdat[2], cdat[3], cdat[4], cdat[5]
	for i := 6; i+6 <= len(cdat); i += 6 {
		c, p := cdat[i:i+6:i+6], pdat[i:i+6:i+6]
		r0 = c[0] + avg(r0, p[0])
		r1 = c[1] + avg(r1, p[1])
		g0 = c[2] + avg(g0, p[2])
		g1 = c[3] + avg(g1, p[3])
		b0 = c[4] + avg(b0, p[4])
		b1 = c[5] + avg(b1, p[5])
		c[0], c[1], c[2], c[3], c[4], c[5] = r0, r1, g0, g1, b0, b1
	}
}

// average4x2 is average3 for 8-byte pixels (16-bit RGBA).
func average4x2(cdat, pdat []byte) {
	var v [8]uint8
	copy(v[:], cdat[:8])
	for i := 8; i+8 <= len(cdat); i += 8 {
		c, p := cdat[i:i+8:i+8], pdat[i:i+8:i+8]
		v[0] = c[0] + avg(v[0], p[0])
		v[1] = c[1] + avg(v[1], p[1])
		v[2] = c[2] + avg(v[2], p[2])
		v[3] = c[3] + avg(v[3], p[3])
		v[4] = c[4] + avg(v[4], p[4])
		v[5] = c[5] + avg(v[5], p[5])
		v[6] = c[6] + avg(v[6], p[6])
		v[7] = c[7] + avg(v[7], p[7])
		copy(c, v[:])
	}
}

// filterPaeth reverses the Paeth filter; it is image/png's (paeth.go).
func filterPaeth(cdat, pdat []byte, bytesPerPixel int) {
	var a, b, c, pa, pb, pc int
	for i := 0; i < bytesPerPixel; i++ {
		a, c = 0, 0
		for j := i; j < len(cdat); j += bytesPerPixel {
			b = int(pdat[j])
			pa = b - c
			pb = a - c
			pc = abs(pa + pb)
			pa = abs(pa)
			pb = abs(pb)
			if pa <= pb && pa <= pc {
				// No-op.
			} else if pb <= pc {
				a = b
			} else {
				a = c
			}
			a += int(cdat[j])
			a &= 0xff
			cdat[j] = uint8(a)
			c = b
		}
	}
}

// intSize is 32 or 64.
const intSize = 32 << (^uint(0) >> 63)

// abs is |x| without a branch.
func abs(x int) int {
	m := x >> (intSize - 1)
	return (x ^ m) - m
}
