package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gormthumb/gormthumb"
	"gocloud.dev/pubsub"
	_ "gocloud.dev/pubsub/awssnssqs"    // awssns://, awssqs:// queues
	_ "gocloud.dev/pubsub/gcppubsub"    // gcppubsub:// queues
	_ "gocloud.dev/pubsub/natspubsub"   // nats:// queues ($NATS_SERVER_URL)
	_ "gocloud.dev/pubsub/rabbitpubsub" // rabbit:// queues ($RABBIT_SERVER_URL)
)

// runWorker makes the thumbnails of `async` thumb fields in the
// background: it receives the work that saves publish (gormthumb.WithQueue)
// from -queue until it is stopped (SIGTERM or Ctrl-C: it finishes what is in
// flight and hands back the rest), prints a line per source that can never
// be made and a progress line every -every.
func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gormthumb worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	queue := fs.String("queue", os.Getenv("GORMTHUMB_QUEUE"), "subscription URL to receive work from (default $GORMTHUMB_QUEUE): nats://subject?queue=workers, rabbit://queue, awssqs://..., gcppubsub://...")
	topic := fs.String("topic", os.Getenv("GORMTHUMB_TOPIC"), "topic URL the application publishes to (default $GORMTHUMB_TOPIC): the worker publishes lost work there again")
	jobs := fs.Int("j", 0, "messages worked on at once (default GOMAXPROCS)")
	timeout := fs.Duration("timeout", 5*time.Minute, "time allowed for one message")
	every := fs.Duration("every", 10*time.Second, "how often to print a progress line")
	relayEvery := fs.Duration("relay-every", 30*time.Second, "how often to publish again work whose message may be lost")
	relayAfter := fs.Duration("relay-after", 10*time.Second, "leave work younger than this to the process that saved it")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	err := c.check()
	if err == nil && (*queue == "" || *topic == "") {
		err = errors.New("no queue: give -queue (the subscription) and -topic (where saves publish)")
	}
	if err != nil {
		fmt.Fprintln(stderr, "gormthumb worker:", err)
		return exitUsage
	}
	t, err := pubsub.OpenTopic(ctx, *topic)
	if err != nil {
		fmt.Fprintln(stderr, "gormthumb worker:", err)
		return exitFailed
	}
	defer t.Shutdown(context.Background())
	sub, err := pubsub.OpenSubscription(ctx, *queue)
	if err != nil {
		fmt.Fprintln(stderr, "gormthumb worker:", err)
		return exitFailed
	}
	defer sub.Shutdown(context.Background())
	o, err := c.open(ctx, gormthumb.WithQueue(t))
	if err != nil {
		fmt.Fprintln(stderr, "gormthumb worker:", err)
		return exitFailed
	}
	defer o.close()

	var mu sync.Mutex // one line at a time
	var done, made, failed atomic.Int64
	start := time.Now()
	line := func() string {
		rate := float64(done.Load()) / max(time.Since(start).Seconds(), 1e-9)
		return fmt.Sprintf("worker: %d messages (%.1f/s), %d thumbnails made, %d failed", done.Load(), rate, made.Load(), failed.Load())
	}
	progressCtx, stopProgress := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(*every)
		defer tick.Stop()
		for {
			select {
			case <-progressCtx.Done():
				return
			case <-tick.C:
				mu.Lock()
				fmt.Fprintln(stdout, line())
				mu.Unlock()
			}
		}
	})
	err = o.plugin.Work(ctx, o.db, sub, gormthumb.WorkOptions{
		Models:      o.models,
		Concurrency: *jobs,
		Timeout:     *timeout,
		RelayEvery:  *relayEvery,
		RelayAfter:  *relayAfter,
		OnFailure: func(f gormthumb.WorkFailure) {
			failed.Add(1)
			mu.Lock()
			fmt.Fprintf(stdout, "failed %s %s %s: %v\n", f.Table, f.Key, f.Field, f.Err)
			mu.Unlock()
		},
		OnDone: func(d gormthumb.WorkDone) {
			done.Add(1)
			if d.Made {
				made.Add(1)
			}
		},
		OnError: func(err error) {
			mu.Lock()
			fmt.Fprintln(stderr, "gormthumb worker:", err)
			mu.Unlock()
		},
	})
	stopProgress()
	wg.Wait()
	fmt.Fprintln(stdout, line())
	if err != nil {
		fmt.Fprintln(stderr, "gormthumb worker:", err)
		return exitFailed
	}
	return exitOK
}
