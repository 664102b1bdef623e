package jpegscale

import (
	"fmt"
	"image"
	"io"
)

// decoder holds the state of one Decode or DecodeConfig call.
type decoder struct {
	src        source
	opts       Options
	configOnly bool
	bs         int // output samples per block side: 8/scale

	// From the headers.
	width, height         int
	nComp                 int
	comp                  [4]component
	baseline, progressive bool
	jfif, adobeValid      bool
	adobeTransform        uint8
	ri                    int          // restart interval in MCUs, 0 for none
	mxx, myy              int          // MCUs per line, MCU lines
	quant                 [4][64]int32 // zig-zag order
	huff                  [2][4]*huffTable
	scans                 int
	scanned               bool

	// The scan being decoded, and the DC predictor of each of its
	// components. They live here, not on the stack, because forEachBlock
	// hands pointers into them to a function value.
	scan scan
	pred [4]int32

	// Entropy decoder state; see refill.
	acc    uint64
	nbits  int
	eos    bool
	eobrun int

	// Output planes, one per component, of whole blocks at bs x bs.
	pix    [4][]byte
	stride [4]int
	ycc    *image.YCbCr
	gray   *image.Gray

	// Progressive files: coefficients kept per block (bs*bs of them, in
	// natural order within the bs x bs corner) and, when AC scans are
	// decoded, the zig-zag positions already non-zero.
	coef [4][]int16
	mask [4][]uint64

	blk [65]int32 // one block of dequantized coefficients; [64] is a sink
}

func newDecoder(r io.Reader, opts Options, configOnly bool) *decoder {
	d := &decoder{opts: opts, configOnly: configOnly, bs: 8}
	d.src.r = r
	if opts.Scale > 1 {
		d.bs = 8 / opts.Scale
	}
	return d
}

// allocate makes the output planes, once, when the first scan starts.
func (d *decoder) allocate() {
	if d.pix[0] != nil {
		return
	}
	bs := d.bs
	h0, v0 := d.comp[0].h, d.comp[0].v
	sw, sh := (d.width+8/bs-1)/(8/bs), (d.height+8/bs-1)/(8/bs) // ceil(W/s), ceil(H/s)
	if d.nComp == 1 {
		w, h := d.mxx*bs, d.myy*bs
		m := &image.Gray{Pix: make([]byte, w*h), Stride: w, Rect: image.Rect(0, 0, w, h)}
		d.gray = m.SubImage(image.Rect(0, 0, sw, sh)).(*image.Gray)
		d.pix[0], d.stride[0] = m.Pix, m.Stride
		return
	}
	var ratio image.YCbCrSubsampleRatio
	switch (h0/d.comp[1].h)<<4 | v0/d.comp[1].v {
	case 0x11:
		ratio = image.YCbCrSubsampleRatio444
	case 0x12:
		ratio = image.YCbCrSubsampleRatio440
	case 0x21:
		ratio = image.YCbCrSubsampleRatio422
	case 0x22:
		ratio = image.YCbCrSubsampleRatio420
	case 0x41:
		ratio = image.YCbCrSubsampleRatio411
	case 0x42:
		ratio = image.YCbCrSubsampleRatio410
	default:
		panic(fmt.Sprintf("jpegscale: sampling %v slipped through processSOF", d.comp))
	}
	m := image.NewYCbCr(image.Rect(0, 0, d.mxx*h0*bs, d.myy*v0*bs), ratio)
	d.ycc = m.SubImage(image.Rect(0, 0, sw, sh)).(*image.YCbCr)
	d.pix[0], d.stride[0] = m.Y, m.YStride
	d.pix[1], d.stride[1] = m.Cb, m.CStride
	d.pix[2], d.stride[2] = m.Cr, m.CStride
	if d.nComp == 4 {
		c := d.comp[3]
		w := d.mxx * c.h * bs
		d.pix[3], d.stride[3] = make([]byte, w*d.myy*c.v*bs), w
	}
}
