package jpegscale

// Inverse DCTs, T.81 A.3.3, in integer arithmetic: each pass multiplies by
// constants with frac fractional bits and keeps every bit (int64), and the
// result is rounded once, level-shifted by 128 and clamped to 0..255.
//
// The input is a block of dequantized coefficients in natural (row-major)
// order; for the scaled transforms only its top-left corner is read.

const (
	frac  = 20
	round = 1<<(2*frac-1) + 128<<(2*frac) // rounding and level shift
)

// 8-point IDCT constants (x 2^20): x[n] = sum_k C(k)/2 X[k] cos((2n+1)k pi/16).
const (
	k4 = 370728 // 1/(2*sqrt 2): the weight of X0 and of X4
	p1 = 484379 // cos(pi/8)/2
	p3 = 200636 // cos(3pi/8)/2
	q1 = 514214 // cos(pi/16)/2
	q3 = 435930 // cos(3pi/16)/2
	q5 = 291279 // cos(5pi/16)/2
	q7 = 102284 // cos(7pi/16)/2
)

// Box-average weights W_N(m,k) (x 2^20) of the scaled transforms; see the
// package doc. W_N(N-1-m,k) = (-1)^k W_N(m,k).
const (
	w400, w401, w402, w403 = 370728, 475072, 342508, 166823
	w410, w411, w412, w413 = 370728, 196781, -342508, -402746
	w200, w201             = 370728, 335926
)

// idct8 writes the 8x8 samples of blk to dst (row stride stride).
func idct8(blk *[65]int32, dst []byte, stride int) {
	var ws [64]int64
	// Columns: the even/odd decomposition of the 8-point IDCT. A column
	// with no AC coefficient (most of them) is constant.
	for c := range 8 {
		x0, x1, x2, x3 := int64(blk[c]), int64(blk[8+c]), int64(blk[16+c]), int64(blk[24+c])
		x4, x5, x6, x7 := int64(blk[32+c]), int64(blk[40+c]), int64(blk[48+c]), int64(blk[56+c])
		if x1|x2|x3|x4|x5|x6|x7 == 0 {
			v := x0 * k4
			ws[c], ws[8+c], ws[16+c], ws[24+c] = v, v, v, v
			ws[32+c], ws[40+c], ws[48+c], ws[56+c] = v, v, v, v
			continue
		}
		ee0, ee1 := (x0+x4)*k4, (x0-x4)*k4
		eo0, eo1 := x2*p1+x6*p3, x2*p3-x6*p1
		e0, e3, e1, e2 := ee0+eo0, ee0-eo0, ee1+eo1, ee1-eo1
		o0 := x1*q1 + x3*q3 + x5*q5 + x7*q7
		o1 := x1*q3 - x3*q7 - x5*q1 - x7*q5
		o2 := x1*q5 - x3*q1 + x5*q7 + x7*q3
		o3 := x1*q7 - x3*q5 + x5*q3 - x7*q1
		ws[c], ws[56+c] = e0+o0, e0-o0
		ws[8+c], ws[48+c] = e1+o1, e1-o1
		ws[16+c], ws[40+c] = e2+o2, e2-o2
		ws[24+c], ws[32+c] = e3+o3, e3-o3
	}
	// Rows.
	for r := range 8 {
		w := (*[8]int64)(ws[r*8 : r*8+8])
		out := dst[r*stride : r*stride+8]
		x0, x1, x2, x3, x4, x5, x6, x7 := w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]
		ee0, ee1 := (x0+x4)*k4, (x0-x4)*k4
		eo0, eo1 := x2*p1+x6*p3, x2*p3-x6*p1
		e0, e3, e1, e2 := ee0+eo0, ee0-eo0, ee1+eo1, ee1-eo1
		o0 := x1*q1 + x3*q3 + x5*q5 + x7*q7
		o1 := x1*q3 - x3*q7 - x5*q1 - x7*q5
		o2 := x1*q5 - x3*q1 + x5*q7 + x7*q3
		o3 := x1*q7 - x3*q5 + x5*q3 - x7*q1
		out[0] = clamp64(e0 + o0)
		out[7] = clamp64(e0 - o0)
		out[1] = clamp64(e1 + o1)
		out[6] = clamp64(e1 - o1)
		out[2] = clamp64(e2 + o2)
		out[5] = clamp64(e2 - o2)
		out[3] = clamp64(e3 + o3)
		out[4] = clamp64(e3 - o3)
	}
}

// idct4 writes the 4x4 box-averaged samples of blk's 4x4 corner.
func idct4(blk *[65]int32, dst []byte, stride int) {
	var ws [16]int64
	for c := range 4 {
		x0, x1, x2, x3 := int64(blk[c]), int64(blk[8+c]), int64(blk[16+c]), int64(blk[24+c])
		e0, e1 := x0*w400+x2*w402, x0*w410+x2*w412
		o0, o1 := x1*w401+x3*w403, x1*w411+x3*w413
		ws[c], ws[12+c] = e0+o0, e0-o0
		ws[4+c], ws[8+c] = e1+o1, e1-o1
	}
	for r := range 4 {
		x0, x1, x2, x3 := ws[r*4], ws[r*4+1], ws[r*4+2], ws[r*4+3]
		e0, e1 := x0*w400+x2*w402, x0*w410+x2*w412
		o0, o1 := x1*w401+x3*w403, x1*w411+x3*w413
		out := dst[r*stride : r*stride+4]
		out[0] = clamp64(e0 + o0)
		out[3] = clamp64(e0 - o0)
		out[1] = clamp64(e1 + o1)
		out[2] = clamp64(e1 - o1)
	}
}

// idct2 writes the 2x2 box-averaged samples of blk's 2x2 corner.
func idct2(blk *[65]int32, dst []byte, stride int) {
	x00, x01, x10, x11 := int64(blk[0]), int64(blk[1]), int64(blk[8]), int64(blk[9])
	c0e, c0o := x00*w200, x10*w201 // column 0: even and odd parts
	c1e, c1o := x01*w200, x11*w201
	t00, t10 := c0e+c0o, c0e-c0o // column pass, rows 0 and 1
	t01, t11 := c1e+c1o, c1e-c1o
	dst[0] = clamp64(t00*w200 + t01*w201)
	dst[1] = clamp64(t00*w200 - t01*w201)
	dst[stride] = clamp64(t10*w200 + t11*w201)
	dst[stride+1] = clamp64(t10*w200 - t11*w201)
}

// clamp64 rounds a transform output with 2*frac fractional bits, adds the
// level shift and clamps it to a byte.
func clamp64(v int64) uint8 {
	v = (v + round) >> (2 * frac)
	if uint64(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return uint8(v)
}
