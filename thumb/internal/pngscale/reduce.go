package pngscale

import "image"

// maxFactor bounds Options.Factor, so cell sums cannot overflow 64 bits
// (k²·255·255 < 2⁴⁰).
const maxFactor = 4096

// kind is the 8-bit layout rows are summed from: one grey byte a pixel,
// three (RGB, opaque) or four (non-premultiplied RGBA).
type kind uint8

const (
	kindGray kind = iota
	kindRGB
	kindNRGBA
)

// channels is the number of sums a cell keeps for kind.
func (k kind) channels() int { return [...]int{1, 3, 4}[k] }

// reducer sums the rows of an image into the cells of its grids, one grid
// per region, and writes the averages into their output images.
type reducer struct {
	kind    kind
	ch      int // sums a cell: kind.channels()
	passes  []interlaceScan
	widths  []int // pass widths in pixels
	band    bool  // not interlaced: a grid's sums hold one row of cells
	convert func(dst, src []byte, w int) []byte
	conv    []byte // convert's output row
	grids   []*grid
}

// grid is a region's grid of k×k cells, centred on the region as thumb's
// box pre-shrink centres it, with its sums and output.
type grid struct {
	k, ow, oh int       // cell side, size in cells
	x0, y0    int       // top-left in image pixels
	n         uint64    // pixels a cell
	bounds    [][]int32 // per pass: cell c takes pass pixels [bounds[c], bounds[c+1])
	sums32    []uint32  // the sums, 32 bits while k ≤ 257
	sums64    []uint64  // or 64
	gray      *image.Gray
	nrgba     *image.NRGBA
	stride    int
}

// sum is a cell sum's type.
type sum interface{ ~uint32 | ~uint64 }

// newReducer sets up the grids, their sums and outputs for the image d
// has read the header of.
func newReducer(d *decoder, regions []Region) *reducer {
	r := &reducer{passes: d.passes(), band: d.interlace == itNone}
	r.kind, r.convert = d.layout()
	r.ch = r.kind.channels()
	for _, p := range r.passes {
		w, _ := d.passSize(p)
		r.widths = append(r.widths, w)
	}
	if r.convert != nil {
		r.conv = make([]byte, 4*d.width)
	}
	for _, reg := range regions {
		r.grids = append(r.grids, r.newGrid(d, reg))
	}
	return r
}

// cells places a region's grid: its rectangle (all of the image when
// empty) clipped to the image, its factor clamped to [1, maxFactor] and
// to the rectangle's sides; floor(W/k)×floor(H/k) cells, centred.
func cells(width, height int, reg Region) (k, ow, oh, x0, y0 int) {
	img := image.Rect(0, 0, width, height)
	rect := reg.Rect.Intersect(img)
	if rect.Empty() {
		rect = img
	}
	k = min(max(reg.Factor, 1), maxFactor, rect.Dx(), rect.Dy())
	ow, oh = rect.Dx()/k, rect.Dy()/k
	return k, ow, oh, rect.Min.X + (rect.Dx()-ow*k)/2, rect.Min.Y + (rect.Dy()-oh*k)/2
}

func (r *reducer) newGrid(d *decoder, reg Region) *grid {
	g := &grid{}
	g.k, g.ow, g.oh, g.x0, g.y0 = cells(d.width, d.height, reg)
	g.n = uint64(g.k) * uint64(g.k)
	for i, p := range r.passes {
		b := make([]int32, g.ow+1)
		for c := range b {
			x := g.x0 + c*g.k - p.xOffset // first pixel of the cell, from the pass's first
			if x > 0 {
				b[c] = int32(min((x+p.xFactor-1)/p.xFactor, r.widths[i]))
			}
		}
		g.bounds = append(g.bounds, b)
	}
	n := g.ow * r.ch
	if !r.band {
		n *= g.oh
	}
	if g.k <= 257 { // k²·255·255 < 2³²
		g.sums32 = make([]uint32, n)
	} else {
		g.sums64 = make([]uint64, n)
	}
	rect := image.Rect(0, 0, g.ow, g.oh)
	if r.kind == kindGray {
		g.gray = image.NewGray(rect)
		g.stride = g.gray.Stride
	} else {
		g.nrgba = image.NewNRGBA(rect)
		g.stride = g.nrgba.Stride
	}
	return g
}

// addRow adds row py of pass (unfiltered, without its filter byte) into
// the cells it falls in; when the row completes a row of a grid's cells
// (not interlaced), that row is written out.
func (r *reducer) addRow(pass, py int, cdat []byte) {
	p := r.passes[pass]
	y := p.yOffset + py*p.yFactor
	var px []byte
	for _, g := range r.grids {
		dy := y - g.y0
		if dy < 0 || dy >= g.oh*g.k {
			continue // outside the grid
		}
		if px == nil {
			px = cdat
			if r.convert != nil {
				px = r.convert(r.conv, cdat, r.widths[pass])
			}
		}
		cy := dy / g.k
		n := g.ow * r.ch
		off := 0
		if !r.band {
			off = cy * n
		}
		b := g.bounds[pass]
		last := r.band && dy%g.k == g.k-1
		if g.sums32 != nil {
			addPixels(r.kind, g.sums32[off:off+n], px, b)
			if last {
				writeRow(g, r.kind, cy, g.sums32)
				clear(g.sums32)
			}
		} else {
			addPixels(r.kind, g.sums64[off:off+n], px, b)
			if last {
				writeRow(g, r.kind, cy, g.sums64)
				clear(g.sums64)
			}
		}
	}
}

// images returns the grids' outputs, writing every row of cells first
// when the image is interlaced.
func (r *reducer) images() []image.Image {
	out := make([]image.Image, len(r.grids))
	for i, g := range r.grids {
		if !r.band {
			n := g.ow * r.ch
			for cy := range g.oh {
				if g.sums32 != nil {
					writeRow(g, r.kind, cy, g.sums32[cy*n:(cy+1)*n])
				} else {
					writeRow(g, r.kind, cy, g.sums64[cy*n:(cy+1)*n])
				}
			}
		}
		if g.gray != nil {
			out[i] = g.gray
		} else {
			out[i] = g.nrgba
		}
	}
	return out
}

// writeRow writes the averages of a row of cells, as thumb's box
// pre-shrink writes them: grey rounded; colour weighted by alpha (the
// sums of an opaque image weigh each pixel 255, which gives the same
// averages), alpha rounded; a cell with no alpha at all transparent black.
func writeRow[T sum](g *grid, k kind, cy int, sums []T) {
	n := g.n
	switch k {
	case kindGray:
		row := g.gray.Pix[cy*g.stride : cy*g.stride+g.ow]
		for i, s := range sums[:len(row)] {
			row[i] = uint8((uint64(s) + n/2) / n)
		}
	case kindRGB:
		row := g.nrgba.Pix[cy*g.stride : cy*g.stride+4*g.ow]
		a := 255 * n
		for i := range g.ow {
			s := sums[3*i : 3*i+3 : 3*i+3]
			p := row[4*i : 4*i+4 : 4*i+4]
			p[0] = uint8(min(255, (uint64(s[0])*255+a/2)/a))
			p[1] = uint8(min(255, (uint64(s[1])*255+a/2)/a))
			p[2] = uint8(min(255, (uint64(s[2])*255+a/2)/a))
			p[3] = uint8((a + n/2) / n)
		}
	case kindNRGBA:
		row := g.nrgba.Pix[cy*g.stride : cy*g.stride+4*g.ow]
		for i := range g.ow {
			s := sums[4*i : 4*i+4 : 4*i+4]
			p := row[4*i : 4*i+4 : 4*i+4]
			a := uint64(s[3])
			if a == 0 {
				p[0], p[1], p[2], p[3] = 0, 0, 0, 0
				continue
			}
			p[0] = uint8(min(255, (uint64(s[0])+a/2)/a))
			p[1] = uint8(min(255, (uint64(s[1])+a/2)/a))
			p[2] = uint8(min(255, (uint64(s[2])+a/2)/a))
			p[3] = uint8((a + n/2) / n)
		}
	}
}

// addPixels adds px, a row of pixels of kind, into sums, cell c taking the
// pixels [bounds[c], bounds[c+1]).
func addPixels[T sum](k kind, sums []T, px []byte, bounds []int32) {
	switch k {
	case kindGray:
		for c := range sums {
			var s T
			for _, v := range px[bounds[c]:bounds[c+1]] {
				s += T(v)
			}
			sums[c] += s
		}
	case kindRGB:
		for c := 0; c+2 < len(sums); c += 3 {
			i := c / 3
			p := px[3*int(bounds[i]) : 3*int(bounds[i+1])]
			var r, g, b T
			for ; len(p) >= 3; p = p[3:] {
				r += T(p[0])
				g += T(p[1])
				b += T(p[2])
			}
			d := sums[c : c+3 : c+3]
			d[0] += r
			d[1] += g
			d[2] += b
		}
	case kindNRGBA:
		for c := 0; c+3 < len(sums); c += 4 {
			i := c / 4
			p := px[4*int(bounds[i]) : 4*int(bounds[i+1])]
			var r, g, b, a T
			for ; len(p) >= 4; p = p[4:] {
				pa := T(p[3])
				r += T(p[0]) * pa
				g += T(p[1]) * pa
				b += T(p[2]) * pa
				a += pa
			}
			d := sums[c : c+4 : c+4]
			d[0] += r
			d[1] += g
			d[2] += b
			d[3] += a
		}
	}
}

// layout is the kind the image's rows are summed as, and the conversion of
// a row of image data to it (nil when the rows already are: 8-bit grey
// without tRNS, RGB without tRNS and RGBA). The conversions give each
// pixel the 8-bit colour thumb's resize reads from image/png's image: grey
// scaled as image/png scales it, 16-bit samples by their high byte (as
// disintegration/imaging reads them), tRNS and palette colours as
// image/png applies them.
func (d *decoder) layout() (kind, func(dst, src []byte, w int) []byte) {
	t := d.transparent
	switch d.cb {
	case cbG1, cbG2, cbG4:
		depth := d.depth
		scale := uint8(0xff / (1<<depth - 1))
		if !d.useTransparent {
			return kindGray, func(dst, src []byte, w int) []byte {
				dst = dst[:w]
				for x := range dst {
					dst[x] = subByte(src, x, depth) * scale
				}
				return dst
			}
		}
		return kindNRGBA, func(dst, src []byte, w int) []byte {
			dst = dst[:4*w]
			for x := range w {
				y := subByte(src, x, depth) * scale
				setGrayAlpha(dst[4*x:], y, y != t[1])
			}
			return dst
		}
	case cbG8:
		if !d.useTransparent {
			return kindGray, nil
		}
		return kindNRGBA, func(dst, src []byte, w int) []byte {
			dst = dst[:4*w]
			for x, y := range src[:w] {
				setGrayAlpha(dst[4*x:], y, y != t[1])
			}
			return dst
		}
	case cbGA8:
		return kindNRGBA, func(dst, src []byte, w int) []byte {
			dst = dst[:4*w]
			for x := range w {
				p := dst[4*x : 4*x+4 : 4*x+4]
				p[0], p[1], p[2], p[3] = src[2*x], src[2*x], src[2*x], src[2*x+1]
			}
			return dst
		}
	case cbTC8:
		if !d.useTransparent {
			return kindRGB, nil
		}
		return kindNRGBA, func(dst, src []byte, w int) []byte {
			dst = dst[:4*w]
			for x := range w {
				s := src[3*x : 3*x+3 : 3*x+3]
				p := dst[4*x : 4*x+4 : 4*x+4]
				p[0], p[1], p[2], p[3] = s[0], s[1], s[2], 0xff
				if s[0] == t[1] && s[1] == t[3] && s[2] == t[5] {
					p[3] = 0
				}
			}
			return dst
		}
	case cbP1, cbP2, cbP4, cbP8:
		depth, pal := d.depth, &d.palette
		return kindNRGBA, func(dst, src []byte, w int) []byte {
			dst = dst[:4*w]
			for x := range w {
				c := &pal[subByte(src, x, depth)]
				copy(dst[4*x:4*x+4], c[:])
			}
			return dst
		}
	case cbTCA8:
		return kindNRGBA, nil
	case cbG16:
		if !d.useTransparent {
			return kindGray, func(dst, src []byte, w int) []byte {
				dst = dst[:w]
				for x := range dst {
					dst[x] = src[2*x]
				}
				return dst
			}
		}
		return kindNRGBA, func(dst, src []byte, w int) []byte {
			dst = dst[:4*w]
			for x := range w {
				setGrayAlpha(dst[4*x:], src[2*x], src[2*x] != t[0] || src[2*x+1] != t[1])
			}
			return dst
		}
	case cbGA16:
		return kindNRGBA, func(dst, src []byte, w int) []byte {
			dst = dst[:4*w]
			for x := range w {
				p := dst[4*x : 4*x+4 : 4*x+4]
				p[0], p[1], p[2], p[3] = src[4*x], src[4*x], src[4*x], src[4*x+2]
			}
			return dst
		}
	case cbTC16:
		if !d.useTransparent {
			return kindRGB, func(dst, src []byte, w int) []byte {
				dst = dst[:3*w]
				for i := range dst {
					dst[i] = src[2*i]
				}
				return dst
			}
		}
		return kindNRGBA, func(dst, src []byte, w int) []byte {
			dst = dst[:4*w]
			for x := range w {
				s := src[6*x : 6*x+6 : 6*x+6]
				p := dst[4*x : 4*x+4 : 4*x+4]
				p[0], p[1], p[2], p[3] = s[0], s[2], s[4], 0xff
				if [6]byte(s) == t {
					p[3] = 0
				}
			}
			return dst
		}
	}
	// cbTCA16
	return kindNRGBA, func(dst, src []byte, w int) []byte {
		dst = dst[:4*w]
		for i := range dst {
			dst[i] = src[2*i]
		}
		return dst
	}
}

// subByte is pixel x of a row of depth-bit samples (depth 1, 2, 4 or 8),
// the first in the high bits of a byte.
func subByte(row []byte, x, depth int) uint8 {
	if depth == 8 {
		return row[x]
	}
	perByte := 8 / depth
	shift := 8 - depth*(x%perByte+1)
	return row[x/perByte] >> shift & (1<<depth - 1)
}

// setGrayAlpha sets the RGBA pixel at p to grey y, opaque or transparent.
func setGrayAlpha(p []byte, y uint8, opaque bool) {
	p = p[:4:4]
	p[0], p[1], p[2], p[3] = y, y, y, 0
	if opaque {
		p[3] = 0xff
	}
}
