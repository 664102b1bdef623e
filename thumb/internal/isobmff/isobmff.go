// Package isobmff is thumb's reader of the ISO base media file format
// (ISO/IEC 14496-12) as HEIF (ISO/IEC 23008-12) and AVIF use it for still
// images: the ftyp box and the meta box with its items (iinf, iloc, iref,
// pitm, idat) and their properties (iprp: ipco, ipma). It reads no pixel:
// it gives the size of every image the decoder would decode, at the larger
// of the container's size and the size the HEVC or AV1 stream codes
// (codedsize.go), so the limits are checked before a decoder sees the
// bytes, and the transformations (clap, irot, imir) of the primary image
// (header.go).
//
// Everything is bounded by the bytes given: every box's size is checked
// against what is left of its parent, the reader descends only into the
// boxes it knows (three levels at most: meta > iprp > ipco > property),
// and the counts of items, properties, associations, references and
// extents are capped, so no length field can make the reader allocate or
// loop more than the input's size allows.
//
// Every error wraps ErrFormat, ErrUnsupported or ErrTooLarge, except those
// of the function that reads more of the file (Read's more), returned as
// they are.
package isobmff

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors, which thumb turns into its own sentinels.
var (
	// ErrFormat: the file is malformed, cut short, or not an image.
	ErrFormat = errors.New("malformed ISO-BMFF image")
	// ErrUnsupported: the file is an ISO-BMFF image of a kind not read
	// (not HEVC or AV1 coded, or a video).
	ErrUnsupported = errors.New("unsupported ISO-BMFF image")
	// ErrTooLarge: an image the decoder would decode is over the limit.
	ErrTooLarge = errors.New("ISO-BMFF image too large")
)

// errorf wraps kind with a formatted detail.
func errorf(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}

// Bounds of the reader.
const (
	maxMetaSize   = 16 << 20 // a meta box (iPhones write a few KB)
	maxTopBoxes   = 64       // top-level boxes before the meta box
	maxItems      = 4096     // items in iinf, iloc, ipma
	maxProperties = 4096     // properties in ipco
	maxExtents    = 256      // extents of one item
	maxRefs       = 4096     // references in one iref entry
)

// bmffErr is a malformed container's error.
func bmffErr(format string, args ...any) error { return errorf(ErrFormat, format, args...) }

// box is one box: its type and body (after the header), and the body's
// offset in the file.
type box struct {
	typ  string
	body []byte
	off  int64
}

// boxes splits b, the body of a box at file offset off (or the file), into
// its child boxes. A box of size 0 extends to the end of b.
func boxes(b []byte, off int64) ([]box, error) {
	var out []box
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, bmffErr("%d stray bytes at %d", len(b), off)
		}
		size := uint64(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		hdr := uint64(8)
		switch size {
		case 0:
			size = uint64(len(b))
		case 1:
			if len(b) < 16 {
				return nil, bmffErr("truncated box %q at %d", typ, off)
			}
			size, hdr = binary.BigEndian.Uint64(b[8:]), 16
		}
		if size < hdr || size > uint64(len(b)) {
			return nil, bmffErr("box %q at %d claims %d bytes, %d left", typ, off, size, len(b))
		}
		out = append(out, box{typ: typ, body: b[hdr:size], off: off + int64(hdr)})
		b, off = b[size:], off+int64(size)
		if len(out) > maxProperties {
			return nil, bmffErr("more than %d boxes at %d", maxProperties, off)
		}
	}
	return out, nil
}

// fullBox splits a full box's body into version, flags and the rest.
func fullBox(bx box) (version byte, flags uint32, rest []byte, err error) {
	if len(bx.body) < 4 {
		return 0, 0, nil, bmffErr("%q too short", bx.typ)
	}
	return bx.body[0], binary.BigEndian.Uint32(bx.body) & 0xFFFFFF, bx.body[4:], nil
}

// rd reads big-endian fields from a byte slice, remembering the first
// overrun instead of panicking.
type rd struct {
	b   []byte
	bad bool
}

func (r *rd) n(k int) []byte {
	if r.bad || k > len(r.b) {
		r.bad = true
		return make([]byte, k)
	}
	v := r.b[:k]
	r.b = r.b[k:]
	return v
}

func (r *rd) u8() uint8   { return r.n(1)[0] }
func (r *rd) u16() uint16 { return binary.BigEndian.Uint16(r.n(2)) }
func (r *rd) u32() uint32 { return binary.BigEndian.Uint32(r.n(4)) }

// uint reads a field of size 0, 4 or 8 bytes (iloc's sizes).
func (r *rd) uint(size int) uint64 {
	switch size {
	case 0:
		return 0
	case 4:
		return uint64(r.u32())
	case 8:
		return binary.BigEndian.Uint64(r.n(8))
	}
	r.bad = true
	return 0
}

// id reads an item ID: 16 bits, or 32 when wide.
func (r *rd) id(wide bool) uint32 {
	if wide {
		return r.u32()
	}
	return uint32(r.u16())
}

// extent is a run of an item's bytes: at a file offset (iloc construction
// method 0) or in the idat box (method 1).
type extent struct{ off, n uint64 }

// bmffItem is one item of the meta box.
type bmffItem struct {
	id      uint32
	typ     string // "hvc1", "av01", "grid", "Exif", ...
	infeOff int64  // file offset of its infe box's flags (for rewriting)
	props   []int  // 1-based ipco indices, in association order
	method  int    // iloc construction method
	extents []extent
	located bool
}

// ref is one entry of iref: from references to, with type typ. off is the
// file offset of the entry's type, for rewriting.
type ref struct {
	typ  string
	from uint32
	to   []uint32
	off  int64
}

// bmffMeta is what the meta box says.
type bmffMeta struct {
	brands   []string // major brand, then the compatible ones
	primary  uint32
	pitmOff  int64 // file offset of pitm's item ID
	pitmWide bool
	items    map[uint32]*bmffItem
	props    []box // ipco children; props[i-1] is property i
	refs     []ref
	idat     []byte
	metaEnd  int64 // file offset just after the meta box
	handler  string
}

// parseFtyp reads the brands of an ftyp box.
func parseFtyp(body []byte) ([]string, error) {
	if len(body) < 8 || len(body)%4 != 0 {
		return nil, bmffErr("ftyp of %d bytes", len(body))
	}
	brands := []string{string(body[:4])}
	for i := 8; i+4 <= len(body); i += 4 {
		brands = append(brands, string(body[i:i+4]))
	}
	return brands, nil
}

// parseMeta reads a meta box's body, at file offset off.
func parseMeta(bx box) (*bmffMeta, error) {
	_, _, rest, err := fullBox(bx)
	if err != nil {
		return nil, err
	}
	children, err := boxes(rest, bx.off+4)
	if err != nil {
		return nil, err
	}
	m := &bmffMeta{items: map[uint32]*bmffItem{}}
	item := func(id uint32) (*bmffItem, error) {
		if it, ok := m.items[id]; ok {
			return it, nil
		}
		if len(m.items) >= maxItems {
			return nil, bmffErr("more than %d items", maxItems)
		}
		it := &bmffItem{id: id}
		m.items[id] = it
		return it, nil
	}
	for _, c := range children {
		switch c.typ {
		case "hdlr":
			_, _, r, err := fullBox(c)
			if err != nil || len(r) < 8 {
				return nil, bmffErr("short hdlr")
			}
			m.handler = string(r[4:8])
		case "pitm":
			v, _, r, err := fullBox(c)
			if err != nil {
				return nil, err
			}
			rr := &rd{b: r}
			m.pitmWide = v > 0
			m.pitmOff = c.off + 4
			if m.primary = rr.id(m.pitmWide); rr.bad {
				return nil, bmffErr("short pitm")
			}
		case "iinf":
			if err := parseIinf(c, item); err != nil {
				return nil, err
			}
		case "iloc":
			if err := parseIloc(c, item); err != nil {
				return nil, err
			}
		case "iref":
			if m.refs, err = parseIref(c); err != nil {
				return nil, err
			}
		case "iprp":
			if err := parseIprp(c, m, item); err != nil {
				return nil, err
			}
		case "idat":
			m.idat = c.body
		}
	}
	return m, nil
}

func parseIinf(c box, item func(uint32) (*bmffItem, error)) error {
	v, _, r, err := fullBox(c)
	if err != nil {
		return err
	}
	skip := 2
	if v > 0 {
		skip = 4
	}
	if len(r) < skip {
		return bmffErr("short iinf")
	}
	entries, err := boxes(r[skip:], c.off+4+int64(skip))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.typ != "infe" {
			continue
		}
		v, _, r, err := fullBox(e)
		if err != nil {
			return err
		}
		if v < 2 {
			continue // versions 0 and 1 have no item type: not images
		}
		rr := &rd{b: r}
		id := rr.id(v > 2)
		rr.u16() // protection index
		typ := string(rr.n(4))
		if rr.bad {
			return bmffErr("short infe")
		}
		it, err := item(id)
		if err != nil {
			return err
		}
		it.typ, it.infeOff = typ, e.off+1
	}
	return nil
}

func parseIloc(c box, item func(uint32) (*bmffItem, error)) error {
	v, _, r, err := fullBox(c)
	if err != nil {
		return err
	}
	if v > 2 {
		return bmffErr("iloc version %d", v)
	}
	rr := &rd{b: r}
	sizes := rr.u16()
	offSize, lenSize, baseSize, idxSize := int(sizes>>12), int(sizes>>8&15), int(sizes>>4&15), int(sizes&15)
	if v == 0 {
		idxSize = 0
	}
	var count uint32
	if v < 2 {
		count = uint32(rr.u16())
	} else {
		count = rr.u32()
	}
	if count > maxItems {
		return bmffErr("iloc with %d items", count)
	}
	for i := uint32(0); i < count && !rr.bad; i++ {
		id := rr.id(v == 2)
		method := 0
		if v > 0 {
			method = int(rr.u16() & 15)
		}
		if rr.u16() != 0 { // data_reference_index: 0 is this file
			return bmffErr("item %d is in another file", id)
		}
		base := rr.uint(baseSize)
		n := int(rr.u16())
		if n > maxExtents {
			return bmffErr("item %d has %d extents", id, n)
		}
		it, err := item(id)
		if err != nil {
			return err
		}
		it.method, it.located, it.extents = method, true, nil
		for j := 0; j < n && !rr.bad; j++ {
			rr.uint(idxSize)
			off := rr.uint(offSize)
			length := rr.uint(lenSize)
			if base+off < base {
				return bmffErr("item %d extent offset overflows", id)
			}
			it.extents = append(it.extents, extent{base + off, length})
		}
	}
	if rr.bad {
		return bmffErr("short iloc")
	}
	return nil
}

func parseIref(c box) ([]ref, error) {
	v, _, r, err := fullBox(c)
	if err != nil {
		return nil, err
	}
	entries, err := boxes(r, c.off+4)
	if err != nil {
		return nil, err
	}
	var out []ref
	for _, e := range entries {
		rr := &rd{b: e.body}
		from := rr.id(v > 0)
		n := int(rr.u16())
		if n > maxRefs {
			return nil, bmffErr("iref %q with %d references", e.typ, n)
		}
		rf := ref{typ: e.typ, from: from, off: e.off - 4}
		for i := 0; i < n && !rr.bad; i++ {
			rf.to = append(rf.to, rr.id(v > 0))
		}
		if rr.bad {
			return nil, bmffErr("short iref %q", e.typ)
		}
		if len(out) >= maxItems {
			return nil, bmffErr("more than %d references", maxItems)
		}
		out = append(out, rf)
	}
	return out, nil
}

func parseIprp(c box, m *bmffMeta, item func(uint32) (*bmffItem, error)) error {
	children, err := boxes(c.body, c.off)
	if err != nil {
		return err
	}
	for _, cc := range children {
		switch cc.typ {
		case "ipco":
			if m.props != nil {
				return bmffErr("two ipco boxes")
			}
			if m.props, err = boxes(cc.body, cc.off); err != nil {
				return err
			}
			if m.props == nil {
				m.props = []box{}
			}
		case "ipma":
			v, flags, r, err := fullBox(cc)
			if err != nil {
				return err
			}
			rr := &rd{b: r}
			count := rr.u32()
			if count > maxItems {
				return bmffErr("ipma with %d entries", count)
			}
			for i := uint32(0); i < count && !rr.bad; i++ {
				it, err := item(rr.id(v > 0))
				if err != nil {
					return err
				}
				n := int(rr.u8())
				for j := 0; j < n && !rr.bad; j++ {
					var idx int
					if flags&1 != 0 {
						idx = int(rr.u16() & 0x7FFF)
					} else {
						idx = int(rr.u8() & 0x7F)
					}
					if idx > 0 && len(it.props) < maxProperties {
						it.props = append(it.props, idx)
					}
				}
			}
			if rr.bad {
				return bmffErr("short ipma")
			}
		}
	}
	return nil
}

// prop returns the first property of type typ associated with it.
func (m *bmffMeta) prop(it *bmffItem, typ string) (box, bool) {
	for _, p := range it.props {
		if p <= len(m.props) && m.props[p-1].typ == typ {
			return m.props[p-1], true
		}
	}
	return box{}, false
}

// ispe is an item's image spatial extents, the size of the image it codes.
func (m *bmffMeta) ispe(it *bmffItem) (w, h int, err error) {
	p, ok := m.prop(it, "ispe")
	if !ok {
		return 0, 0, bmffErr("item %d (%s) has no ispe", it.id, it.typ)
	}
	_, _, r, err := fullBox(p)
	if err != nil || len(r) < 8 {
		return 0, 0, bmffErr("short ispe")
	}
	w64, h64 := binary.BigEndian.Uint32(r), binary.BigEndian.Uint32(r[4:])
	if w64 == 0 || h64 == 0 || w64 > 1<<30 || h64 > 1<<30 {
		return 0, 0, bmffErr("item %d is %dx%d", it.id, w64, h64)
	}
	return int(w64), int(h64), nil
}

// refsFrom returns the items that from references with type typ.
func (m *bmffMeta) refsFrom(from uint32, typ string) []uint32 {
	for _, r := range m.refs {
		if r.typ == typ && r.from == from {
			return r.to
		}
	}
	return nil
}

// data returns an item's bytes from file (the whole file, or as much of it
// as was read), and whether they were all there.
func (m *bmffMeta) data(it *bmffItem, file []byte) ([]byte, bool) {
	src := file
	if it.method == 1 {
		src = m.idat
	} else if it.method != 0 {
		return nil, false
	}
	var out []byte
	for _, e := range it.extents {
		if e.n == 0 || e.off > uint64(len(src)) || e.n > uint64(len(src))-e.off {
			return nil, false // length 0 means "to the end": not for images
		}
		out = append(out, src[e.off:e.off+e.n]...)
	}
	return out, len(it.extents) > 0
}
