package thumb

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image/color"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// Transparent pixels written as JPEG are flattened onto the background:
// white by default, the tag's colour when given; never black.
func TestFlattenOntoBackground(t *testing.T) {
	src := pngBytes(t, 100, 50, true) // alpha 0 at the left edge, 255 at the right
	for _, c := range []struct {
		bg   color.NRGBA
		want [3]int
	}{{color.NRGBA{}, [3]int{255, 255, 255}}, {color.NRGBA{0, 200, 0, 255}, [3]int{0, 200, 0}}} {
		th, img := thumb(t, src, Spec{Width: 100, Height: 50, Format: JPEG, Background: c.bg})
		if th.Format != JPEG {
			t.Fatalf("format %s", th.Format)
		}
		if got := rgbAt(img, 0, 25); !near(got, c.want, 12) {
			t.Errorf("background %v: transparent edge came out %v, want %v", c.bg, got, c.want)
		}
	}
	// A WebP with alpha written as JPEG by the default format rules is
	// PNG instead: it keeps its alpha.
	if th, _ := thumb(t, webpBytes(t, 40, 30), Spec{Width: 20, Height: 20}); th.Format != PNG {
		t.Errorf("WebP with alpha became %s", th.Format)
	}
}

// hasJPEGSegment reports whether a JPEG has a marker segment before its
// first scan (0xE1 APP1/EXIF, 0xFE COM, ...).
func hasJPEGSegment(b []byte, marker byte) bool {
	for i := 2; i+4 <= len(b) && b[i] == 0xFF; {
		m := b[i+1]
		if m == 0xDA {
			return false
		}
		if m == marker {
			return true
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
	return false
}

// A thumbnail carries nothing from the source's metadata: no EXIF (GPS
// position, camera make and serial), no comment, no PNG text chunks.
func TestNoMetadataInThumbnails(t *testing.T) {
	secrets := []string{"Exif", "SecretCam", "SN-4815162342", "meet me at noon"}
	src := testphoto.WithEXIF(jpegBytes(t, 300, 200), testphoto.EXIF{Make: "SecretCam", Serial: "SN-4815162342", GPS: true, Comment: "meet me at noon"})
	for _, s := range secrets {
		if !bytes.Contains(src, []byte(s)) {
			t.Fatalf("source lacks %q", s)
		}
	}
	if !hasJPEGSegment(src, 0xE1) || !hasJPEGSegment(src, 0xFE) {
		t.Fatal("source lacks its APP1 or COM segment")
	}
	pngSrc := withPNGText(pngBytes(t, 300, 200, false), "Comment", "meet me at noon")
	for _, source := range [][]byte{src, pngSrc} {
		out, err := GoProcessor{}.Process(context.Background(), bytes.NewReader(source),
			[]Spec{{Width: 100, Height: 100}, {Width: 100, Height: 100, Format: JPEG}, {Width: 100, Height: 100, Format: PNG},
				{Width: 100, Height: 100, Format: GIF}, {Width: 100, Height: 100, Format: WebP}}, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for _, th := range out {
			for _, s := range secrets {
				if bytes.Contains(th.Data, []byte(s)) {
					t.Errorf("%s thumbnail contains %q", th.Format, s)
				}
			}
			if th.Format == JPEG && (hasJPEGSegment(th.Data, 0xE1) || hasJPEGSegment(th.Data, 0xFE)) {
				t.Errorf("JPEG thumbnail has an APP1 or COM segment")
			}
			for _, chunk := range []string{"tEXt", "zTXt", "iTXt", "eXIf", "EXIF", "XMP "} {
				if bytes.Contains(th.Data, []byte(chunk)) {
					t.Errorf("%s thumbnail contains %q", th.Format, chunk)
				}
			}
		}
	}
}

// withPNGText inserts a tEXt chunk after a PNG's IHDR.
func withPNGText(p []byte, key, text string) []byte {
	data := append(append([]byte(key), 0), text...)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, "tEXt"...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	const afterIHDR = 8 + 8 + 13 + 4
	return append(append(append([]byte{}, p[:afterIHDR]...), chunk...), p[afterIHDR:]...)
}
