package pngscale

import (
	"bytes"
	"fmt"
	"image"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// Footprint bounds the peak heap of DecodeRegions (sampled with the
// collector at GOGC=1, so garbage hardly counts), and not by much: plain
// and interlaced, 8 and 16 bits, grey (whose output Footprint counts as
// RGBA), one region and three.
func TestFootprint(t *testing.T) {
	if underRace {
		t.Skip("allocation counts: not under -race")
	}
	w, h := 1203, 797
	img := testphoto.Photo(w, h, 4, true)
	for _, o := range []testphoto.PNGOptions{
		{Depth: 8, ColorType: 2}, {Depth: 8, ColorType: 6}, {Depth: 16, ColorType: 6},
		{Depth: 8, ColorType: 6, Interlace: true}, {Depth: 8, ColorType: 0}, {Depth: 16, ColorType: 2, Interlace: true},
	} {
		data := testphoto.WritePNG(w, h, o, func(x, y int, s []uint16) {
			p := img.Pix[img.PixOffset(x, y):]
			for i := range s {
				s[i] = uint16(p[i%4]) << (o.Depth - 8)
			}
		})
		cfg, ok := ParseIHDR(data)
		if !ok {
			t.Fatal("no IHDR")
		}
		for _, regions := range [][]Region{
			{{Factor: 7}},
			{{Factor: 3}, {Rect: image.Rect(100, 50, 700, 650), Factor: 20}, {Rect: image.Rect(0, 0, 40, 40), Factor: 2}},
		} {
			var peak int64
			for range 3 {
				peak = max(peak, peakHeap(func() {
					if _, err := DecodeRegions(bytes.NewReader(data), regions, Options{}); err != nil {
						t.Fatal(err)
					}
				}))
			}
			fp := Footprint(cfg, regions)
			what := fmt.Sprintf("depth %d colour type %d interlaced %v, %d regions", o.Depth, o.ColorType, o.Interlace, len(regions))
			t.Logf("%s: Footprint %d KB, peak heap %d KB", what, fp>>10, peak>>10)
			if fp < peak || fp > 2*peak+inflaterBytes {
				t.Errorf("%s: Footprint %d for a peak heap of %d", what, fp, peak)
			}
		}
	}
}

// peakHeap runs f with the collector at GOGC=1 and returns the highest
// heap (live objects and garbage not yet swept) sampled every 20µs while
// it ran, above the heap before.
func peakHeap(f func()) int64 {
	defer debug.SetGCPercent(debug.SetGCPercent(1))
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() int64 {
		metrics.Read(sample)
		return int64(sample[0].Value.Uint64())
	}
	runtime.GC()
	base := read()
	peak := base
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(20 * time.Microsecond)
		defer t.Stop()
		for {
			peak = max(peak, read())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	f()
	close(done)
	wg.Wait()
	return peak - base
}
