package gormthumb

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gormthumb/gormthumb/thumb"
	"gocloud.dev/blob"
	"gocloud.dev/pubsub"
	"golang.org/x/sync/semaphore"
)

// Plugin is the gorm.Plugin that makes thumbnails. Create it with New and
// register it with db.Use(plugin).
type Plugin struct {
	bucket          *blob.Bucket
	processor       Processor
	limits          Limits
	concurrency     int
	deleteOriginals bool
	versionCheck    bool                // look up each source's MD5/ETag (WithSourceVersionCheck)
	deleteTimeout   time.Duration       // bound on the deletes that follow a commit
	memoryLimit     int64               // WithMemoryLimit; <= 0: none
	memory          *semaphore.Weighted // decoded bytes in flight, plugin-wide
	queue           *pubsub.Topic       // WithQueue: where async thumbnails' work goes
	publisherOnce   sync.Once
	publishing      chan outboxRow // to the publisher goroutine (queue.go)
	now             func() time.Time
	schemas         sync.Map      // schema cache for Upload
	specs           sync.Map      // *schema.Schema -> specResult
	savepoints      atomic.Uint64 // names the plugin's savepoints
}

// Option configures a Plugin.
type Option func(*Plugin)

// WithProcessor replaces the pure-Go image processor.
func WithProcessor(p thumb.Processor) Option { return func(pl *Plugin) { pl.processor = p } }

// WithLimits sets the source size limits (zero fields keep
// thumb.DefaultLimits).
func WithLimits(l thumb.Limits) Option { return func(pl *Plugin) { pl.limits = l.WithDefaults() } }

// WithConcurrency bounds how many sources one statement decodes at once
// (a Create of many rows). The default is runtime.GOMAXPROCS(0).
func WithConcurrency(n int) Option {
	return func(pl *Plugin) {
		if n > 0 {
			pl.concurrency = n
		}
	}
}

// WithDeleteOriginals makes a hard delete of a row also delete its original
// images (the source fields), not only the thumbnails the plugin made.
// Originals belong to the application, so this is off by default.
func WithDeleteOriginals(on bool) Option { return func(pl *Plugin) { pl.deleteOriginals = on } }

// WithSourceVersionCheck(true) makes the plugin notice new bytes written in
// place under an existing source key. By default sources are immutable, as
// in ActiveStorage and Shrine: Plugin.Upload never overwrites a key, so a
// save compares keys only, and an unchanged Save makes no bucket call. With
// the check on, every save that writes a source column looks up the
// source's attributes (MD5 or ETag; a HEAD request on S3) and remakes its
// thumbnails when they changed. Turn it on if your application overwrites
// originals in place; without it, Regenerate repairs thumbnails after such
// overwrites.
func WithSourceVersionCheck(on bool) Option { return func(pl *Plugin) { pl.versionCheck = on } }

// WithImmutableSources(true) is the default (see WithSourceVersionCheck);
// WithImmutableSources(false) is WithSourceVersionCheck(true).
//
// Deprecated: use WithSourceVersionCheck.
func WithImmutableSources(on bool) Option { return WithSourceVersionCheck(!on) }

// WithDeleteTimeout bounds the blob deletes the plugin makes after a
// statement commits or rolls back (default DefaultDeleteTimeout), so a
// hung bucket cannot hang a save. What is not deleted in time is left for
// Sweep.
func WithDeleteTimeout(d time.Duration) Option {
	return func(pl *Plugin) {
		if d > 0 {
			pl.deleteTimeout = d
		}
	}
}

// WithMemoryLimit bounds the memory the plugin's image work may take at
// once, across every statement, Regenerate, worker and Upload of the plugin:
// before a source is decoded, its decoded size is estimated from its header
// and the thumbnails asked of it (thumb.Header.DecodedBytesFor: a PNG that
// streams holds far less than its pixels) and reserved from this budget. Work that would
// exceed it waits (until its context is done); work larger than the whole
// budget fails with ErrTooLarge. After a decode of 64 MB or more the
// plugin runs the garbage collector before it lets the next one start, so
// the heap does not hold both. The default, DefaultMemoryLimit, suits a
// 2 GB container; 0 or less turns the budget off.
func WithMemoryLimit(bytes int64) Option { return func(pl *Plugin) { pl.memoryLimit = bytes } }

// DefaultMemoryLimit is the default of WithMemoryLimit: 1 GiB, about two
// 50-megapixel 16-bit PNGs or twenty 12-megapixel JPEGs decoded at once.
const DefaultMemoryLimit = 1 << 30

// DefaultDeleteTimeout is the default of WithDeleteTimeout.
const DefaultDeleteTimeout = 10 * time.Second

// New returns a plugin that stores thumbnails in bucket.
func New(bucket *blob.Bucket, opts ...Option) *Plugin {
	p := &Plugin{
		bucket:        bucket,
		processor:     GoProcessor{},
		limits:        thumb.DefaultLimits,
		concurrency:   runtime.GOMAXPROCS(0),
		deleteTimeout: DefaultDeleteTimeout,
		memoryLimit:   DefaultMemoryLimit,
		now:           time.Now,
	}
	for _, o := range opts {
		o(p)
	}
	if p.memoryLimit > 0 {
		p.memory = semaphore.NewWeighted(p.memoryLimit)
	}
	return p
}

// reserve takes n bytes from the memory budget, waiting while it is spent;
// release gives them back. n over the whole budget is ErrTooLarge.
func (p *Plugin) reserve(ctx context.Context, n int64) (release func(), err error) {
	if p.memory == nil || n <= 0 {
		return func() {}, nil
	}
	if n > p.memoryLimit {
		return nil, wrapf(ErrTooLarge, "decoding needs about %d MB, more than the memory limit of %d MB", n>>20, p.memoryLimit>>20)
	}
	if err := p.memory.Acquire(ctx, n); err != nil {
		return nil, err
	}
	return func() {
		if n >= collectAfter {
			// The decoded image is garbage now: collect it before the work
			// waiting for this budget allocates as much again, or the heap
			// holds both (a collection costs little next to such a decode).
			runtime.GC()
		}
		p.memory.Release(n)
	}, nil
}

// collectAfter is the reservation from which releasing it runs the
// collector.
const collectAfter = 64 << 20

// Bucket returns the plugin's bucket.
func (p *Plugin) Bucket() *blob.Bucket { return p.bucket }

// Name implements gorm.Plugin.
func (p *Plugin) Name() string { return "gormthumb" }
