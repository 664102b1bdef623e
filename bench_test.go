package gormthumb

// Benchmarks for the performance targets (issue 5). Every figure is a
// ratio measured inside one benchmark run, with both sides interleaved, so
// a slow or busy machine moves both alike. Inputs are made by the
// benchmarks themselves (internal/testphoto, deterministic).
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
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gormthumb/gormthumb/internal/testphoto"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

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
	eachBenchSource(b, func(b *testing.B, src testphoto.Source) {
		bucket := memblob.OpenBucket(nil)
		defer bucket.Close()
		db := benchDB(b, bucket)
		benchPut(b, bucket, "src/photo", src.Data)
		var decode, pipeline time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			if _, _, err := image.Decode(bytes.NewReader(src.Data)); err != nil {
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

// BenchmarkUnchangedSave: Save of a row whose source did not change, on a
// model with a thumbnail, against the same Save on a model without thumb
// tags in the same sqlite file, interleaved (savesPerOp pairs per
// iteration, so even -benchtime 5x averages enough). x-plain is the ratio.
func BenchmarkUnchangedSave(b *testing.B) {
	const savesPerOp = 400
	var err error
	sources := testphoto.Sources12MP()
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
			benchPut(b, bucket, "src/photo.jpg", sources[0].Data)
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
		if err := jpeg.Encode(&buf, testphoto.Photo(w, h, uint64(100+i), false), &jpeg.Options{Quality: 90}); err != nil {
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
