package vips

// The libvips processor against the pure-Go one, in the same run, on the
// core's 12 MP benchmark inputs (made here the same way):
//
//	cd vips && go test -run '^$' -bench . -benchtime 5x -cpu 1,2 .
//
// Each iteration times Go's decode alone, GoProcessor.Process and
// Processor.Process of the same bytes into 110×150; x-decode metrics are
// processor time / decode time. The progressive JPEG is made with
// jpegtran, or with libvips when jpegtran is not installed.

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/gormthumb/gormthumb"
)

func benchPhoto(w, h int, seed uint64, alpha bool) *image.NRGBA {
	rng := seed*0x9E3779B97F4A7C15 + 1
	next := func() uint64 { // xorshift64*
		rng ^= rng >> 12
		rng ^= rng << 25
		rng ^= rng >> 27
		return rng * 2685821657736338717
	}
	unit := func() float64 { return float64(next()>>11) / (1 << 53) }
	// A coarse grid of colours, interpolated: light and large shapes.
	const gw, gh = 9, 7
	var grid [gh][gw][3]float64
	for y := range gh {
		for x := range gw {
			for c := range 3 {
				grid[y][x][c] = 30 + 190*unit()
			}
		}
	}
	// Objects with hard edges.
	type disc struct {
		x, y, r2 float64
		c        [3]float64
	}
	discs := make([]disc, 12)
	for i := range discs {
		r := (0.03 + 0.12*unit()) * float64(min(w, h))
		discs[i] = disc{unit() * float64(w), unit() * float64(h), r * r, [3]float64{255 * unit(), 255 * unit(), 255 * unit()}}
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		fy := float64(y) / float64(h) * (gh - 1)
		iy := min(int(fy), gh-2)
		ty := fy - float64(iy)
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := range w {
			fx := float64(x) / float64(w) * (gw - 1)
			ix := min(int(fx), gw-2)
			tx := fx - float64(ix)
			var c [3]float64
			for k := range 3 {
				a := grid[iy][ix][k]*(1-tx) + grid[iy][ix+1][k]*tx
				b := grid[iy+1][ix][k]*(1-tx) + grid[iy+1][ix+1][k]*tx
				c[k] = a*(1-ty) + b*ty
			}
			for _, d := range discs {
				dx, dy := float64(x)-d.x, float64(y)-d.y
				if dx*dx+dy*dy < d.r2 {
					c = d.c
				}
			}
			// Fine texture (fabric, foliage) and noise.
			tex := 12 * math.Sin(float64(x)*0.31+float64(y)*0.17) * math.Sin(float64(y)*0.23)
			n := next()
			p := row[4*x : 4*x+4 : 4*x+4]
			for k := range 3 {
				p[k] = clampU8(c[k] + tex + float64(int(n>>(8*k)&15)-8))
			}
			p[3] = 255
			if alpha {
				p[3] = uint8(96 + (x*159/w+y*64/h)%160)
			}
		}
	}
	return img
}

func clampU8(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}

var benchSources = sync.OnceValues(func() (map[string][]byte, error) {
	const w, h = 4000, 3000
	var baseline, pngBuf bytes.Buffer
	if err := jpeg.Encode(&baseline, benchPhoto(w, h, 7, false), &jpeg.Options{Quality: 90}); err != nil {
		return nil, err
	}
	if err := png.Encode(&pngBuf, benchPhoto(w, h, 8, true)); err != nil {
		return nil, err
	}
	prog, err := progressive(baseline.Bytes())
	if err != nil {
		return nil, err
	}
	return map[string][]byte{"jpeg-baseline-q90": baseline.Bytes(), "jpeg-progressive": prog, "png-rgba": pngBuf.Bytes()}, nil
})

// progressive rewrites a baseline JPEG as progressive: jpegtran if
// installed (lossless), else libvips.
func progressive(baseline []byte) ([]byte, error) {
	if path, err := exec.LookPath("jpegtran"); err == nil {
		cmd := exec.Command(path, "-progressive", "-copy", "none")
		cmd.Stdin = bytes.NewReader(baseline)
		return cmd.Output()
	}
	if err := start(); err != nil {
		return nil, err
	}
	return progressiveJPEG(baseline)
}

func BenchmarkProcessors(b *testing.B) {
	sources, err := benchSources()
	if err != nil {
		b.Fatal(err)
	}
	specs := []gormthumb.Spec{{Width: 110, Height: 150}}
	ctx := context.Background()
	for _, name := range []string{"jpeg-baseline-q90", "jpeg-progressive", "png-rgba"} {
		data := sources[name]
		b.Run(name, func(b *testing.B) {
			var tDecode, tGo, tVips time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				g, err := gormthumb.GoProcessor{}.Process(ctx, bytes.NewReader(data), specs, gormthumb.Limits{})
				if err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				v, err := Processor{}.Process(ctx, bytes.NewReader(data), specs, gormthumb.Limits{})
				if err != nil {
					b.Fatal(err)
				}
				t3 := time.Now()
				if g[0].Width != v[0].Width || g[0].Height != v[0].Height {
					b.Fatalf("Go %dx%d, vips %dx%d", g[0].Width, g[0].Height, v[0].Width, v[0].Height)
				}
				tDecode += t1.Sub(t0)
				tGo += t2.Sub(t1)
				tVips += t3.Sub(t2)
			}
			ms := func(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/float64(b.N)/100) / 10 }
			b.ReportMetric(ms(tDecode), "decode-ms")
			b.ReportMetric(ms(tGo), "go-ms")
			b.ReportMetric(ms(tVips), "vips-ms")
			b.ReportMetric(float64(tGo)/float64(tDecode), "go-x-decode")
			b.ReportMetric(float64(tVips)/float64(tDecode), "vips-x-decode")
			b.ReportMetric(float64(memHighwater())/(1<<20), "vips-peak-MB")
		})
	}
}
