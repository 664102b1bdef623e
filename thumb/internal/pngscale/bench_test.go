package pngscale

import (
	"bytes"
	stdzlib "compress/zlib"
	"image/png"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// BenchmarkDecode decodes each 12 MP PNG of testphoto.PNGs12MP three ways
// in every iteration, interleaved so a busy machine slows all alike:
// image/png's full decode ("std"), Decode at the factor a 110×150
// thumbnail gets ("stream": inflater in a goroutine of its own), and the
// same on the calling goroutine alone ("sync"). Reported: the medians in
// ms, stream/std and stream/sync, and the peak heap of one stream decode
// against one image/png decode (peak-MB, std-peak-MB).
//
//	go test -run '^$' -bench Decode -benchtime 5x -count 5 ./thumb/internal/pngscale/
func BenchmarkDecode(b *testing.B) {
	for _, src := range testphoto.PNGs12MP() {
		b.Run(src.Name, func(b *testing.B) {
			cfg, err := png.DecodeConfig(bytes.NewReader(src.Data))
			if err != nil {
				b.Fatal(err)
			}
			// thumb's factor for 110×83: three times the box; six at 16 bits.
			margin := 3
			if c, _ := ParseIHDR(src.Data); c.Depth == 16 {
				margin = 6
			}
			k := min(cfg.Width/(margin*110), cfg.Height/(margin*83))
			std := func() {
				if _, err := png.Decode(bytes.NewReader(src.Data)); err != nil {
					b.Fatal(err)
				}
			}
			stream := func() {
				if _, err := Decode(bytes.NewReader(src.Data), Options{Factor: k}); err != nil {
					b.Fatal(err)
				}
			}
			sync := func() {
				defer func(n int) { asyncBytes = n }(asyncBytes)
				asyncBytes = 1 << 62
				stream()
			}
			var ts [3][]time.Duration
			b.SetBytes(int64(len(src.Data)))
			for b.Loop() {
				for i, f := range []func(){std, stream, sync} {
					t0 := time.Now()
					f()
					ts[i] = append(ts[i], time.Since(t0))
				}
			}
			med := func(d []time.Duration) float64 {
				slices.Sort(d)
				return float64(d[len(d)/2]) / 1e6
			}
			s, st, sy := med(ts[0]), med(ts[1]), med(ts[2])
			b.ReportMetric(st*1e6, "ns/op")
			b.ReportMetric(s, "std-ms")
			b.ReportMetric(st, "stream-ms")
			b.ReportMetric(sy, "sync-ms")
			b.ReportMetric(st/s, "stream/std")
			b.ReportMetric(st/sy, "stream/sync")
			b.ReportMetric(float64(peakHeap(stream))/(1<<20), "peak-MB")
			b.ReportMetric(float64(peakHeap(std))/(1<<20), "std-peak-MB")
		})
	}
}

// BenchmarkInflater streams each 12 MP PNG at the factor of a 110×150
// thumbnail with klauspost/compress's zlib (what Decode uses) and with
// the standard library's compress/zlib, alternately in each iteration.
// Reported: the medians in ms and klauspost/std, which decided the
// choice.
//
//	go test -run '^$' -bench Inflater -benchtime 5x -count 5 ./thumb/internal/pngscale/
func BenchmarkInflater(b *testing.B) {
	defer func(f func(io.Reader) (io.ReadCloser, error)) { newZlibReader = f }(newZlibReader)
	inflaters := []func(io.Reader) (io.ReadCloser, error){newZlibReader, stdzlib.NewReader}
	for _, src := range testphoto.PNGs12MP() {
		b.Run(src.Name, func(b *testing.B) {
			cfg, _ := ParseIHDR(src.Data)
			margin := 3
			if cfg.Depth == 16 {
				margin = 6
			}
			k := min(cfg.Width/(margin*110), cfg.Height/(margin*83))
			var ts [2][]time.Duration
			for b.Loop() {
				for i, f := range inflaters {
					newZlibReader = f
					t0 := time.Now()
					if _, err := Decode(bytes.NewReader(src.Data), Options{Factor: k}); err != nil {
						b.Fatal(err)
					}
					ts[i] = append(ts[i], time.Since(t0))
				}
			}
			med := func(d []time.Duration) float64 {
				slices.Sort(d)
				return float64(d[len(d)/2]) / 1e6
			}
			kl, std := med(ts[0]), med(ts[1])
			b.ReportMetric(kl*1e6, "ns/op")
			b.ReportMetric(kl, "klauspost-ms")
			b.ReportMetric(std, "std-ms")
			b.ReportMetric(kl/std, "klauspost/std")
		})
	}
}
