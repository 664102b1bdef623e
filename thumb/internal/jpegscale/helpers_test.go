package jpegscale

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// corpusDir finds shared/testdata/images by walking up from the package
// directory to a folder that has a sibling (or child) named shared.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "testdata", "images")
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("corpus shared/testdata/images not found above the package directory")
		}
		dir = parent
	}
}

// corpusFiles lists the corpus's JPEG-named files.
func corpusFiles(t testing.TB) []string {
	dir := corpusDir(t)
	var files []string
	for _, pat := range []string{"exif-*.jpg", "jpeg-*.jpg", "not-an-image-*.jpg"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Skip("no JPEG files in " + dir)
	}
	return files
}

// needTool skips the test when a libjpeg-turbo tool is not installed.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found (install libjpeg-turbo-progs)", name)
	}
	return p
}

// run runs a tool with stdin and returns its stdout.
func run(t testing.TB, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes()
}

// ppm encodes an image as binary PPM, cjpeg's input.
func ppm(m image.Image) []byte {
	b := m.Bounds()
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "P6\n%d %d\n255\n", b.Dx(), b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := m.At(x, y).RGBA()
			buf.Write([]byte{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)})
		}
	}
	return buf.Bytes()
}

// parsePNM decodes a binary PGM or PPM (djpeg's output) to RGB.
func parsePNM(t testing.TB, b []byte) *image.RGBA {
	t.Helper()
	var magic string
	var w, h, maxv int
	r := bytes.NewReader(b)
	if _, err := fmt.Fscan(r, &magic, &w, &h, &maxv); err != nil {
		t.Fatalf("pnm header: %v", err)
	}
	r.ReadByte()
	data := b[len(b)-r.Len():]
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	ch := 3
	if magic == "P5" {
		ch = 1
	}
	if len(data) < w*h*ch {
		t.Fatalf("short pnm")
	}
	for i := range w * h {
		p := data[i*ch : i*ch+ch]
		if ch == 1 {
			m.Pix[4*i], m.Pix[4*i+1], m.Pix[4*i+2] = p[0], p[0], p[0]
		} else {
			m.Pix[4*i], m.Pix[4*i+1], m.Pix[4*i+2] = p[0], p[1], p[2]
		}
		m.Pix[4*i+3] = 255
	}
	return m
}

// toRGB converts any image to RGB the way Go's color models do (nearest
// chroma sample for YCbCr).
func toRGB(m image.Image) *image.RGBA {
	b := m.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			c := color.RGBAModel.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA)
			i := out.PixOffset(x, y)
			out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = c.R, c.G, c.B, 255
		}
	}
	return out
}

// boxDown box-averages an RGB image by s (partial cells at the right and
// bottom edges average what they have), all four channels.
func boxDown(m *image.RGBA, s int) *image.RGBA { return boxDownXY(m, s, s) }

// boxDownXY box-averages by sx horizontally and sy vertically.
func boxDownXY(m *image.RGBA, sx, sy int) *image.RGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	ow, oh := (w+sx-1)/sx, (h+sy-1)/sy
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for oy := range oh {
		for ox := range ow {
			var sum [4]int
			n := 0
			for y := oy * sy; y < min(h, oy*sy+sy); y++ {
				for x := ox * sx; x < min(w, ox*sx+sx); x++ {
					i := m.PixOffset(x, y)
					sum[0] += int(m.Pix[i])
					sum[1] += int(m.Pix[i+1])
					sum[2] += int(m.Pix[i+2])
					sum[3] += int(m.Pix[i+3])
					n++
				}
			}
			i := out.PixOffset(ox, oy)
			for c := range 4 { // alpha too: cmykAsRGBA keeps K there
				out.Pix[i+c] = uint8((sum[c] + n/2) / n)
			}
		}
	}
	return out
}

// psnr is testphoto.PSNR (R, G and B), failing the test on images of
// different sizes.
func psnr(t testing.TB, a, b *image.RGBA) float64 {
	t.Helper()
	if a.Rect.Size() != b.Rect.Size() {
		t.Fatalf("psnr: sizes %v and %v differ", a.Rect.Size(), b.Rect.Size())
	}
	return testphoto.PSNR(a, b)
}

// sampleDiff returns the largest per-sample difference between two decoded
// images of the same type and size, per channel for CMYK (C, M, Y, K), and an
// error if their types, sizes or subsampling differ.
func sampleDiff(want, got image.Image) ([4]int, error) {
	md, _, _, err := sampleDiffCount(want, got)
	return md, err
}

// sampleDiffCount is sampleDiff that also counts the differing samples
// among all compared.
func sampleDiffCount(want, got image.Image) (md [4]int, differ, total int, err error) {
	up := func(c int, a, b uint8) {
		d := int(a) - int(b)
		if d < 0 {
			d = -d
		}
		md[c] = max(md[c], d)
		total++
		if d != 0 {
			differ++
		}
	}
	if want.Bounds() != got.Bounds() {
		return md, 0, 0, fmt.Errorf("bounds %v, want %v", got.Bounds(), want.Bounds())
	}
	b := want.Bounds()
	switch w := want.(type) {
	case *image.YCbCr:
		g, ok := got.(*image.YCbCr)
		if !ok {
			return md, 0, 0, fmt.Errorf("type %T, want %T", got, want)
		}
		if g.SubsampleRatio != w.SubsampleRatio {
			return md, 0, 0, fmt.Errorf("subsampling %v, want %v", g.SubsampleRatio, w.SubsampleRatio)
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				up(0, w.Y[w.YOffset(x, y)], g.Y[g.YOffset(x, y)])
				up(1, w.Cb[w.COffset(x, y)], g.Cb[g.COffset(x, y)])
				up(2, w.Cr[w.COffset(x, y)], g.Cr[g.COffset(x, y)])
			}
		}
	case *image.Gray:
		g, ok := got.(*image.Gray)
		if !ok {
			return md, 0, 0, fmt.Errorf("type %T, want %T", got, want)
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				up(0, w.GrayAt(x, y).Y, g.GrayAt(x, y).Y)
			}
		}
	case *image.CMYK:
		g, ok := got.(*image.CMYK)
		if !ok {
			return md, 0, 0, fmt.Errorf("type %T, want %T", got, want)
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				i, j := w.PixOffset(x, y), g.PixOffset(x, y)
				for c := range 4 {
					up(c, w.Pix[i+c], g.Pix[j+c])
				}
			}
		}
	case *image.RGBA:
		g, ok := got.(*image.RGBA)
		if !ok {
			return md, 0, 0, fmt.Errorf("type %T, want %T", got, want)
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				i, j := w.PixOffset(x, y), g.PixOffset(x, y)
				for c := range 4 {
					up(c, w.Pix[i+c], g.Pix[j+c])
				}
			}
		}
	default:
		return md, 0, 0, fmt.Errorf("unexpected type %T", want)
	}
	return md, differ, total, nil
}

// stdDecode decodes with image/jpeg.
func stdDecode(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }

var (
	photoOnce sync.Once
	photoPPM  []byte
	photoImg  image.Image
)

// testPhoto is a 301x199 photo-like image (odd sizes exercise partial MCUs),
// also as PPM for cjpeg.
func testPhoto() (image.Image, []byte) {
	photoOnce.Do(func() {
		photoImg = photo(301, 199, 7)
		photoPPM = ppm(photoImg)
	})
	return photoImg, photoPPM
}

// photo is testphoto.Photo as an opaque image.
func photo(w, h int, seed uint64) image.Image { return testphoto.Photo(w, h, seed, false) }

func itoa(i int) string { return strconv.Itoa(i) }

func execLook(name string) (string, error) { return exec.LookPath(name) }

func stdEncode(w io.Writer, m image.Image, q int) error {
	return jpeg.Encode(w, m, &jpeg.Options{Quality: q})
}
