package gormthumb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
	"gocloud.dev/blob/memblob"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// countingProcessor counts decodes.
type countingProcessor struct {
	Processor
	n atomic.Int64
}

func (c *countingProcessor) Process(ctx context.Context, src io.Reader, specs []Spec, lim Limits) ([]Thumbnail, error) {
	c.n.Add(1)
	return c.Processor.Process(ctx, src, specs, lim)
}

// counted swaps the env's plugin onto a counting bucket and processor.
func (e *env) counted() (*countingBucket, *countingProcessor) {
	b, cb := newCountingBucket(e.bucket)
	cp := &countingProcessor{Processor: e.plugin.processor}
	e.plugin.bucket, e.plugin.processor = b, cp
	return cb, cp
}

// thumbKeys lists the bucket keys that are thumbnails.
func (e *env) thumbKeys() []string {
	var out []string
	for _, k := range e.keys() {
		if isThumbLocation(k, []prefixPattern{newPrefixPattern("posters/small")}) {
			out = append(out, k)
		}
	}
	return out
}

// wantOnlyThumbs fails unless the thumbnails in the bucket are exactly
// those the rows of Product reference, each decodable.
func (e *env) wantNoOrphans() {
	e.t.Helper()
	var ps []Product
	if err := e.db.Unscoped().Find(&ps).Error; err != nil {
		e.t.Fatal(err)
	}
	var want []string
	for _, p := range ps {
		if p.CoverThumb.Key != "" {
			want = append(want, p.CoverThumb.Key)
			e.decode(p.CoverThumb.Key)
		}
	}
	sort.Strings(want)
	got := e.thumbKeys()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		e.t.Fatalf("thumbnails in bucket:\n got %q\nwant %q (referenced by rows)", got, want)
	}
}

func (e *env) exists(key string) bool {
	ok, err := e.bucket.Exists(e.ctx, key)
	if err != nil {
		e.t.Fatal(err)
	}
	return ok
}

func TestUnchangedSourceCostsNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		p := Product{Name: "a", Cover: e.put("u/a.jpg", jpegBytes(t, 300, 200))}
		e.mustCreate(&p)
		key := p.CoverThumb
		cb, cp := e.counted()
		saves := []func() error{
			func() error { p.Name = "b"; return e.db.Save(&p).Error },
			func() error { return e.db.Model(&p).Updates(map[string]any{"name": "c"}).Error },
			func() error { return e.db.Model(&p).Updates(Product{Name: "d", Cover: p.Cover}).Error },
			func() error { return e.db.Model(&p).Update("cover", p.Cover).Error },
		}
		for i, save := range saves {
			if err := save(); err != nil {
				t.Fatal(err)
			}
			n := cb.counts()
			if n["read"] != 0 || n["write"] != 0 || n["delete"] != 0 || n["attributes"] > 1 {
				t.Fatalf("save %d of an unchanged source touched the bucket: %v", i, n)
			}
			if p.CoverThumb != key {
				t.Fatalf("save %d changed the key %q -> %q", i, key.Key, p.CoverThumb.Key)
			}
		}
		if cp.n.Load() != 0 {
			t.Fatalf("%d decodes for unchanged sources", cp.n.Load())
		}
		e.wantNoOrphans()
	})
}

// With WithSourceVersionCheck, new bytes written in place under a source
// key are noticed too.
func TestChangedSourceSupersedes(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		p := Product{Cover: e.put("c/a.jpg", jpegBytes(t, 300, 200))}
		e.db.Create(&p)
		first := p.CoverThumb.Key

		// New key.
		p.Cover = e.put("c/b.jpg", jpegBytes(t, 200, 300))
		if err := e.db.Save(&p).Error; err != nil {
			t.Fatal(err)
		}
		if p.CoverThumb.Key == first || e.exists(first) {
			t.Fatalf("superseded thumbnail %q still there (new %q)", first, p.CoverThumb.Key)
		}
		e.wantThumb(p.CoverThumb.Key, 100, 150, "jpeg")
		second := p.CoverThumb.Key

		// New bytes under the same key, same size in bytes or not.
		e.put("c/b.jpg", pngBytes(t, 150, 150, false))
		if err := e.db.Save(&p).Error; err != nil {
			t.Fatal(err)
		}
		if p.CoverThumb.Key == second || e.exists(second) {
			t.Fatalf("in-place change of the source not picked up: %q", p.CoverThumb.Key)
		}
		e.wantThumb(p.CoverThumb.Key, 110, 110, "png")
		third := p.CoverThumb.Key

		// A change whose transaction rolls back keeps the row on the old
		// thumbnail; the new one is left for Sweep.
		errBoom := errors.New("boom")
		var inside string
		err := e.db.Transaction(func(tx *gorm.DB) error {
			q := p
			q.Cover = e.put("c/c.jpg", jpegBytes(t, 400, 100))
			if err := tx.Save(&q).Error; err != nil {
				return err
			}
			inside = q.CoverThumb.Key
			if !e.exists(third) {
				t.Error("old thumbnail deleted before commit")
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatal(err)
		}
		if !e.exists(third) {
			t.Fatalf("after rollback: old %q is gone", third)
		}
		if r, err := e.plugin.Sweep(e.ctx, e.db, SweepOptions{Models: []any{&Product{}}, MinAge: -1}); err != nil || len(r.Deleted) != 1 || r.Deleted[0] != inside {
			t.Fatalf("Sweep after rollback: %+v, %v (want %q)", r, err, inside)
		}
		var got Product
		e.db.First(&got, p.ID)
		if got.CoverThumb.Key != third {
			t.Fatalf("row after rollback %+v", got)
		}

		// Clearing the source clears the column and deletes the blob.
		if err := e.db.Model(&got).Update("cover", ImageField{}).Error; err != nil {
			t.Fatal(err)
		}
		e.db.First(&got, p.ID)
		if !got.CoverThumb.IsZero() || e.exists(third) {
			t.Fatalf("cleared source: row %+v, blob exists=%v", got, e.exists(third))
		}
		e.wantNoOrphans()
	}, WithSourceVersionCheck(true))
}

// SKUProduct has a unique column for upserts.
type SKUProduct struct {
	ID         uint
	SKU        string `gorm:"uniqueIndex;size:64"`
	Name       string
	Cover      ImageField
	CoverThumb ImageField `thumb:"64x64,source=Cover"`
}

func TestWritePaths(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{}, &SKUProduct{})
		a := e.put("w/a.jpg", jpegBytes(t, 200, 100))
		b := e.put("w/b.jpg", jpegBytes(t, 100, 200))
		reload := func(id uint) Product {
			var p Product
			if err := e.db.First(&p, id).Error; err != nil {
				t.Fatal(err)
			}
			return p
		}
		wantSize := func(p Product, w, h int) {
			t.Helper()
			if got := reload(p.ID); got.CoverThumb != p.CoverThumb {
				t.Fatalf("row %q, value %q", got.CoverThumb.Key, p.CoverThumb.Key)
			}
			e.wantThumb(p.CoverThumb.Key, w, h, "jpeg")
		}

		// Updates with a map setting the source key as a plain string.
		p := Product{Cover: a}
		e.db.Create(&p)
		if err := e.db.Model(&p).Updates(map[string]any{"cover": "w/b.jpg"}).Error; err != nil {
			t.Fatal(err)
		}
		wantSize(p, 75, 150)

		// UpdateColumn (SkipHooks) still keeps the thumbnail in step.
		if err := e.db.Model(&p).UpdateColumn("cover", a).Error; err != nil {
			t.Fatal(err)
		}
		wantSize(p, 110, 55)

		// FirstOrCreate: miss creates, hit with Assign updates.
		var f Product
		if err := e.db.Where(Product{Name: "foc"}).Attrs(Product{Cover: a}).FirstOrCreate(&f).Error; err != nil {
			t.Fatal(err)
		}
		wantSize(f, 110, 55)
		var g Product
		if err := e.db.Where(Product{Name: "foc"}).Assign(map[string]any{"cover": b}).FirstOrCreate(&g).Error; err != nil {
			t.Fatal(err)
		}
		g = reload(f.ID)
		wantSize(g, 75, 150)

		// Omit the source on create: no thumbnail. Omit the thumbnail column: still persisted.
		o := Product{Name: "omit", Cover: a}
		if err := e.db.Omit("cover").Create(&o).Error; err != nil {
			t.Fatal(err)
		}
		if got := reload(o.ID); !got.CoverThumb.IsZero() || !got.Cover.IsZero() {
			t.Fatalf("Omit(cover) create: %+v", got)
		}
		o2 := Product{Name: "omit2", Cover: a}
		if err := e.db.Omit("cover_thumb").Create(&o2).Error; err != nil {
			t.Fatal(err)
		}
		wantSize(o2, 110, 55)

		// Save with Select/Omit leaving out the source: thumbnail unchanged.
		before := o2.CoverThumb
		o2.Cover = b
		if err := e.db.Omit("cover").Save(&o2).Error; err != nil {
			t.Fatal(err)
		}
		if got := reload(o2.ID); got.CoverThumb != before || got.Cover != a {
			t.Fatalf("Omit(cover).Save changed %+v", got)
		}
		if err := e.db.Select("name").Save(&o2).Error; err != nil {
			t.Fatal(err)
		}
		if got := reload(o2.ID); got.CoverThumb != before {
			t.Fatalf("Select(name).Save changed %+v", got)
		}
		// Select the source: remade.
		if err := e.db.Model(&o2).Select("cover").Updates(Product{Cover: b}).Error; err != nil {
			t.Fatal(err)
		}
		wantSize(o2, 75, 150)
		if e.exists(before.Key) {
			t.Fatal("superseded thumbnail not deleted")
		}

		// Upserts by primary key (Save of a slice is one).
		up := []Product{{ID: p.ID, Name: "up", Cover: b}, {Name: "new", Cover: a}}
		old := reload(p.ID).CoverThumb
		if err := e.db.Save(&up).Error; err != nil {
			t.Fatal(err)
		}
		wantSize(up[0], 75, 150)
		wantSize(up[1], 110, 55)
		if e.exists(old.Key) {
			t.Fatal("upsert left the overwritten row's thumbnail behind")
		}

		// Upserts on a unique column.
		s1 := SKUProduct{SKU: "x1", Cover: a}
		e.db.Create(&s1)
		s2 := SKUProduct{SKU: "x1", Cover: b}
		err := e.db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "sku"}}, UpdateAll: true}).Create(&s2).Error
		if err != nil {
			t.Fatal(err)
		}
		var sk SKUProduct
		e.db.Where("sku = ?", "x1").First(&sk)
		if sk.Cover != b || sk.CoverThumb.IsZero() || e.exists(s1.CoverThumb.Key) {
			t.Fatalf("upsert on sku: row %+v, old thumb exists=%v", sk, e.exists(s1.CoverThumb.Key))
		}
		e.wantThumb(sk.CoverThumb.Key, 32, 64, "jpeg")
		// DO NOTHING on a conflict leaves the row and its thumbnail.
		s3 := SKUProduct{SKU: "x1", Cover: a}
		if err := e.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&s3).Error; err != nil {
			t.Fatal(err)
		}
		var sk2 SKUProduct
		e.db.Where("sku = ?", "x1").First(&sk2)
		if sk2 != sk || !e.exists(sk.CoverThumb.Key) {
			t.Fatalf("DO NOTHING changed %+v -> %+v", sk, sk2)
		}
		// DO UPDATE of other columns only keeps the existing source's thumbnail.
		s4 := SKUProduct{SKU: "x1", Name: "renamed", Cover: a}
		err = e.db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "sku"}}, DoUpdates: clause.AssignmentColumns([]string{"name"})}).Create(&s4).Error
		if err != nil {
			t.Fatal(err)
		}
		var sk3 SKUProduct
		e.db.Where("sku = ?", "x1").First(&sk3)
		if sk3.Name != "renamed" || sk3.Cover != b || sk3.CoverThumb != sk.CoverThumb {
			t.Fatalf("DO UPDATE name: %+v, want thumb %q", sk3, sk.CoverThumb.Key)
		}
		e.wantNoOrphansFor(&SKUProduct{}, &Product{})
	})
}

// wantNoOrphansFor checks with Sweep's dry run that no thumbnail blob is
// unreferenced by the given models.
func (e *env) wantNoOrphansFor(models ...any) {
	e.t.Helper()
	r, err := e.plugin.Sweep(e.ctx, e.db, SweepOptions{Models: models, DryRun: true, MinAge: -1})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(r.Orphans) > 0 {
		e.t.Fatalf("orphaned thumbnails: %q", r.Orphans)
	}
}

func TestSeveralSizesOneDecode(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Poster{})
		src := e.put("p/a.jpg", jpegBytes(t, 800, 800))
		cb, cp := e.counted()
		p := Poster{Image: src}
		e.mustCreate(&p)
		n := cb.counts()
		if cp.n.Load() != 1 || n["read"] != 1 || n["write"] != 2 {
			t.Fatalf("two sizes from one source: %d decodes, bucket %v", cp.n.Load(), n)
		}
		e.wantThumb(p.Small.Key, 64, 64, "jpeg")
		e.wantThumb(p.Large.Key, 600, 600, "jpeg")
	})
}

func TestConcurrentSaves(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		var sources []ImageField
		for i := 0; i < 6; i++ {
			sources = append(sources, e.put(fmt.Sprintf("cc/%d.jpg", i), jpegBytes(t, 60+10*i, 50)))
		}
		// 200 rows, then 16 goroutines making 256 saves between them, on
		// random rows (so some on the same rows), with random sources.
		const rows = 200
		batch := make([]Product, rows)
		for i := range batch {
			batch[i] = Product{Name: fmt.Sprint(i), Cover: sources[i%len(sources)]}
		}
		if err := e.db.CreateInBatches(&batch, 50).Error; err != nil {
			t.Fatal(err)
		}
		ids := make([]uint, rows)
		for i := range batch {
			ids[i] = batch[i].ID
		}
		var wg sync.WaitGroup
		var failures atomic.Int64
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				rng := rand.New(rand.NewSource(int64(g)))
				for k := 0; k < 16; k++ {
					var p Product
					if err := e.db.First(&p, ids[rng.Intn(rows)]).Error; err != nil {
						failures.Add(1)
						t.Error(err)
						return
					}
					p.Cover = sources[rng.Intn(len(sources))]
					if rng.Intn(5) == 0 {
						p.Cover = ImageField{}
					}
					if err := e.db.Save(&p).Error; err != nil {
						failures.Add(1)
						t.Error(err)
						return
					}
				}
			}(g)
		}
		wg.Wait()
		if failures.Load() > 0 {
			t.FailNow()
		}
		// Every row's thumbnail is there and matches its current source.
		var ps []Product
		e.db.Find(&ps)
		for _, p := range ps {
			if p.Cover.IsZero() {
				if !p.CoverThumb.IsZero() {
					t.Fatalf("row %d: thumb %q without a source", p.ID, p.CoverThumb.Key)
				}
				continue
			}
			want := thumbDigest("products", "CoverThumb", p.Cover.Key, "", Spec{Width: 110, Height: 150}.CanonicalKey())
			if _, _, d, ok := parseThumbName(p.CoverThumb.Key); !ok || d != want {
				t.Fatalf("row %d: thumb %q does not match source %q", p.ID, p.CoverThumb.Key, p.Cover.Key)
			}
		}
		e.wantNoOrphans()
	})
}

// The same lifecycle holds without GORM's default transaction (the plugin
// opens its own for models with thumb fields) and with prepared statements
// (the pool the plugin wraps is GORM's PreparedStmtDB).
func TestLifecycleConfigs(t *testing.T) {
	for name, cfg := range map[string]gorm.Config{
		"SkipDefaultTransaction": {SkipDefaultTransaction: true},
		"PrepareStmt":            {PrepareStmt: true},
	} {
		t.Run(name, func(t *testing.T) {
			eachBackendConfig(t, envConfig{gorm: cfg}, func(t *testing.T, e *env) {
				e.migrate(&Product{})
				p := Product{Cover: e.put("l/a.jpg", jpegBytes(t, 200, 100))}
				e.mustCreate(&p)
				first := p.CoverThumb.Key
				p.Cover = e.put("l/b.jpg", jpegBytes(t, 100, 200))
				if err := e.db.Save(&p).Error; err != nil {
					t.Fatal(err)
				}
				if e.exists(first) || !e.exists(p.CoverThumb.Key) {
					t.Fatal("superseded thumbnail kept or new one missing")
				}
				second := p.CoverThumb.Key
				p.Cover = ImageField{Key: "l/missing.jpg"}
				wantErr(t, e.db.Save(&p).Error, ErrSourceNotFound)
				var got Product
				e.db.First(&got, p.ID)
				if got.CoverThumb.Key != second || got.Cover.Key != "l/b.jpg" {
					t.Fatalf("failed save changed the row: %+v", got)
				}
				err := e.db.Transaction(func(tx *gorm.DB) error {
					q := Product{Cover: ImageField{Key: "l/a.jpg"}}
					if err := tx.Create(&q).Error; err != nil {
						return err
					}
					return errors.New("roll back")
				})
				if err == nil {
					t.Fatal("transaction did not fail")
				}
				e.db.Delete(&got)
				// The thumbnail made inside the rolled-back transaction is
				// Sweep's (see TestUserTransactions).
				if _, err := e.plugin.Sweep(e.ctx, e.db, SweepOptions{Models: []any{&Product{}}, MinAge: -1}); err != nil {
					t.Fatal(err)
				}
				e.wantKeys("l/a.jpg", "l/b.jpg")
			})
		})
	}
}

// With WithImmutableSources an unchanged save makes no bucket call at all.
func TestImmutableSources(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		p := Product{Name: "a", Cover: e.put("i/a.jpg", jpegBytes(t, 300, 200))}
		e.mustCreate(&p)
		first := p.CoverThumb
		cb, _ := e.counted()
		p.Name = "b"
		if err := e.db.Save(&p).Error; err != nil {
			t.Fatal(err)
		}
		if n := cb.counts(); len(n) != 0 || p.CoverThumb != first {
			t.Fatalf("unchanged save with immutable sources: bucket calls %v, thumb %q", n, p.CoverThumb.Key)
		}
		// A new key is still a change.
		p.Cover = e.put("i/b.jpg", jpegBytes(t, 200, 300))
		if err := e.db.Save(&p).Error; err != nil {
			t.Fatal(err)
		}
		e.wantThumb(p.CoverThumb.Key, 100, 150, "jpeg")
		if n := cb.counts(); n["attributes"] != 0 || n["read"] != 1 || n["write"] != 1 || n["delete"] != 1 {
			t.Fatalf("changed source with immutable sources: bucket calls %v", n)
		}
		// A missing source is still an error.
		p.Cover = ImageField{Key: "i/missing.jpg"}
		wantErr(t, e.db.Save(&p).Error, ErrSourceNotFound, "i/missing.jpg")
	}, WithImmutableSources(true))
}

// A Save of a stale copy of a row (loaded before another save superseded
// its thumbnail) must not bring back the deleted thumbnail key.
func TestStaleSave(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		a := e.put("st/a.jpg", jpegBytes(t, 200, 100))
		p := Product{Name: "p", Cover: a}
		e.db.Create(&p)
		var stale Product
		e.db.First(&stale, p.ID)
		p.Cover = e.put("st/b.jpg", jpegBytes(t, 100, 200))
		if err := e.db.Save(&p).Error; err != nil {
			t.Fatal(err)
		}
		if e.exists(stale.CoverThumb.Key) {
			t.Fatal("superseded thumbnail not deleted")
		}
		// Last writer wins, as in GORM: the row goes back to source a, with a
		// thumbnail that exists.
		stale.Name = "stale"
		if err := e.db.Save(&stale).Error; err != nil {
			t.Fatal(err)
		}
		var got Product
		e.db.First(&got, p.ID)
		if got.Cover != a || got.Name != "stale" || got.CoverThumb != stale.CoverThumb {
			t.Fatalf("row %+v, value %+v", got, stale)
		}
		e.wantThumb(got.CoverThumb.Key, 110, 55, "jpeg")
		e.wantNoOrphans()
	})
}

// A Save of a struct that was not loaded (an id and a new source, no
// thumbnail) finds the row's real thumbnail and supersedes it.
func TestSaveOfUnloadedStruct(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		p := Product{Name: "p", Cover: e.put("un/a.jpg", jpegBytes(t, 200, 100))}
		e.db.Create(&p)
		old := p.CoverThumb.Key
		q := Product{ID: p.ID, Name: "q", Cover: e.put("un/b.jpg", jpegBytes(t, 100, 200))}
		if err := e.db.Save(&q).Error; err != nil {
			t.Fatal(err)
		}
		var got Product
		e.db.First(&got, p.ID)
		if got.Name != "q" || got.Cover != q.Cover || got.CoverThumb != q.CoverThumb || e.exists(old) {
			t.Fatalf("row %+v, value %+v, old thumbnail exists=%v", got, q, e.exists(old))
		}
		e.wantThumb(got.CoverThumb.Key, 75, 150, "jpeg")
		e.wantNoOrphans()
	})
}

// On MySQL proper (not MariaDB), GORM has no RETURNING and the driver
// reports changed rows, not matched ones: a Save or an upsert of a row whose
// columns are all unchanged reports 0 rows although the row is there. New
// bytes under the same source key must still make a new thumbnail (with
// WithSourceVersionCheck).
func TestInPlaceChangeMySQLAffectedRows(t *testing.T) {
	db := openMySQLAs(t, &gorm.Config{Logger: logger.Discard}, "8.0.36")
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	e := useEnv(t, db, bucket, "mysql8+mem", WithSourceVersionCheck(true))
	e.migrate(&Product{})
	p := Product{Name: "n", Cover: e.put("c/a.jpg", jpegBytes(t, 300, 200))}
	if err := db.Create(&p).Error; err != nil {
		t.Fatal(err)
	}
	for i, write := range []func(p *Product) error{
		func(p *Product) error { return db.Save(p).Error },
		func(p *Product) error { return db.Clauses(clause.OnConflict{UpdateAll: true}).Create(p).Error },
	} {
		before := p.CoverThumb.Key
		e.put("c/a.jpg", pngBytes(t, 150*(i+1), 150*(i+1), false))
		if err := write(&p); err != nil {
			t.Fatal(err)
		}
		var got Product
		db.First(&got, p.ID)
		if got.CoverThumb.Key == before || e.exists(before) {
			t.Fatalf("write %d: in-place change not picked up: row %q, old %q exists=%v", i, got.CoverThumb.Key, before, e.exists(before))
		}
		e.wantThumb(got.CoverThumb.Key, 110, 110, "png")
		p = got
	}
}

// Eight goroutines creating and saving rows with real photos at once, on
// one SQLite file with a 10 s busy timeout, with and without
// _txlock=immediate: no "database is locked", because no image is decoded
// while SQLite's write lock is held.
func TestConcurrentSavesSQLite(t *testing.T) {
	sources := [][]byte{testphoto.JPEG(1600, 1200, 21, 90), testphoto.JPEG(1200, 1600, 22, 90), testphoto.JPEG(1600, 900, 23, 90)}
	for _, dsn := range []string{"?_busy_timeout=10000&_journal_mode=WAL&_txlock=immediate", "?_busy_timeout=10000&_journal_mode=WAL"} {
		t.Run(dsn, func(t *testing.T) {
			db, err := gorm.Open(sqlite.Open(filepath.Join(t.TempDir(), "c.db")+dsn), &gorm.Config{Logger: logger.Discard})
			if err != nil {
				t.Fatal(err)
			}
			e := useEnv(t, db, memblob.OpenBucket(nil), "sqlite"+dsn)
			e.migrate(&Product{})
			var keys []ImageField
			for i, s := range sources {
				keys = append(keys, e.put(fmt.Sprintf("big/%d.jpg", i), s))
			}
			var wg sync.WaitGroup
			errs := make(chan error, 8*3)
			for g := range 8 {
				wg.Go(func() {
					p := Product{Name: fmt.Sprint(g), Cover: keys[g%len(keys)]}
					if err := db.Create(&p).Error; err != nil {
						errs <- fmt.Errorf("create: %w", err)
						return
					}
					p.Cover = keys[(g+1)%len(keys)]
					if err := db.Save(&p).Error; err != nil {
						errs <- fmt.Errorf("save: %w", err)
						return
					}
					if err := db.Model(&p).Update("name", "done").Error; err != nil {
						errs <- fmt.Errorf("update: %w", err)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := e.count(&Product{}); n != 8 {
				t.Fatalf("%d rows", n)
			}
			e.wantNoOrphans()
		})
	}
}
