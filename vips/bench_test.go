package vips

// The libvips processor against the pure-Go one, in the same run, on the
// core's 12 MP benchmark inputs (internal/testphoto.Sources12MP):
//
//	cd vips && go test -run '^$' -bench . -benchtime 5x -cpu 1,2 .
//
// Each iteration times Go's decode alone, GoProcessor.Process and
// Processor.Process of the same bytes into 110×150; x-decode metrics are
// processor time / decode time. The progressive JPEG is made with
// jpegtran, or with the vips command when jpegtran is not installed
// (internal/testphoto).

import (
	"bytes"
	"context"
	"image"
	"math"
	"testing"
	"time"

	"github.com/gormthumb/gormthumb/internal/testphoto"
	"github.com/gormthumb/gormthumb/thumb"
)

func BenchmarkProcessors(b *testing.B) {
	sources := map[string][]byte{}
	for _, src := range testphoto.Sources12MP() {
		sources[src.Name] = src.Data
	}
	specs := []thumb.Spec{{Width: 110, Height: 150}}
	ctx := context.Background()
	for _, name := range []string{"jpeg-baseline-q90", "jpeg-progressive", "png-rgba"} {
		data := sources[name]
		b.Run(name, func(b *testing.B) {
			if data == nil {
				b.Skip("no progressive JPEG encoder: install jpegtran (libjpeg-turbo-progs) or vips (libvips-tools)")
			}
			var tDecode, tGo, tVips time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				g, err := thumb.GoProcessor{}.Process(ctx, bytes.NewReader(data), specs, thumb.Limits{})
				if err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				v, err := Processor{}.Process(ctx, bytes.NewReader(data), specs, thumb.Limits{})
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
