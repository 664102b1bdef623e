package gormthumb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"
	"gocloud.dev/pubsub/mempubsub"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Listing has an async thumbnail (made by Plugin.Work) and a sync one.
type Listing struct {
	ID    uint
	Photo ImageField
	Card  ImageField `thumb:"200x200,source=Photo,async"`
	Icon  ImageField `thumb:"32x32,source=Photo"`
}

// Banner has only an async thumbnail: a save never reads its source.
type Banner struct {
	ID    uint
	Image ImageField
	Wide  ImageField `thumb:"300x100,source=Image,fit=cover,async"`
}

// queueEnv is an env whose plugin has a mem:// queue, with a worker.
type queueEnv struct {
	*env
	sub      *pubsub.Subscription
	failures chan WorkFailure
	done     chan WorkDone
	stop     func()
}

func newQueueEnv(t *testing.T, d dbBackend, b bucketBackend, opts ...Option) *queueEnv {
	topic := mempubsub.NewTopic()
	t.Cleanup(func() { topic.Shutdown(context.Background()) })
	sub := mempubsub.NewSubscription(topic, time.Minute)
	e := newEnv(t, d, b, envConfig{opts: append(opts, WithQueue(topic))})
	e.migrate(&Listing{}, &Banner{})
	return &queueEnv{env: e, sub: sub, failures: make(chan WorkFailure, 100), done: make(chan WorkDone, 100)}
}

// work runs Plugin.Work until stop is called.
func (q *queueEnv) work(opts WorkOptions) {
	ctx, cancel := context.WithCancel(q.ctx)
	opts.Models = []any{&Listing{}, &Banner{}}
	opts.OnFailure = func(f WorkFailure) { q.failures <- f }
	opts.OnDone = func(d WorkDone) { q.done <- d }
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := q.plugin.Work(ctx, q.db, q.sub, opts); err != nil {
			q.t.Error(err)
		}
	})
	q.stop = func() { cancel(); wg.Wait() }
	q.t.Cleanup(q.stop)
}

// wantDone waits for n acked messages.
func (q *queueEnv) wantDone(n int) {
	q.t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-q.done:
		case f := <-q.failures:
			q.t.Fatalf("work failed: %+v", f)
		case <-time.After(20 * time.Second):
			q.t.Fatalf("%d of %d messages done", i, n)
		}
	}
}

func (q *queueEnv) outboxCount() int64 {
	var n int64
	q.db.Model(&outboxRow{}).Count(&n)
	return n
}

// An async thumbnail is not made by the save: the row commits with its new
// source and keeps its previous thumbnail (or none) until Work has made
// the new one; a cleared source clears it at once.
func TestAsyncThumbnails(t *testing.T) {
	for _, d := range dbBackends {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			q := newQueueEnv(t, d, bucketBackends[0])
			l := Listing{Photo: q.put("q/a.jpg", jpegBytes(t, 400, 300))}
			q.mustCreate(&l)
			if l.Card.Key != "" || l.Icon.Key == "" {
				t.Fatalf("after Create: card %q (want none yet), icon %q", l.Card.Key, l.Icon.Key)
			}
			if n := q.outboxCount(); n != 1 {
				t.Fatalf("%d outbox rows", n)
			}
			q.work(WorkOptions{})
			q.wantDone(1)
			var got Listing
			q.db.First(&got, l.ID)
			q.wantThumb(got.Card.Key, 200, 150, "jpeg")
			if n := q.outboxCount(); n != 0 {
				t.Fatalf("%d outbox rows after the work", n)
			}
			// A new source: the old card stays until the new one is made.
			first := got.Card.Key
			got.Photo = q.put("q/b.jpg", jpegBytes(t, 300, 400))
			if err := q.db.Save(&got).Error; err != nil {
				t.Fatal(err)
			}
			if got.Card.Key != first {
				t.Fatalf("the save changed the async thumbnail to %q", got.Card.Key)
			}
			q.wantDone(1)
			q.db.First(&got, l.ID)
			q.wantThumb(got.Card.Key, 150, 200, "jpeg")
			if q.exists(first) {
				t.Fatal("the superseded async thumbnail is still there")
			}
			// An unchanged save publishes nothing.
			if err := q.db.Save(&got).Error; err != nil {
				t.Fatal(err)
			}
			if n := q.outboxCount(); n != 0 {
				t.Fatalf("an unchanged save recorded work (%d rows)", n)
			}
			// A cleared source clears the thumbnails at once.
			card := got.Card.Key
			got.Photo = ImageField{}
			if err := q.db.Save(&got).Error; err != nil {
				t.Fatal(err)
			}
			q.db.First(&got, l.ID)
			if got.Card.Key != "" || got.Icon.Key != "" || q.exists(card) {
				t.Fatalf("after clearing the source: %+v", got)
			}
			q.stop()
			q.wantNoOrphansFor(&Listing{})
		})
	}
}

// Duplicated and out-of-date messages change nothing wrong, and a source
// that can never be made is acked and reported once, whatever the
// redeliveries.
func TestWorkDuplicatesAndFailures(t *testing.T) {
	q := newQueueEnv(t, dbBackends[0], bucketBackends[1])
	good := Banner{Image: q.put("q/good.jpg", jpegBytes(t, 400, 300))}
	bad := Banner{Image: q.put("q/bad.jpg", []byte("not an image"))}
	whole := jpegBytes(t, 400, 300)
	cut := Banner{Image: q.put("q/cut.jpg", whole[:len(whole)/2])} // its header passes; its pixels do not
	for _, l := range []*Banner{&good, &bad, &cut} {
		q.mustCreate(l)
	}
	// Every message twice more, and one for a row that is gone.
	for _, l := range []Banner{good, bad, good, bad} {
		body := fmt.Sprintf(`{"t":"banners","k":"%d"}`, l.ID)
		if err := q.plugin.queue.Send(q.ctx, &pubsub.Message{Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	q.plugin.queue.Send(q.ctx, &pubsub.Message{Body: []byte(`{"t":"banners","k":"999"}`)})
	q.work(WorkOptions{})
	var failures []WorkFailure
	deadline := time.After(20 * time.Second)
	for done := 0; done < 8; {
		select {
		case <-q.done:
			done++
		case f := <-q.failures:
			failures = append(failures, f)
		case <-deadline:
			t.Fatalf("%d messages done", done)
		}
	}
	if len(failures) != 2 {
		t.Fatalf("failures reported: %+v", failures)
	}
	for _, f := range failures {
		if f.Field != "Wide" || !errors.Is(f.Err, ErrNotImage) {
			t.Fatalf("failures reported: %+v", failures)
		}
	}
	var got Banner
	q.db.First(&got, good.ID)
	q.wantThumb(got.Wide.Key, 300, 100, "jpeg")
	q.stop()
	// A dry run reports both as failed, the one whose header passes too
	// (from what Work recorded), and counts nothing left to make.
	rep, err := Regenerate(q.ctx, q.db, &Banner{}, RegenerateOptions{DryRun: true})
	if err != nil || rep.Made != 0 || len(rep.Failed) != 2 {
		t.Fatalf("dry run: %+v, %v", rep, err)
	}
	for _, f := range rep.Failed {
		wantErr(t, f.Err, ErrNotImage, "Banner", "Wide", f.Err.(*Error).Key)
	}
	if !strings.Contains(fmt.Sprint(rep.Failed), "recorded by background work") {
		t.Fatalf("the cut source's failure is not the recorded one: %v", rep.Failed)
	}
	q.wantNoOrphansFor(&Banner{})
	if n := q.outboxCount(); n != 0 {
		t.Fatalf("%d outbox rows left", n)
	}
}

// async without WithQueue is an error naming the field, on the first save.
func TestAsyncNeedsQueue(t *testing.T) {
	e := newEnv(t, dbBackends[0], bucketBackends[0], envConfig{})
	e.db.Exec("CREATE TABLE listings (id integer primary key, photo text, card text, icon text)")
	err := e.db.Create(&Listing{}).Error
	wantErr(t, err, ErrInvalidTag, "Listing.Card", "WithQueue")
	if _, err := Regenerate(e.ctx, e.db, &Listing{}, RegenerateOptions{DryRun: true}); err != nil {
		t.Fatalf("Regenerate needs no queue: %v", err)
	}
}

// stuckTopic is a queue whose publishes never return: a process using it
// is killed between its commit and its publish.
type stuckTopic struct{}

func (stuckTopic) SendBatch(ctx context.Context, _ []*driver.Message) error {
	<-ctx.Done()
	return ctx.Err()
}
func (stuckTopic) IsRetryable(error) bool             { return false }
func (stuckTopic) As(any) bool                        { return false }
func (stuckTopic) ErrorAs(error, any) bool            { return false }
func (stuckTopic) ErrorCode(error) gcerrors.ErrorCode { return gcerrors.Unknown }
func (stuckTopic) Close() error                       { return nil }

// TestHelperSaveAndHang is not a test: TestOutboxSurvivesKill runs the test
// binary as a child process that saves a row and then hangs in its
// publish, to be killed there.
func TestHelperSaveAndHang(t *testing.T) {
	dir := os.Getenv("GORMTHUMB_HELPER_DIR")
	if dir == "" {
		t.Skip("run by TestOutboxSurvivesKill")
	}
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "app.db")+"?_busy_timeout=5000&_journal_mode=WAL"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := OpenBucket(context.Background(), "file://"+filepath.ToSlash(filepath.Join(dir, "media"))+"?no_tmp_dir=1")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Use(New(bucket, WithQueue(pubsub.NewTopic(stuckTopic{}, nil)), WithDeleteTimeout(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&Listing{Photo: ImageField{Key: "src/a.jpg"}}).Error; err != nil {
		t.Fatal(err)
	}
	t.Fatal("the publish returned")
}

// No lost work: a process killed (SIGKILL) between its commit and its
// publish leaves its outbox row, which a worker publishes again and does.
func TestOutboxSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "app.db")+"?_busy_timeout=5000&_journal_mode=WAL"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := OpenBucket(context.Background(), "file://"+filepath.ToSlash(filepath.Join(dir, "media"))+"?no_tmp_dir=1&create_dir=1")
	if err != nil {
		t.Fatal(err)
	}
	topic := mempubsub.NewTopic()
	sub := mempubsub.NewSubscription(topic, time.Minute)
	e := useEnv(t, db, bucket, "sqlite+file", WithQueue(topic))
	t.Cleanup(func() { bucket.Close() }) // runs before useEnv closes the database
	e.migrate(&Listing{})
	e.put("src/a.jpg", jpegBytes(t, 400, 300))

	child := exec.Command(os.Args[0], "-test.run", "^TestHelperSaveAndHang$", "-test.count=1")
	child.Env = append(os.Environ(), "GORMTHUMB_HELPER_DIR="+dir)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var l Listing
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if db.First(&l).Error == nil {
			break // committed
		}
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatal("the child never committed its row")
		}
	}
	time.Sleep(100 * time.Millisecond) // well inside its hung publish
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	if l.Card.Key != "" {
		t.Fatalf("card made by the save: %q", l.Card.Key)
	}
	var n int64
	db.Model(&outboxRow{}).Count(&n)
	if n != 1 {
		t.Fatalf("%d outbox rows after the kill", n)
	}
	// A worker starts: its relay publishes the row again.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan WorkDone, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		e.plugin.Work(ctx, db, sub, WorkOptions{Models: []any{&Listing{}}, RelayAfter: time.Millisecond, OnDone: func(d WorkDone) { done <- d }})
	})
	select {
	case d := <-done:
		if !d.Made {
			t.Fatalf("work done without a thumbnail: %+v", d)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the relayed work was never done")
	}
	cancel()
	wg.Wait()
	db.First(&l, l.ID)
	e.wantThumb(l.Card.Key, 200, 150, "jpeg")
	db.Model(&outboxRow{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d outbox rows left", n)
	}
}
