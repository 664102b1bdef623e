package thumb

import (
	"encoding/binary"
	"image"

	"github.com/disintegration/imaging"
)

// anchorXY places each anchor on a 3x3 grid, x and y in -1..1 (y down).
var anchorXY = map[Anchor][2]int{
	TopLeft: {-1, -1}, Top: {0, -1}, TopRight: {1, -1},
	Left: {-1, 0}, Center: {0, 0}, Right: {1, 0},
	BottomLeft: {-1, 1}, Bottom: {0, 1}, BottomRight: {1, 1},
}

// storedAnchor is the anchor, in the pixels as stored, of an anchor in the
// picture as shown after EXIF orientation orient.
func storedAnchor(a Anchor, orient int) Anchor {
	xy, ok := anchorXY[a]
	if !ok {
		return a
	}
	x, y := xy[0], xy[1]
	switch orient {
	case 2:
		x = -x
	case 3:
		x, y = -x, -y
	case 4:
		y = -y
	case 5:
		x, y = y, x
	case 6:
		x, y = y, -x
	case 7:
		x, y = -y, -x
	case 8:
		x, y = -y, x
	}
	for k, v := range anchorXY {
		if v == [2]int{x, y} {
			return k
		}
	}
	return a
}

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
