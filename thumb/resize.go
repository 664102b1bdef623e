package thumb

import (
	"image"
	"image/color"
	"runtime"
	"sync"

	"github.com/disintegration/imaging"
)

// Resizing a 12-megapixel photo to a thumbnail with a wide filter costs
// almost as much as decoding it. resample therefore first shrinks the
// decoded image by an integer box average, straight from its native pixel
// layout (the Y, Cb and Cr planes of a JPEG, the bytes of a PNG), down to
// preshrinkMargin (3) times the target, and only then applies Lanczos.
// The box pass reads each source pixel once, needs no full-size copy, and
// runs on all cores; the result stays within 40 dB PSNR of a single
// Lanczos pass over the whole source (TestFastResizeQuality in
// resize_test.go: 41.4 dB at the lowest). What is resized, the crop and
// the target size, is the plan's (plan.go).

// preshrinkMargin is how many times larger than the target the box pass
// leaves the image for the final Lanczos pass.
const preshrinkMargin = 3

// maxBoxFactor keeps the 32-bit plane sums (k²·255) from overflowing.
const maxBoxFactor = 4000

// resizePlanned makes the thumbnail p plans (as stored: before the
// source's orientation) from img, the source decoded at 1/scale: p.Crop is
// mapped into img's pixels, then resampled to exactly p.Resize.
func resizePlanned(img image.Image, scale int, p Plan) image.Image {
	return resample(subImage(img, p.CropAt(scale, img.Bounds())), p.Resize.X, p.Resize.Y)
}

// subImage returns the part r of img, sharing its pixels where img can
// (every decoder's image type can), and img itself when r is all of it.
func subImage(img image.Image, r image.Rectangle) image.Image {
	if r == img.Bounds() {
		return img
	}
	if s, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		return s.SubImage(r)
	}
	return imaging.Crop(img, r)
}

// resample scales img to exactly tw×th: an integer box pre-shrink where it
// applies (see preshrink), then Lanczos.
func resample(img image.Image, tw, th int) image.Image {
	b := img.Bounds()
	if b.Dx() == tw && b.Dy() == th {
		return img
	}
	if small := preshrink(img, tw, th); small != nil {
		img = small
		if b := img.Bounds(); b.Dx() == tw && b.Dy() == th {
			return img
		}
	}
	return imaging.Resize(img, tw, th, imaging.Lanczos)
}

// boxFactor is the largest integer factor that shrinks sw×sh to no less
// than preshrinkMargin times tw×th on either side, rounded down to a
// multiple of align; 0 when no shrink of at least 2 applies.
func boxFactor(sw, sh, tw, th, align int) int {
	k := min(sw/(preshrinkMargin*tw), sh/(preshrinkMargin*th))
	k = min(k, maxBoxFactor)
	k -= k % align
	if k < 2 {
		return 0
	}
	return k
}

// preshrink box-averages img by an integer factor, reading its native
// layout, or returns nil when no fast path applies (too little to shrink,
// or a pixel type without one: then imaging.Resize does all the work).
// The k×k grid is centred on the image; the few edge pixels it leaves out
// (fewer than k on each side) do not move the result measurably.
func preshrink(img image.Image, tw, th int) image.Image {
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	if tw <= 0 || th <= 0 || sw < 2*preshrinkMargin*tw || sh < 2*preshrinkMargin*th {
		return nil
	}
	switch src := img.(type) {
	case *image.YCbCr:
		return boxYCbCr(src, tw, th)
	case *image.Gray:
		return boxGray(src, tw, th)
	case *image.NRGBA:
		return boxRGBA(b, tw, th, func(x0, y, n, k int, acc []uint64) {
			off := src.PixOffset(x0, y)
			addNRGBA(acc, src.Pix[off:off+4*n*k], k)
		}, true)
	case *image.RGBA:
		return boxRGBA(b, tw, th, func(x0, y, n, k int, acc []uint64) {
			off := src.PixOffset(x0, y)
			addRGBA(acc, src.Pix[off:off+4*n*k], k)
		}, false)
	case *image.Paletted:
		pal := premultipliedPalette(src.Palette)
		return boxRGBA(b, tw, th, func(x0, y, n, k int, acc []uint64) {
			off := src.PixOffset(x0, y)
			addPaletted(acc, src.Pix[off:off+n*k], k, pal)
		}, true)
	case *image.CMYK:
		return boxRGBA(b, tw, th, func(x0, y, n, k int, acc []uint64) {
			off := src.PixOffset(x0, y)
			addCMYK(acc, src.Pix[off:off+4*n*k], k)
		}, false)
	}
	return nil
}

// boxGrid is a centred grid of k×k cells over a source rectangle.
type boxGrid struct {
	k, ow, oh int
	x0, y0    int    // top-left of the grid in source coordinates
	n         uint32 // pixels per cell
}

// newBoxGrid centres a grid of k×k cells on b; its origin is a multiple
// of alignX, alignY in absolute coordinates (for subsampled chroma).
func newBoxGrid(b image.Rectangle, k, alignX, alignY int) boxGrid {
	x0, ow := placeCells(b.Min.X, b.Dx(), k, alignX)
	y0, oh := placeCells(b.Min.Y, b.Dy(), k, alignY)
	return boxGrid{k: k, ow: ow, oh: oh, x0: x0, y0: y0, n: uint32(k * k)}
}

// fits reports whether the grid's output is at least tw×th, so the box
// pass never shrinks below the target.
func (g boxGrid) fits(tw, th int) bool { return g.ow >= tw && g.oh >= th }

// placeCells fits as many k-wide cells as it can in [lo, lo+size),
// centred, starting at a multiple of align. It returns the start and count.
func placeCells(lo, size, k, align int) (int, int) {
	for n := size / k; n >= 1; n-- {
		c := lo + (size-n*k)/2
		for _, s := range []int{alignDown(c, align), alignDown(c, align) + align} {
			if s >= lo && s+n*k <= lo+size {
				return s, n
			}
		}
	}
	return lo, 0
}

// alignDown rounds v down to a multiple of a (a > 0), also for negative v.
func alignDown(v, a int) int {
	r := v % a
	if r < 0 {
		r += a
	}
	return v - r
}

// run calls fn on bands of output rows, one band per core.
func (g boxGrid) run(fn func(oy0, oy1 int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, g.oh/4))
	if workers <= 1 {
		fn(0, g.oh)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		oy0, oy1 := g.oh*w/workers, g.oh*(w+1)/workers
		wg.Go(func() { fn(oy0, oy1) })
	}
	wg.Wait()
}

// sumRow adds each group of k consecutive samples of row to acc.
// Cells of 8 or more samples are summed four at a time, which about
// doubles the speed of this loop (the box pass's whole cost) for the usual
// factors; short cells are faster plain.
func sumRow(acc []uint32, row []uint8, k int) {
	if k < 8 {
		for i := range acc {
			var s uint32
			for _, v := range row[i*k : i*k+k] {
				s += uint32(v)
			}
			acc[i] += s
		}
		return
	}
	for i := range acc {
		c := row[i*k : i*k+k]
		var s uint32
		for len(c) >= 4 {
			s += uint32(c[0]) + uint32(c[1]) + uint32(c[2]) + uint32(c[3])
			c = c[4:]
		}
		for _, v := range c {
			s += uint32(v)
		}
		acc[i] += s
	}
}

// boxGray box-averages a grey image.
func boxGray(src *image.Gray, tw, th int) image.Image {
	b := src.Bounds()
	k := boxFactor(b.Dx(), b.Dy(), tw, th, 1)
	if k == 0 {
		return nil
	}
	g := newBoxGrid(b, k, 1, 1)
	if !g.fits(tw, th) {
		return nil
	}
	dst := image.NewGray(image.Rect(0, 0, g.ow, g.oh))
	g.run(func(oy0, oy1 int) {
		acc := make([]uint32, g.ow)
		for oy := oy0; oy < oy1; oy++ {
			clear(acc)
			for y := g.y0 + oy*k; y < g.y0+(oy+1)*k; y++ {
				off := src.PixOffset(g.x0, y)
				sumRow(acc, src.Pix[off:off+g.ow*k], k)
			}
			row := dst.Pix[oy*dst.Stride : oy*dst.Stride+g.ow]
			for i, s := range acc {
				row[i] = uint8((s + g.n/2) / g.n)
			}
		}
	})
	return dst
}

// boxYCbCr box-averages the luma and chroma planes separately (chroma at
// its own subsampled resolution) and converts only the small result to RGB.
func boxYCbCr(src *image.YCbCr, tw, th int) image.Image {
	cx, cy := chromaStep(src.SubsampleRatio)
	if cx == 0 {
		return nil
	}
	b := src.Bounds()
	k := boxFactor(b.Dx(), b.Dy(), tw, th, max(cx, cy))
	if k == 0 || k%cx != 0 || k%cy != 0 {
		return nil
	}
	g := newBoxGrid(b, k, cx, cy)
	if !g.fits(tw, th) {
		return nil
	}
	kcx, kcy := k/cx, k/cy
	cn := uint32(kcx * kcy)
	dst := image.NewNRGBA(image.Rect(0, 0, g.ow, g.oh))
	g.run(func(oy0, oy1 int) {
		ys := make([]uint32, g.ow)
		cbs := make([]uint32, g.ow)
		crs := make([]uint32, g.ow)
		for oy := oy0; oy < oy1; oy++ {
			clear(ys)
			clear(cbs)
			clear(crs)
			top := g.y0 + oy*k
			for y := top; y < top+k; y++ {
				off := src.YOffset(g.x0, y)
				sumRow(ys, src.Y[off:off+g.ow*k], k)
			}
			for y := top; y < top+k; y += cy {
				off := src.COffset(g.x0, y)
				sumRow(cbs, src.Cb[off:off+g.ow*kcx], kcx)
				sumRow(crs, src.Cr[off:off+g.ow*kcx], kcx)
			}
			row := dst.Pix[oy*dst.Stride : oy*dst.Stride+4*g.ow]
			for i := range ys {
				yy := float64(ys[i]) / float64(g.n)
				cb := float64(cbs[i])/float64(cn) - 128
				cr := float64(crs[i])/float64(cn) - 128
				p := row[4*i : 4*i+4 : 4*i+4]
				p[0] = clampU8(yy + 1.402*cr)
				p[1] = clampU8(yy - 0.344136*cb - 0.714136*cr)
				p[2] = clampU8(yy + 1.772*cb)
				p[3] = 255
			}
		}
	})
	return dst
}

// chromaStep is the chroma subsampling of r in pixels per sample
// horizontally and vertically, or 0, 0 for an unknown ratio.
func chromaStep(r image.YCbCrSubsampleRatio) (int, int) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 1, 1
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 0, 0
}

func clampU8(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}

// boxRGBA box-averages a four-channel image. add adds, for each of the
// n k-pixel cells of row y starting at x0, the sums (r, g, b, a) of its
// pixels to acc[4*cell:]. weighted says the colour sums are colour×alpha
// (from non-premultiplied pixels) rather than premultiplied colour. The
// result is non-premultiplied NRGBA.
func boxRGBA(b image.Rectangle, tw, th int, add func(x0, y, n, k int, acc []uint64), weighted bool) image.Image {
	k := boxFactor(b.Dx(), b.Dy(), tw, th, 1)
	if k == 0 {
		return nil
	}
	g := newBoxGrid(b, k, 1, 1)
	if !g.fits(tw, th) {
		return nil
	}
	dst := image.NewNRGBA(image.Rect(0, 0, g.ow, g.oh))
	g.run(func(oy0, oy1 int) {
		acc := make([]uint64, 4*g.ow)
		for oy := oy0; oy < oy1; oy++ {
			clear(acc)
			for y := g.y0 + oy*k; y < g.y0+(oy+1)*k; y++ {
				add(g.x0, y, g.ow, k, acc)
			}
			row := dst.Pix[oy*dst.Stride : oy*dst.Stride+4*g.ow]
			for i := range g.ow {
				writeNRGBA(row[4*i:4*i+4:4*i+4], acc[4*i:4*i+4:4*i+4], uint64(g.n), weighted)
			}
		}
	})
	return dst
}

// writeNRGBA stores the average of n pixels' sums s in p.
func writeNRGBA(p []uint8, s []uint64, n uint64, weighted bool) {
	a := s[3]
	if a == 0 {
		p[0], p[1], p[2], p[3] = 0, 0, 0, 0
		return
	}
	// weighted:      s[c] = Σ c·a      → c = s[c] / Σa
	// premultiplied: s[c] = Σ c·a/255  → c = s[c]·255 / Σa
	mul := uint64(1)
	if !weighted {
		mul = 255
	}
	p[0] = uint8(min(255, (s[0]*mul+a/2)/a))
	p[1] = uint8(min(255, (s[1]*mul+a/2)/a))
	p[2] = uint8(min(255, (s[2]*mul+a/2)/a))
	p[3] = uint8((a + n/2) / n)
}

func addNRGBA(acc []uint64, pix []uint8, k int) {
	for i := 0; i < len(acc); i += 4 {
		cell := pix[i*k : (i+4)*k]
		var r, g, b, a uint64
		for j := 0; j+3 < len(cell); j += 4 {
			p := cell[j : j+4 : j+4]
			pa := uint64(p[3])
			r += uint64(p[0]) * pa
			g += uint64(p[1]) * pa
			b += uint64(p[2]) * pa
			a += pa
		}
		d := acc[i : i+4 : i+4]
		d[0] += r
		d[1] += g
		d[2] += b
		d[3] += a
	}
}

func addRGBA(acc []uint64, pix []uint8, k int) {
	for i := 0; i < len(acc); i += 4 {
		cell := pix[i*k : (i+4)*k]
		var r, g, b, a uint64
		for j := 0; j+3 < len(cell); j += 4 {
			p := cell[j : j+4 : j+4]
			r += uint64(p[0])
			g += uint64(p[1])
			b += uint64(p[2])
			a += uint64(p[3])
		}
		d := acc[i : i+4 : i+4]
		d[0] += r
		d[1] += g
		d[2] += b
		d[3] += a
	}
}

func addCMYK(acc []uint64, pix []uint8, k int) {
	for i := 0; i < len(acc); i += 4 {
		cell := pix[i*k : (i+4)*k]
		var r, g, b uint64
		for j := 0; j+3 < len(cell); j += 4 {
			p := cell[j : j+4 : j+4]
			cr, cg, cb := color.CMYKToRGB(p[0], p[1], p[2], p[3])
			r += uint64(cr)
			g += uint64(cg)
			b += uint64(cb)
		}
		d := acc[i : i+4 : i+4]
		d[0] += r
		d[1] += g
		d[2] += b
		d[3] += 255 * uint64(k)
	}
}

// premultipliedPalette is p as colour×alpha sums (the weighted form), with
// 256 entries so every index is safe; indexes past the palette's end are
// transparent black.
func premultipliedPalette(p color.Palette) *[256][4]uint64 {
	var out [256][4]uint64
	for i, c := range p[:min(len(p), 256)] {
		n := color.NRGBAModel.Convert(c).(color.NRGBA)
		a := uint64(n.A)
		out[i] = [4]uint64{uint64(n.R) * a, uint64(n.G) * a, uint64(n.B) * a, a}
	}
	return &out
}

func addPaletted(acc []uint64, pix []uint8, k int, pal *[256][4]uint64) {
	for i := 0; i < len(acc); i += 4 {
		cell := pix[i/4*k : (i/4+1)*k]
		var r, g, b, a uint64
		for _, idx := range cell {
			c := &pal[idx]
			r += c[0]
			g += c[1]
			b += c[2]
			a += c[3]
		}
		d := acc[i : i+4 : i+4]
		d[0] += r
		d[1] += g
		d[2] += b
		d[3] += a
	}
}
