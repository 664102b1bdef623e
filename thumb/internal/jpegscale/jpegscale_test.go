package jpegscale

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// maxDiff1 checks the 1/1 promise of the package doc: every sample within 1
// of image/jpeg's, and the CMY channels of a YCCK file within 2.
func maxDiff1(t *testing.T, name string, want, got image.Image, ycck bool) {
	t.Helper()
	md, differ, total, err := sampleDiffCount(want, got)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	limit := [4]int{1, 1, 1, 1}
	if ycck {
		limit = [4]int{2, 2, 2, 1}
	}
	for c := range md {
		if md[c] > limit[c] {
			t.Errorf("%s: channel %d differs from image/jpeg by %d (limit %d)", name, c, md[c], limit[c])
		}
	}
	t.Logf("%s: %T max sample difference vs image/jpeg %v; %d of %d samples (%.2f%%) differ", name, got, md, differ, total, 100*float64(differ)/float64(total))
}

// checkAgainstStd decodes b at 1/1 with both decoders and compares them.
func checkAgainstStd(t *testing.T, name string, b []byte) {
	t.Helper()
	want, werr := stdDecode(b)
	got, err := Decode(bytes.NewReader(b), Options{})
	if werr != nil {
		if err == nil {
			t.Errorf("%s: image/jpeg fails (%v), we decode", name, werr)
		} else if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: error %v wraps neither ErrFormat nor ErrUnsupported", name, err)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: image/jpeg decodes, we fail: %v", name, err)
		return
	}
	cfg, err := DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Errorf("%s: DecodeConfig: %v", name, err)
		return
	}
	scfg, _ := jpeg.DecodeConfig(bytes.NewReader(b))
	if cfg.Width != scfg.Width || cfg.Height != scfg.Height || cfg.ColorModel != scfg.ColorModel {
		t.Errorf("%s: DecodeConfig %+v, image/jpeg says %+v", name, cfg, scfg)
	}
	_, isCMYK := want.(*image.CMYK)
	maxDiff1(t, name, want, got, isCMYK && bytes.Contains(b, []byte("Adobe")) && adobeTransform(b) != 0)
}

// adobeTransform returns the transform byte of the first Adobe APP14.
func adobeTransform(b []byte) int {
	i := bytes.Index(b, []byte("\xff\xeeAdobe"))
	if i < 0 || i+4+12 > len(b) {
		return -1
	}
	return int(b[i+4+11])
}

func TestCorpusFullScale(t *testing.T) {
	for i, f := range corpusFiles(t) {
		if underRace && i%4 != 0 {
			continue // a sample under -race (see race_test.go)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkAgainstStd(t, filepath.Base(f), b)
	}
}

// variants are the test photo encoded in the ways the decoder must handle.
type variant struct {
	name string
	data []byte
	// stdFails: image/jpeg rejects this valid file (see the package doc);
	// compare with djpeg instead.
	stdFails bool
}

func generatedVariants(t *testing.T) []variant {
	t.Helper()
	img, pnm := testPhoto()
	var vs []variant
	for _, q := range []int{30, 75, 90, 100} {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, variant{name: "stdlib-q" + itoa(q), data: buf.Bytes()})
	}
	gray := image.NewGray(img.Bounds())
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			gray.Set(x, y, color.GrayModel.Convert(img.At(x, y)))
		}
	}
	var gb bytes.Buffer
	jpeg.Encode(&gb, gray, &jpeg.Options{Quality: 85})
	vs = append(vs, variant{name: "stdlib-gray", data: gb.Bytes()})
	if _, err := execLook("cjpeg"); err != nil {
		t.Logf("cjpeg not found (install libjpeg-turbo-progs): only image/jpeg-encoded variants")
		return vs
	}
	scans := filepath.Join(t.TempDir(), "scans.txt")
	os.WriteFile(scans, []byte("0: 0 63 0 0;\n1: 0 63 0 0;\n2: 0 63 0 0;\n"), 0o644)
	for _, c := range []struct {
		name     string
		args     []string
		stdFails bool
	}{
		{"cjpeg-420", []string{"-quality", "90"}, false},
		{"cjpeg-444", []string{"-sample", "1x1"}, false},
		{"cjpeg-422", []string{"-sample", "2x1"}, false},
		{"cjpeg-440", []string{"-sample", "1x2"}, false},
		{"cjpeg-411", []string{"-sample", "4x1"}, false},
		{"cjpeg-410", []string{"-sample", "4x2"}, false},
		{"cjpeg-restart1", []string{"-restart", "1B"}, false},
		{"cjpeg-restart-row", []string{"-restart", "1", "-sample", "2x1"}, false},
		{"cjpeg-gray", []string{"-grayscale"}, false},
		{"cjpeg-optimize", []string{"-optimize", "-quality", "95"}, false},
		{"cjpeg-rgb", []string{"-rgb"}, false},
		{"cjpeg-noninterleaved", []string{"-scans", scans}, false},
		{"cjpeg-noninterleaved-restart", []string{"-scans", scans, "-restart", "3B"}, true},
		{"cjpeg-prog", []string{"-progressive"}, false},
		{"cjpeg-prog-444", []string{"-progressive", "-sample", "1x1", "-quality", "97"}, false},
		{"cjpeg-prog-422", []string{"-progressive", "-sample", "2x1"}, false},
		{"cjpeg-prog-gray", []string{"-progressive", "-grayscale"}, false},
		{"cjpeg-prog-restart-444", []string{"-progressive", "-sample", "1x1", "-restart", "2B"}, false},
		{"cjpeg-prog-restart-420", []string{"-progressive", "-restart", "1B"}, true},
		{"cjpeg-prog-rgb", []string{"-progressive", "-rgb"}, false},
	} {
		vs = append(vs, variant{name: c.name, data: run(t, pnm, "cjpeg", c.args...), stdFails: c.stdFails})
	}
	if _, err := execLook("jpegtran"); err == nil {
		vs = append(vs, variant{name: "jpegtran-prog", data: run(t, vs[2].data, "jpegtran", "-progressive")})
	}
	return vs
}

func TestGeneratedFullScale(t *testing.T) {
	for _, v := range generatedVariants(t) {
		if v.stdFails {
			if _, err := stdDecode(v.data); err == nil {
				t.Errorf("%s: image/jpeg now decodes it; drop stdFails", v.name)
			}
			got, err := Decode(bytes.NewReader(v.data), Options{})
			if err != nil {
				t.Errorf("%s: %v", v.name, err)
				continue
			}
			if _, err := execLook("djpeg"); err != nil {
				continue
			}
			ref := parsePNM(t, run(t, v.data, "djpeg", "-nosmooth", "-ppm"))
			if p := psnr(t, toRGB(got), ref); p < 40 {
				t.Errorf("%s: PSNR vs djpeg %.1f dB < 40", v.name, p)
			} else {
				t.Logf("%s: image/jpeg rejects it; PSNR vs djpeg -nosmooth %.1f dB", v.name, p)
			}
			continue
		}
		checkAgainstStd(t, v.name, v.data)
	}
}

func TestArithmeticUnsupported(t *testing.T) {
	needTool(t, "cjpeg")
	_, pnm := testPhoto()
	b := run(t, pnm, "cjpeg", "-arithmetic")
	if _, err := Decode(bytes.NewReader(b), Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("arithmetic-coded JPEG: error %v, want ErrUnsupported", err)
	}
}

func TestScaleFor(t *testing.T) {
	for _, c := range []struct{ w, h, bw, bh, want int }{
		{4000, 3000, 110, 150, 8},
		{1800, 1200, 110, 150, 4},
		{1800, 1200, 300, 300, 2},
		{1800, 1200, 800, 800, 1},
		{100, 100, 110, 150, 1},
		{4000, 3000, 0, 200, 4},
		{16, 16, 1, 1, 8},
	} {
		if got := ScaleFor(c.w, c.h, c.bw, c.bh); got != c.want {
			t.Errorf("ScaleFor(%d, %d, %d, %d) = %d, want %d", c.w, c.h, c.bw, c.bh, got, c.want)
		}
	}
}
