package isobmff

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
)

// The header of a HEIF or AVIF file: how its primary image is coded, the
// sizes checked against the limits before any decoder runs, and the
// primary image's transformations.

// Codings of the primary image: Image.Coding.
const (
	HEVC = "hvc1" // HEIF (.heic)
	AV1  = "av01" // AVIF
)

// Brands of ftyp that say the file holds HEIF or AVIF images.
var imageBrands = []string{"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "miaf", "mif2", "avif", "avis", "MA1A", "MA1B"}

// Alpha auxiliary image types (auxC), of MPEG-B (AVIF, newer HEIF) and of
// HEVC (older HEIF writers).
var alphaURNs = []string{"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha", "urn:mpeg:hevc:2015:auxid:1"}

// maxTiles bounds the tiles of a grid (a 48-megapixel iPhone HEIC has 192).
const maxTiles = 4096

// Image is what the container says about its primary image.
type Image struct {
	// Coding is how the primary image (or each tile of its grid) is
	// coded: HEVC or AV1.
	Coding string
	// Width and Height are the primary image's ispe: as stored, before
	// Crop and Orientation.
	Width, Height int
	// Depth is the bits per channel (pixi), 8 when not said.
	Depth int
	// Crop is the clean aperture (clap) of the stored image, or nil.
	Crop *image.Rectangle
	// Orientation is irot and imir as an EXIF orientation (1..8): what
	// shows the stored image, after Crop, as it should be seen.
	Orientation int

	meta    *bmffMeta
	primary *bmffItem
	alpha   *bmffItem   // the alpha plane, or nil
	coded   []*bmffItem // the coded images the decoder decodes: primary or its tiles, alpha or its tiles
}

// Is reports whether b starts with an ftyp box.
func Is(b []byte) bool { return len(b) >= 8 && string(b[4:8]) == "ftyp" }

// Read reads the header of a HEIF or AVIF file from b, the bytes read so
// far; more(n) reads on until at least n bytes are there (returning all
// read), or fails. more's errors are returned as they are.
func Read(b []byte, more func(n int64) ([]byte, error)) (*Image, error) {
	var off int64
	var brands []string
	for i := 0; ; i++ {
		if i > maxTopBoxes {
			return nil, errorf(ErrFormat, "no meta box in the first %d boxes", maxTopBoxes)
		}
		var err error
		if b, err = more(off + 16); err != nil && int64(len(b)) < off+8 {
			return nil, err
		}
		size, typ, hdr := uint64(binary.BigEndian.Uint32(b[off:])), string(b[off+4:off+8]), int64(8)
		if size == 1 {
			if int64(len(b)) < off+16 {
				return nil, err
			}
			size, hdr = binary.BigEndian.Uint64(b[off+8:]), 16
		}
		if i == 0 && typ != "ftyp" || i > 0 && typ == "ftyp" {
			return nil, errorf(ErrFormat, "ISO-BMFF file without a leading ftyp box")
		}
		if size == 0 {
			return nil, errorf(ErrFormat, "%s: no meta box before a box that runs to the end of the file", brandName(brands))
		}
		if size < uint64(hdr) || size > 1<<62 {
			return nil, errorf(ErrFormat, "box %q of %d bytes", typ, size)
		}
		if typ == "ftyp" && size > 4096 || typ == "meta" && size > maxMetaSize {
			return nil, errorf(ErrFormat, "%q box of %d bytes", typ, size)
		}
		if typ == "ftyp" || typ == "meta" {
			if b, err = more(off + int64(size)); err != nil {
				return nil, err
			}
			bx := box{typ: typ, body: b[off+hdr : off+int64(size)], off: off + hdr}
			if typ == "ftyp" {
				if brands, err = parseFtyp(bx.body); err != nil {
					return nil, errorf(ErrFormat, "%v", err)
				}
				if !slices.ContainsFunc(brands, func(s string) bool { return slices.Contains(imageBrands, s) }) {
					return nil, errorf(ErrUnsupported, "%s files are not images of a format we read", brandName(brands))
				}
			} else {
				m, err := parseMeta(bx)
				if err != nil {
					return nil, errorf(ErrFormat, "%s: %v", brandName(brands), err)
				}
				m.brands, m.metaEnd = brands, off+int64(size)
				return m.image()
			}
		}
		off += int64(size)
	}
}

// brandName names a file by its major brand.
func brandName(brands []string) string {
	if len(brands) == 0 {
		return "ISO-BMFF"
	}
	return fmt.Sprintf("ISO-BMFF (brand %q)", brands[0])
}

// image finds the primary image and what decoding it takes.
func (m *bmffMeta) image() (*Image, error) {
	name := brandName(m.brands)
	if m.handler != "pict" {
		return nil, errorf(ErrFormat, "%s: meta handler %q, want pict", name, m.handler)
	}
	prim, ok := m.items[m.primary]
	if !ok || prim.typ == "" {
		return nil, errorf(ErrFormat, "%s: no primary item %d", name, m.primary)
	}
	h := &Image{meta: m, primary: prim, Depth: 8, Orientation: 1}
	var err error
	if h.Width, h.Height, err = m.ispe(prim); err != nil {
		return nil, errorf(ErrFormat, "%s: %v", name, err)
	}
	coding, coded, err := m.codedItems(prim)
	if err != nil {
		return nil, err
	}
	if coding != HEVC && coding != AV1 {
		return nil, errorf(ErrUnsupported, "%s whose primary image is coded as %q", name, coding)
	}
	h.Coding, h.coded = coding, coded
	if p, ok := m.prop(coded[0], "pixi"); ok {
		if _, _, r, err := fullBox(p); err == nil && len(r) > 1 && r[0] > 0 {
			h.Depth = int(slices.Max(r[1:min(len(r), 1+int(r[0]))]))
		}
	}
	// The alpha plane: an auxiliary image of type alpha referencing the
	// primary one.
	for _, r := range m.refs {
		it, ok := m.items[r.from]
		if r.typ != "auxl" || !slices.Contains(r.to, prim.id) || !ok || !m.isAlpha(it) {
			continue
		}
		acoding, acoded, err := m.codedItems(it)
		if err != nil {
			return nil, err
		}
		if acoding != coding {
			return nil, errorf(ErrUnsupported, "%s with a %s image and a %s alpha plane", name, coding, acoding)
		}
		h.alpha, h.coded = it, append(h.coded, acoded...)
		break
	}
	if err := h.transforms(); err != nil {
		return nil, err
	}
	return h, nil
}

// isAlpha reports whether an auxiliary image is an alpha plane.
func (m *bmffMeta) isAlpha(it *bmffItem) bool {
	p, ok := m.prop(it, "auxC")
	if !ok {
		return false
	}
	_, _, r, err := fullBox(p)
	if err != nil {
		return false
	}
	if i := bytes.IndexByte(r, 0); i >= 0 {
		r = r[:i]
	}
	return slices.Contains(alphaURNs, string(r))
}

// codedItems returns how an image item is coded and the coded items it is
// made of: itself, or the tiles of a grid (all coded alike).
func (m *bmffMeta) codedItems(it *bmffItem) (string, []*bmffItem, error) {
	name := brandName(m.brands)
	if it.typ != "grid" {
		return it.typ, []*bmffItem{it}, nil
	}
	ids := m.refsFrom(it.id, "dimg")
	if len(ids) == 0 || len(ids) > maxTiles {
		return "", nil, errorf(ErrFormat, "%s: grid item %d with %d tiles", name, it.id, len(ids))
	}
	tiles := make([]*bmffItem, 0, len(ids))
	for _, id := range ids {
		t, ok := m.items[id]
		if !ok || t.typ == "" {
			return "", nil, errorf(ErrFormat, "%s: grid tile %d is not an item", name, id)
		}
		if len(tiles) > 0 && t.typ != tiles[0].typ {
			return "", nil, errorf(ErrUnsupported, "%s: grid of %s and %s tiles", name, tiles[0].typ, t.typ)
		}
		tiles = append(tiles, t)
	}
	return tiles[0].typ, tiles, nil
}

// transforms reads the primary image's clap, irot and imir, in the order
// they apply (their order in ipma), into a crop of the stored image and an
// orientation. A clap after irot or imir (MIAF forbids it) is refused.
func (h *Image) transforms() error {
	shown := newProbe() // where its cells end up is the orientation
	turned := false
	for _, idx := range h.primary.props {
		if idx > len(h.meta.props) {
			continue
		}
		p := h.meta.props[idx-1]
		switch p.typ {
		case "irot":
			if len(p.body) < 1 {
				return errorf(ErrFormat, "empty irot")
			}
			for range p.body[0] & 3 {
				shown = shown.turn() // anticlockwise
			}
			turned = true
		case "imir":
			if len(p.body) < 1 {
				return errorf(ErrFormat, "empty imir")
			}
			// ISO/IEC 23008-12:2022 6.5.12: mode 0 exchanges top and
			// bottom (EXIF orientation 4), 1 left and right (2), as libheif
			// and libavif read it. (The 2017 text's "vertical axis" for 0
			// reads the other way.)
			if p.body[0]&1 == 0 {
				shown = shown.flipV()
			} else {
				shown = shown.flipH()
			}
			turned = true
		case "clap":
			if turned {
				return errorf(ErrUnsupported, "clap after irot or imir")
			}
			r, err := clapRect(p.body, h.Width, h.Height)
			if err != nil {
				return err
			}
			h.Crop = &r
		}
	}
	for o := 1; o <= 8; o++ {
		if newProbe().orient(o) == shown {
			h.Orientation = o
			return nil
		}
	}
	return errors.New("irot and imir make no orientation") // unreachable: they form the same group
}

// probe is a 3×2 picture of distinct cells (w×h, row by row), turned and
// mirrored to name the EXIF orientation irot and imir amount to.
type probe struct {
	w, h  int
	cells [6]int
}

func newProbe() probe { return probe{w: 3, h: 2, cells: [6]int{1, 2, 3, 4, 5, 6}} }

// at is the cell at x, y.
func (p probe) at(x, y int) int { return p.cells[y*p.w+x] }

// mapped is the w×h probe whose cell x, y is p's cell src(x, y).
func (p probe) mapped(w, h int, src func(x, y int) (int, int)) probe {
	out := probe{w: w, h: h}
	for y := range h {
		for x := range w {
			out.cells[y*w+x] = p.at(src(x, y))
		}
	}
	return out
}

// turn is p turned a quarter anticlockwise.
func (p probe) turn() probe {
	return p.mapped(p.h, p.w, func(x, y int) (int, int) { return p.w - 1 - y, x })
}

// flipH is p with left and right exchanged; flipV, top and bottom.
func (p probe) flipH() probe {
	return p.mapped(p.w, p.h, func(x, y int) (int, int) { return p.w - 1 - x, y })
}

func (p probe) flipV() probe {
	return p.mapped(p.w, p.h, func(x, y int) (int, int) { return x, p.h - 1 - y })
}

// orient is p shown as EXIF orientation o says (as thumb applies it): 2
// mirrored, 3 turned a half, 4 flipped, 5 transposed, 6 turned a quarter
// clockwise, 7 transversed, 8 a quarter anticlockwise.
func (p probe) orient(o int) probe {
	switch o {
	case 2:
		return p.flipH()
	case 3:
		return p.flipH().flipV()
	case 4:
		return p.flipV()
	case 5:
		return p.mapped(p.h, p.w, func(x, y int) (int, int) { return y, x })
	case 6:
		return p.turn().turn().turn()
	case 7:
		return p.mapped(p.h, p.w, func(x, y int) (int, int) { return p.w - 1 - y, p.h - 1 - x })
	case 8:
		return p.turn()
	}
	return p
}

// clapRect is the rectangle a clean aperture box keeps of a w×h image.
func clapRect(b []byte, w, h int) (image.Rectangle, error) {
	if len(b) < 32 {
		return image.Rectangle{}, errorf(ErrFormat, "short clap")
	}
	f := func(i int, signed bool) float64 {
		n, d := binary.BigEndian.Uint32(b[8*i:]), binary.BigEndian.Uint32(b[8*i+4:])
		if d == 0 {
			return math.NaN()
		}
		if signed {
			return float64(int32(n)) / float64(d)
		}
		return float64(n) / float64(d)
	}
	cw, ch, dx, dy := f(0, false), f(1, false), f(2, true), f(3, true)
	left := math.Round(dx + float64(w-1)/2 - (cw-1)/2)
	top := math.Round(dy + float64(h-1)/2 - (ch-1)/2)
	if math.IsNaN(left + top + cw + ch) {
		return image.Rectangle{}, errorf(ErrFormat, "clap with a zero denominator")
	}
	r := image.Rect(int(left), int(top), int(left+math.Round(cw)), int(top+math.Round(ch)))
	if !r.In(image.Rect(0, 0, w, h)) || r.Empty() {
		return image.Rectangle{}, errorf(ErrFormat, "clap %v outside the %dx%d image", r, w, h)
	}
	return r, nil
}

// codedHead is how much of an AV1 item's data is read for its sequence
// header, which comes first.
const codedHead = 256

// HeadEnd is the file offset up to which Check needs the file: the start
// of every AV1 item's data.
func (h *Image) HeadEnd() int64 {
	var end uint64
	for _, it := range h.coded {
		if it.typ == "av01" && it.method == 0 && len(it.extents) > 0 {
			e := it.extents[0]
			end = max(end, e.off+min(e.n, codedHead))
		}
	}
	return int64(min(end, 1<<62))
}

// codedSize is the size of the picture an item's stream codes (see
// codedsize.go); file holds at least the bytes up to HeadEnd.
func (h *Image) codedSize(it *bmffItem, file []byte) (int, int, error) {
	switch it.typ {
	case "hvc1":
		p, ok := h.meta.prop(it, "hvcC")
		if !ok {
			return 0, 0, errCodedSize
		}
		return hevcCodedSize(p.body)
	case "av01":
		src := file
		if it.method == 1 {
			src = h.meta.idat
		}
		if it.method > 1 || len(it.extents) == 0 || it.extents[0].off >= uint64(len(src)) {
			return 0, 0, errCodedSize
		}
		e := it.extents[0]
		return av1CodedSize(src[e.off : e.off+min(e.n, codedHead, uint64(len(src))-e.off)])
	}
	return 0, 0, errCodedSize
}

// Check checks every image the decoder would decode against maxPixels:
// the ispe sizes and the sizes the streams code, each at most maxPixels,
// all of them (grid tiles overhang the canvas) at most twice that. file
// holds at least the bytes up to HeadEnd.
func (h *Image) Check(maxPixels int64, file []byte) error {
	if int64(h.Width)*int64(h.Height) > maxPixels {
		return errorf(ErrTooLarge, "%dx%d is more than %d pixels", h.Width, h.Height, maxPixels)
	}
	var sum int64
	for _, it := range h.coded {
		w, ht, err := h.meta.ispe(it)
		if err != nil {
			return errorf(ErrFormat, "%v", err)
		}
		if !it.located || len(it.extents) == 0 {
			return errorf(ErrFormat, "%s item %d has no data", h.name(), it.id)
		}
		cw, ch, err := h.codedSize(it, file)
		if err != nil {
			return errorf(ErrFormat, "%s item %d: %v", h.name(), it.id, err)
		}
		if int64(cw)*int64(ch) > int64(w)*int64(ht) {
			w, ht = cw, ch
		}
		px := int64(w) * int64(ht)
		if px > maxPixels {
			return errorf(ErrTooLarge, "%s item %d is %dx%d, more than %d pixels", h.name(), it.id, w, ht, maxPixels)
		}
		if sum += px; sum > 2*maxPixels {
			return errorf(ErrTooLarge, "%s images add up to more than %d pixels", h.name(), 2*maxPixels)
		}
	}
	if h.alpha != nil {
		if w, ht, err := h.meta.ispe(h.alpha); err != nil || int64(w)*int64(ht) > maxPixels {
			return errorf(ErrTooLarge, "%s alpha plane %dx%d is more than %d pixels (%v)", h.name(), w, ht, maxPixels, err)
		}
	}
	return nil
}

// name is the format's name in messages: heif or avif.
func (h *Image) name() string {
	if h.Coding == AV1 {
		return "avif"
	}
	return "heif"
}

// Complete fails unless every coded image's bytes are in data (the whole
// file): decoders may decode a truncated file without a word (libavif
// does, when the cut falls in the alpha plane).
func (h *Image) Complete(data []byte) error {
	for _, it := range h.coded {
		if _, ok := h.meta.data(it, data); !ok {
			return errorf(ErrFormat, "item %d is cut short (file of %d bytes)", it.id, len(data))
		}
	}
	return nil
}

// HasAlpha reports whether the primary image has an alpha plane.
func (h *Image) HasAlpha() bool { return h.alpha != nil }

// MetaEnd is the file offset just after the meta box: the header's end.
func (h *Image) MetaEnd() int64 { return h.meta.metaEnd }

// Config is the image.Config of what thumb's decoders return: HEVC as
// YCbCr (NRGBA with alpha), AV1 as RGBA (RGBA64 over 8 bits).
func (h *Image) Config() image.Config {
	cfg := image.Config{Width: h.Width, Height: h.Height, ColorModel: color.YCbCrModel}
	switch {
	case h.Coding == AV1 && h.Depth > 8:
		cfg.ColorModel = color.RGBA64Model
	case h.Coding == AV1:
		cfg.ColorModel = color.RGBAModel
	case h.alpha != nil:
		cfg.ColorModel = color.NRGBAModel
	}
	return cfg
}

// ShownSize is the size of the primary image after clap, irot and imir.
func (h *Image) ShownSize() image.Point {
	size := image.Pt(h.Width, h.Height)
	if h.Crop != nil {
		size = h.Crop.Size()
	}
	if h.Orientation >= 5 {
		size.X, size.Y = size.Y, size.X
	}
	return size
}

// AlphaAsPrimary returns a copy of data, the whole file, rewritten in
// place, at the same size, to make the alpha plane its primary image (pitm
// points to it, its auxl reference is renamed so that it is no longer
// auxiliary, and it is no longer hidden): a decoder of the primary image
// alone then decodes the alpha plane. The alpha plane's HEVC configuration
// also says 4:2:0 (chroma_format_idc 1): gen2brain/heic's WebAssembly build
// refuses monochrome pictures (libheif 1.18 prefers YCbCr 4:0:0 for them,
// which it does not convert), and with 4:2:0 libheif converts the decoded
// plane, whose luma is the alpha; the shared library's path asks for 4:2:0
// anyway. The image's transformations are not applied to it.
func (h *Image) AlphaAsPrimary(data []byte) ([]byte, error) {
	m, a := h.meta, h.alpha
	if a == nil {
		return nil, errorf(ErrFormat, "no alpha plane")
	}
	if !m.pitmWide && a.id > 0xFFFF || a.infeOff <= 0 {
		return nil, errorf(ErrUnsupported, "cannot rewrite the file")
	}
	f := bytes.Clone(data)
	if m.pitmWide {
		binary.BigEndian.PutUint32(f[m.pitmOff:], a.id)
	} else {
		binary.BigEndian.PutUint16(f[m.pitmOff:], uint16(a.id))
	}
	for _, r := range m.refs {
		if r.from == a.id && r.typ == "auxl" {
			copy(f[r.off:], "xaux")
		}
	}
	f[a.infeOff+2] &^= 1 // the hidden flag
	for _, it := range h.coded {
		if it == a || slices.Contains(m.refsFrom(a.id, "dimg"), it.id) {
			if p, ok := m.prop(it, "hvcC"); ok && len(p.body) > 16 {
				f[p.off+16] = 0xFC | 1 // chroma_format_idc 1
			}
		}
	}
	return f, nil
}

// ReadFile reads the header of a whole file in memory.
func ReadFile(data []byte) (*Image, error) {
	return Read(data, func(n int64) ([]byte, error) {
		if n > int64(len(data)) {
			return data, errorf(ErrFormat, "truncated ISO-BMFF header")
		}
		return data, nil
	})
}
