package testphoto

import (
	"bytes"
	"encoding/binary"
)

// EXIF is what WithEXIF writes into a JPEG.
type EXIF struct {
	Orientation  int    // 0: no orientation tag
	Make, Serial string // IFD0 Make, Exif BodySerialNumber
	GPS          bool   // a GPS IFD with a latitude
	Comment      string // a COM segment
}

// WithEXIF inserts an APP1 Exif segment (big-endian TIFF with IFD0, an Exif
// IFD and a GPS IFD) and a COM segment right after a JPEG's SOI marker.
func WithEXIF(jpg []byte, f EXIF) []byte {
	t := make([]byte, 512)
	copy(t, "MM\x00\x2a\x00\x00\x00\x08")
	type entry struct {
		tag, typ uint16
		count    uint32
		val      []byte
	}
	// writeIFD puts entries at off; values longer than 4 bytes go after it.
	writeIFD := func(off int, es []entry) {
		binary.BigEndian.PutUint16(t[off:], uint16(len(es)))
		data := off + 2 + 12*len(es) + 4
		for i, e := range es {
			p := off + 2 + 12*i
			binary.BigEndian.PutUint16(t[p:], e.tag)
			binary.BigEndian.PutUint16(t[p+2:], e.typ)
			binary.BigEndian.PutUint32(t[p+4:], e.count)
			if len(e.val) <= 4 {
				copy(t[p+8:], e.val)
			} else {
				binary.BigEndian.PutUint32(t[p+8:], uint32(data))
				copy(t[data:], e.val)
				data += len(e.val) + len(e.val)%2
			}
		}
	}
	u16 := func(v int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
	u32 := func(v int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }
	ascii := func(s string) []byte { return append([]byte(s), 0) }
	var ifd0 []entry
	if f.Make != "" {
		ifd0 = append(ifd0, entry{0x010F, 2, uint32(len(f.Make) + 1), ascii(f.Make)})
	}
	if f.Orientation != 0 {
		ifd0 = append(ifd0, entry{0x0112, 3, 1, u16(f.Orientation)})
	}
	if f.Serial != "" {
		ifd0 = append(ifd0, entry{0x8769, 4, 1, u32(200)})
		writeIFD(200, []entry{{0xA431, 2, uint32(len(f.Serial) + 1), ascii(f.Serial)}})
	}
	if f.GPS {
		ifd0 = append(ifd0, entry{0x8825, 4, 1, u32(320)})
		lat := []byte{}
		for _, v := range []int{51, 1, 30, 1, 2607, 100} { // 51° 30' 26.07"
			lat = append(lat, u32(v)...)
		}
		writeIFD(320, []entry{{0x0001, 2, 2, ascii("N")}, {0x0002, 5, 3, lat}})
	}
	writeIFD(8, ifd0)
	app1 := append([]byte("Exif\x00\x00"), t...)
	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write([]byte{0xFF, 0xE1})
	out.Write(u16(len(app1) + 2))
	out.Write(app1)
	if f.Comment != "" {
		out.Write([]byte{0xFF, 0xFE})
		out.Write(u16(len(f.Comment) + 2))
		out.WriteString(f.Comment)
	}
	out.Write(jpg[2:])
	return out.Bytes()
}
