package testphoto

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image/color"
)

// PNGOptions describe a PNG written by WritePNG.
type PNGOptions struct {
	Depth     int // 1, 2, 4, 8 or 16
	ColorType int // 0 grey, 2 RGB, 3 palette, 4 grey and alpha, 6 RGBA
	Interlace bool
	// Palette is colour type 3's PLTE; the alphas of its first TRNSLen
	// entries go into a tRNS chunk.
	Palette []color.NRGBA
	TRNSLen int
	// Transparent, for colour types 0 (one sample) and 2 (three), is the
	// tRNS colour, written when non-nil.
	Transparent []uint16
}

// WritePNG writes a w×h PNG of any bit depth and colour type, which
// image/png's encoder cannot: pixel (x, y) has the samples sample(x, y,
// s) puts in s (one for grey or a palette index, two for grey and alpha,
// three for RGB, four for RGBA, each of o.Depth bits). Every filter type
// is used, row after row in turn; the image data is split over IDAT
// chunks of varied sizes, with an ancillary chunk before and after them.
func WritePNG(w, h int, o PNGOptions, sample func(x, y int, s []uint16)) []byte {
	ch := [...]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[o.ColorType]
	bitsPP := ch * o.Depth
	bpp := max(1, bitsPP/8)
	var raw bytes.Buffer
	passes := [][4]int{{1, 1, 0, 0}}
	if o.Interlace {
		passes = [][4]int{{8, 8, 0, 0}, {8, 8, 4, 0}, {4, 8, 0, 4}, {4, 4, 2, 0}, {2, 4, 0, 2}, {2, 2, 1, 0}, {1, 2, 0, 1}}
	}
	s := make([]uint16, ch)
	for pi, p := range passes {
		pw, ph := (w-p[2]+p[0]-1)/p[0], (h-p[3]+p[1]-1)/p[1]
		if pw == 0 || ph == 0 {
			continue
		}
		rowLen := (bitsPP*pw + 7) / 8
		prev := make([]byte, rowLen)
		for py := range ph {
			cur := make([]byte, rowLen)
			bit := 0
			for px := range pw {
				sample(p[2]+px*p[0], p[3]+py*p[1], s)
				for _, v := range s {
					switch o.Depth {
					case 16:
						binary.BigEndian.PutUint16(cur[bit/8:], v)
					case 8:
						cur[bit/8] = uint8(v)
					default:
						cur[bit/8] |= uint8(v) << (8 - o.Depth - bit%8)
					}
					bit += o.Depth
				}
			}
			ft := byte((py + 2*pi) % 5)
			raw.WriteByte(ft)
			raw.Write(filterRow(ft, cur, prev, bpp))
			prev = cur
		}
	}
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.DefaultCompression)
	zw.Write(raw.Bytes())
	zw.Close()

	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = byte(o.Depth), byte(o.ColorType)
	if o.Interlace {
		ihdr[12] = 1
	}
	writeChunk(&out, "IHDR", ihdr)
	writeChunk(&out, "tEXt", []byte("Comment\x00made by testphoto.WritePNG"))
	if o.ColorType == 3 {
		var plte, trns []byte
		for i, c := range o.Palette {
			plte = append(plte, c.R, c.G, c.B)
			if i < o.TRNSLen {
				trns = append(trns, c.A)
			}
		}
		writeChunk(&out, "PLTE", plte)
		if o.TRNSLen > 0 {
			writeChunk(&out, "tRNS", trns)
		}
	}
	if o.Transparent != nil {
		var trns []byte
		for _, v := range o.Transparent {
			trns = binary.BigEndian.AppendUint16(trns, v)
		}
		writeChunk(&out, "tRNS", trns)
	}
	data := z.Bytes()
	for i, size := 0, 7; len(data) > 0; i, size = i+1, size*5+3 {
		n := min(size, len(data))
		writeChunk(&out, "IDAT", data[:n])
		data = data[n:]
	}
	writeChunk(&out, "tIME", []byte{0x07, 0xe9, 1, 2, 3, 4, 5})
	writeChunk(&out, "IEND", nil)
	return out.Bytes()
}

// filterRow filters cur (prev is the row before, zeros for the first) with
// filter type ft.
func filterRow(ft byte, cur, prev []byte, bpp int) []byte {
	out := make([]byte, len(cur))
	for i := range cur {
		var a, b, c int
		if i >= bpp {
			a, c = int(cur[i-bpp]), int(prev[i-bpp])
		}
		b = int(prev[i])
		var pred int
		switch ft {
		case 1:
			pred = a
		case 2:
			pred = b
		case 3:
			pred = (a + b) / 2
		case 4:
			p := a + b - c
			pa, pb, pc := absInt(p-a), absInt(p-b), absInt(p-c)
			switch {
			case pa <= pb && pa <= pc:
				pred = a
			case pb <= pc:
				pred = b
			default:
				pred = c
			}
		}
		out[i] = cur[i] - uint8(pred)
	}
	return out
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func writeChunk(out *bytes.Buffer, typ string, data []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)))
	copy(hdr[4:], typ)
	out.Write(hdr[:])
	out.Write(data)
	crc := crc32.NewIEEE()
	crc.Write(hdr[4:])
	crc.Write(data)
	binary.Write(out, binary.BigEndian, crc.Sum32())
}

// PNGVariant is one PNG of PNGVariants.
type PNGVariant struct {
	Name string
	Data []byte
}

// PNGVariants are w×h PNGs of Photo(w, h, seed, true) in every colour
// type and bit depth PNG has, plain and interlaced: grey at 1, 2, 4, 8
// and 16 bits, with and without a tRNS colour (a band of the image has
// it); grey and alpha, RGB (with and without tRNS) and RGBA at 8 and 16
// bits (16-bit samples carry 4 bits of noise below the 8-bit value); and
// palettes of 2, 4, 16 and 256 colours, without tRNS and with alphas for
// the first half of the palette, one of them with indexes past the end of
// a short palette. The alpha images have a fully transparent corner.
func PNGVariants(w, h int, seed uint64) []PNGVariant {
	img := Photo(w, h, seed, true)
	at := func(x, y int) (r, g, b, a int) {
		p := img.Pix[img.PixOffset(x, y):]
		a = int(p[3])
		if x < w/4 && y < h/3 {
			a = 0
		}
		return int(p[0]), int(p[1]), int(p[2]), a
	}
	gray := func(x, y int) int { r, g, b, _ := at(x, y); return (299*r + 587*g + 114*b + 500) / 1000 }
	noise := func(x, y, c int) int { return int(uint32(x*7919+y*104729+c*31)*2654435761>>28) - 8 }
	wide := func(v, x, y, c int) uint16 { return uint16(min(max(v*257+noise(x, y, c), 0), 65535)) }
	band := func(x int) bool { return x >= w/2 && x < w/2+max(1, w/8) }
	var out []PNGVariant
	add := func(name string, o PNGOptions, f func(x, y int, s []uint16)) {
		for _, il := range []bool{false, true} {
			o.Interlace = il
			n := name
			if il {
				n += "-interlaced"
			}
			out = append(out, PNGVariant{n, WritePNG(w, h, o, f)})
		}
	}
	for _, depth := range []int{1, 2, 4, 8, 16} {
		level := func(x, y int) uint16 {
			if depth == 16 {
				return wide(gray(x, y), x, y, 0)
			}
			return uint16(gray(x, y) >> (8 - depth))
		}
		add(fmt.Sprintf("gray%d", depth), PNGOptions{Depth: depth}, func(x, y int, s []uint16) { s[0] = level(x, y) })
		key := uint16(1<<depth - 2)
		add(fmt.Sprintf("gray%d-trns", depth), PNGOptions{Depth: depth, Transparent: []uint16{key}}, func(x, y int, s []uint16) {
			s[0] = level(x, y)
			if band(x) {
				s[0] = key
			}
		})
	}
	for _, depth := range []int{8, 16} {
		ga := func(x, y int, s []uint16) {
			_, _, _, a := at(x, y)
			s[0], s[1] = uint16(gray(x, y)), uint16(a)
			if depth == 16 {
				s[0], s[1] = wide(gray(x, y), x, y, 0), wide(a, x, y, 1)
			}
		}
		add(fmt.Sprintf("grayalpha%d", depth), PNGOptions{Depth: depth, ColorType: 4}, ga)
		rgba := func(x, y int, s []uint16) {
			r, g, b, a := at(x, y)
			for i, v := range []int{r, g, b, a} {
				if i < len(s) {
					s[i] = uint16(v)
					if depth == 16 {
						s[i] = wide(v, x, y, i)
					}
				}
			}
		}
		add(fmt.Sprintf("rgb%d", depth), PNGOptions{Depth: depth, ColorType: 2}, rgba)
		key := []uint16{10, 200, 30}
		if depth == 16 {
			key = []uint16{10 * 257, 200 * 257, 30 * 257}
		}
		add(fmt.Sprintf("rgb%d-trns", depth), PNGOptions{Depth: depth, ColorType: 2, Transparent: key}, func(x, y int, s []uint16) {
			rgba(x, y, s)
			if band(x) {
				copy(s, key)
			}
		})
		add(fmt.Sprintf("rgba%d", depth), PNGOptions{Depth: depth, ColorType: 6}, rgba)
	}
	for _, depth := range []int{1, 2, 4, 8} {
		n := 1 << depth
		pal := make([]color.NRGBA, n)
		for i := range pal {
			pal[i] = color.NRGBA{uint8(255 * i / (n - 1)), uint8(255 - 255*i/(n-1)), uint8(128 + 127*i/(n-1)*(i%2)), uint8(255 * i / n)}
		}
		index := func(x, y int) uint16 { return uint16(gray(x, y) * n / 256) }
		add(fmt.Sprintf("palette%d", depth), PNGOptions{Depth: depth, ColorType: 3, Palette: pal}, func(x, y int, s []uint16) { s[0] = index(x, y) })
		add(fmt.Sprintf("palette%d-trns", depth), PNGOptions{Depth: depth, ColorType: 3, Palette: pal, TRNSLen: n / 2}, func(x, y int, s []uint16) { s[0] = index(x, y) })
	}
	short := make([]color.NRGBA, 100)
	for i := range short {
		short[i] = color.NRGBA{uint8(i * 2), uint8(255 - i), uint8(i), uint8(2 * i)}
	}
	add("palette8-short", PNGOptions{Depth: 8, ColorType: 3, Palette: short, TRNSLen: 50}, func(x, y int, s []uint16) { s[0] = uint16(gray(x, y)) })
	return out
}
