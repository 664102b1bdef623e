package gormthumb

// The integration suite's harness, in the spirit of gocloud's drivertest:
// every test that calls eachBackend runs once per bucket driver and per
// database we support. Bucket and database backends are registered in the
// two tables below; backends that need a server add themselves when their
// environment variable is set.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// bucketBackend opens a fresh, empty bucket for one test.
type bucketBackend struct {
	name string
	open func(t *testing.T) *blob.Bucket
}

// dbBackend opens a fresh, empty database for one test.
type dbBackend struct {
	name string
	open func(t *testing.T, cfg *gorm.Config) *gorm.DB
}

var bucketBackends = []bucketBackend{
	{"mem", func(t *testing.T) *blob.Bucket { return memblob.OpenBucket(nil) }},
	{"file", func(t *testing.T) *blob.Bucket {
		dir := t.TempDir()
		b, err := OpenBucket(context.Background(), "file://"+filepath.ToSlash(dir)+"?no_tmp_dir=1")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}},
	{"s3", openS3Bucket}, // backends_test.go
}

var dbBackends = []dbBackend{
	{"sqlite", func(t *testing.T, cfg *gorm.Config) *gorm.DB {
		db, err := gorm.Open(sqlite.Open(filepath.Join(t.TempDir(), "test.db")+"?_busy_timeout=5000&_journal_mode=WAL&_txlock=immediate"), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}},
	{"postgres", func(t *testing.T, cfg *gorm.Config) *gorm.DB { return openPostgres(t, cfg) }}, // backends_test.go: skipped unless GORMTHUMB_TEST_POSTGRES_DSN is set
	{"mysql", openMySQL}, // backends_test.go: skipped unless GORMTHUMB_TEST_MYSQL_DSN is set
}

// env is one backend combination with the plugin registered.
type env struct {
	t      *testing.T
	ctx    context.Context
	db     *gorm.DB
	bucket *blob.Bucket
	plugin *Plugin
	name   string
}

type envConfig struct {
	gorm gorm.Config
	opts []Option
}

// eachBackend runs fn against every bucket × database combination.
func eachBackend(t *testing.T, fn func(t *testing.T, e *env), opts ...Option) {
	eachBackendConfig(t, envConfig{opts: opts}, fn)
}

func eachBackendConfig(t *testing.T, cfg envConfig, fn func(t *testing.T, e *env)) {
	for _, d := range dbBackends {
		for _, b := range bucketBackends {
			t.Run(d.name+"+"+b.name, func(t *testing.T) {
				// The combinations of one test run side by side (go test's
				// -parallel, GOMAXPROCS by default): each has its own
				// database, schema and bucket, and the suite's time is mostly
				// image work, which then uses both cores.
				t.Parallel()
				fn(t, newEnv(t, d, b, cfg))
			})
		}
	}
}

func newEnv(t *testing.T, d dbBackend, b bucketBackend, cfg envConfig) *env {
	t.Helper()
	gcfg := cfg.gorm
	if gcfg.Logger == nil {
		gcfg.Logger = logger.Discard
	}
	bucket := b.open(t)
	t.Cleanup(func() { bucket.Close() })
	return useEnv(t, d.open(t, &gcfg), bucket, d.name+"+"+b.name, cfg.opts...)
}

// useEnv registers a new plugin on bucket with db (which it closes at the
// end of the test) and returns them as an env.
func useEnv(t *testing.T, db *gorm.DB, bucket *blob.Bucket, name string, opts ...Option) *env {
	t.Helper()
	if sqlDB, err := db.DB(); err == nil {
		t.Cleanup(func() { sqlDB.Close() })
	}
	p := New(bucket, opts...)
	if err := db.Use(p); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: context.Background(), db: db, bucket: bucket, plugin: p, name: name}
}

// migrate creates the tables of models.
func (e *env) migrate(models ...any) {
	e.t.Helper()
	if err := e.db.AutoMigrate(models...); err != nil {
		e.t.Fatalf("AutoMigrate: %v", err)
	}
}

// mustCreate creates each value with e's db and fails the test on an
// error.
func (e *env) mustCreate(values ...any) {
	e.t.Helper()
	for _, v := range values {
		if err := e.db.Create(v).Error; err != nil {
			e.t.Fatalf("Create %T: %v", v, err)
		}
	}
}

// put writes data into the bucket under key.
func (e *env) put(key string, data []byte) ImageField {
	e.t.Helper()
	if err := e.bucket.WriteAll(e.ctx, key, data, nil); err != nil {
		e.t.Fatalf("put %s: %v", key, err)
	}
	return ImageField{Key: key}
}

// keys lists every key in the bucket, sorted.
func (e *env) keys() []string {
	e.t.Helper()
	var keys []string
	it := e.bucket.List(nil)
	for {
		o, err := it.Next(e.ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			e.t.Fatalf("list: %v", err)
		}
		keys = append(keys, o.Key)
	}
	sort.Strings(keys)
	return keys
}

// wantKeys fails unless the bucket holds exactly want.
func (e *env) wantKeys(want ...string) {
	e.t.Helper()
	sort.Strings(want)
	if got := e.keys(); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		e.t.Fatalf("bucket keys:\n got %q\nwant %q", got, want)
	}
}

// decode reads key from the bucket and decodes it.
func (e *env) decode(key string) (image.Image, string) {
	e.t.Helper()
	if key == "" {
		e.t.Fatal("decode: empty key")
	}
	data, err := e.bucket.ReadAll(e.ctx, key)
	if err != nil {
		e.t.Fatalf("read %s: %v", key, err)
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		e.t.Fatalf("decode %s: %v", key, err)
	}
	return img, format
}

// wantThumb checks that key holds a w×h image in format.
func (e *env) wantThumb(key string, w, h int, format string) image.Image {
	e.t.Helper()
	img, f := e.decode(key)
	if f != format || img.Bounds().Dx() != w || img.Bounds().Dy() != h {
		e.t.Fatalf("%s: got %s %dx%d, want %s %dx%d", key, f, img.Bounds().Dx(), img.Bounds().Dy(), format, w, h)
	}
	return img
}

// count returns the number of rows of model.
func (e *env) count(model any) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Model(model).Count(&n).Error; err != nil {
		e.t.Fatalf("count: %v", err)
	}
	return n
}

// wantErr fails unless err wraps sentinel and its message names every part.
func wantErr(t *testing.T, err, sentinel error, parts ...string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("got error %v, want one wrapping %v", err, sentinel)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not name %q", err, p)
		}
	}
}

// ---------------------------------------------------------------------------
// Test images: internal/testphoto's deterministic, photo-like images, and
// the shared real-world corpus.

func jpegBytes(t testing.TB, w, h int) []byte { return testphoto.JPEG(w, h, 1, 90) }

// pngBytes is testphoto.PhotoPNG: with alpha, its alpha ramps from 0 at
// the left edge to 255 at the right.
func pngBytes(t testing.TB, w, h int, alpha bool) []byte { return testphoto.PhotoPNG(w, h, alpha) }

func gifBytes(t testing.TB, w, h int) []byte { return testphoto.GIF(w, h) }

func corpusBytes(t testing.TB, name string) []byte {
	t.Helper()
	return testphoto.Corpus(t, name)
}

func TestHarnessNames(t *testing.T) {
	// The suite must always cover every bucket on every database.
	var names []string
	for _, d := range dbBackends {
		for _, b := range bucketBackends {
			names = append(names, d.name+"+"+b.name)
		}
	}
	got := fmt.Sprint(names)
	for _, want := range []string{"sqlite+mem", "sqlite+file", "sqlite+s3", "postgres+s3", "mysql+file"} {
		if !strings.Contains(got, want) {
			t.Fatalf("backends %s lack %s", got, want)
		}
	}
}
