package isobmff

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// corpus are the shared corpus's HEIF and AVIF files.
var corpus = []string{"heic-photo.heic", "heic-alpha.heic", "avif-photo.avif", "avif-alpha.avif"}

// The coded sizes read from the streams of the real files are the sizes
// heif-enc and avifenc coded: HEVC codes whole 8x8 blocks (and crops them
// with a conformance window), so the 400x302 tile of heic-alpha is 400x304.
func TestCodedSize(t *testing.T) {
	want := map[string][][2]int{
		"heic-photo.heic": {{1280, 800}},
		"heic-alpha.heic": {{400, 304}, {400, 304}},
		"avif-photo.avif": {{1280, 800}},
		"avif-alpha.avif": {{400, 301}, {400, 301}},
	}
	for _, name := range corpus {
		src := testphoto.Corpus(t, name)
		h, err := ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		for i, it := range h.coded {
			w, ht, err := h.codedSize(it, src)
			if err != nil || [2]int{w, ht} != want[name][i] {
				t.Errorf("%s item %d: %dx%d %v, want %v", name, it.id, w, ht, err, want[name][i])
			}
		}
	}
	// Cut short or garbage: an error, never a panic.
	src := testphoto.Corpus(t, "avif-photo.avif")
	h, _ := ReadFile(src)
	e := h.coded[0].extents[0]
	for n := 0; n < 16; n++ {
		if _, _, err := av1CodedSize(src[e.off : e.off+uint64(n)]); err == nil && n < 4 {
			t.Errorf("%d bytes of AV1 gave a size", n)
		}
	}
	for _, b := range [][]byte{nil, {0x0A}, {0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, bytes.Repeat([]byte{0xFF}, 40)} {
		av1CodedSize(b)
		hevcCodedSize(b)
		hevcSPSSize(b)
	}
}

// A stream that codes a larger picture than its ispe says is checked at
// its own size: libavif would decode it whole and scale it to the ispe
// size, libheif decode it and crop it.
func TestCodedSizeOverLimit(t *testing.T) {
	for _, name := range corpus {
		small := bytes.Clone(testphoto.Corpus(t, name))
		h, err := ReadFile(small)
		if err != nil {
			t.Fatal(err)
		}
		// Shrink every ispe to 64x64: the streams still code the full size.
		for _, p := range h.meta.props {
			if p.typ == "ispe" {
				copy(small[p.off+4:], []byte{0, 0, 0, 64, 0, 0, 0, 64})
			}
		}
		if h, err = ReadFile(small); err == nil {
			err = h.Check(300*300, small)
		}
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s with a 64x64 ispe: %v, want ErrTooLarge", name, err)
		}
	}
}
