package thumb

import (
	"encoding/binary"
	"image"

	"github.com/disintegration/imaging"
)

// applyOrientation undoes an EXIF orientation (1..8).
func applyOrientation(img image.Image, orient int) image.Image {
	switch orient {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img)
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return img
}

// exifOrientation finds the EXIF orientation tag (0x0112) in the APP1
// segment of a JPEG header. It returns 1 (upright) when there is none or it
// is malformed. head holds the bytes image.DecodeConfig read, which always
// include the APP segments because they come before the frame header.
func exifOrientation(head []byte) int {
	orient := 1
	jpegSegments(head, func(marker byte, seg []byte) bool {
		if marker == 0xE1 && len(seg) > 14 && string(seg[:6]) == "Exif\x00\x00" {
			if o := tiffOrientation(seg[6:]); o >= 1 && o <= 8 {
				orient = o
			}
			return false
		}
		return true
	})
	return orient
}

// tiffOrientation reads the orientation from IFD0 of a TIFF structure.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	count := int(bo.Uint16(t[off:]))
	for e := 0; e < count; e++ {
		p := off + 2 + 12*e
		if p+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[p:]) == 0x0112 && bo.Uint16(t[p+2:]) == 3 {
			return int(bo.Uint16(t[p+8:]))
		}
	}
	return 0
}
