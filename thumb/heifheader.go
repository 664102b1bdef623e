package thumb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"slices"

	"github.com/disintegration/imaging"
)

// The header of a HEIF or AVIF file: which format it is, the sizes checked
// against Limits before any decoder runs, and the primary image's
// transformations (see heif.go).

// Brands of ftyp that say the file holds HEIF or AVIF images.
var imageBrands = []string{"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "miaf", "mif2", "avif", "avis", "MA1A", "MA1B"}

// Alpha auxiliary image types (auxC), of MPEG-B (AVIF, newer HEIF) and of
// HEVC (older HEIF writers).
var alphaURNs = []string{"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha", "urn:mpeg:hevc:2015:auxid:1"}

// maxTiles bounds the tiles of a grid (a 48-megapixel iPhone HEIC has 192).
const maxTiles = 4096

// heifImage is what the container says about its primary image.
type heifImage struct {
	meta          *bmffMeta
	format        Format // HEIF or AVIF
	width, height int    // the primary image's ispe: as stored, before clap, irot and imir
	depth         int    // bits per channel (pixi), 8 when not said
	primary       *bmffItem
	alpha         *bmffItem   // the alpha plane, or nil
	coded         []*bmffItem // the coded images the decoder decodes: primary or its tiles, alpha or its tiles
	crop          *image.Rectangle
	orient        int // irot and imir as an EXIF orientation (1..8)
}

// isISOBMFF reports whether b starts with an ftyp box.
func isISOBMFF(b []byte) bool { return len(b) >= 8 && string(b[4:8]) == "ftyp" }

// readHEIF reads the header of a HEIF or AVIF file from the bytes read so
// far; more(n) reads on until at least n bytes are there, or fails.
func readHEIF(b []byte, more func(n int64) ([]byte, error)) (*heifImage, error) {
	var off int64
	var brands []string
	for i := 0; ; i++ {
		if i > maxTopBoxes {
			return nil, wrapf(ErrNotImage, "no meta box in the first %d boxes", maxTopBoxes)
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
			return nil, wrapf(ErrNotImage, "ISO-BMFF file without a leading ftyp box")
		}
		if size == 0 {
			return nil, wrapf(ErrNotImage, "%s: no meta box before a box that runs to the end of the file", brandName(brands))
		}
		if size < uint64(hdr) || size > 1<<62 {
			return nil, wrapf(ErrNotImage, "box %q of %d bytes", typ, size)
		}
		if typ == "ftyp" && size > 4096 || typ == "meta" && size > maxMetaSize {
			return nil, wrapf(ErrNotImage, "%q box of %d bytes", typ, size)
		}
		if typ == "ftyp" || typ == "meta" {
			if b, err = more(off + int64(size)); err != nil {
				return nil, err
			}
			bx := box{typ: typ, body: b[off+hdr : off+int64(size)], off: off + hdr}
			if typ == "ftyp" {
				if brands, err = parseFtyp(bx.body); err != nil {
					return nil, wrapf(ErrNotImage, "%v", err)
				}
				if !slices.ContainsFunc(brands, func(s string) bool { return slices.Contains(imageBrands, s) }) {
					return nil, wrapf(ErrUnsupportedFormat, "%s files are not images of a format we read", brandName(brands))
				}
			} else {
				m, err := parseMeta(bx)
				if err != nil {
					return nil, wrapf(ErrNotImage, "%s: %v", brandName(brands), err)
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
func (m *bmffMeta) image() (*heifImage, error) {
	name := brandName(m.brands)
	if m.handler != "pict" {
		return nil, wrapf(ErrNotImage, "%s: meta handler %q, want pict", name, m.handler)
	}
	prim, ok := m.items[m.primary]
	if !ok || prim.typ == "" {
		return nil, wrapf(ErrNotImage, "%s: no primary item %d", name, m.primary)
	}
	h := &heifImage{meta: m, primary: prim, depth: 8, orient: 1}
	var err error
	if h.width, h.height, err = m.ispe(prim); err != nil {
		return nil, wrapf(ErrNotImage, "%s: %v", name, err)
	}
	coding, coded, err := m.codedItems(prim)
	if err != nil {
		return nil, err
	}
	switch coding {
	case "hvc1":
		h.format = HEIF
	case "av01":
		h.format = AVIF
	default:
		return nil, wrapf(ErrUnsupportedFormat, "%s whose primary image is coded as %q", name, coding)
	}
	h.coded = coded
	if p, ok := m.prop(coded[0], "pixi"); ok {
		if _, _, r, err := fullBox(p); err == nil && len(r) > 1 && r[0] > 0 {
			h.depth = int(slices.Max(r[1:min(len(r), 1+int(r[0]))]))
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
			return nil, wrapf(ErrUnsupportedFormat, "%s with a %s image and a %s alpha plane", name, coding, acoding)
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
		return "", nil, wrapf(ErrNotImage, "%s: grid item %d with %d tiles", name, it.id, len(ids))
	}
	tiles := make([]*bmffItem, 0, len(ids))
	for _, id := range ids {
		t, ok := m.items[id]
		if !ok || t.typ == "" {
			return "", nil, wrapf(ErrNotImage, "%s: grid tile %d is not an item", name, id)
		}
		if len(tiles) > 0 && t.typ != tiles[0].typ {
			return "", nil, wrapf(ErrUnsupportedFormat, "%s: grid of %s and %s tiles", name, tiles[0].typ, t.typ)
		}
		tiles = append(tiles, t)
	}
	return tiles[0].typ, tiles, nil
}

// transforms reads the primary image's clap, irot and imir, in the order
// they apply (their order in ipma), into a crop of the stored image and an
// orientation. A clap after irot or imir (MIAF forbids it) is refused.
func (h *heifImage) transforms() error {
	tiny := image.NewNRGBA(image.Rect(0, 0, 3, 2)) // a probe: where its pixels end up is the orientation
	for i := range 6 {
		tiny.Pix[4*i] = uint8(i + 1)
	}
	var shown image.Image = tiny
	turned := false
	for _, idx := range h.primary.props {
		if idx > len(h.meta.props) {
			continue
		}
		p := h.meta.props[idx-1]
		switch p.typ {
		case "irot":
			if len(p.body) < 1 {
				return wrapf(ErrNotImage, "empty irot")
			}
			for range p.body[0] & 3 {
				shown = imaging.Rotate90(shown) // anticlockwise
			}
			turned = true
		case "imir":
			if len(p.body) < 1 {
				return wrapf(ErrNotImage, "empty imir")
			}
			// ISO/IEC 23008-12:2022 6.5.12: mode 0 exchanges top and
			// bottom (EXIF orientation 4), 1 left and right (2), as libheif
			// and libavif read it. (The 2017 text's "vertical axis" for 0
			// reads the other way.)
			if p.body[0]&1 == 0 {
				shown = imaging.FlipV(shown)
			} else {
				shown = imaging.FlipH(shown)
			}
			turned = true
		case "clap":
			if turned {
				return wrapf(ErrUnsupportedFormat, "clap after irot or imir")
			}
			r, err := clapRect(p.body, h.width, h.height)
			if err != nil {
				return err
			}
			h.crop = &r
		}
	}
	for o := 1; o <= 8; o++ {
		if bytes.Equal(applyOrientation(tiny, o).(*image.NRGBA).Pix, imaging.Clone(shown).Pix) {
			h.orient = o
			return nil
		}
	}
	return fmt.Errorf("irot and imir make no orientation") // unreachable: they form the same group
}

// clapRect is the rectangle a clean aperture box keeps of a w×h image.
func clapRect(b []byte, w, h int) (image.Rectangle, error) {
	if len(b) < 32 {
		return image.Rectangle{}, wrapf(ErrNotImage, "short clap")
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
		return image.Rectangle{}, wrapf(ErrNotImage, "clap with a zero denominator")
	}
	r := image.Rect(int(left), int(top), int(left+math.Round(cw)), int(top+math.Round(ch)))
	if !r.In(image.Rect(0, 0, w, h)) || r.Empty() {
		return image.Rectangle{}, wrapf(ErrNotImage, "clap %v outside the %dx%d image", r, w, h)
	}
	return r, nil
}

// codedHead is how much of an AV1 item's data is read for its sequence
// header, which comes first.
const codedHead = 256

// headEnd is the file offset up to which check needs the file: the start
// of every AV1 item's data.
func (h *heifImage) headEnd() int64 {
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
// codedsize.go); file holds at least the bytes up to headEnd.
func (h *heifImage) codedSize(it *bmffItem, file []byte) (int, int, error) {
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

// check checks every image the decoder would decode against lim: the
// ispe sizes and the sizes the streams code. file holds at least the
// bytes up to headEnd.
func (h *heifImage) check(lim Limits, file []byte) error {
	if int64(h.width)*int64(h.height) > lim.MaxPixels {
		return wrapf(ErrTooLarge, "%dx%d is more than %d pixels", h.width, h.height, lim.MaxPixels)
	}
	var sum int64
	for _, it := range h.coded {
		w, ht, err := h.meta.ispe(it)
		if err != nil {
			return wrapf(ErrNotImage, "%v", err)
		}
		if !it.located || len(it.extents) == 0 {
			return wrapf(ErrNotImage, "%s item %d has no data", h.format, it.id)
		}
		cw, ch, err := h.codedSize(it, file)
		if err != nil {
			return wrapf(ErrNotImage, "%s item %d: %v", h.format, it.id, err)
		}
		if int64(cw)*int64(ch) > int64(w)*int64(ht) {
			w, ht = cw, ch
		}
		px := int64(w) * int64(ht)
		if px > lim.MaxPixels {
			return wrapf(ErrTooLarge, "%s item %d is %dx%d, more than %d pixels", h.format, it.id, w, ht, lim.MaxPixels)
		}
		if sum += px; sum > 2*lim.MaxPixels {
			return wrapf(ErrTooLarge, "%s images add up to more than %d pixels", h.format, 2*lim.MaxPixels)
		}
	}
	if h.alpha != nil {
		if w, ht, err := h.meta.ispe(h.alpha); err != nil || int64(w)*int64(ht) > lim.MaxPixels {
			return wrapf(ErrTooLarge, "%s alpha plane %dx%d is more than %d pixels (%v)", h.format, w, ht, lim.MaxPixels, err)
		}
	}
	return nil
}

// complete fails unless every coded image's bytes are in data (the whole
// file): decoders may decode a truncated file without a word (libavif
// does, when the cut falls in the alpha plane).
func (h *heifImage) complete(data []byte) error {
	for _, it := range h.coded {
		if _, ok := h.meta.data(it, data); !ok {
			return fmt.Errorf("item %d is cut short (file of %d bytes)", it.id, len(data))
		}
	}
	return nil
}

// config is the image.Config of what decodeHEIF or decodeAVIF returns.
func (h *heifImage) config() image.Config {
	cfg := image.Config{Width: h.width, Height: h.height, ColorModel: color.YCbCrModel}
	switch {
	case h.format == AVIF && h.depth > 8:
		cfg.ColorModel = color.RGBA64Model
	case h.format == AVIF:
		cfg.ColorModel = color.RGBAModel
	case h.alpha != nil:
		cfg.ColorModel = color.NRGBAModel
	}
	return cfg
}

// sniffISOBMFF is sniffCodec for a file starting with an ftyp box: rec
// has recorded what was read so far.
func sniffISOBMFF(rec *recorder, errs *readErrs, src io.Reader, lim Limits) (image.Config, codec, []byte, io.Reader, error) {
	more := func(n int64) ([]byte, error) {
		if k := n - int64(rec.buf.Len()); k > 0 {
			if _, err := io.CopyN(io.Discard, rec, k); err != nil {
				if errs.err != nil {
					return rec.buf.Bytes(), errs.err
				}
				return rec.buf.Bytes(), wrapf(ErrNotImage, "truncated ISO-BMFF header")
			}
		}
		return rec.buf.Bytes(), nil
	}
	h, err := readHEIF(rec.buf.Bytes(), more)
	if err == nil {
		var b []byte
		if b, err = more(h.headEnd()); err == nil {
			err = h.check(lim, b)
		}
	}
	if err != nil {
		if errs.err != nil {
			err = errs.err
		}
		return image.Config{}, codec{}, nil, nil, err
	}
	// HEIF and AVIF have no codecs table entry: their magic is the ftyp
	// box, and which of the two a file is comes from its header. The
	// decoder gets the header parsed here.
	c := codec{format: h.format, orient: h.orient, decode: func(r io.Reader) (image.Image, error) { return decodeHEIF(r, h) }}
	if h.format == AVIF {
		c.decode = func(r io.Reader) (image.Image, error) { return decodeAVIF(r, h) }
	}
	head := rec.buf.Bytes()
	return h.config(), c, head, io.MultiReader(bytes.NewReader(head), src), nil
}

// readHEIFFile reads the header of a whole file in memory.
func readHEIFFile(data []byte) (*heifImage, error) {
	return readHEIF(data, func(n int64) ([]byte, error) {
		if n > int64(len(data)) {
			return data, wrapf(ErrNotImage, "truncated ISO-BMFF header")
		}
		return data, nil
	})
}

// readComplete reads the rest of a HEIF or AVIF file whose header is h,
// and checks every item the header names is in it.
func readComplete(r io.Reader, h *heifImage) ([]byte, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if err := h.complete(data); err != nil {
		return nil, err
	}
	return data, nil
}
