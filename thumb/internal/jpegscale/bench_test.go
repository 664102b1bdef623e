package jpegscale

import (
	"bytes"
	"image"
	"image/jpeg"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

var (
	benchOnce        sync.Once
	benchBaseline    []byte
	benchProgressive []byte
)

// benchFiles returns a 12-megapixel photo encoded by image/jpeg at q90
// (4:2:0), and its progressive version by jpegtran (nil if jpegtran is
// absent).
func benchFiles(b *testing.B) ([]byte, []byte) {
	benchOnce.Do(func() {
		img := testphoto.Photo(4000, 3000, 1, false)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			b.Fatal(err)
		}
		benchBaseline = buf.Bytes()
		if _, err := exec.LookPath("jpegtran"); err == nil {
			cmd := exec.Command("jpegtran", "-progressive")
			cmd.Stdin = bytes.NewReader(benchBaseline)
			if out, err := cmd.Output(); err == nil {
				benchProgressive = out
			}
		}
	})
	return benchBaseline, benchProgressive
}

// BenchmarkDecode decodes the 12 MP photo for a thumbnail fitting 110x150:
// with image/jpeg, with this package at 1/1, and at ScaleFor's scale.
// Besides ns/op and allocations it reports peak-MB, the high-water mark of
// HeapInuse above the level before the decode, sampled every 200us during
// one extra decode after the timed ones.
func BenchmarkDecode(b *testing.B) {
	base, prog := benchFiles(b)
	for _, f := range []struct {
		name string
		data []byte
	}{{"baseline", base}, {"progressive", prog}} {
		b.Run(f.name, func(b *testing.B) {
			if f.data == nil {
				b.Skip("jpegtran not found (install libjpeg-turbo-progs)")
			}
			cfg, err := DecodeConfig(bytes.NewReader(f.data))
			if err != nil {
				b.Fatal(err)
			}
			scale := ScaleFor(cfg.Width, cfg.Height, 110, 150)
			for _, v := range []struct {
				name   string
				decode func() (image.Image, error)
			}{
				{"stdlib", func() (image.Image, error) { return jpeg.Decode(bytes.NewReader(f.data)) }},
				{"scale1", func() (image.Image, error) { return Decode(bytes.NewReader(f.data), Options{}) }},
				{"scaled", func() (image.Image, error) { return Decode(bytes.NewReader(f.data), Options{Scale: scale}) }},
			} {
				b.Run(v.name, func(b *testing.B) {
					b.ReportAllocs()
					b.SetBytes(int64(len(f.data)))
					for b.Loop() {
						if _, err := v.decode(); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					b.ReportMetric(peakHeapMB(func() { v.decode() }), "peak-MB")
				})
			}
		})
	}
}

// peakHeapMB runs f while sampling HeapInuse and returns the high-water
// mark above the starting level, in MB.
func peakHeapMB(f func()) float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	start := ms.HeapInuse
	peak := start
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapInuse)
	return float64(peak-start) / (1 << 20)
}
