package thumb

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// oldPNGProcess is the pipeline for PNGs as it was before pngscale:
// image/png's full decode, then the same resize and encode.
func oldPNGProcess(tb testing.TB, data []byte, specs []Spec) []Thumbnail {
	s := fullPNG(tb, data)
	out := make([]Thumbnail, 0, len(specs))
	for _, spec := range specs {
		t, err := makeThumbnail(s, s.plan(spec))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, t)
	}
	return out
}

// BenchmarkPNGVsPillow: a 110×150 thumbnail of each 12 MP PNG of
// testphoto.PNGs12MP (decode, resize, PNG encode) by GoProcessor.Process,
// side by side with Pillow's Image.thumbnail of the same file in the
// long-running worker (../shared/peer/pillow-thumb.py, which times
// itself and writes PNG for a .png file), and with the pipeline before
// pngscale (oldPNGProcess). Each iteration runs all three, interleaved,
// after one untimed warm-up round. Reported as BenchmarkVsPillow does:
// the medians go-ms, pillow-ms and old-ms, x-pillow = go/pillow and
// x-old = old/pillow. Targets: x-pillow <= 0.8 for RGB, <= 1.0 for RGBA
// and 16-bit RGB.
//
//	go test -run '^$' -bench PNGVsPillow -benchtime 5x -count 5 ./thumb
func BenchmarkPNGVsPillow(b *testing.B) {
	pil := startPillow(b, 110, 150)
	specs := []Spec{{Width: 110, Height: 150}}
	ctx := context.Background()
	dir := b.TempDir()
	for _, src := range testphoto.PNGs12MP() {
		b.Run(src.Name, func(b *testing.B) {
			path := filepath.Join(dir, src.Name+".png")
			if err := os.WriteFile(path, src.Data, 0o600); err != nil {
				b.Fatal(err)
			}
			goThumb := func() Thumbnail {
				out, err := GoProcessor{}.Process(ctx, bytes.NewReader(src.Data), specs, DefaultLimits)
				if err != nil {
					b.Fatal(err)
				}
				return out[0]
			}
			th := goThumb()
			_, pilSize := pil.thumbnail(b, path)
			oldPNGProcess(b, src.Data, specs)
			b.Logf("%s: Go %dx%d, Pillow %s", src.Name, th.Width, th.Height, pilSize)

			var goT, pilT, oldT []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				goThumb()
				goT = append(goT, time.Since(t0))
				d, _ := pil.thumbnail(b, path)
				pilT = append(pilT, d)
				t0 = time.Now()
				oldPNGProcess(b, src.Data, specs)
				oldT = append(oldT, time.Since(t0))
			}
			b.StopTimer()
			g, p, o := median(goT), median(pilT), median(oldT)
			ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
			b.ReportMetric(float64(g), "ns/op")
			b.ReportMetric(ms(g), "go-ms")
			b.ReportMetric(ms(p), "pillow-ms")
			b.ReportMetric(ms(o), "old-ms")
			b.ReportMetric(float64(g)/float64(p), "x-pillow")
			b.ReportMetric(float64(o)/float64(p), "x-old")
		})
	}
}

// BenchmarkPNGPeakMemory: the peak heap (peakHeap: collector on, as in
// production) of one 110×150 thumbnail of each 12 MP PNG through
// GoProcessor.Process, and through the pipeline before pngscale
// (oldPNGProcess), alternately in one run; the highest of the iterations
// for each, in MB, and go/old (target <= 0.1).
//
//	go test -run '^$' -bench PNGPeakMemory -benchtime 5x ./thumb
func BenchmarkPNGPeakMemory(b *testing.B) {
	specs := []Spec{{Width: 110, Height: 150}}
	ctx := context.Background()
	for _, src := range testphoto.PNGs12MP() {
		b.Run(src.Name, func(b *testing.B) {
			var goPeak, oldPeak uint64
			for i := 0; i < b.N; i++ {
				goPeak = max(goPeak, peakHeap(func() {
					if _, err := (GoProcessor{}).Process(ctx, bytes.NewReader(src.Data), specs, DefaultLimits); err != nil {
						b.Fatal(err)
					}
				}))
				oldPeak = max(oldPeak, peakHeap(func() { oldPNGProcess(b, src.Data, specs) }))
			}
			mb := func(n uint64) float64 { return float64(n) / (1 << 20) }
			b.ReportMetric(mb(goPeak), "go-peak-MB")
			b.ReportMetric(mb(oldPeak), "old-peak-MB")
			b.ReportMetric(float64(goPeak)/float64(oldPeak), "go/old")
		})
	}
}
