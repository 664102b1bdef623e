package gormthumb

import (
	"errors"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob/memblob"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// With SkipDefaultTransaction GORM would autocommit the INSERT before the
// thumbnail fails; the plugin opens its own transaction for models with
// thumb fields, so the row is still not written.
func TestSkipDefaultTransaction(t *testing.T) {
	eachBackendConfig(t, envConfig{gorm: gorm.Config{SkipDefaultTransaction: true}}, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		err := e.db.Create(&Product{Cover: ImageField{Key: "no/such.jpg"}}).Error
		wantErr(t, err, ErrSourceNotFound)
		if n := e.count(&Product{}); n != 0 {
			t.Fatalf("%d rows written with SkipDefaultTransaction", n)
		}
		p := Product{Cover: e.put("yes/a.jpg", jpegBytes(t, 300, 300))}
		e.mustCreate(&p)
		e.wantThumb(p.CoverThumb.Key, 110, 110, "jpeg")
		var got Product
		e.db.First(&got, p.ID)
		if got.CoverThumb != p.CoverThumb {
			t.Fatalf("row %+v", got)
		}
	})
}

// A caller's transaction that rolls back leaves the thumbnails it made to
// Sweep; one whose statement fails and whose error the caller ignores
// keeps the rest of the transaction.
func TestTransactionRollbackLeavesThumbnailsToSweep(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		src := e.put("tx/a.jpg", jpegBytes(t, 200, 100))
		errBoom := errors.New("boom")
		err := e.db.Transaction(func(tx *gorm.DB) error {
			p := Product{Cover: src}
			if err := tx.Create(&p).Error; err != nil {
				return err
			}
			e.wantThumb(p.CoverThumb.Key, 110, 55, "jpeg") // visible inside the transaction
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatal(err)
		}
		if r, err := e.plugin.Sweep(e.ctx, e.db, SweepOptions{Models: []any{&Product{}}, MinAge: -1}); err != nil || len(r.Deleted) != 1 {
			t.Fatalf("Sweep: %+v, %v", r, err)
		}
		e.wantKeys("tx/a.jpg")
		// A failing thumbnail inside a transaction whose error the caller
		// ignores: the row is rolled back to our savepoint, the rest commits.
		err = e.db.Transaction(func(tx *gorm.DB) error {
			tx.Create(&Product{Name: "bad", Cover: ImageField{Key: "tx/missing.jpg"}})
			return tx.Create(&Product{Name: "good", Cover: src}).Error
		})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		e.db.Model(&Product{}).Pluck("name", &names)
		if len(names) != 1 || names[0] != "good" {
			t.Fatalf("rows after ignored error: %q", names)
		}
	})
}

// Inside the caller's transaction the plugin cannot know whether the
// transaction will commit: a statement that fails there leaves nothing,
// but once it succeeded, neither the thumbnails it superseded nor the ones
// it made are deleted by the plugin (either may still be referenced after
// the caller commits or rolls back). They are orphans for Sweep, and the
// rows always point at thumbnails that exist.
func TestUserTransactions(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		a := e.put("t/a.jpg", jpegBytes(t, 200, 100))
		b := e.put("t/b.jpg", jpegBytes(t, 100, 200))
		p := Product{Cover: a}
		e.db.Create(&p)
		first := p.CoverThumb.Key
		sweep := func(want int) {
			t.Helper()
			r, err := e.plugin.Sweep(e.ctx, e.db, SweepOptions{Models: []any{&Product{}}, MinAge: -1})
			if err != nil || len(r.Deleted) != want {
				t.Fatalf("Sweep deleted %q (%v), want %d orphans", r.Deleted, err, want)
			}
			e.wantNoOrphans()
		}

		// Commit: the row points at the new thumbnail; the old one stays
		// for Sweep.
		err := e.db.Transaction(func(tx *gorm.DB) error {
			p.Cover = b
			return tx.Save(&p).Error
		})
		if err != nil || !e.exists(first) || !e.exists(p.CoverThumb.Key) {
			t.Fatalf("after commit: err=%v old exists=%v new exists=%v", err, e.exists(first), e.exists(p.CoverThumb.Key))
		}
		second := p.CoverThumb.Key
		sweep(1)

		// Begin / Rollback by hand: the rows keep their thumbnails.
		tx := e.db.Begin()
		q := Product{Cover: a}
		if err := tx.Create(&q).Error; err != nil {
			t.Fatal(err)
		}
		p.Cover = a
		if err := tx.Save(&p).Error; err != nil {
			t.Fatal(err)
		}
		tx.Rollback()
		var got Product
		e.db.First(&got, p.ID)
		if got.CoverThumb.Key != second || !e.exists(second) {
			t.Fatalf("after rollback the row holds %q (exists %v), want %q", got.CoverThumb.Key, e.exists(got.CoverThumb.Key), second)
		}
		sweep(2)

		// A statement that fails inside the transaction leaves nothing:
		// its savepoint is rolled back and its blobs deleted at once.
		before := e.keys()
		err = e.db.Transaction(func(tx *gorm.DB) error {
			bad := Product{Name: "bad", Cover: e.put("t/notes.jpg", []byte("not an image"))}
			wantErr(t, tx.Create(&bad).Error, ErrNotImage)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		e.wantKeys(append(before, "t/notes.jpg")...)

		// Nested: the inner transaction rolls back to its savepoint, the
		// outer commits.
		var outerKey string
		err = e.db.Transaction(func(tx *gorm.DB) error {
			o := Product{Name: "outer", Cover: b}
			if err := tx.Create(&o).Error; err != nil {
				return err
			}
			outerKey = o.CoverThumb.Key
			tx.Transaction(func(tx2 *gorm.DB) error {
				i := Product{Name: "inner", Cover: a}
				if err := tx2.Create(&i).Error; err != nil {
					return err
				}
				return errors.New("inner fails")
			})
			return nil
		})
		if err != nil || !e.exists(outerKey) {
			t.Fatalf("nested: err=%v outer exists=%v", err, e.exists(outerKey))
		}
		var names []string
		e.db.Model(&Product{}).Order("id").Pluck("name", &names)
		if strings.Join(names, ",") != ",outer" {
			t.Fatalf("rows %q", names)
		}
		sweep(1)
	})
}

// A commit that reaches the server but whose answer is lost (the
// connection drops after COMMIT) has an unknown outcome: the plugin deletes
// nothing, so the committed row never points at a deleted thumbnail, and
// the superseded one is left for Sweep. PostgreSQL and MySQL only: the
// fault is a TCP proxy in front of the server.
func TestUnknownCommitOutcome(t *testing.T) {
	for _, d := range dbBackends {
		if d.name == "sqlite" {
			continue
		}
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			setup := d.open(t, &gorm.Config{Logger: logger.Discard})
			if sqlDB, err := setup.DB(); err == nil {
				t.Cleanup(func() { sqlDB.Close() })
			}
			proxy := startCommitDropper(t, serverAddr(t, setup))
			db, err := gorm.Open(sameDatabase(t, setup, proxy.addr()), &gorm.Config{Logger: logger.Discard})
			if err != nil {
				t.Fatal(err)
			}
			e := useEnv(t, db, memblob.OpenBucket(nil), d.name+" through the proxy")
			plugin := e.plugin
			e.db = setup // reads and setup on a connection of its own
			e.migrate(&Product{})
			p := Product{Cover: e.put("u/a.jpg", jpegBytes(t, 300, 200))}
			if err := db.Create(&p).Error; err != nil {
				t.Fatal(err)
			}
			first := p.CoverThumb.Key
			p.Cover = e.put("u/b.jpg", jpegBytes(t, 200, 300))
			proxy.armed.Store(true)
			if err := db.Save(&p).Error; err == nil || proxy.fired.Load() != 1 {
				t.Fatalf("Save through the dropping proxy: %v (fired %d), want a commit error", err, proxy.fired.Load())
			}
			var got Product
			setup.First(&got, p.ID)
			if got.Cover.Key != "u/b.jpg" || !e.exists(got.CoverThumb.Key) {
				t.Fatalf("committed row %+v points at a missing thumbnail", got)
			}
			if !e.exists(first) {
				t.Fatal("the superseded thumbnail was deleted on an unknown outcome")
			}
			r, err := plugin.Sweep(e.ctx, setup, SweepOptions{Models: []any{&Product{}}, MinAge: -1})
			if err != nil || len(r.Deleted) != 1 || r.Deleted[0] != first {
				t.Fatalf("Sweep: %+v, %v", r, err)
			}
			e.wantNoOrphans()
		})
	}
}

// Deletes after a commit are bounded by WithDeleteTimeout: a bucket that
// hangs on DELETE does not hang the save, and what was not deleted is left
// for Sweep.
func TestHungBucketDoesNotHangSave(t *testing.T) {
	for _, d := range dbBackends {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			s3, bucket := openFaultyS3(t)
			e := useEnv(t, d.open(t, &gorm.Config{Logger: logger.Discard}), bucket, d.name+"+faulty-s3", WithDeleteTimeout(300*time.Millisecond))
			db, plugin := e.db, e.plugin
			e.migrate(&Product{})
			p := Product{Cover: e.put("h/a.jpg", jpegBytes(t, 300, 200))}
			if err := db.Create(&p).Error; err != nil {
				t.Fatal(err)
			}
			first := p.CoverThumb.Key
			s3.hangDel.Store(true)
			p.Cover = e.put("h/b.jpg", jpegBytes(t, 200, 300))
			start := time.Now()
			if err := db.Save(&p).Error; err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > 5*time.Second || s3.deletes.Load() == 0 {
				t.Fatalf("Save took %v with a hung bucket (%d deletes tried)", took, s3.deletes.Load())
			}
			s3.unhang()
			if !e.exists(first) || !e.exists(p.CoverThumb.Key) {
				t.Fatalf("want the superseded thumbnail %q left for Sweep (exists %v) and the new one %q stored (exists %v)", first, e.exists(first), p.CoverThumb.Key, e.exists(p.CoverThumb.Key))
			}
			r, err := plugin.Sweep(e.ctx, db, SweepOptions{Models: []any{&Product{}}, MinAge: -1})
			if err != nil || len(r.Deleted) != 1 || r.Deleted[0] != first {
				t.Fatalf("Sweep: %+v, %v", r, err)
			}
			e.wantNoOrphans()
		})
	}
}
