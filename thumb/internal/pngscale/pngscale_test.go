package pngscale

import (
	"bytes"
	"errors"
	"image"
	"path/filepath"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// factors are the cell sides the differential tests decode at: 1 (every
// pixel), small ones, and ones that leave uneven edges.
var factors = []int{1, 2, 3, 5, 8, 13}

// checkAgainstStd decodes b at each factor and compares the result with
// the box average of image/png's decode (boxReference): equal to the
// last bit. Where image/png fails, Decode must fail with ErrFormat or
// ErrUnsupported.
func checkAgainstStd(t *testing.T, name string, b []byte, factors []int) {
	t.Helper()
	std, stdErr := stdDecode(b)
	for _, k := range factors {
		got, err := Decode(bytes.NewReader(b), Options{Factor: k})
		if stdErr != nil {
			if err == nil {
				t.Errorf("%s k=%d: image/png fails (%v), we decode", name, k, stdErr)
			} else if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
				t.Errorf("%s k=%d: error %v wraps neither ErrFormat nor ErrUnsupported", name, k, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s k=%d: image/png decodes it, we fail: %v", name, k, err)
			continue
		}
		if d := sameImage(boxReference(t, std, k), got); d != "" {
			t.Errorf("%s k=%d: %s", name, k, d)
		}
	}
	if stdErr != nil {
		return
	}
	// Regions, decoded at once: inset, a strip at an edge, a corner, the
	// whole image; each at its own factor.
	b0 := std.Bounds()
	w, h := b0.Dx(), b0.Dy()
	regions := []Region{
		{Rect: image.Rect(w/5, h/7, w-w/4, h-h/9), Factor: factors[len(factors)/2]},
		{Rect: image.Rect(0, h/3, w, h/3+max(1, h/3)), Factor: 2},
		{Rect: image.Rect(w/2, h/2, w, h), Factor: 3},
		{Factor: factors[len(factors)-1]},
	}
	imgs, err := DecodeRegions(bytes.NewReader(b), regions, Options{})
	if err != nil {
		t.Errorf("%s: regions: %v", name, err)
		return
	}
	for i, reg := range regions {
		if d := sameImage(boxReferenceRect(t, std, reg.Rect, reg.Factor), imgs[i]); d != "" {
			t.Errorf("%s region %v k=%d: %s", name, reg.Rect, reg.Factor, d)
		}
	}
}

func TestGeneratedVariants(t *testing.T) {
	bothWays(t, func(t *testing.T) {
		for _, v := range variants() {
			if _, err := stdDecode(v.Data); err != nil {
				t.Fatalf("%s: image/png cannot read the test file: %v", v.Name, err)
			}
			checkAgainstStd(t, v.Name, v.Data, factors)
		}
	})
}

func TestCorpus(t *testing.T) {
	files := corpusPNGs(t)
	bothWays(t, func(t *testing.T) {
		for _, f := range files {
			name := filepath.Base(f)
			if name == "png-bomb-32000x32000.png" {
				continue // TestBomb
			}
			checkAgainstStd(t, name, readFile(t, f), factors)
		}
	})
}

// Larger images, which take the goroutine of their own by default, over
// several batches, at the factors thumb uses. Under -race, a sample at a
// smaller size.
func TestLargeVariants(t *testing.T) {
	w, h := 701, 389
	if underRace {
		w, h = 301, 211
	}
	for i, v := range testphoto.PNGVariants(w, h, 3) {
		if underRace && i%4 != 0 {
			continue
		}
		checkAgainstStd(t, v.Name+"-"+itoa(w)+"x"+itoa(h), v.Data, []int{1, 6, 47})
	}
}

// The corpus's 32000×32000 bomb is refused before anything is allocated
// for it, by MaxPixels.
func TestBomb(t *testing.T) {
	for _, f := range corpusPNGs(t) {
		if filepath.Base(f) != "png-bomb-32000x32000.png" {
			continue
		}
		_, err := Decode(bytes.NewReader(readFile(t, f)), Options{Factor: 8, MaxPixels: 50_000_000})
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("bomb: %v, want ErrTooLarge", err)
		}
		return
	}
	t.Skip("png-bomb-32000x32000.png not in the corpus")
}

func TestParseIHDR(t *testing.T) {
	for _, v := range variants() {
		cfg, ok := ParseIHDR(v.Data)
		std, err := stdDecode(v.Data)
		if !ok || err != nil {
			t.Fatalf("%s: ParseIHDR %v, image/png %v", v.Name, ok, err)
		}
		if b := std.Bounds(); cfg.Width != b.Dx() || cfg.Height != b.Dy() {
			t.Errorf("%s: ParseIHDR says %dx%d, image/png %v", v.Name, cfg.Width, cfg.Height, b)
		}
		if cfg.Interlaced != bytes.Contains([]byte(v.Name), []byte("interlaced")) {
			t.Errorf("%s: Interlaced %v", v.Name, cfg.Interlaced)
		}
	}
	if _, ok := ParseIHDR([]byte("\x89PNG\r\n\x1a\n")); ok {
		t.Error("ParseIHDR of a bare signature reports ok")
	}
}
