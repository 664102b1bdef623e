package isobmff

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// TestRead: the corpus files' codings, sizes, alpha planes and header
// ends.
func TestRead(t *testing.T) {
	for _, c := range []struct {
		name   string
		coding string
		w, h   int
		alpha  bool
	}{
		{"heic-photo.heic", HEVC, 1280, 800, false},
		{"heic-alpha.heic", HEVC, 400, 301, true},
		{"avif-photo.avif", AV1, 1280, 800, false},
		{"avif-alpha.avif", AV1, 400, 301, true},
	} {
		src := testphoto.Corpus(t, c.name)
		h, err := ReadFile(src)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if h.Coding != c.coding || h.Width != c.w || h.Height != c.h || h.HasAlpha() != c.alpha || h.Orientation != 1 {
			t.Errorf("%s: %s %dx%d alpha %v orientation %d", c.name, h.Coding, h.Width, h.Height, h.HasAlpha(), h.Orientation)
		}
		if h.MetaEnd() <= 0 || h.MetaEnd() > int64(len(src)) || h.HeadEnd() > int64(len(src)) {
			t.Errorf("%s: meta ends at %d, head at %d, of %d bytes", c.name, h.MetaEnd(), h.HeadEnd(), len(src))
		}
		if err := h.Complete(src[:len(src)-1]); !errors.Is(err, ErrFormat) {
			t.Errorf("%s cut by a byte: %v", c.name, err)
		}
		if err := h.Check(int64(c.w*c.h)-1, src); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s a pixel over: %v", c.name, err)
		}
	}
}

// TestOrientation: irot and imir, alone and together, in the order they
// apply, name the EXIF orientation that shows the picture as they do.
func TestOrientation(t *testing.T) {
	src := testphoto.Corpus(t, "avif-photo.avif")
	for _, c := range []struct {
		props [][]byte
		want  int
	}{
		{nil, 1},
		{[][]byte{testphoto.Irot(1)}, 8}, // a quarter anticlockwise
		{[][]byte{testphoto.Irot(2)}, 3},
		{[][]byte{testphoto.Irot(3)}, 6},
		{[][]byte{testphoto.Imir(1)}, 2}, // left and right exchanged
		{[][]byte{testphoto.Imir(0)}, 4}, // top and bottom
		{[][]byte{testphoto.Irot(1), testphoto.Imir(1)}, 7},
		{[][]byte{testphoto.Irot(1), testphoto.Imir(0)}, 5},
		{[][]byte{testphoto.Imir(1), testphoto.Irot(1)}, 5},
	} {
		h, err := ReadFile(testphoto.WithTransforms(src, c.props...))
		if err != nil {
			t.Fatal(err)
		}
		if h.Orientation != c.want {
			t.Errorf("%d transforms: orientation %d, want %d", len(c.props), h.Orientation, c.want)
		}
		if s := h.ShownSize(); (c.want >= 5) != (s.X == 800) {
			t.Errorf("orientation %d: shown %v", c.want, s)
		}
	}
}

// TestHeaderMutations: flipping any byte of a header gives a header or an
// error wrapping one of the package's three, never a panic.
func TestHeaderMutations(t *testing.T) {
	for _, name := range []string{"heic-alpha.heic", "avif-alpha.avif"} {
		src := testphoto.Corpus(t, name)
		h, err := ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		for i := range int(h.MetaEnd()) {
			for _, v := range []byte{0xFF, src[i] ^ 0x01} {
				data := bytes.Clone(src)
				data[i] = v
				hh, err := ReadFile(data)
				if err == nil {
					err = hh.Check(50_000_000, data)
				}
				if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("%s byte %d = %#x: untyped %v", name, i, v, err)
				}
			}
		}
	}
}

// TestAlphaAsPrimary: the rewritten file has the same size and reads as
// the alpha plane's image; a file without alpha has none to rewrite.
func TestAlphaAsPrimary(t *testing.T) {
	src := testphoto.Corpus(t, "heic-alpha.heic")
	h, err := ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	f, err := h.AlphaAsPrimary(src)
	if err != nil || len(f) != len(src) {
		t.Fatalf("%d bytes, %v", len(f), err)
	}
	a, err := ReadFile(f)
	if err != nil || a.HasAlpha() || a.primary.id != h.alpha.id {
		t.Fatalf("rewritten: %v, alpha %v", err, a != nil && a.HasAlpha())
	}
	plain, _ := ReadFile(testphoto.Corpus(t, "heic-photo.heic"))
	if _, err := plain.AlphaAsPrimary(nil); err == nil {
		t.Fatal("a file without alpha was rewritten")
	}
}
