package gormthumb

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gocloud.dev/blob"
)

// Plugin is the gorm.Plugin that makes thumbnails. Create it with New and
// register it with db.Use(plugin).
type Plugin struct {
	bucket          *blob.Bucket
	processor       Processor
	limits          Limits
	concurrency     int
	deleteOriginals bool
	versionCheck    bool          // look up each source's MD5/ETag (WithSourceVersionCheck)
	deleteTimeout   time.Duration // bound on the deletes that follow a commit
	now             func() time.Time
	schemas         sync.Map      // schema cache for Upload
	specs           sync.Map      // *schema.Schema -> specResult
	savepoints      atomic.Uint64 // names the plugin's savepoints
}

// Option configures a Plugin.
type Option func(*Plugin)

// WithProcessor replaces the pure-Go image processor.
func WithProcessor(p Processor) Option { return func(pl *Plugin) { pl.processor = p } }

// WithLimits sets the source size limits (zero fields keep DefaultLimits).
func WithLimits(l Limits) Option { return func(pl *Plugin) { pl.limits = l.WithDefaults() } }

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

// DefaultDeleteTimeout is the default of WithDeleteTimeout.
const DefaultDeleteTimeout = 10 * time.Second

// New returns a plugin that stores thumbnails in bucket.
func New(bucket *blob.Bucket, opts ...Option) *Plugin {
	p := &Plugin{
		bucket:        bucket,
		processor:     GoProcessor{},
		limits:        DefaultLimits,
		concurrency:   runtime.GOMAXPROCS(0),
		deleteTimeout: DefaultDeleteTimeout,
		now:           time.Now,
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Bucket returns the plugin's bucket.
func (p *Plugin) Bucket() *blob.Bucket { return p.bucket }

// Name implements gorm.Plugin.
func (p *Plugin) Name() string { return "gormthumb" }
