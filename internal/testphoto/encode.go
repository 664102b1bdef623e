package testphoto

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gen2brain/webp"
)

// JPEG is a baseline 4:2:0 JPEG of Photo(w, h, seed, false) at quality.
func JPEG(w, h int, seed uint64, quality int) []byte {
	return EncodeJPEG(Photo(w, h, seed, false), quality)
}

// JPEGRoundTrip is img encoded as a baseline 4:2:0 JPEG at quality and
// decoded again by image/jpeg (an *image.YCbCr, or *image.Gray).
func JPEGRoundTrip(img image.Image, quality int) image.Image {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		panic(err) // only for sizes image/jpeg refuses
	}
	out, err := jpeg.Decode(&buf)
	if err != nil {
		panic(err)
	}
	return out
}

// PNG is a PNG of Photo(w, h, seed, alpha).
func PNG(w, h int, seed uint64, alpha bool) []byte { return EncodePNG(Photo(w, h, seed, alpha)) }

// GIF is a one-frame w×h GIF with a transparent index and 255 colours.
func GIF(w, h int) []byte {
	pal := color.Palette{color.Transparent}
	for i := 1; i < 256; i++ {
		pal = append(pal, color.NRGBA{uint8(i), uint8(255 - i), uint8(i * 3), 255})
	}
	img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetColorIndex(x, y, uint8(1+(x+y)%255))
		}
	}
	var buf bytes.Buffer
	if err := gif.Encode(&buf, img, nil); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Progressive converts a baseline JPEG to a progressive one, losslessly,
// with jpegtran (Debian: libjpeg-turbo-progs) or, failing that, the vips
// command (libvips-tools).
func Progressive(baseline []byte) ([]byte, error) {
	if path, err := exec.LookPath("jpegtran"); err == nil {
		cmd := exec.Command(path, "-progressive", "-copy", "none")
		cmd.Stdin = bytes.NewReader(baseline)
		return cmd.Output()
	}
	path, err := exec.LookPath("vips")
	if err != nil {
		return nil, fmt.Errorf("neither jpegtran (libjpeg-turbo-progs) nor vips (libvips-tools) is installed")
	}
	dir, err := os.MkdirTemp("", "testphoto")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "in.jpg"), filepath.Join(dir, "out.jpg")
	if err := os.WriteFile(in, baseline, 0o600); err != nil {
		return nil, err
	}
	if msg, err := exec.Command(path, "copy", in, out+"[Q=90,interlace,subsample-mode=on]").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("vips copy: %v: %s", err, msg)
	}
	return os.ReadFile(out)
}

// Source is one encoded benchmark input.
type Source struct {
	Name string
	Data []byte // nil when it could not be made (see Progressive)
}

// Sources12MP are the 4000×3000 inputs of the benchmarks, made once per
// process: a baseline q90 4:2:0 JPEG, its progressive version, and an RGBA
// PNG with alpha.
var Sources12MP = sync.OnceValue(func() []Source {
	const w, h = 4000, 3000
	return append(JPEGs12MP(), Source{"png-rgba", PNG(w, h, 8, true)})
})

// JPEGs12MP are the two JPEGs of Sources12MP alone, for tests that need
// no PNG (which takes longer to encode than both JPEGs to make).
var JPEGs12MP = sync.OnceValue(func() []Source {
	const w, h = 4000, 3000
	baseline := JPEG(w, h, 7, 90)
	prog, _ := Progressive(baseline)
	return []Source{
		{"jpeg-baseline-q90", baseline},
		{"jpeg-progressive", prog},
	}
})

// GIFFrames is an n-frame GIF on a 2x2 screen.
func GIFFrames(n int) []byte {
	pal := color.Palette{color.Black, color.White}
	g := &gif.GIF{}
	for i := 0; i < n; i++ {
		fr := image.NewPaletted(image.Rect(0, 0, 2, 2), pal)
		fr.Pix[i%4] = 1
		g.Image = append(g.Image, fr)
		g.Delay = append(g.Delay, 2)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// EncodeJPEG is img as a baseline 4:2:0 JPEG at quality, by image/jpeg.
func EncodeJPEG(img image.Image, quality int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		panic(err) // only for sizes image/jpeg refuses
	}
	return buf.Bytes()
}

// EncodeWebP is img as a lossy WebP at quality (alpha kept), by libwebp
// through github.com/gen2brain/webp.
func EncodeWebP(img image.Image, quality int) []byte {
	var buf bytes.Buffer
	if err := webp.Encode(&buf, img, webp.Options{Quality: quality}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// AnimatedGIF is an n-frame GIF on a w×h screen, looping forever: a full
// first frame (red), then frames half the screen's size moving across
// it, blue, green, red again..., disposed in turn as none, background and
// previous, with delays of 10, 20, 30... hundredths.
func AnimatedGIF(w, h, n int) []byte {
	pal := color.Palette{color.NRGBA{}, color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 255}, color.NRGBA{0, 200, 0, 255}}
	g := &gif.GIF{LoopCount: 0, Config: image.Config{Width: w, Height: h, ColorModel: pal}}
	for i := 0; i < n; i++ {
		r := image.Rect(0, 0, w, h)
		if i > 0 {
			x := (i * 3) % (w / 2)
			r = image.Rect(x, h/4, x+w/2, h*3/4)
		}
		fr := image.NewPaletted(r, pal)
		for j := range fr.Pix {
			fr.Pix[j] = uint8(1 + i%3)
		}
		g.Image = append(g.Image, fr)
		g.Delay = append(g.Delay, 10*(i+1))
		g.Disposal = append(g.Disposal, []byte{gif.DisposalNone, gif.DisposalBackground, gif.DisposalPrevious}[i%3])
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// EncodePNG is img as a PNG.
func EncodePNG(img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// AlphaRamp sets img's alpha to a ramp from 0 at the left edge to 255 at
// the right, and returns img.
func AlphaRamp(img *image.NRGBA) *image.NRGBA {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			img.Pix[img.PixOffset(x, y)+3] = uint8(255 * (x - b.Min.X) / b.Dx())
		}
	}
	return img
}

// ZeroPNG16 is a w×h 16-bit RGBA PNG whose pixels are all zero, written
// without ever holding its pixels: a few hundred KB that decode to
// w×h×8 bytes (7000×7000: 381 KB for 392 MB), the memory bomb of a
// hostile client.
func ZeroPNG16(w, h int) []byte {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		var hdr [8]byte
		binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)))
		copy(hdr[4:], typ)
		out.Write(hdr[:])
		out.Write(data)
		crc := crc32.NewIEEE()
		crc.Write(hdr[4:])
		crc.Write(data)
		binary.Write(&out, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6 // 16-bit, RGBA
	chunk("IHDR", ihdr)
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	row := make([]byte, 1+8*w) // filter byte 0, then zeros
	for range h {
		zw.Write(row)
	}
	zw.Close()
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

// EachSource runs fn as a sub-benchmark on each of sources (e.g.
// Sources12MP()), skipping, saying why, one that could not be made.
func EachSource(b *testing.B, sources []Source, fn func(b *testing.B, src Source)) {
	for _, s := range sources {
		b.Run(s.Name, func(b *testing.B) {
			if s.Data == nil {
				b.Skip("no progressive JPEG encoder: install jpegtran (libjpeg-turbo-progs) or vips (libvips-tools)")
			}
			fn(b, s)
		})
	}
}

// PhotoPNG is a PNG of Photo(w, h, 2); with ramp, its alpha ramps from 0 at
// the left edge to 255 at the right (AlphaRamp).
func PhotoPNG(w, h int, ramp bool) []byte {
	img := Photo(w, h, 2, false)
	if ramp {
		AlphaRamp(img)
	}
	return EncodePNG(img)
}
