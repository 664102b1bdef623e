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
