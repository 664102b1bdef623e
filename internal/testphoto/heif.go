package testphoto

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Crafted variants of real HEIF and AVIF files (ISO-BMFF): extra
// transformation properties on the primary image, and other image sizes
// in its header. They assume 32-bit box sizes, as heif-enc and avifenc
// write them.

// Irot is an irot property: turn the image 90·n degrees anticlockwise.
func Irot(n int) []byte { return bmffBox("irot", []byte{byte(n & 3)}) }

// Imir is an imir property: mode 0 exchanges top and bottom, 1 left and
// right (ISO/IEC 23008-12:2022).
func Imir(mode int) []byte { return bmffBox("imir", []byte{byte(mode & 1)}) }

// WithTransforms returns file with the properties props (Irot, Imir)
// associated with its primary item, after its own, so they apply in that
// order. The meta box is rebuilt at the end of the file and the original
// becomes a free box of the same size, so iloc's file offsets stay right.
func WithTransforms(file []byte, props ...[]byte) []byte {
	metaOff, meta := topBox(file, "meta")
	children := bmffChildren(meta[12:])
	var primary uint32
	for _, c := range children {
		if string(c[4:8]) == "pitm" {
			if c[8] == 0 {
				primary = uint32(binary.BigEndian.Uint16(c[12:]))
			} else {
				primary = binary.BigEndian.Uint32(c[12:])
			}
		}
	}
	var body bytes.Buffer
	body.Write(meta[8:12]) // version and flags
	for _, c := range children {
		if string(c[4:8]) != "iprp" {
			body.Write(c)
			continue
		}
		var iprp bytes.Buffer
		var first int
		for _, cc := range bmffChildren(c[8:]) {
			switch string(cc[4:8]) {
			case "ipco":
				first = len(bmffChildren(cc[8:])) + 1
				iprp.Write(bmffBox("ipco", append(append([]byte{}, cc[8:]...), bytes.Join(props, nil)...)))
			case "ipma":
				iprp.Write(bmffBox("ipma", addAssociations(cc[8:], primary, first, len(props))))
			default:
				iprp.Write(cc)
			}
		}
		body.Write(bmffBox("iprp", iprp.Bytes()))
	}
	out := append([]byte{}, file...)
	copy(out[metaOff+4:], "free")
	return append(out, bmffBox("meta", body.Bytes())...)
}

// addAssociations adds n essential associations, to properties first,
// first+1, ..., to item's entry of an ipma body.
func addAssociations(ipma []byte, item uint32, first, n int) []byte {
	version, wideIdx := ipma[0], ipma[3]&1 != 0
	var out bytes.Buffer
	out.Write(ipma[:8])
	p := 8
	for range binary.BigEndian.Uint32(ipma[4:]) {
		idLen := 2
		if version > 0 {
			idLen = 4
		}
		var id uint32
		if idLen == 2 {
			id = uint32(binary.BigEndian.Uint16(ipma[p:]))
		} else {
			id = binary.BigEndian.Uint32(ipma[p:])
		}
		count := int(ipma[p+idLen])
		assocLen := 1
		if wideIdx {
			assocLen = 2
		}
		end := p + idLen + 1 + count*assocLen
		entry := append([]byte{}, ipma[p:end]...)
		if id == item {
			entry[idLen] += byte(n)
			for i := range n {
				if wideIdx {
					entry = binary.BigEndian.AppendUint16(entry, uint16(0x8000|(first+i)))
				} else if first+i < 128 {
					entry = append(entry, byte(0x80|(first+i)))
				} else {
					panic("testphoto: too many properties for a narrow ipma")
				}
			}
		}
		out.Write(entry)
		p = end
	}
	return out.Bytes()
}

// WithSize returns file with every ispe property (the primary image's and
// any other's) saying w×h, the pixels left as they are: a header that
// lies, as a bomb's does.
func WithSize(file []byte, w, h uint32) []byte {
	out := append([]byte{}, file...)
	for i := 0; i+20 <= len(out); i++ {
		if string(out[i+4:i+8]) == "ispe" && binary.BigEndian.Uint32(out[i:]) == 20 {
			binary.BigEndian.PutUint32(out[i+12:], w)
			binary.BigEndian.PutUint32(out[i+16:], h)
		}
	}
	return out
}

// topBox finds a top-level box: its offset and bytes (header included).
func topBox(file []byte, typ string) (int, []byte) {
	for off := 0; off+8 <= len(file); {
		size := int(binary.BigEndian.Uint32(file[off:]))
		if size < 8 || off+size > len(file) {
			break
		}
		if string(file[off+4:off+8]) == typ {
			return off, file[off : off+size]
		}
		off += size
	}
	panic(fmt.Sprintf("testphoto: no %s box", typ))
}

// bmffChildren splits a box body into its child boxes (headers included).
func bmffChildren(b []byte) [][]byte {
	var out [][]byte
	for len(b) >= 8 {
		size := int(binary.BigEndian.Uint32(b))
		if size < 8 || size > len(b) {
			panic("testphoto: malformed box")
		}
		out = append(out, b[:size])
		b = b[size:]
	}
	return out
}

// bmffBox is a box of type typ around body.
func bmffBox(typ string, body []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	return append(append(out, typ...), body...)
}
