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
	bucket           *blob.Bucket
	processor        Processor
	limits           Limits
	concurrency      int
	deleteOriginals  bool
	immutableSources bool
	now              func() time.Time
	schemas          sync.Map      // schema cache for Upload
	specs            sync.Map      // *schema.Schema -> specResult
	savepoints       atomic.Uint64 // names the plugin's savepoints
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

// WithImmutableSources tells the plugin that the bytes under a source key
// never change (true of keys written by Plugin.Upload, which never
// overwrites). A save then compares keys only: an unchanged source costs no
// bucket call at all, but new bytes written in place under an existing key
// are not noticed. Off by default: each save of a row whose source column
// is written looks up the source's attributes (MD5 or ETag).
func WithImmutableSources(on bool) Option { return func(pl *Plugin) { pl.immutableSources = on } }

// New returns a plugin that stores thumbnails in bucket.
func New(bucket *blob.Bucket, opts ...Option) *Plugin {
	p := &Plugin{
		bucket:      bucket,
		processor:   GoProcessor{},
		limits:      DefaultLimits,
		concurrency: runtime.GOMAXPROCS(0),
		now:         time.Now,
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
