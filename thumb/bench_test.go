package thumb

import (
	"bytes"
	"context"
	"image"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// Benchmarks of the pipeline alone. Every figure is a ratio measured inside
// one benchmark run, with both sides interleaved, so a slow or busy machine
// moves both alike. Inputs are internal/testphoto's 12 MP sources.
//
//	go test -run '^$' -bench . -benchtime 5x ./thumb
//
// The progressive JPEG case needs jpegtran (libjpeg-turbo-progs) or the
// vips command (libvips-tools) to make its input, and is skipped without.

// eachBenchSource runs fn on each of testphoto.Sources12MP.
func eachBenchSource(b *testing.B, fn func(b *testing.B, src testphoto.Source)) {
	for _, s := range testphoto.Sources12MP() {
		b.Run(s.Name, func(b *testing.B) {
			if s.Data == nil {
				b.Skip("no progressive JPEG encoder: install jpegtran (libjpeg-turbo-progs) or vips (libvips-tools)")
			}
			fn(b, s)
		})
	}
}

// decodedBytes is the size of the pixel buffers of a decoded image.
func decodedBytes(img image.Image) int {
	switch m := img.(type) {
	case *image.YCbCr:
		return len(m.Y) + len(m.Cb) + len(m.Cr)
	case *image.NRGBA:
		return len(m.Pix)
	case *image.RGBA:
		return len(m.Pix)
	case *image.Gray:
		return len(m.Pix)
	case *image.CMYK:
		return len(m.Pix)
	case *image.NRGBA64:
		return len(m.Pix)
	case *image.RGBA64:
		return len(m.Pix)
	case *image.Paletted:
		return len(m.Pix)
	}
	b := img.Bounds()
	return 4 * b.Dx() * b.Dy()
}

// BenchmarkMemory: what one source costs in heap. With the collector off,
// the bytes allocated by GoProcessor.Process (one decode, the
// thumbnails) bound its peak heap. They are reported against
// the decoded image (x-decoded; 1.0 would be nothing but the decoded pixels)
// and as MB beyond it (extra-MB), next to the size of the compressed source
// (a copy of it would show in extra-MB). "one" makes the 110×150
// thumbnail; "three" adds a 300×300 cover crop and a 640×640 fit from the
// same decode.
func BenchmarkMemory(b *testing.B) {
	sets := []struct {
		name  string
		specs []Spec
	}{
		{"one", []Spec{{Width: 110, Height: 150}}},
		{"three", []Spec{{Width: 110, Height: 150}, {Width: 300, Height: 300, Fit: FitCover}, {Width: 640, Height: 640}}},
	}
	eachBenchSource(b, func(b *testing.B, src testphoto.Source) {
		img, _, err := image.Decode(bytes.NewReader(src.Data))
		if err != nil {
			b.Fatal(err)
		}
		decoded := decodedBytes(img)
		img = nil
		ctx := context.Background()
		for _, set := range sets {
			b.Run(set.name, func(b *testing.B) {
				defer debug.SetGCPercent(debug.SetGCPercent(-1))
				var alloc uint64
				var ms runtime.MemStats
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					runtime.GC()
					runtime.ReadMemStats(&ms)
					before := ms.TotalAlloc
					out, err := GoProcessor{}.Process(ctx, bytes.NewReader(src.Data), set.specs, DefaultLimits)
					if err != nil || len(out) != len(set.specs) {
						b.Fatalf("%d thumbnails, %v", len(out), err)
					}
					runtime.ReadMemStats(&ms)
					alloc += ms.TotalAlloc - before
				}
				per := float64(alloc) / float64(b.N)
				b.ReportMetric(float64(decoded)/(1<<20), "decoded-MB")
				b.ReportMetric(float64(len(src.Data))/(1<<20), "compressed-MB")
				b.ReportMetric(per/float64(decoded), "x-decoded")
				b.ReportMetric((per-float64(decoded))/(1<<20), "extra-MB")
			})
		}
	})
}

// BenchmarkResize: the resize step alone from a decoded 12 MP source into
// 110×150, the fast path against one Lanczos pass (the quality reference in
// perf_test.go).
func BenchmarkResize(b *testing.B) {
	eachBenchSource(b, func(b *testing.B, src testphoto.Source) {
		img, _, err := image.Decode(bytes.NewReader(src.Data))
		if err != nil {
			b.Fatal(err)
		}
		tw, th := FitSize(4000, 3000, 110, 150, false)
		b.Run("box+lanczos", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				resample(img, tw, th)
			}
		})
		b.Run("lanczos", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				imaging.Resize(img, tw, th, imaging.Lanczos)
			}
		})
	})
}
