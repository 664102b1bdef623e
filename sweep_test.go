package gormthumb

import (
	"fmt"
	"sort"
	"testing"
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
