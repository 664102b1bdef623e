package thumb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// fullPNG is a PNG source as the pipeline decoded it before pngscale:
// image/png at full size.
func fullPNG(t testing.TB, data []byte) *source {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return (&source{img: img, format: PNG, orient: 1}).fullSize()
}

// pngCase is a PNG and specs to thumbnail it for.
type pngCase struct {
	name  string
	data  []byte
	specs [][]Spec // each set decoded once
}

// pngCases are the corpus's valid PNGs and testphoto's PNGs of every colour
// type, bit depth and interlacing (odd sizes), each with specs that
// stream: one contained thumbnail, a cover crop, and a set of three sizes
// from one decode. Under -race, a sample.
func pngCases(t testing.TB) []pngCase {
	var cs []pngCase
	small := [][]Spec{{{Width: 5, Height: 5}}, {{Width: 4, Height: 3, Fit: FitCover}}, {{Width: 5, Height: 4}, {Width: 3, Height: 3, Fit: FitCover}, {Width: 2, Height: 2}},
		{{Width: 2, Height: 2}}, {{Width: 2, Height: 1, Fit: FitCover}}} // 16-bit: only these stream
	for _, name := range []string{"png-gray-alpha-16bit.png", "png-gray-alpha.png", "png-interlaced-gray-16bit.png", "png-interlaced-rgba.png", "png-palette-trns.png", "png-rgba-16bit.png"} {
		cs = append(cs, pngCase{name, corpusBytes(t, name), small})
	}
	cs = append(cs, pngCase{"png-palette-interlaced.png", corpusBytes(t, "png-palette-interlaced.png"),
		[][]Spec{{{Width: 24, Height: 24}}, {{Width: 20, Height: 12, Fit: FitCover, Anchor: Anchor(1)}}, {{Width: 24, Height: 24}, {Width: 10, Height: 10, Fit: FitCover}, {Width: 7, Height: 5}}}})
	w, h := 701, 389
	if underRace {
		w, h = 257, 181
	}
	specs := [][]Spec{{{Width: 110, Height: 150}}, {{Width: 40, Height: 30, Fit: FitCover}}, {{Width: 41, Height: 41}, {Width: 30, Height: 30, Fit: FitCover}, {Width: 12, Height: 12}},
		{{Width: 12, Height: 12}}} // streams at 16 bits under -race too
	for i, v := range testphoto.PNGVariants(w, h, 11) {
		if underRace && i%6 != 0 {
			continue
		}
		cs = append(cs, pngCase{fmt.Sprintf("%s-%dx%d", v.Name, w, h), v.Data, specs})
	}
	return cs
}

// eightBit reports whether image/png decodes data to 8-bit samples, which
// the resize's box pre-shrink reads: then a contained thumbnail made from
// the stream is the very same.
func eightBit(img image.Image) bool {
	switch img.(type) {
	case *image.Gray, *image.RGBA, *image.NRGBA, *image.Paletted:
		return true
	}
	return false
}

// Streamed PNG thumbnails are those of today's full decode: every spec
// set is decoded once through decodeSource (streamed, as pngPlans
// allows) and its thumbnails compared with the same thumbnails of
// image/png's full decode (the pipeline before pngscale), on premultiplied
// RGBA. Those of an 8-bit PNG are identical (the same grid, the same sums,
// the same Lanczos); those of a 16-bit one, which the resize never
// box-averaged (it has no pre-shrink for 16-bit images, and reads them by
// their high byte), within 40 dB of that whole-image Lanczos pass.
func TestPNGStreamMatchesFullDecode(t *testing.T) {
	worst, worstWhat := 99.0, ""
	for _, c := range pngCases(t) {
		full := fullPNG(t, c.data)
		streamed := 0
		for _, specs := range c.specs {
			s, err := decodeSource(bytes.NewReader(c.data), DefaultLimits, specs)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if s.png == nil {
				continue // a spec too large for the box pre-shrink: decoded in full
			}
			streamed++
			for _, spec := range specs {
				want, got := full.render(full.plan(spec)), s.render(s.plan(spec))
				what := fmt.Sprintf("%s %dx%d fit %d (of %d specs)", c.name, spec.Width, spec.Height, spec.Fit, len(specs))
				p := psnr(t, want, got)
				if eightBit(full.img) && p != 99 {
					t.Errorf("%s: %.1f dB, want identical", what, p)
				}
				if p < 40 {
					t.Errorf("%s: %.1f dB from the full decode's thumbnail, want >= 40", what, p)
				}
				if p < worst {
					worst, worstWhat = p, what
				}
			}
		}
		if streamed == 0 {
			t.Errorf("%s: no spec set streams", c.name)
		}
	}
	t.Logf("lowest PSNR against the full decode: %.1f dB (%s)", worst, worstWhat)
}

// planPNG streams only when every spec gets the box pre-shrink, each at
// the factor the pre-shrink would use for it (for twice the size at 16
// bits), sharing regions.
func TestPlanPNG(t *testing.T) {
	rgb, rgb16 := color.Model(color.RGBAModel), color.Model(color.RGBA64Model)
	for _, c := range []struct {
		sw, sh  int
		model   color.Model
		specs   []Spec
		factors []int // by region; nil: not streamed
	}{
		{4000, 3000, rgb, []Spec{{Width: 110, Height: 150}}, []int{12}}, // 110×83: 4000/330, 3000/249
		{4000, 3000, rgb16, []Spec{{Width: 110, Height: 150}}, []int{6}},
		{4000, 3000, rgb, []Spec{{Width: 110, Height: 150}, {Width: 640, Height: 640}}, []int{12, 2}},
		{4000, 3000, rgb16, []Spec{{Width: 110, Height: 150}, {Width: 640, Height: 640}}, nil},
		{4000, 3000, rgb, []Spec{{Width: 110, Height: 150}, {Width: 110, Height: 150}, {Width: 111, Height: 150}}, []int{12}},
		{4000, 3000, rgb, []Spec{{Width: 110, Height: 150}, {Width: 800, Height: 800}}, nil}, // 800×600: no pre-shrink
		{4000, 3000, rgb, []Spec{{Width: 300, Height: 300, Fit: FitCover}}, []int{3}},        // the 3000×3000 crop
		{4000, 3000, rgb, []Spec{{Width: 100, Height: 100, Upscale: true}}, []int{13}},       // 100×75
		{32, 32, rgb, []Spec{{Width: 64, Height: 64, Upscale: true}}, nil},
		{32, 32, rgb, []Spec{{Width: 32, Height: 32}}, nil},
		{4000, 3000, rgb, nil, nil},
	} {
		st := planPNG(c.sw, c.sh, c.model, c.specs)
		var got []int
		if st != nil {
			for _, r := range st.regions {
				got = append(got, r.Factor)
			}
			if len(st.index) != len(c.specs) || len(st.plans) != len(c.specs) {
				t.Errorf("planPNG(%d, %d, %v): %d plans for %d specs", c.sw, c.sh, c.specs, len(st.plans), len(c.specs))
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.factors) {
			t.Errorf("planPNG(%d, %d, %v, %v): factors %v, want %v", c.sw, c.sh, c.model, c.specs, got, c.factors)
		}
	}
}

// pngClass names the sentinel err wraps.
func pngClass(err error) string {
	for _, s := range []error{ErrNotImage, ErrUnsupportedFormat, ErrTooLarge} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	if err == nil {
		return "ok"
	}
	return "untyped: " + err.Error()
}

// processBothWays runs Process on data with a spec that streams (a
// thumbnail a twelfth of the source's size or less) and with one that does
// not (the source's own size: image/png), and returns their errors.
func processBothWays(t testing.TB, data []byte, lim Limits) (streamed, full error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width < 6 || cfg.Height < 6 {
		cfg.Width, cfg.Height = 6, 6
	}
	small := Spec{Width: max(1, cfg.Width/12), Height: max(1, cfg.Height/12)}
	if err == nil && planPNG(cfg.Width, cfg.Height, cfg.ColorModel, []Spec{small}) == nil {
		t.Fatalf("%v does not stream", small)
	}
	_, streamed = GoProcessor{}.Process(context.Background(), bytes.NewReader(data), []Spec{small}, lim)
	_, full = GoProcessor{}.Process(context.Background(), bytes.NewReader(data), []Spec{{Width: 8192, Height: 8192}}, lim)
	return streamed, full
}

// A broken PNG fails as it did with image/png, with the same error class:
// the corpus's broken files (bad CRC, missing IDAT, garbage after the
// signature, truncated, the bomb), and truncated and bit-flipped copies
// of generated files.
func TestPNGStreamErrors(t *testing.T) {
	for _, name := range []string{"png-bad-idat-crc.png", "png-bad-signature.png", "png-garbage-after-signature.png", "png-missing-idat.png", "png-truncated.png", "png-bomb-32000x32000.png", "not-an-image-text.png"} {
		data := corpusBytes(t, name)
		streamed, full := processBothWays(t, data, Limits{})
		if pngClass(streamed) != pngClass(full) || streamed == nil {
			t.Errorf("%s: streamed %v, image/png %v", name, streamed, full)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	n, refused := 0, 0
	for _, v := range testphoto.PNGVariants(61, 47, 5) {
		if underRace && rng.IntN(4) != 0 {
			continue
		}
		for i := range 12 {
			b := bytes.Clone(v.Data)
			switch {
			case i < 4:
				b = b[:len(b)*(i+1)/5]
			default:
				b[rng.IntN(len(b))] ^= 1 << rng.IntN(8)
			}
			streamed, full := processBothWays(t, b, Limits{})
			if pngClass(streamed) != pngClass(full) {
				t.Errorf("%s damaged (%d): streamed %v, image/png %v", v.Name, i, streamed, full)
			}
			n++
			if full != nil {
				refused++
			}
		}
	}
	t.Logf("%d damaged files, %d refused, every one the same way", n, refused)
}

// The byte limit is ErrTooLarge on the stream as on the full decode.
func TestPNGStreamByteLimit(t *testing.T) {
	data := testphoto.PhotoPNG(300, 200, false)
	for _, limit := range []int64{int64(len(data)) / 3, int64(len(data)) - 1} {
		streamed, full := processBothWays(t, data, Limits{MaxBytes: limit})
		if !errors.Is(streamed, ErrTooLarge) || !errors.Is(full, ErrTooLarge) {
			t.Errorf("limit %d of %d bytes: streamed %v, image/png %v", limit, len(data), streamed, full)
		}
	}
}

// DecodedBytesFor charges a streamed PNG what the stream really takes:
// no less than the peak heap of Process (sampled with the collector at
// GOGC=5, so little garbage counts), and at most a few times it; a PNG
// that does not stream, and other formats, are charged DecodedBytes.
func TestPNGDecodedBytesFor(t *testing.T) {
	if testing.Short() || underRace {
		t.Skip("heap measurements: not under -short or -race")
	}
	interlaced := func(w, h int) []byte {
		img := testphoto.Photo(w, h, 3, true)
		return testphoto.WritePNG(w, h, testphoto.PNGOptions{Depth: 8, ColorType: 6, Interlace: true}, func(x, y int, s []uint16) {
			p := img.Pix[img.PixOffset(x, y):]
			s[0], s[1], s[2], s[3] = uint16(p[0]), uint16(p[1]), uint16(p[2]), uint16(p[3])
		})
	}
	for _, c := range []struct {
		name  string
		data  []byte
		specs []Spec
	}{
		{"rgb 2400x1800 → 110x150", testphoto.PNG(2400, 1800, 1, false), []Spec{{Width: 110, Height: 150}}},
		{"rgba 2400x1800 → three sizes", testphoto.PNG(2400, 1800, 2, true), []Spec{{Width: 110, Height: 150}, {Width: 300, Height: 300, Fit: FitCover}, {Width: 32, Height: 32}}},
		{"rgba interlaced 1600x1200 → 110x150", interlaced(1600, 1200), []Spec{{Width: 110, Height: 150}}},
		{"rgb 2400x1800 → 400x300 (k=2)", testphoto.PNG(2400, 1800, 1, false), []Spec{{Width: 400, Height: 300}}},
	} {
		hdr, _, err := Sniff(bytes.NewReader(c.data), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		charged, full := hdr.DecodedBytesFor(c.specs), hdr.DecodedBytes()
		var peak uint64
		for range 3 {
			peak = max(peak, peakLive(func() {
				if _, err := (GoProcessor{}).Process(context.Background(), bytes.NewReader(c.data), c.specs, Limits{}); err != nil {
					t.Fatal(err)
				}
			}))
		}
		mb := func(n int64) float64 { return float64(n) / (1 << 20) }
		t.Logf("%s: charged %.2f MB, peak heap %.2f MB; a full decode is charged %.1f MB", c.name, mb(charged), mb(int64(peak)), mb(full))
		if charged < int64(peak) || charged > 4*int64(peak) {
			t.Errorf("%s: charged %.2f MB for a peak of %.2f MB", c.name, mb(charged), mb(int64(peak)))
		}
	}
	hdr, _, err := Sniff(bytes.NewReader(testphoto.PNG(600, 400, 1, false)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hdr.DecodedBytesFor([]Spec{{Width: 300, Height: 300}}), hdr.DecodedBytes(); got != want {
		t.Errorf("a PNG decoded in full: charged %d, want DecodedBytes %d", got, want)
	}
	jpg, _, err := Sniff(bytes.NewReader(jpegBytes(t, 600, 400)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := jpg.DecodedBytesFor([]Spec{{Width: 30, Height: 30}}), jpg.DecodedBytes(); got != want {
		t.Errorf("a JPEG: charged %d, want DecodedBytes %d", got, want)
	}
}

// peakLive is peakHeap (bench_test.go) with the collector at GOGC=5, so
// the peak is close to the live heap's.
func peakLive(f func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	return peakHeap(f)
}

// corpusPNGNames lists the corpus's PNG-named files.
func corpusPNGNames(t testing.TB) []string {
	dir := testphoto.CorpusDir()
	if dir == "" {
		t.Skip("real-world image corpus not found: it lives beside the repository in ../shared/testdata/images")
	}
	m, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	var names []string
	for _, p := range m {
		if n := filepath.Base(p); strings.HasPrefix(n, "png-") {
			names = append(names, n)
		}
	}
	return names
}
