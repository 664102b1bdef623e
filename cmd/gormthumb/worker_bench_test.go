package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gormthumb/gormthumb"
	"github.com/gormthumb/gormthumb/internal/testphoto"
	"gocloud.dev/pubsub"
	"gorm.io/gorm"
)

// BenchmarkWorkers: thumbnails per second of background work done by one
// `gormthumb worker` process against two, each given one core
// (GOMAXPROCS=1, -j 1) as one would run one worker per core or machine,
// on RabbitMQ (GORMTHUMB_TEST_RABBIT_URL; skipped without). Each iteration
// changes the source of 24 rows (2-megapixel JPEGs) through each lane in
// turn and times until the lane's outbox is empty. x-two is the speed-up.
//
//	cd cmd/gormthumb && GORMTHUMB_TEST_RABBIT_URL=amqp://guest:guest@127.0.0.1:5672/ go test -run '^$' -bench Workers -benchtime 3x .
func BenchmarkWorkers(b *testing.B) {
	bin, err := buildCommand()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	sh := newShop(b) // worker_test.go
	dsn, bucketURL, bucket := sh.dsn, sh.bucketURL, sh.bucket
	const rows = 24
	for set := range 2 {
		for i := range rows {
			bucket.WriteAll(ctx, fmt.Sprintf("src/%d-%d.jpg", set, i), testphoto.JPEG(1632, 1224, uint64(100*set+i), 90), nil)
		}
	}
	type lane struct {
		name    string
		db      *gorm.DB
		workers int
		total   time.Duration
	}
	var lanes []*lane
	for _, n := range []int{1, 2} {
		br := rabbitBroker(b)
		defer br.cleanup()
		for _, kv := range br.env {
			k, v, _ := strings.Cut(kv, "=")
			b.Setenv(k, v)
		}
		topic, err := pubsub.OpenTopic(ctx, br.topic)
		if err != nil {
			b.Fatal(err)
		}
		defer topic.Shutdown(ctx)
		db, _ := sh.open(b, topic)
		for range n {
			cmd := exec.Command(bin, "worker", "-queue", br.sub, "-topic", br.topic, "-j", "1", "-every", "1h",
				"-db", dsn, "-bucket", bucketURL, "-table", "listings", "-thumb", "Card=120x90,source=Photo,fit=cover,async")
			cmd.Env = append(os.Environ(), append(br.env, "GOMAXPROCS=1")...)
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
		}
		lanes = append(lanes, &lane{name: fmt.Sprint(n), db: db, workers: n})
	}
	ls := make([]Listing, rows)
	if err := lanes[0].db.Create(&ls).Error; err != nil {
		b.Fatal(err)
	}
	time.Sleep(time.Second) // the workers are up
	round := 0
	b.ResetTimer()
	for range b.N {
		for _, l := range lanes {
			round++
			start := time.Now()
			for i := range ls {
				src := gormthumb.ImageField{Key: fmt.Sprintf("src/%d-%d.jpg", round%2, i)}
				if err := l.db.Model(&Listing{ID: ls[i].ID}).Update("photo", src).Error; err != nil {
					b.Fatal(err)
				}
			}
			for {
				var n int64
				l.db.Table("gormthumb_outbox").Count(&n)
				if n == 0 {
					break
				}
				if time.Since(start) > 5*time.Minute {
					b.Fatalf("lane %s: %d outbox rows left", l.name, n)
				}
				time.Sleep(5 * time.Millisecond)
			}
			l.total += time.Since(start)
		}
	}
	b.StopTimer()
	rate := func(l *lane) float64 { return float64(rows*b.N) / l.total.Seconds() }
	b.ReportMetric(rate(lanes[0]), "one-thumbs/s")
	b.ReportMetric(rate(lanes[1]), "two-thumbs/s")
	b.ReportMetric(rate(lanes[1])/rate(lanes[0]), "x-two")
}
