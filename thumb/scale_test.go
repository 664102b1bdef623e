package thumb

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// TestSourceScale: the scale rule on the box each spec takes from the stored
// image.
func TestSourceScale(t *testing.T) {
	contain := func(w, h int) Spec { return Spec{Width: w, Height: h} }
	cover := func(w, h int) Spec { return Spec{Width: w, Height: h, Fit: FitCover} }
	cases := []struct {
		what   string
		sw, sh int
		orient int
		specs  []Spec
		want   int
	}{
		{"110x150 of 12 MP: 110x83 from 500x375", 4000, 3000, 1, []Spec{contain(110, 150)}, 8},
		{"300x300 cover: the 3000x3000 crop at 1/4 is 750", 4000, 3000, 1, []Spec{cover(300, 300)}, 4},
		{"cover anchor moves the crop, not its size", 4000, 3000, 1, []Spec{{Width: 300, Height: 300, Fit: FitCover, Anchor: TopLeft}}, 4},
		{"640x640: 640x480 from 2000x1500", 4000, 3000, 1, []Spec{contain(640, 640)}, 2},
		{"one scale for all: the smallest", 4000, 3000, 1, []Spec{contain(110, 150), cover(300, 300), contain(640, 640)}, 2},
		{"wide box, upright: 320x240 needs 1/4", 4000, 3000, 1, []Spec{contain(480, 240)}, 4},
		{"wide box, orientation 6: stored box 240x480, 240x180", 4000, 3000, 6, []Spec{contain(480, 240)}, 8},
		{"orientation 8 turns the box too", 4000, 3000, 8, []Spec{contain(480, 240)}, 8},
		{"orientation 3 does not", 4000, 3000, 3, []Spec{contain(480, 240)}, 4},
		{"panorama: the fitted size counts, not the box", 8000, 1000, 1, []Spec{contain(640, 640)}, 4},
		{"cover of a panorama: the 1000x1000 crop counts", 8000, 1000, 1, []Spec{cover(200, 200)}, 2},
		{"a thumbnail over half the source", 1000, 800, 1, []Spec{contain(600, 600)}, 1},
		{"upscale never decodes below the box", 400, 300, 1, []Spec{{Width: 1000, Height: 1000, Upscale: true}}, 1},
		{"upscale of a box that still allows a scale", 4000, 3000, 1, []Spec{{Width: 110, Height: 150, Upscale: true}}, 8},
		{"cover of a smaller source", 500, 400, 1, []Spec{cover(1000, 1000)}, 1},
		{"odd size, partial blocks", 4001, 3001, 1, []Spec{contain(110, 150)}, 8},
		{"no specs", 4000, 3000, 1, nil, 8},
	}
	for _, c := range cases {
		if got := sourceScale(SourceInfo{Width: c.sw, Height: c.sh, Orientation: c.orient, Format: JPEG, Chroma: image.Pt(2, 2)}, c.specs); got != c.want {
			t.Errorf("%s: %dx%d orientation %d: 1/%d, want 1/%d", c.what, c.sw, c.sh, c.orient, got, c.want)
		}
	}
}

// TestSourceScaleChroma: colour planes subsampled by more than 2 ask one
// step less, so they keep at least 1x the thumbnail.
func TestSourceScaleChroma(t *testing.T) {
	spec := []Spec{{Width: 110, Height: 150}} // 110x83 of 2000x1500; 250x188 at 1/8
	for _, c := range []struct{ cx, cy, want int }{{1, 1, 8}, {2, 2, 8}, {2, 1, 8}, {1, 2, 8}, {4, 1, 4}, {4, 2, 4}} {
		if got := sourceScale(SourceInfo{Width: 2000, Height: 1500, Format: JPEG, Chroma: image.Pt(c.cx, c.cy)}, spec); got != c.want {
			t.Errorf("chroma %dx%d: 1/%d, want 1/%d", c.cx, c.cy, got, c.want)
		}
	}
}

// TestJPEGScale: a file's scale comes from its header; CMYK and YCCK files
// are decoded at full size.
func TestJPEGScale(t *testing.T) {
	spec := []Spec{{Width: 10, Height: 10}}
	jpg := testphoto.JPEG(400, 300, 1, 90)
	if got := jpegScale(cfgOf(t, jpg), jpg, spec); got != 8 {
		t.Errorf("400x300 4:2:0 for 10x10: 1/%d, want 1/8", got)
	}
	cmyk := corpusBytes(t, "jpeg-cmyk-ycck-adobe.jpg")
	if got := jpegScale(cfgOf(t, cmyk), cmyk, spec); got != 1 {
		t.Errorf("YCCK: 1/%d, want 1/1", got)
	}
}

// TestScaleRect: full-size rectangles map to the nearest pixel boundaries
// of a reduced decode, clamped, never empty, offset by its origin.
func TestScaleRect(t *testing.T) {
	cases := []struct {
		r     image.Rectangle
		scale int
		b     image.Rectangle
		want  image.Rectangle
	}{
		{image.Rect(0, 0, 4000, 3000), 1, image.Rect(0, 0, 4000, 3000), image.Rect(0, 0, 4000, 3000)},
		{image.Rect(0, 0, 4000, 3000), 8, image.Rect(0, 0, 500, 375), image.Rect(0, 0, 500, 375)},
		{image.Rect(500, 0, 3500, 3000), 4, image.Rect(0, 0, 1000, 750), image.Rect(125, 0, 875, 750)},
		// 4001 wide at 1/8 is 501 pixels, the last one 1/8 real: dropped.
		{image.Rect(0, 0, 4001, 3005), 8, image.Rect(0, 0, 501, 376), image.Rect(0, 0, 500, 376)},
		{image.Rect(3, 5, 13, 9), 2, image.Rect(0, 0, 8, 8), image.Rect(2, 3, 7, 5)},
		{image.Rect(0, 0, 3, 3), 8, image.Rect(0, 0, 1, 1), image.Rect(0, 0, 1, 1)},
		{image.Rect(7, 7, 8, 8), 8, image.Rect(0, 0, 2, 2), image.Rect(0, 0, 1, 1)},
		{image.Rect(0, 0, 80, 80), 8, image.Rect(10, 20, 20, 30), image.Rect(10, 20, 20, 30)},
	}
	for _, c := range cases {
		if got := scaleRect(c.r, c.scale, c.b); got != c.want {
			t.Errorf("scaleRect(%v, 1/%d, %v) = %v, want %v", c.r, c.scale, c.b, got, c.want)
		}
	}
}

// psnrSpecs are the thumbnails the reduced decode is checked on: a small
// contained one, cover crops at several anchors, and a large one.
var psnrSpecs = []Spec{
	{Width: 110, Height: 150},
	{Width: 300, Height: 300, Fit: FitCover},
	{Width: 300, Height: 300, Fit: FitCover, Anchor: TopLeft},
	{Width: 300, Height: 300, Fit: FitCover, Anchor: BottomRight},
	{Width: 300, Height: 300, Fit: FitCover, Anchor: Right},
	{Width: 640, Height: 640},
}

// psnrSource is one JPEG the reduced decode is checked on, with the specs
// to check.
type psnrSource struct {
	name  string
	data  []byte
	specs []Spec
}

// psnrSources are a photo of odd size (partial blocks), the 12 MP baseline
// and progressive photos, 4:2:2 and 4:1:1 ones made by cjpeg when it is
// installed, and the corpus JPEGs (all EXIF orientations, gray, CMYK,
// progressive, SOF1). The corpus files get 110x150, one cover anchor each
// in turn, 640x640 and 24x24. With -short or -race: one small odd-size
// photo.
func psnrSources(t *testing.T) []psnrSource {
	if underRace || testing.Short() {
		// The arithmetic is the same at any size, and slow under -race.
		small := []Spec{psnrSpecs[0], {Width: 150, Height: 150, Fit: FitCover, Anchor: TopLeft}}
		return []psnrSource{{"odd-1001x667", testphoto.JPEG(1001, 667, 11, 90), small}}
	}
	out := []psnrSource{{"odd-2001x1337", testphoto.JPEG(2001, 1337, 11, 90), psnrSpecs}}
	for _, s := range testphoto.JPEGs12MP() {
		if s.Data == nil {
			t.Logf("%s skipped: no progressive JPEG encoder (jpegtran or vips)", s.Name)
			continue
		}
		out = append(out, psnrSource{s.Name, s.Data, psnrSpecs})
	}
	if _, err := exec.LookPath("cjpeg"); err == nil {
		for _, s := range []string{"2x1", "4x1"} {
			out = append(out, psnrSource{"cjpeg-sample-" + s, cjpegPhoto(t, 2000, 1500, s), psnrSpecs})
		}
	} else {
		t.Log("4:2:2 and 4:1:1 sources skipped: cjpeg (libjpeg-turbo-progs) not installed")
	}
	dir := testphoto.CorpusDir()
	if dir == "" {
		t.Log("corpus JPEGs skipped: ../shared/testdata/images not found")
		return out
	}
	var names []string
	for _, pat := range []string{"exif-*.jpg", "jpeg-*.jpg"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		names = append(names, m...)
	}
	for i, p := range names {
		name := filepath.Base(p)
		if name == "jpeg-truncated-progressive.jpg" {
			continue
		}
		// 24x24 lets the small files (gray, CMYK, SOF1, progressive)
		// decode at a reduced scale too.
		specs := []Spec{psnrSpecs[0], psnrSpecs[1+i%4], psnrSpecs[5], {Width: 24, Height: 24}}
		out = append(out, psnrSource{name, testphoto.Corpus(t, name), specs})
	}
	return out
}

// cjpegPhoto is a q90 JPEG of a w×h test photo made by cjpeg with the
// given -sample factors (luma; chroma stays 1x1).
func cjpegPhoto(t testing.TB, w, h int, sample string) []byte {
	img := testphoto.Photo(w, h, 3, false)
	var ppm bytes.Buffer
	fmt.Fprintf(&ppm, "P6\n%d %d\n255\n", w, h)
	for i := 0; i < len(img.Pix); i += 4 {
		ppm.Write(img.Pix[i : i+3])
	}
	cmd := exec.Command("cjpeg", "-quality", "90", "-sample", sample)
	cmd.Stdin = &ppm
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cjpeg -sample %s: %v", sample, err)
	}
	return out
}

// fullDecode is the source as the pipeline decoded JPEGs before
// jpegscale: image/jpeg at full size.
func fullDecode(t testing.TB, data []byte) *source {
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return (&source{img: img, format: JPEG, orient: exifOrientation(data)}).fullSize()
}

// A thumbnail made from the reduced decode is within 36.5 dB PSNR of the
// same thumbnail made from a full image/jpeg decode (the same resize,
// crop and orientation: the pipeline before jpegscale), and has exactly
// its size. Each spec is checked at the scale it would get alone, the
// smallest it allows; specs that get the same scale share a decode, and
// those that get 1/1 are compared on small sources only (see below).
// Measured: 49.6-52.1 dB for the 12 MP photos (1/8, 1/4, 1/2), 43.7 for
// the corpus's 4:2:0 photos at 1/8 with 2.05x to spare, 40.2 for 4:2:2 at
// 1/8, 46.0 for 4:1:1 (at 1/4, one step less); worst 37.8, a 24x16
// thumbnail at 1/8, where old and new are both 34-36 dB from an exact
// area average (two sharp filters that differ, neither one blurred).
func TestScaledJPEGMatchesFullDecode(t *testing.T) {
	worst, worstWhat := 99.0, ""
	for _, src := range psnrSources(t) {
		full := fullDecode(t, src.data)
		decoded := map[int]*source{}
		for _, spec := range src.specs {
			scale := jpegScale(cfgOf(t, src.data), src.data, []Spec{spec})
			if scale == 1 && full.w*full.h > 1<<20 {
				// Decoded at full size, by jpegscale rather than image/jpeg:
				// jpegscale's own tests hold that to 1 level per sample,
				// and the small files below check it here (63-72 dB). A
				// Lanczos pass over megapixels twice would only cost time.
				t.Logf("%s %dx%d fit %d: 1/1, not compared", src.name, spec.Width, spec.Height, spec.Fit)
				continue
			}
			s := decoded[scale]
			if s == nil {
				var err error
				if s, err = decodeSource(bytes.NewReader(src.data), DefaultLimits, []Spec{spec}); err != nil {
					t.Fatalf("%s: %v", src.name, err)
				}
				if s.scale != scale || s.w != full.w || s.h != full.h {
					t.Fatalf("%s: decoded %dx%d at 1/%d, want %dx%d at 1/%d", src.name, s.w, s.h, s.scale, full.w, full.h, scale)
				}
				decoded[scale] = s
			}
			got, want := s.render(s.plan(spec)), full.render(full.plan(spec))
			what := fmt.Sprintf("%s (%dx%d, orientation %d) %dx%d fit %d anchor %d at 1/%d",
				src.name, s.w, s.h, s.orient, spec.Width, spec.Height, spec.Fit, spec.Anchor, s.scale)
			if got.Bounds().Size() != want.Bounds().Size() {
				t.Errorf("%s: %v, want %v", what, got.Bounds().Size(), want.Bounds().Size())
				continue
			}
			p := psnr(t, got, want)
			if p < worst {
				worst, worstWhat = p, what
			}
			t.Logf("%s: %.1f dB", what, p)
			if p < 36.5 {
				t.Errorf("%s: %.1f dB from the full decode, want >= 36.5", what, p)
			}
		}
	}
	t.Logf("worst: %.1f dB, %s", worst, worstWhat)
}
