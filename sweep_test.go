package gormthumb

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

func TestSweep(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{}, &Poster{})
		p := Product{Cover: e.put("sw/a.jpg", jpegBytes(t, 100, 100))}
		e.db.Create(&p)
		ps := Poster{Image: p.Cover}
		e.db.Create(&ps)
		// A crash between commit and delete leaves an orphan behind.
		orphan := "sw/thumbnails/a.64x64.0123456789abcdef.jpg"
		if err := writeBlob(e.ctx, e.bucket, orphan, jpegBytes(t, 64, 64), JPEG, "sw/a.jpg"); err != nil {
			t.Fatal(err)
		}
		orphan2 := "posters/small/x.64x64.ba9876543210fedc.jpg"
		writeBlob(e.ctx, e.bucket, orphan2, jpegBytes(t, 64, 64), JPEG, "sw/a.jpg")
		// Look-alikes the plugin did not write, and originals, are never touched.
		e.put("sw/thumbnails/mine.64x64.0123456789abcdef.jpg", jpegBytes(t, 64, 64))
		e.put("sw/thumbnails/holiday.jpg", jpegBytes(t, 64, 64))

		models := []any{&Product{}, &Poster{}}
		// Young blobs are kept by default (a transaction may still commit them).
		r, err := e.plugin.Sweep(e.ctx, e.db, SweepOptions{Models: models})
		if err != nil || len(r.Orphans) != 0 {
			t.Fatalf("default MinAge: %+v %v", r, err)
		}
		r, err = e.plugin.Sweep(e.ctx, e.db, SweepOptions{Models: models, DryRun: true, MinAge: -1})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(r.Orphans)
		if fmt.Sprint(r.Orphans) != fmt.Sprint([]string{orphan2, orphan}) || len(r.Deleted) != 0 || !e.exists(orphan) {
			t.Fatalf("dry run: %+v", r)
		}
		r, err = e.plugin.Sweep(e.ctx, e.db, SweepOptions{Models: models, MinAge: -1})
		if err != nil || len(r.Deleted) != 2 || e.exists(orphan) || e.exists(orphan2) {
			t.Fatalf("sweep: %+v %v", r, err)
		}
		for _, k := range []string{"sw/a.jpg", p.CoverThumb.Key, ps.Small.Key, ps.Large.Key, "sw/thumbnails/mine.64x64.0123456789abcdef.jpg", "sw/thumbnails/holiday.jpg"} {
			if !e.exists(k) {
				t.Fatalf("sweep deleted %q", k)
			}
		}
	})
}

// A blob whose attributes cannot be read is reported (in Failed, and as an
// error wrapping ErrStorage), not skipped in silence; the rest is swept.
func TestSweepReportsFailures(t *testing.T) {
	for _, d := range dbBackends {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			s3, bucket := openFaultyS3(t)
			e := useEnv(t, d.open(t, &gorm.Config{Logger: logger.Discard}), bucket, d.name+"+faulty-s3")
			db, plugin := e.db, e.plugin
			e.migrate(&Product{})
			var orphans []string
			for _, name := range []string{"a", "b"} {
				p := Product{Cover: e.put("sw/"+name+".jpg", jpegBytes(t, 100, 100))}
				if err := db.Create(&p).Error; err != nil {
					t.Fatal(err)
				}
				orphans = append(orphans, p.CoverThumb.Key)
			}
			db.Exec("UPDATE products SET cover_thumb = NULL")
			s3.failHead.Store(path.Dir(orphans[0]) + "/a.")
			r, err := plugin.Sweep(e.ctx, db, SweepOptions{Models: []any{&Product{}}, MinAge: -1})
			if !errors.Is(err, ErrStorage) || len(r.Failed) != 1 || r.Failed[0] != orphans[0] {
				t.Fatalf("Sweep with a failing look-up: %+v, %v", r, err)
			}
			if len(r.Deleted) != 1 || r.Deleted[0] != orphans[1] {
				t.Fatalf("the other orphan was not swept: %+v", r)
			}
		})
	}
}
