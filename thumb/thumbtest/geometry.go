package thumbtest

import (
	"bytes"
	"fmt"
	"image"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
	"github.com/gormthumb/gormthumb/thumb"
)

// The geometry table's floors, by testphoto.PSNR against the reference
// processor's thumbnail of the same spec and source. A crop one anchor
// step away, or a picture turned the wrong way, scores about 12 dB
// (testWrongGeometry checks that it stays far below all three).
const (
	// minGeometryPSNR: a reduced thumbnail written losslessly (PNG, GIF)
	// shows the same region of the picture, turned the same way, reduced
	// by another filter. libvips against thumb: 41.5 dB at the lowest.
	minGeometryPSNR = 35
	// minLossyPSNR: the same, written in a lossy format (JPEG, WebP, AVIF)
	// at the default quality by two encoders. libvips against thumb: 35.2
	// dB at the lowest (WebP), 35.4 for JPEG.
	minLossyPSNR = 32
	// minUnreducedPSNR: a thumbnail not smaller than the region of the
	// source it shows (enlarged with Upscale, or a source smaller than
	// the box), where nothing averages away how two processors differ at
	// the source's own resolution: how their JPEG decoders upsample 4:2:0
	// chroma (libjpeg interpolates; image/jpeg and thumb's decoder
	// replicate), which filter enlarges (libvips: bicubic; thumb:
	// Lanczos), and the encoders. libvips against thumb: 26.6 dB at the
	// lowest (a 40×30 JPEG at its own size, written as JPEG), 27.9 as PNG.
	minUnreducedPSNR = 24
)

// geometrySource is one source of the geometry table.
type geometrySource struct {
	name    string
	data    []byte
	alpha   bool // the picture has transparency (decides the default format)
	formats bool // every output format is made of it, not only PNG
}

// geometrySources are landscape, portrait, square and tiny (smaller than
// every box) photos, the landscape one in every EXIF orientation, PNG and
// WebP with and without transparency, and a GIF. Under the race detector,
// a sample: the landscape photo upright and turned, the tiny one, and the
// transparent PNG.
func geometrySources() []geometrySource {
	land := testphoto.JPEG(400, 300, 31, 95)
	var out []geometrySource
	for o := 1; o <= 8; o++ {
		out = append(out, geometrySource{fmt.Sprintf("jpeg-landscape-orientation-%d", o), testphoto.WithEXIF(land, testphoto.EXIF{Orientation: o}), false, o == 1 || o == 6})
	}
	out = append(out,
		geometrySource{"jpeg-portrait", testphoto.JPEG(300, 400, 32, 95), false, false},
		geometrySource{"jpeg-square", testphoto.JPEG(320, 320, 33, 95), false, false},
		geometrySource{"jpeg-tiny", testphoto.JPEG(40, 30, 34, 95), false, true},
		geometrySource{"png-alpha", testphoto.PNG(360, 240, 35, true), true, true},
		geometrySource{"png-opaque", testphoto.PNG(240, 360, 36, false), false, false},
		geometrySource{"webp-alpha", testphoto.EncodeWebP(testphoto.Photo(300, 240, 37, true), 95), true, true},
		geometrySource{"webp-opaque", testphoto.EncodeWebP(testphoto.Photo(240, 300, 38, false), 95), false, true},
		geometrySource{"gif", testphoto.GIF(200, 150), false, true},
	)
	if raceEnabled {
		out = slices.DeleteFunc(out, func(s geometrySource) bool {
			return !slices.Contains([]string{"jpeg-landscape-orientation-1", "jpeg-landscape-orientation-6", "jpeg-tiny", "png-alpha"}, s.name)
		})
	}
	return out
}

// geometrySpecs are the specs of the geometry table: contain into a tall
// and a wide box, cover of a square and a wide box at every anchor,
// upscaled contain and cover (all written as PNG), and with formats, a
// contain and a cover in every output format (but those o skips).
func geometrySpecs(o Options, formats bool) []thumb.Spec {
	specs := []thumb.Spec{
		{Width: 80, Height: 110, Format: thumb.PNG},
		{Width: 150, Height: 60, Format: thumb.PNG},
		{Width: 480, Height: 480, Upscale: true, Format: thumb.PNG},
		{Width: 240, Height: 160, Fit: thumb.FitCover, Upscale: true, Format: thumb.PNG},
	}
	for a := thumb.Center; a <= thumb.BottomRight; a++ {
		specs = append(specs,
			thumb.Spec{Width: 64, Height: 64, Fit: thumb.FitCover, Anchor: a, Format: thumb.PNG},
			thumb.Spec{Width: 120, Height: 45, Fit: thumb.FitCover, Anchor: a, Format: thumb.PNG})
	}
	for _, f := range []thumb.Format{thumb.FormatSource, thumb.JPEG, thumb.PNG, thumb.GIF, thumb.WebP, thumb.AVIF} {
		if formats && !slices.Contains(o.Skip, f) {
			specs = append(specs,
				thumb.Spec{Width: 90, Height: 90, Format: f},
				thumb.Spec{Width: 60, Height: 80, Fit: thumb.FitCover, Anchor: thumb.TopRight, Format: f})
		}
	}
	return specs
}

// reference is o's reference processor.
func (o Options) reference() thumb.Processor {
	if o.Reference != nil {
		return o.Reference
	}
	return thumb.GoProcessor{}
}

// processEach runs p on src once for each of specs, so each thumbnail is
// made as it is planned alone (its own decode scale), whatever the
// others ask.
func processEach(t *testing.T, p thumb.Processor, src []byte, specs []thumb.Spec) ([]thumb.Thumbnail, []image.Image) {
	t.Helper()
	out, imgs := make([]thumb.Thumbnail, len(specs)), make([]image.Image, len(specs))
	for i, s := range specs {
		ths, ims := mustProcess(t, p, src, s)
		out[i], imgs[i] = ths[0], ims[0]
	}
	return out, imgs
}

// testGeometry runs the geometry table: for every source and spec, p's
// thumbnail has the size and format thumb.PlanFor plans, and shows the
// same region of the picture, turned the same way, as the reference
// processor's thumbnail (PSNR, and alpha's where either has it, at least
// minGeometryPSNR, minLossyPSNR or minUnreducedPSNR, whichever applies).
// The lowest PSNR of each fit and format is logged.
func testGeometry(t *testing.T, p thumb.Processor, o Options) {
	ref := o.reference()
	same := reflect.TypeOf(p).Comparable() && reflect.TypeOf(ref).Comparable() && p == ref
	lowest := map[string]float64{}
	for _, src := range geometrySources() {
		specs := geometrySpecs(o, src.formats)
		t.Run(src.name, func(t *testing.T) {
			hdr, _, err := thumb.Sniff(bytes.NewReader(src.data), thumb.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			info := hdr.SourceInfo()
			info.Alpha = src.alpha
			out, imgs := processEach(t, p, src.data, specs)
			refOut, refImgs := out, imgs // p is its own reference: sizes and formats only
			if !same {
				refOut, refImgs = processEach(t, ref, src.data, specs)
			}
			for i, spec := range specs {
				plan := thumb.PlanFor(spec, info)
				what := fmt.Sprintf("%s, %s", src.name, spec.CanonicalKey())
				if th := out[i]; th.Width != plan.Width || th.Height != plan.Height || th.Format != plan.Format {
					t.Errorf("%s: %s %dx%d, planned %s %dx%d", what, th.Format, th.Width, th.Height, plan.Format, plan.Width, plan.Height)
					continue
				}
				if r := refOut[i]; r.Width != plan.Width || r.Height != plan.Height || r.Format != plan.Format {
					t.Errorf("%s: the reference made %s %dx%d, planned %s %dx%d", what, r.Format, r.Width, r.Height, plan.Format, plan.Width, plan.Height)
					continue
				}
				q := psnr(t, imgs[i], refImgs[i])
				if hasAlpha(imgs[i]) || hasAlpha(refImgs[i]) {
					q = min(q, testphoto.AlphaPSNR(imgs[i], refImgs[i]))
				}
				floor, key := minGeometryPSNR, fmt.Sprintf("%v/%s", spec.Fit, plan.Format)
				switch {
				case plan.Resize.X >= plan.Crop.Dx() || plan.Resize.Y >= plan.Crop.Dy():
					floor, key = minUnreducedPSNR, key+" (not reduced)"
				case plan.Format == thumb.JPEG || plan.Format == thumb.WebP || plan.Format == thumb.AVIF:
					floor = minLossyPSNR
				}
				if q < float64(floor) {
					t.Errorf("%s: %.1f dB from the reference's thumbnail, want >= %d (another region of the picture, or turned?)", what, q, floor)
				}
				if l, ok := lowest[key]; !ok || q < l {
					lowest[key] = q
				}
			}
		})
	}
	var summary []string
	for _, k := range slices.Sorted(maps.Keys(lowest)) {
		summary = append(summary, fmt.Sprintf("%s %.1f", k, lowest[k]))
	}
	t.Logf("lowest PSNR against the reference's thumbnails, by fit/format, in dB: %s", strings.Join(summary, ", "))
	t.Run("WrongGeometryScoresLow", func(t *testing.T) { testWrongGeometry(t, p, o) })
}

// hasAlpha reports whether img has a pixel that is not opaque.
func hasAlpha(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return !o.Opaque()
	}
	return true
}

// testWrongGeometry checks that the geometry table's PSNR floor tells
// framings apart: p's thumbnail against the reference's of the same
// source with the crop one anchor step away (centre against left, 50 of
// 400 source pixels), and turned the other way (orientation 6 against 8),
// must both score well below every floor (5 dB under the lowest).
func testWrongGeometry(t *testing.T, p thumb.Processor, o Options) {
	land := testphoto.JPEG(400, 300, 31, 95)
	cover := thumb.Spec{Width: 64, Height: 64, Fit: thumb.FitCover, Format: thumb.PNG}
	left := cover
	left.Anchor = thumb.Left
	_, got := mustProcess(t, p, land, cover)
	_, wrong := mustProcess(t, o.reference(), land, left)
	shift := psnr(t, got[0], wrong[0])
	_, got = mustProcess(t, p, testphoto.WithEXIF(land, testphoto.EXIF{Orientation: 6}), cover)
	_, wrong = mustProcess(t, o.reference(), testphoto.WithEXIF(land, testphoto.EXIF{Orientation: 8}), cover)
	turn := psnr(t, got[0], wrong[0])
	t.Logf("a crop one anchor step away: %.1f dB; turned the other way: %.1f dB", shift, turn)
	if shift > minUnreducedPSNR-5 || turn > minUnreducedPSNR-5 {
		t.Errorf("wrong framings score %.1f and %.1f dB: the floors of %d, %d and %d dB do not tell them apart", shift, turn, minGeometryPSNR, minLossyPSNR, minUnreducedPSNR)
	}
}
