package thumb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
	"github.com/gormthumb/gormthumb/thumb/internal/isobmff"
)

// Headers that claim more pixels than the limits allow fail with
// ErrTooLarge before anything is decoded (a few KB allocated); so do grid
// tiles over the limit, and sources over the byte limit.
func TestHEIFAndAVIFLimits(t *testing.T) {
	spec := []Spec{{Width: 50, Height: 50}}
	for _, c := range heifCorpus {
		src := corpusBytes(t, c.name)
		_, alloc, err := processBytes(t, testphoto.WithSize(src, 100_000, 100_000), spec, Limits{})
		wantSentinel(t, c.name+" claiming 100000x100000", err, ErrTooLarge)
		if alloc > 2<<20 {
			t.Errorf("%s: allocated %d KB to refuse a huge header", c.name, alloc>>10)
		}
		_, _, err = processBytes(t, src, spec, Limits{MaxBytes: int64(len(src) - 1)})
		wantSentinel(t, c.name+" over the byte limit", err, ErrTooLarge)
		h, _, err := Sniff(bytes.NewReader(src), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		px := int64(h.Width) * int64(h.Height)
		_, _, err = processBytes(t, src, spec, Limits{MaxPixels: px - 1})
		wantSentinel(t, c.name+" one pixel over", err, ErrTooLarge)
	}
	// heic-alpha is a 400x301 grid of one 400x302 tile (x265 codes even
	// heights), coded as 400x304 (HEVC codes 8x8 blocks): the tile counts,
	// at its coded size.
	src := corpusBytes(t, "heic-alpha.heic")
	_, _, err := processBytes(t, src, spec, Limits{MaxPixels: 400*304 - 1})
	wantSentinel(t, "tile over the limit", err, ErrTooLarge)
	if _, _, err := processBytes(t, src, spec, Limits{MaxPixels: 400 * 304}); err != nil {
		t.Fatalf("tile at the limit: %v", err)
	}
}

// Truncated, corrupt and foreign ISO-BMFF files fail with ErrNotImage or
// ErrUnsupportedFormat, never decoded half (libavif decodes some cut files
// without a word).
func TestHEIFAndAVIFBroken(t *testing.T) {
	spec := []Spec{{Width: 50, Height: 50}}
	for _, c := range heifCorpus {
		src := corpusBytes(t, c.name)
		h, err := isobmff.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, cut := range []int{12, 30, int(h.MetaEnd()) - 1, int(h.MetaEnd()) + 10, len(src) / 2, len(src) - 1} {
			_, _, err := processBytes(t, src[:cut], spec, Limits{})
			wantSentinel(t, fmt.Sprintf("%s cut at %d of %d", c.name, cut, len(src)), err, ErrNotImage)
		}
	}
	avifSrc := corpusBytes(t, "avif-alpha.avif")
	oversized := bytes.Clone(avifSrc)
	binary.BigEndian.PutUint32(oversized[32:], 1<<30) // the meta box claims 1 GB
	noftyp := bytes.Clone(avifSrc)
	copy(noftyp[36:], "ftyp") // a second ftyp where meta was
	bigMeta := bytes.Clone(avifSrc)
	binary.BigEndian.PutUint32(bigMeta[32:], 16<<20+1) // over isobmff's 16 MiB
	mif1 := bytes.Clone(corpusBytes(t, "heic-photo.heic"))
	copy(mif1[8:], "mif1")
	for _, c := range []struct {
		what     string
		data     []byte
		sentinel error
	}{
		{"meta larger than the file", oversized, ErrNotImage},
		{"meta over 16 MiB", bigMeta, ErrNotImage},
		{"two ftyp boxes", noftyp, ErrNotImage},
		{"ftyp only", avifSrc[:32], ErrNotImage},
		{"ftyp then garbage", append(bytes.Clone(avifSrc[:32]), bytes.Repeat([]byte{0xA5}, 200)...), ErrNotImage},
		{"MP4 video", append([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), bytes.Repeat([]byte{0}, 64)...), ErrUnsupportedFormat},
		{"JPEG XL in ISO-BMFF", append([]byte("\x00\x00\x00\x14ftypjxl \x00\x00\x00\x00jxl "), bytes.Repeat([]byte{0}, 64)...), ErrUnsupportedFormat},
	} {
		_, _, err := processBytes(t, c.data, spec, Limits{})
		wantSentinel(t, c.what, err, c.sentinel)
	}
	// mif1 as the major brand: the item type (hvc1) makes it HEIF.
	if h, _, err := Sniff(bytes.NewReader(mif1), Limits{}); err != nil || h.Format != HEIF {
		t.Fatalf("mif1 HEVC file: %v %v", h.Format, err)
	}
}

// Flipping any byte of a header gives a thumbnail or a typed error, never
// a panic: the header reader is bounded by the bytes it is given.
func TestHEIFHeaderMutations(t *testing.T) {
	n := 0
	for _, name := range []string{"heic-alpha.heic", "avif-alpha.avif"} {
		src := corpusBytes(t, name)
		h, _ := isobmff.ReadFile(src)
		for i := 0; i < int(h.MetaEnd()); i++ {
			for _, v := range []byte{0xFF, src[i] ^ 0x01} {
				if v == src[i] {
					continue
				}
				data := bytes.Clone(src)
				data[i] = v
				hh, err := isobmff.ReadFile(data)
				if err == nil {
					err = hh.Check(Limits{}.WithDefaults().MaxPixels, data)
				}
				if err != nil {
					if !isTyped(bmffError(err)) {
						t.Fatalf("%s byte %d = %#x: untyped %v", name, i, v, err)
					}
					continue
				}
				if n++; n%300 == 0 || i < 8 { // decode a sample: it is the slow part
					_, _, err = processBytes(t, data, []Spec{{Width: 20, Height: 20}}, Limits{})
					if err != nil && !isTyped(err) {
						t.Fatalf("%s byte %d = %#x: untyped %v", name, i, v, err)
					}
				}
			}
		}
	}
}

// Sniff and Check tell HEIF from AVIF and read the size from the header.
func TestHEIFSniff(t *testing.T) {
	for _, c := range heifCorpus {
		h, body, err := Check(bytes.NewReader(corpusBytes(t, c.name)), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		rest, _ := readAllBytes(body)
		if h.Format != c.format || h.Width == 0 || len(rest) != len(corpusBytes(t, c.name)) {
			t.Errorf("%s: %+v, %d bytes replayed", c.name, h, len(rest))
		}
	}
	if HEIF.Extension() != "heic" || HEIF.ContentType() != "image/heic" || AVIF.Extension() != "avif" || AVIF.ContentType() != "image/avif" {
		t.Errorf("HEIF %s %s, AVIF %s %s", HEIF.Extension(), HEIF.ContentType(), AVIF.Extension(), AVIF.ContentType())
	}
}
