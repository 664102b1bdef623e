package gormthumb

// Benchmarks for the performance targets (issue 5). Every figure is a
// ratio measured inside one benchmark run, with both sides interleaved, so
// a slow or busy machine moves both alike. Inputs are made by the
// benchmarks themselves (perfPhoto in perf_test.go, deterministic).
//
//	go test -run '^$' -bench . -benchtime 5x -cpu 1,2 .
//
// The progressive JPEG case needs jpegtran (libjpeg-turbo-progs) or the
// vips command (libvips-tools) to make its input, and is skipped without.

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/disintegration/imaging"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// benchSource is one encoded benchmark input.
type benchSource struct {
	name string
	data []byte
}

// Sources are 4000×3000 (12 MP), made once per test binary.
var benchSources = sync.OnceValues(func() ([]benchSource, error) {
	const w, h = 4000, 3000
	var baseline, pngBuf bytes.Buffer
	if err := jpeg.Encode(&baseline, perfPhoto(w, h, 7, false), &jpeg.Options{Quality: 90}); err != nil {
		return nil, err
	}
	if err := png.Encode(&pngBuf, perfPhoto(w, h, 8, true)); err != nil {
		return nil, err
	}
	out := []benchSource{{"jpeg-baseline-q90", baseline.Bytes()}}
	if prog, err := progressiveJPEG(baseline.Bytes()); err == nil {
		out = append(out, benchSource{"jpeg-progressive", prog})
	} else {
		out = append(out, benchSource{"jpeg-progressive", nil})
	}
	return append(out, benchSource{"png-rgba", pngBuf.Bytes()}), nil
})

// progressiveJPEG converts a baseline JPEG to a progressive one with
// jpegtran (lossless) or, failing that, the vips command.
func progressiveJPEG(baseline []byte) ([]byte, error) {
	if path, err := exec.LookPath("jpegtran"); err == nil {
		cmd := exec.Command(path, "-progressive", "-copy", "none")
		cmd.Stdin = bytes.NewReader(baseline)
		return cmd.Output()
	}
	path, err := exec.LookPath("vips")
	if err != nil {
		return nil, fmt.Errorf("neither jpegtran nor vips is installed")
	}
	dir, err := os.MkdirTemp("", "gormthumb-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "in.jpg"), filepath.Join(dir, "out.jpg")
	if err := os.WriteFile(in, baseline, 0o600); err != nil {
		return nil, err
	}
	if msg, err := exec.Command(path, "copy", in, out+"[Q=90,interlace,subsample-mode=on]").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("vips copy: %v: %s", err, msg)
	}
	return os.ReadFile(out)
}

func eachBenchSource(b *testing.B, fn func(b *testing.B, src benchSource)) {
	sources, err := benchSources()
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range sources {
		b.Run(s.name, func(b *testing.B) {
			if s.data == nil {
				b.Skip("no progressive JPEG encoder: install jpegtran (libjpeg-turbo-progs) or vips (libvips-tools)")
			}
			fn(b, s)
		})
	}
}

// benchProduct is the model the plugin benchmarks save.
type benchProduct struct {
	ID         uint
	Name       string
	Cover      ImageField
	CoverThumb ImageField `thumb:"110x150,source=Cover"`
}

// benchPlain has the same columns and no thumb tag: the baseline for
// what the plugin adds to a save.
type benchPlain struct {
	ID         uint
	Name       string
	Cover      ImageField
	CoverThumb ImageField
}

// benchDB opens a sqlite file database with the plugin registered.
func benchDB(b *testing.B, bucket *blob.Bucket, opts ...Option) *gorm.DB {
	b.Helper()
	db, err := gorm.Open(sqlite.Open(filepath.Join(b.TempDir(), "bench.db")+"?_busy_timeout=5000&_journal_mode=WAL"),
		&gorm.Config{Logger: logger.Discard})
	if err != nil {
		b.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		b.Cleanup(func() { sqlDB.Close() })
	}
	if err := db.Use(New(bucket, opts...)); err != nil {
		b.Fatal(err)
	}
	if err := db.AutoMigrate(&benchProduct{}, &benchPlain{}); err != nil {
		b.Fatal(err)
	}
	return db
}

func benchPut(b *testing.B, bucket *blob.Bucket, key string, data []byte) {
	b.Helper()
	if err := bucket.WriteAll(context.Background(), key, data, nil); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPipelineVsDecode: a Create through the plugin (read from the
// bucket, decode, resize into 110×150, encode, write the blob, save the
// row) against Go's decode alone of the same bytes, interleaved in each
// iteration. Metric x-decode is pipeline time / decode time.
func BenchmarkPipelineVsDecode(b *testing.B) {
	eachBenchSource(b, func(b *testing.B, src benchSource) {
		bucket := memblob.OpenBucket(nil)
		defer bucket.Close()
		db := benchDB(b, bucket)
		benchPut(b, bucket, "src/photo", src.data)
		var decode, pipeline time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			if _, _, err := image.Decode(bytes.NewReader(src.data)); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			p := benchProduct{Cover: ImageField{Key: "src/photo"}}
			if err := db.Create(&p).Error; err != nil {
				b.Fatal(err)
			}
			t2 := time.Now()
			decode += t1.Sub(t0)
			pipeline += t2.Sub(t1)
			if w, h, _ := p.CoverThumb.Size(); w != 110 || h != 83 {
				b.Fatalf("thumbnail %dx%d, want 110x83", w, h)
			}
		}
		b.ReportMetric(float64(decode.Milliseconds())/float64(b.N), "decode-ms")
		b.ReportMetric(float64(pipeline.Milliseconds())/float64(b.N), "pipeline-ms")
		b.ReportMetric(float64(pipeline)/float64(decode), "x-decode")
	})
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
// the bytes allocated by GoProcessor.Process (reading from the bucket, one
// decode, the thumbnails) bound its peak heap. They are reported against
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
	eachBenchSource(b, func(b *testing.B, src benchSource) {
		img, _, err := image.Decode(bytes.NewReader(src.data))
		if err != nil {
			b.Fatal(err)
		}
		decoded := decodedBytes(img)
		img = nil
		bucket := memblob.OpenBucket(nil)
		defer bucket.Close()
		benchPut(b, bucket, "src", src.data)
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
					r, err := bucket.NewReader(ctx, "src", nil)
					if err != nil {
						b.Fatal(err)
					}
					out, err := GoProcessor{}.Process(ctx, &limitedReader{r: r, n: DefaultLimits.MaxBytes}, set.specs, DefaultLimits)
					r.Close()
					if err != nil || len(out) != len(set.specs) {
						b.Fatalf("%d thumbnails, %v", len(out), err)
					}
					runtime.ReadMemStats(&ms)
					alloc += ms.TotalAlloc - before
				}
				per := float64(alloc) / float64(b.N)
				b.ReportMetric(float64(decoded)/(1<<20), "decoded-MB")
				b.ReportMetric(float64(len(src.data))/(1<<20), "compressed-MB")
				b.ReportMetric(per/float64(decoded), "x-decoded")
				b.ReportMetric((per-float64(decoded))/(1<<20), "extra-MB")
			})
		}
	})
}

// BenchmarkUnchangedSave: Save of a row whose source did not change, on a
// model with a thumbnail, against the same Save on a model without thumb
// tags in the same sqlite file, interleaved (savesPerOp pairs per
// iteration, so even -benchtime 5x averages enough). x-plain is the ratio.
func BenchmarkUnchangedSave(b *testing.B) {
	const savesPerOp = 400
	sources, err := benchSources()
	if err != nil {
		b.Fatal(err)
	}
	for _, kind := range []string{"mem", "file", "mem-immutable", "file-immutable"} {
		b.Run(kind, func(b *testing.B) {
			bucket := memblob.OpenBucket(nil)
			if strings.HasPrefix(kind, "file") {
				bucket, err = OpenBucket(context.Background(), "file://"+filepath.ToSlash(b.TempDir())+"?no_tmp_dir=1")
				if err != nil {
					b.Fatal(err)
				}
			}
			defer bucket.Close()
			// -immutable: WithImmutableSources, so no attributes look-up.
			db := benchDB(b, bucket, WithImmutableSources(strings.HasSuffix(kind, "-immutable")))
			benchPut(b, bucket, "src/photo.jpg", sources[0].data)
			p := benchProduct{Name: "p", Cover: ImageField{Key: "src/photo.jpg"}}
			q := benchPlain{Name: "q", Cover: ImageField{Key: "src/photo.jpg"}, CoverThumb: ImageField{Key: "t.jpg"}}
			if err := db.Create(&p).Error; err != nil {
				b.Fatal(err)
			}
			if err := db.Create(&q).Error; err != nil {
				b.Fatal(err)
			}
			thumb := p.CoverThumb
			var tp, tq time.Duration
			dp := make([]time.Duration, 0, b.N*savesPerOp)
			dq := make([]time.Duration, 0, b.N*savesPerOp)
			b.ResetTimer()
			for i := 0; i < b.N*savesPerOp; i++ {
				t0 := time.Now()
				if err := db.Save(&p).Error; err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := db.Save(&q).Error; err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				tp += t1.Sub(t0)
				tq += t2.Sub(t1)
				dp = append(dp, t1.Sub(t0))
				dq = append(dq, t2.Sub(t1))
			}
			slices.Sort(dp)
			slices.Sort(dq)
			b.ReportMetric(float64(dp[len(dp)/2])/float64(dq[len(dq)/2]), "x-median")
			if p.CoverThumb != thumb {
				b.Fatalf("thumbnail changed from %q to %q", thumb.Key, p.CoverThumb.Key)
			}
			b.ReportMetric(float64(tp.Microseconds())/float64(b.N*savesPerOp), "thumbed-µs")
			b.ReportMetric(float64(tq.Microseconds())/float64(b.N*savesPerOp), "plain-µs")
			b.ReportMetric(float64(tp)/float64(tq), "x-plain")
		})
	}
}

// heapSampler records the peak of the heap's object bytes while running.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak atomic.Uint64
}

func startHeapSampler() *heapSampler {
	s := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > s.peak.Load() {
				s.peak.Store(v)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *heapSampler) Stop() uint64 {
	close(s.stop)
	<-s.done
	return s.peak.Load()
}

// BenchmarkBatchCreate: Create of 32 rows with distinct 2 MP sources at
// concurrency GOMAXPROCS against concurrency 1, interleaved. x-throughput
// is the speed-up. peak-MB is the sampled peak heap of one more concurrent
// run with the collector at GOGC=5 (so the heap is close to what is live),
// next to the size of all 32 decoded sources (all-MB) and of one (one-MB).
func BenchmarkBatchCreate(b *testing.B) {
	const rows, w, h = 32, 1632, 1224
	srcs := make([][]byte, rows)
	for i := range srcs {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, perfPhoto(w, h, uint64(100+i), false), &jpeg.Options{Quality: 90}); err != nil {
			b.Fatal(err)
		}
		srcs[i] = buf.Bytes()
	}
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	for i, data := range srcs {
		benchPut(b, bucket, fmt.Sprintf("src/%d.jpg", i), data)
	}
	par := benchDB(b, bucket, WithConcurrency(runtime.GOMAXPROCS(0)))
	seq := benchDB(b, bucket, WithConcurrency(1))
	batch := func(db *gorm.DB) {
		ps := make([]benchProduct, rows)
		for i := range ps {
			ps[i].Cover = ImageField{Key: fmt.Sprintf("src/%d.jpg", i)}
		}
		if err := db.Create(&ps).Error; err != nil {
			b.Fatal(err)
		}
		for _, p := range ps {
			if p.CoverThumb.Key == "" {
				b.Fatal("row without thumbnail")
			}
		}
	}
	var tPar, tSeq time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		batch(par)
		t1 := time.Now()
		batch(seq)
		tPar += t1.Sub(t0)
		tSeq += time.Since(t1)
	}
	b.StopTimer()
	old := debug.SetGCPercent(5)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := startHeapSampler()
	batch(par)
	peak := s.Stop() - ms.HeapAlloc
	debug.SetGCPercent(old)
	b.ReportMetric(float64(tPar.Milliseconds())/float64(b.N), "concurrent-ms")
	b.ReportMetric(float64(tSeq.Milliseconds())/float64(b.N), "one-at-a-time-ms")
	b.ReportMetric(float64(tSeq)/float64(tPar), "x-throughput")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
	b.ReportMetric(float64(rows*w*h*3/2)/(1<<20), "all-MB")
	b.ReportMetric(float64(w*h*3/2)/(1<<20), "one-MB")
}

// BenchmarkResize: the resize step alone from a decoded 12 MP source into
// 110×150, the fast path against one Lanczos pass (the quality reference in
// perf_test.go).
func BenchmarkResize(b *testing.B) {
	eachBenchSource(b, func(b *testing.B, src benchSource) {
		img, _, err := image.Decode(bytes.NewReader(src.data))
		if err != nil {
			b.Fatal(err)
		}
		tw, th := fitSize(4000, 3000, 110, 150, false)
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
