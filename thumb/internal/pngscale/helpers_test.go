package pngscale

import (
	"bytes"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// corpusPNGs lists the corpus's PNG-named files (the broken ones and the
// text file with a .png name included), skipping the test when the corpus
// is absent.
func corpusPNGs(t testing.TB) []string {
	t.Helper()
	dir := testphoto.CorpusDir()
	if dir == "" {
		t.Skip("real-world image corpus not found: it lives beside the repository in ../shared/testdata/images")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.png"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Skip("no PNG files in " + dir)
	}
	return files
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// variants are testphoto's PNGs of every colour type, depth and
// interlacing, at two odd sizes, made once.
var variants = sync.OnceValue(func() []testphoto.PNGVariant {
	var vs []testphoto.PNGVariant
	for _, size := range [][2]int{{61, 47}, {13, 7}} {
		for _, v := range testphoto.PNGVariants(size[0], size[1], uint64(size[0])) {
			v.Name = v.Name + "-" + itoa(size[0]) + "x" + itoa(size[1])
			vs = append(vs, v)
		}
	}
	return vs
})

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// canonical is image/png's decode of a PNG as thumb's resize reads it: 8
// bits a sample, 16-bit samples by their high byte (as
// disintegration/imaging reads them), colours non-premultiplied. gray
// reports a grey image (image/png's *image.Gray or *image.Gray16).
func canonical(t testing.TB, img image.Image) (pix [][4]uint8, w, h int, gray bool) {
	t.Helper()
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	pix = make([][4]uint8, w*h)
	for y := range h {
		for x := range w {
			var p [4]uint8
			switch m := img.(type) {
			case *image.Gray:
				v := m.Pix[m.PixOffset(x, y)]
				p, gray = [4]uint8{v, v, v, 255}, true
			case *image.Gray16:
				v := m.Pix[m.PixOffset(x, y)]
				p, gray = [4]uint8{v, v, v, 255}, true
			case *image.RGBA:
				o := m.PixOffset(x, y)
				p = [4]uint8(m.Pix[o : o+4])
			case *image.NRGBA:
				o := m.PixOffset(x, y)
				p = [4]uint8(m.Pix[o : o+4])
			case *image.RGBA64:
				o := m.PixOffset(x, y)
				p = [4]uint8{m.Pix[o], m.Pix[o+2], m.Pix[o+4], m.Pix[o+6]}
			case *image.NRGBA64:
				o := m.PixOffset(x, y)
				p = [4]uint8{m.Pix[o], m.Pix[o+2], m.Pix[o+4], m.Pix[o+6]}
			case *image.Paletted:
				c := color.NRGBAModel.Convert(m.Palette[m.Pix[m.PixOffset(x, y)]]).(color.NRGBA)
				p = [4]uint8{c.R, c.G, c.B, c.A}
			default:
				t.Fatalf("image/png returned %T", img)
			}
			pix[y*w+x] = p
		}
	}
	return pix, w, h, gray
}

// boxReference is what Decode should return for img (image/png's decode)
// at factor k, computed independently of the package, pixel by pixel, as
// thumb's box pre-shrink (boxGray, boxRGBA) computes it: a centred grid of
// k×k cells, grey rounded, colour weighted by alpha.
func boxReference(t testing.TB, img image.Image, k int) image.Image {
	return boxReferenceRect(t, img, image.Rectangle{}, k)
}

// boxReferenceRect is boxReference for the part rect of img (all of it
// when empty), its grid centred on rect.
func boxReferenceRect(t testing.TB, img image.Image, rect image.Rectangle, k int) image.Image {
	pix, w, _, gray := canonical(t, img)
	if rect.Empty() {
		rect = img.Bounds()
	}
	k = min(k, rect.Dx(), rect.Dy())
	ow, oh := rect.Dx()/k, rect.Dy()/k
	x0, y0 := rect.Min.X+(rect.Dx()-ow*k)/2, rect.Min.Y+(rect.Dy()-oh*k)/2
	n := uint64(k * k)
	var out image.Image
	g := image.NewGray(image.Rect(0, 0, ow, oh))
	c := image.NewNRGBA(image.Rect(0, 0, ow, oh))
	if gray {
		out = g
	} else {
		out = c
	}
	for cy := range oh {
		for cx := range ow {
			var s [4]uint64
			for y := y0 + cy*k; y < y0+(cy+1)*k; y++ {
				for x := x0 + cx*k; x < x0+(cx+1)*k; x++ {
					p := pix[y*w+x]
					a := uint64(p[3])
					s[0] += uint64(p[0]) * a
					s[1] += uint64(p[1]) * a
					s[2] += uint64(p[2]) * a
					s[3] += a
				}
			}
			if gray {
				g.Pix[cy*g.Stride+cx] = uint8((s[0]/255 + n/2) / n)
				continue
			}
			q := c.Pix[cy*c.Stride+4*cx:]
			if s[3] == 0 {
				continue
			}
			for i := range 3 {
				q[i] = uint8(min(255, (s[i]+s[3]/2)/s[3]))
			}
			q[3] = uint8((s[3] + n/2) / n)
		}
	}
	return out
}

// sameImage reports the first difference between two images of the same
// type, or "".
func sameImage(want, got image.Image) string {
	switch w := want.(type) {
	case *image.Gray:
		g, ok := got.(*image.Gray)
		if !ok {
			return "got " + typeName(got) + ", want *image.Gray"
		}
		return samePix(w.Rect, g.Rect, w.Pix, g.Pix, w.Stride, g.Stride, 1)
	case *image.NRGBA:
		g, ok := got.(*image.NRGBA)
		if !ok {
			return "got " + typeName(got) + ", want *image.NRGBA"
		}
		return samePix(w.Rect, g.Rect, w.Pix, g.Pix, w.Stride, g.Stride, 4)
	}
	return "unexpected reference type"
}

func typeName(img image.Image) string {
	switch img.(type) {
	case *image.Gray:
		return "*image.Gray"
	case *image.NRGBA:
		return "*image.NRGBA"
	}
	return "another type"
}

func samePix(wr, gr image.Rectangle, wp, gp []byte, ws, gs, bpp int) string {
	if wr != gr {
		return "bounds " + gr.String() + ", want " + wr.String()
	}
	for y := range wr.Dy() {
		for x := range wr.Dx() * bpp {
			if a, b := wp[y*ws+x], gp[y*gs+x]; a != b {
				return "pixel " + itoa(x/bpp) + "," + itoa(y) + " channel " + itoa(x%bpp) + ": " + itoa(int(b)) + ", want " + itoa(int(a))
			}
		}
	}
	return ""
}

// bothWays runs f with images inflated in a goroutine of their own
// ("async", however small) and in the calling one ("sync").
func bothWays(t *testing.T, f func(t *testing.T)) {
	defer func(n int) { asyncBytes = n }(asyncBytes)
	for _, mode := range []struct {
		name  string
		bytes int
	}{{"async", 0}, {"sync", 1 << 62}} {
		asyncBytes = mode.bytes
		t.Run(mode.name, f)
	}
}

// stdDecode is image/png's Decode.
func stdDecode(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
