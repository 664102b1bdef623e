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

	"github.com/gormthumb/gormthumb/internal/testphoto"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/mempubsub"
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
	return benchUse(b, db, bucket, opts...)
}

// benchUse registers the plugin on db and migrates the benchmark models.
func benchUse(b *testing.B, db *gorm.DB, bucket *blob.Bucket, opts ...Option) *gorm.DB {
	b.Helper()
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
	testphoto.EachSource(b, testphoto.Sources12MP(), func(b *testing.B, src testphoto.Source) {
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
	sources := testphoto.JPEGs12MP()
	for _, kind := range []string{"mem", "file", "mem-version-check", "file-version-check", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			bucket := memblob.OpenBucket(nil)
			if strings.HasPrefix(kind, "file") {
				bucket, err = OpenBucket(context.Background(), "file://"+filepath.ToSlash(b.TempDir())+"?no_tmp_dir=1")
				if err != nil {
					b.Fatal(err)
				}
			}
			defer bucket.Close()
			// -version-check: WithSourceVersionCheck, one attributes look-up per save.
			opt := WithSourceVersionCheck(strings.HasSuffix(kind, "-version-check"))
			var db *gorm.DB
			if kind == "postgres" { // skipped unless GORMTHUMB_TEST_POSTGRES_DSN is set
				db = benchUse(b, openPostgres(b, &gorm.Config{Logger: logger.Discard}), bucket, opt)
			} else {
				db = benchDB(b, bucket, opt)
			}
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
		srcs[i] = testphoto.JPEG(w, h, uint64(100+i), 90)
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

// readmeDSN is the SQLite DSN the README recommends.
const readmeDSN = "?_txlock=immediate&_busy_timeout=5000&_journal_mode=WAL"

// BenchmarkUnrelatedUpdates: one-column Update("name", ...) calls on a row
// of their own, on the same sqlite file (the README's DSN), idle, while a
// loop keeps creating rows with 12 MP JPEG sources, and while Regenerate
// (with Force) remakes the thumbnails of 16 such rows. Thumbnails are made
// before the write transaction, so the updates wait for a row write, not a
// decode. Reports p50 and p90 latency and the number of failed updates
// (which fails the benchmark).
func BenchmarkUnrelatedUpdates(b *testing.B) {
	const updatesPerOp = 30
	src := testphoto.JPEGs12MP()[0].Data
	for _, load := range []string{"idle", "while-saving", "while-regenerating"} {
		b.Run(load, func(b *testing.B) {
			bucket := memblob.OpenBucket(nil)
			defer bucket.Close()
			db, err := gorm.Open(sqlite.Open(filepath.Join(b.TempDir(), "shop.db")+readmeDSN), &gorm.Config{Logger: logger.Discard})
			if err != nil {
				b.Fatal(err)
			}
			if sqlDB, err := db.DB(); err == nil {
				defer sqlDB.Close()
			}
			if err := db.Use(New(bucket)); err != nil {
				b.Fatal(err)
			}
			if err := db.AutoMigrate(&benchProduct{}); err != nil {
				b.Fatal(err)
			}
			benchPut(b, bucket, "src/photo.jpg", src)
			target := benchProduct{Name: "target"}
			if err := db.Create(&target).Error; err != nil {
				b.Fatal(err)
			}
			if load == "while-regenerating" {
				rows := make([]benchProduct, 16)
				for i := range rows {
					rows[i].Cover = ImageField{Key: "src/photo.jpg"}
				}
				if err := db.Create(&rows).Error; err != nil {
					b.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var bgErr atomic.Value
			if load != "idle" {
				wg.Go(func() {
					for ctx.Err() == nil {
						var err error
						if load == "while-saving" {
							err = db.Create(&benchProduct{Cover: ImageField{Key: "src/photo.jpg"}}).Error
						} else {
							_, err = Regenerate(ctx, db, &benchProduct{}, RegenerateOptions{Force: true, Concurrency: 1})
						}
						if err != nil && ctx.Err() == nil {
							bgErr.Store(err)
							return
						}
					}
				})
				time.Sleep(200 * time.Millisecond) // the load is under way
			}
			var lat []time.Duration
			failed := 0
			b.ResetTimer()
			for i := 0; i < b.N*updatesPerOp; i++ {
				t0 := time.Now()
				if err := db.Model(&target).Update("name", fmt.Sprint("n", i)).Error; err != nil {
					failed++
				}
				lat = append(lat, time.Since(t0))
				time.Sleep(10 * time.Millisecond)
			}
			b.StopTimer()
			cancel()
			wg.Wait()
			if err := bgErr.Load(); err != nil {
				b.Fatalf("background %s: %v", load, err)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
			b.ReportMetric(float64(failed), "failed")
			if failed > 0 {
				b.Fatalf("%d of %d updates failed", failed, len(lat))
			}
		})
	}
}

// BenchmarkCreateTransactionTime: how long GORM's write transaction lasts
// (from gorm:begin_transaction to the end of the commit) for a Create with
// a 12 MP JPEG source, against a Create of the same row without thumb tags,
// interleaved in one run. The thumbnail is made before the transaction; a
// 12 MP decode leaves the CPU's caches cold for whatever runs next, so the
// plain Create is timed twice: right after Go decodes the same photo
// (x-plain: the fair comparison, what the plugin adds inside the
// transaction) and after another plain Create (x-plain-warm).
func BenchmarkCreateTransactionTime(b *testing.B) {
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	db := benchDB(b, bucket)
	src := testphoto.JPEGs12MP()[0].Data
	benchPut(b, bucket, "src/photo.jpg", src)
	const startKey = "bench:tx_start"
	var last time.Duration
	cr := db.Callback().Create()
	if err := cr.After("gorm:begin_transaction").Before("gorm:before_create").Register("bench:tx_start", func(db *gorm.DB) { db.Statement.Settings.Store(startKey, time.Now()) }); err != nil {
		b.Fatal(err)
	}
	if err := cr.After("gorm:commit_or_rollback_transaction").Register("bench:tx_end", func(db *gorm.DB) {
		if t0, ok := db.Statement.Settings.Load(startKey); ok {
			last = time.Since(t0.(time.Time))
		}
	}); err != nil {
		b.Fatal(err)
	}
	plainCreate := func() time.Duration {
		if err := db.Create(&benchPlain{Cover: ImageField{Key: "src/photo.jpg"}}).Error; err != nil {
			b.Fatal(err)
		}
		return last
	}
	var thumbed, cold, warm []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.Create(&benchProduct{Cover: ImageField{Key: "src/photo.jpg"}}).Error; err != nil {
			b.Fatal(err)
		}
		thumbed = append(thumbed, last)
		if _, _, err := image.Decode(bytes.NewReader(src)); err != nil {
			b.Fatal(err)
		}
		cold = append(cold, plainCreate())
		warm = append(warm, plainCreate())
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2])
	}
	b.ReportMetric(median(thumbed)/1e3, "thumbed-tx-µs")
	b.ReportMetric(median(cold)/1e3, "plain-after-decode-tx-µs")
	b.ReportMetric(median(warm)/1e3, "plain-warm-tx-µs")
	b.ReportMetric(median(thumbed)/median(cold), "x-plain")
	b.ReportMetric(median(thumbed)/median(warm), "x-plain-warm")
}

// BenchmarkMemoryBudget: eight crafted PNGs (7000×7000, 16-bit RGBA, all
// zero: 381 KB each, 392 MB each decoded) thumbnailed at once through the
// plugin, as eight hostile requests would, with the default memory budget
// (DefaultMemoryLimit, 1 GiB: two such decodes at a time) and with none,
// in one run. peak-MB is the sampled peak of the heap's objects above where
// it started.
func BenchmarkMemoryBudget(b *testing.B) {
	bomb := testphoto.ZeroPNG16(7000, 7000)
	for _, c := range []struct {
		name  string
		limit int64
	}{{"default-budget", DefaultMemoryLimit}, {"no-budget", 0}} {
		b.Run(c.name, func(b *testing.B) {
			bucket := memblob.OpenBucket(nil)
			defer bucket.Close()
			db := benchDB(b, bucket, WithMemoryLimit(c.limit))
			for i := range 8 {
				benchPut(b, bucket, fmt.Sprintf("bomb/%d.png", i), bomb)
			}
			var peak uint64
			b.ResetTimer()
			for range b.N {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				s := startHeapSampler()
				var wg sync.WaitGroup
				for i := range 8 {
					wg.Go(func() {
						if err := db.Create(&benchProduct{Cover: ImageField{Key: fmt.Sprintf("bomb/%d.png", i)}}).Error; err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
				peak = max(peak, s.Stop()-ms.HeapAlloc)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
		})
	}
}

// BenchmarkAsyncSave: a Save that changes the source of a row whose
// thumbnail is async (the save stores the source, records the work in the
// outbox and publishes one message after the commit; it reads no image,
// so the source's size does not matter) against a Save of the same row of
// a model without thumb tags followed by one publish of the same message
// to the same topic, interleaved in one run. x-plain-publish is the ratio
// of the medians.
func BenchmarkAsyncSave(b *testing.B) {
	const savesPerOp = 100
	topic := mempubsub.NewTopic()
	defer topic.Shutdown(context.Background())
	sub := mempubsub.NewSubscription(topic, time.Minute) // keeps the messages, as a queue would
	defer sub.Shutdown(context.Background())
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	db := benchDB(b, bucket, WithQueue(topic))
	if err := db.AutoMigrate(&benchAsync{}); err != nil {
		b.Fatal(err)
	}
	src := testphoto.JPEGs12MP()[0].Data
	benchPut(b, bucket, "src/a.jpg", src)
	benchPut(b, bucket, "src/b.jpg", src)
	a := benchAsync{Cover: ImageField{Key: "src/a.jpg"}}
	q := benchPlain{Cover: ImageField{Key: "src/a.jpg"}}
	if err := db.Create(&a).Error; err != nil {
		b.Fatal(err)
	}
	if err := db.Create(&q).Error; err != nil {
		b.Fatal(err)
	}
	keys := []ImageField{{Key: "src/a.jpg"}, {Key: "src/b.jpg"}}
	ctx := context.Background()
	var async, plain []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N*savesPerOp; i++ {
		a.Cover, q.Cover = keys[i%2], keys[i%2]
		t0 := time.Now()
		if err := db.Save(&a).Error; err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := db.Save(&q).Error; err != nil {
			b.Fatal(err)
		}
		if err := topic.Send(ctx, &pubsub.Message{Body: []byte(`{"t":"bench_plains","k":"1","o":1}`)}); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		async = append(async, t1.Sub(t0))
		plain = append(plain, t2.Sub(t1))
	}
	slices.Sort(async)
	slices.Sort(plain)
	b.ReportMetric(float64(async[len(async)/2].Microseconds()), "async-save-µs")
	b.ReportMetric(float64(plain[len(plain)/2].Microseconds()), "plain-save+publish-µs")
	b.ReportMetric(float64(async[len(async)/2])/float64(plain[len(plain)/2]), "x-plain-publish")
}

// benchAsync is benchProduct with its thumbnail made in the background.
type benchAsync struct {
	ID         uint
	Name       string
	Cover      ImageField
	CoverThumb ImageField `thumb:"110x150,source=Cover,async"`
}
