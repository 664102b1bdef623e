package thumb

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disintegration/imaging"
	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// Benchmarks of the pipeline alone. Every figure is a ratio measured inside
// one benchmark run, with both sides interleaved, so a slow or busy machine
// moves both alike. Inputs are internal/testphoto's 12 MP sources.
//
//	go test -run '^$' -bench . -benchtime 5x ./thumb
//	go test -run '^$' -bench 'VsPillow|Memory' -benchtime 10x ./thumb
//
// The progressive JPEG case needs jpegtran (libjpeg-turbo-progs) or the
// vips command (libvips-tools) to make its input, and is skipped without.

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
// thumbnails) bound its peak heap. They are reported against the image
// decoded at full size (x-decoded; 1.0 would be nothing but the full-size
// pixels, and a JPEG decoded at a reduced scale takes a fraction of that)
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
	testphoto.EachSource(b, testphoto.Sources12MP(), func(b *testing.B, src testphoto.Source) {
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
// 110×150, the fast path against one Lanczos pass (the quality reference of
// TestFastResizeQuality, resize_test.go).
func BenchmarkResize(b *testing.B) {
	testphoto.EachSource(b, testphoto.Sources12MP(), func(b *testing.B, src testphoto.Source) {
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

// oldProcess is the pipeline as it was before jpegscale: a full image/jpeg
// decode, then the same resize, orientation and encode. The benchmarks
// report it for reference.
func oldProcess(tb testing.TB, data []byte, specs []Spec) []Thumbnail {
	s := fullDecode(tb, data)
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

// pillowPython is the Python with Debian's python3-pil; the one first on
// PATH may be another without Pillow.
const pillowPython = "/usr/bin/python3"

// pillowWorker is a running ../shared/peer/pillow-thumb.py: it reads file
// paths, one a line, and answers each with "SECONDS WxH", the time
// Pillow's Image.thumbnail (draft-mode JPEG decode, resize, JPEG q85
// encode) took in the worker itself.
type pillowWorker struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

// startPillow starts the worker for a w×h box, skipping the benchmark
// with a clear message when the script, the Python or Pillow is missing.
func startPillow(b *testing.B, w, h int) *pillowWorker {
	script := testphoto.SharedFile("peer/pillow-thumb.py")
	if script == "" {
		b.Skip("../shared/peer/pillow-thumb.py not found beside the repository")
	}
	if err := exec.Command(pillowPython, "-c", "import PIL").Run(); err != nil {
		b.Skipf("%s with Pillow is needed to compare with Pillow (Debian: apt-get install python3-pil): %v", pillowPython, err)
	}
	cmd := exec.Command(pillowPython, script, strconv.Itoa(w), strconv.Itoa(h))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &pillowWorker{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	b.Cleanup(p.close)
	return p
}

// thumbnail has the worker make the thumbnail of the file at path, and
// returns the time it reported and the size it made.
func (p *pillowWorker) thumbnail(b *testing.B, path string) (time.Duration, string) {
	if _, err := fmt.Fprintln(p.in, path); err != nil {
		b.Fatal(err)
	}
	if !p.out.Scan() {
		b.Fatalf("pillow worker stopped: %v", p.out.Err())
	}
	secs, size, ok := strings.Cut(p.out.Text(), " ")
	f, err := strconv.ParseFloat(secs, 64)
	if !ok || err != nil {
		b.Fatalf("pillow worker said %q", p.out.Text())
	}
	return time.Duration(f * float64(time.Second)), size
}

func (p *pillowWorker) close() {
	p.in.Close()
	p.cmd.Wait()
}

// median of d (sorted in place).
func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	if n := len(d); n%2 == 0 {
		return (d[n/2-1] + d[n/2]) / 2
	}
	return d[len(d)/2]
}

// BenchmarkVsPillow: a 110×150 thumbnail of each 12 MP JPEG source
// (decode, resize, JPEG encode) by GoProcessor.Process, side by side with
// Pillow's Image.thumbnail of the same file in a long-running worker
// (../shared/peer/pillow-thumb.py, which times itself, so process
// start-up and the pipe are not counted), and with the pipeline before
// jpegscale (full image/jpeg decode; oldProcess). Each iteration runs all
// three, interleaved, after one untimed warm-up round. Reported: the
// medians go-ms, pillow-ms and old-ms, x-pillow = go/pillow and
// x-old = old/pillow (the same ratio for the old path). ns/op is Go's
// median. Targets: x-pillow <= 2.0 for baseline, <= 1.3 for progressive.
func BenchmarkVsPillow(b *testing.B) {
	pil := startPillow(b, 110, 150)
	specs := []Spec{{Width: 110, Height: 150}}
	ctx := context.Background()
	dir := b.TempDir()
	for _, src := range testphoto.JPEGs12MP() {
		b.Run(src.Name, func(b *testing.B) {
			if src.Data == nil {
				b.Skip("no progressive JPEG encoder: install jpegtran (libjpeg-turbo-progs) or vips (libvips-tools)")
			}
			path := filepath.Join(dir, src.Name+".jpg")
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
			// Warm-up, and what each made.
			th := goThumb()
			_, pilSize := pil.thumbnail(b, path)
			oldProcess(b, src.Data, specs)
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
				oldProcess(b, src.Data, specs)
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

// heapObjects is the runtime/metrics sample of the bytes in heap objects,
// live or not yet swept.
const heapObjects = "/memory/classes/heap/objects:bytes"

// peakHeap runs fn and returns the highest heap (heap objects, live or
// garbage not yet collected) seen while it ran, above the heap after a
// collection just before; a goroutine samples it every 50µs, with the
// collector on as in production.
func peakHeap(fn func()) uint64 {
	sample := []metrics.Sample{{Name: heapObjects}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	runtime.GC()
	base := read()
	peak := base
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(50 * time.Microsecond)
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
	fn()
	last := read()
	close(done)
	wg.Wait()
	return max(peak, last) - base
}

// BenchmarkPeakMemory: the peak heap of one 110×150 thumbnail of each 12
// MP JPEG source through GoProcessor.Process, and through the pipeline
// before jpegscale (oldProcess), alternately in one run. Reported in MB
// (the highest of the iterations for each), with their ratio go/old; the
// target for progressive is <= 0.25. For scale, rgba-MB is the size of
// one full-size RGBA copy of the source.
func BenchmarkPeakMemory(b *testing.B) {
	specs := []Spec{{Width: 110, Height: 150}}
	ctx := context.Background()
	for _, src := range testphoto.JPEGs12MP() {
		b.Run(src.Name, func(b *testing.B) {
			if src.Data == nil {
				b.Skip("no progressive JPEG encoder: install jpegtran (libjpeg-turbo-progs) or vips (libvips-tools)")
			}
			var goPeak, oldPeak uint64
			for i := 0; i < b.N; i++ {
				goPeak = max(goPeak, peakHeap(func() {
					if _, err := (GoProcessor{}).Process(ctx, bytes.NewReader(src.Data), specs, DefaultLimits); err != nil {
						b.Fatal(err)
					}
				}))
				oldPeak = max(oldPeak, peakHeap(func() { oldProcess(b, src.Data, specs) }))
			}
			mb := func(n uint64) float64 { return float64(n) / (1 << 20) }
			b.ReportMetric(mb(goPeak), "go-peak-MB")
			b.ReportMetric(mb(oldPeak), "old-peak-MB")
			b.ReportMetric(float64(goPeak)/float64(oldPeak), "go/old")
			cfg := cfgOf(b, src.Data)
			b.ReportMetric(float64(4*cfg.Width*cfg.Height)/(1<<20), "rgba-MB")
		})
	}
}
