package main

// The background mode on real brokers: NATS (through gocloud's natspubsub,
// core NATS) and RabbitMQ, named by GORMTHUMB_TEST_NATS_URL and
// GORMTHUMB_TEST_RABBIT_URL (skipped, saying so, when unset; CI sets both).
// Workers are the real command, run as separate processes.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gormthumb/gormthumb"
	"github.com/gormthumb/gormthumb/internal/testphoto"
	amqp "github.com/rabbitmq/amqp091-go"
	"gocloud.dev/blob"
	"gocloud.dev/pubsub"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Listing is the storm test's model: an async thumbnail only, so a save
// never reads its source.
type Listing struct {
	ID    uint
	Photo gormthumb.ImageField
	Card  gormthumb.ImageField `thumb:"120x90,source=Photo,fit=cover,async"`
}

// broker is one real message broker the background mode is tested on.
type broker struct {
	name       string
	env        []string // for the command and this process
	topic, sub string   // gocloud URLs
	cleanup    func()
	atMostOnce bool
}

func uniq() string {
	var b [5]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func natsBroker(t testing.TB) broker {
	u := os.Getenv("GORMTHUMB_TEST_NATS_URL")
	if u == "" {
		t.Skip("NATS not tested: set GORMTHUMB_TEST_NATS_URL (e.g. nats://127.0.0.1:4222)")
	}
	subject := "gormthumb.storm." + uniq()
	return broker{name: "nats", env: []string{"NATS_SERVER_URL=" + u}, topic: "nats://" + subject,
		sub: "nats://" + subject + "?queue=workers", cleanup: func() {}, atMostOnce: true}
}

func rabbitBroker(t testing.TB) broker {
	u := os.Getenv("GORMTHUMB_TEST_RABBIT_URL")
	if u == "" {
		t.Skip("RabbitMQ not tested: set GORMTHUMB_TEST_RABBIT_URL (e.g. amqp://guest:guest@127.0.0.1:5672/)")
	}
	conn, err := amqp.Dial(u)
	if err != nil {
		t.Fatalf("RabbitMQ at %s: %v", u, err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	name := "gormthumb-storm-" + uniq()
	if err := ch.ExchangeDeclare(name, amqp.ExchangeFanout, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(name, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(name, name, name, false, nil); err != nil {
		t.Fatal(err)
	}
	return broker{name: "rabbit", env: []string{"RABBIT_SERVER_URL=" + u}, topic: "rabbit://" + name, sub: "rabbit://" + name,
		cleanup: func() {
			ch.QueueDelete(name, false, false, false)
			ch.ExchangeDelete(name, false, false)
			conn.Close()
		}}
}

// buildCommand builds the command once per test binary.
var buildCommand = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "gormthumb-cmd")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "gormthumb")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// workerProc is one `gormthumb worker` process.
type workerProc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  []string
	done chan struct{}
}

func startWorker(t *testing.T, bin string, b broker, args []string) *workerProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"worker", "-queue", b.sub, "-topic", b.topic, "-j", "2", "-every", "1h",
		"-relay-every", "500ms", "-relay-after", "2s"}, args...)...)
	cmd.Env = append(os.Environ(), b.env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	w := &workerProc{cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			w.mu.Lock()
			w.out = append(w.out, sc.Text())
			w.mu.Unlock()
		}
		cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
		}
	})
	return w
}

func (w *workerProc) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.out...)
}

// shop is a shop in a fresh folder: the sqlite database and file bucket
// the tests and benchmarks give `gormthumb worker` (-db, -bucket).
type shop struct {
	dsn, bucketURL string
	bucket         *blob.Bucket
}

// newShop makes the folder and opens its bucket, closed at the end of tb.
func newShop(tb testing.TB) shop {
	tb.Helper()
	dir := tb.TempDir()
	s := shop{
		dsn:       "sqlite:" + filepath.Join(dir, "shop.db"),
		bucketURL: "file://" + filepath.ToSlash(filepath.Join(dir, "media")) + "?create_dir=1&no_tmp_dir=1",
	}
	bucket, err := gormthumb.OpenBucket(context.Background(), s.bucketURL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { bucket.Close() })
	s.bucket = bucket
	return s
}

// open opens the shop's database, closed at the end of tb, with a plugin
// whose saves publish to topic, and migrates Listing.
func (s shop) open(tb testing.TB, topic *pubsub.Topic) (*gorm.DB, *gormthumb.Plugin) {
	tb.Helper()
	db, err := gorm.Open(sqlite.Open(strings.TrimPrefix(s.dsn, "sqlite:")+"?_txlock=immediate&_busy_timeout=10000&_journal_mode=WAL"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		tb.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		tb.Cleanup(func() { sqlDB.Close() })
	}
	plugin := gormthumb.New(s.bucket, gormthumb.WithQueue(topic))
	if err := db.Use(plugin); err != nil {
		tb.Fatal(err)
	}
	if err := db.AutoMigrate(&Listing{}); err != nil {
		tb.Fatal(err)
	}
	return db, plugin
}

// TestStorm: on each real broker, 200 saves of random rows with random
// sources (some not images) while three worker processes run and one is
// killed (SIGKILL) and restarted: every row ends with the thumbnail of its
// final source (or none, for a source that is not an image), nothing
// dangles, Sweep finds no orphan beyond what it then removes, and each
// row's failing final source is reported exactly once.
func TestStorm(t *testing.T) {
	for name, open := range map[string]func(testing.TB) broker{"nats": natsBroker, "rabbitmq": rabbitBroker} {
		t.Run(name, func(t *testing.T) {
			b := open(t)
			defer b.cleanup()
			storm(t, b)
		})
	}
}

func storm(t *testing.T, b broker) {
	bin, err := buildCommand()
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range b.env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	ctx := context.Background()
	sh := newShop(t)
	dsn, bucketURL, bucket := sh.dsn, sh.bucketURL, sh.bucket
	topic, err := pubsub.OpenTopic(ctx, b.topic)
	if err != nil {
		t.Fatal(err)
	}
	defer topic.Shutdown(ctx)
	db, plugin := sh.open(t, topic)
	// Sources: 8 photos, 2 files that are not images.
	var good, bad []string
	for i := range 8 {
		k := fmt.Sprintf("src/photo%d.jpg", i)
		bucket.WriteAll(ctx, k, testphoto.JPEG(480+40*i, 360, uint64(i), 85), nil)
		good = append(good, k)
	}
	for i := range 2 {
		k := fmt.Sprintf("src/notes%d.jpg", i)
		bucket.WriteAll(ctx, k, []byte("not an image at all"), nil)
		bad = append(bad, k)
	}
	const rows = 30
	ls := make([]Listing, rows)
	for i := range ls {
		ls[i].Photo = gormthumb.ImageField{Key: good[i%len(good)]}
	}
	if err := db.Create(&ls).Error; err != nil {
		t.Fatal(err)
	}

	args := []string{"-db", dsn, "-bucket", bucketURL, "-table", "listings", "-thumb", "Card=120x90,source=Photo,fit=cover,async"}
	workers := []*workerProc{startWorker(t, bin, b, args), startWorker(t, bin, b, args), startWorker(t, bin, b, args)}

	// 200 saves from four goroutines; the second worker is killed half-way
	// and a fourth takes its place.
	var wg sync.WaitGroup
	var saves sync.Mutex
	final := map[uint]string{}
	for g := range 4 {
		wg.Go(func() {
			rng := mrand.New(mrand.NewPCG(uint64(g), 7))
			for k := range 50 {
				if g == 0 && k == 25 {
					workers[1].cmd.Process.Signal(syscall.SIGKILL)
					<-workers[1].done
					workers = append(workers, startWorker(t, bin, b, args))
				}
				id := ls[rng.IntN(rows)].ID
				src := good[rng.IntN(len(good))]
				if rng.IntN(6) == 0 {
					src = bad[rng.IntN(len(bad))]
				}
				saves.Lock() // the final source of each row, in commit order
				err := db.Model(&Listing{ID: id}).Update("photo", gormthumb.ImageField{Key: src}).Error
				if err == nil {
					final[id] = src
				}
				saves.Unlock()
				if err != nil {
					t.Errorf("save: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	// Wait until the work is done: the outbox is empty and every row's card
	// matches its source.
	cardOf := func(l Listing) (ok bool) {
		if strings.HasPrefix(l.Photo.Key, "src/notes") {
			return l.Card.Key == ""
		}
		a, err := bucket.Attributes(ctx, l.Card.Key)
		return err == nil && a.Metadata["gormthumb-source"] == l.Photo.Key
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		var all []Listing
		db.Order("id").Find(&all)
		var outbox int64
		db.Table("gormthumb_outbox").Count(&outbox)
		settled := outbox == 0
		for _, l := range all {
			settled = settled && cardOf(l)
		}
		if settled {
			for _, l := range all {
				if want, ok := final[l.ID]; ok && l.Photo.Key != want {
					t.Fatalf("row %d: source %q, want the last saved %q", l.ID, l.Photo.Key, want)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			for _, l := range all {
				if !cardOf(l) {
					t.Errorf("row %d: source %q, card %q", l.ID, l.Photo.Key, l.Card.Key)
				}
			}
			t.Fatalf("not settled after 90 s (%d outbox rows left)", outbox)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Nothing dangles; Sweep removes the orphans (the killed worker's
	// half-done work), then finds none.
	rep, err := plugin.Sweep(ctx, db, gormthumb.SweepOptions{Models: []any{&Listing{}}, MinAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	rep2, err := plugin.Sweep(ctx, db, gormthumb.SweepOptions{Models: []any{&Listing{}}, MinAge: -1, DryRun: true})
	if err != nil || len(rep2.Orphans) != 0 {
		t.Fatalf("second Sweep: %+v, %v", rep2, err)
	}

	// Each failing final source reported once, across the workers' outputs
	// (the killed one included).
	for i, w := range workers {
		if i != 1 {
			w.cmd.Process.Signal(syscall.SIGTERM)
		}
		<-w.done
	}
	reports := map[string]int{}
	failLine := regexp.MustCompile(`^failed listings (\d+) Card: .*\(key "(src/notes\d\.jpg)"\)`)
	for _, w := range workers {
		for _, line := range w.lines() {
			if m := failLine.FindStringSubmatch(line); m != nil {
				reports[m[1]+" "+m[2]]++
			}
		}
	}
	failed := 0
	for id, src := range final {
		if strings.HasPrefix(src, "src/notes") {
			failed++
			if n := reports[fmt.Sprintf("%d %s", id, src)]; n != 1 {
				t.Errorf("row %d's final source %s reported %d times", id, src, n)
			}
		}
	}
	for k, n := range reports {
		if n != 1 {
			t.Errorf("%s reported %d times", k, n)
		}
	}
	t.Logf("%s: %d rows, %d with a failing final source, %d failures reported, %d orphans swept; workers said: %q",
		b.name, rows, failed, len(reports), len(rep.Deleted), lastLines(workers))
}

func lastLines(ws []*workerProc) []string {
	var out []string
	for _, w := range ws {
		if l := w.lines(); len(l) > 0 {
			out = append(out, l[len(l)-1])
		}
	}
	return out
}
