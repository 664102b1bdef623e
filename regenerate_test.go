package gormthumb

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gorm.io/gorm"
)

// rawProduct writes the products table behind the plugin's back (no thumb
// tag): rows with sources and no thumbnails, as after an import or before
// the thumb tag was added.
type rawProduct struct {
	ID    uint
	Name  string
	Cover ImageField
}

func (rawProduct) TableName() string { return "products" }

// smallProduct is Product after its thumb tag changed.
type smallProduct struct {
	ID         uint
	Name       string
	Cover      ImageField `upload:"images/cover/%Y/%m/%d"`
	CoverThumb ImageField `thumb:"20x20,source=Cover"`
}

func (smallProduct) TableName() string { return "products" }

// seedProducts inserts n rows without thumbnails; rows whose id is in
// broken get a missing source (even positions) or a non-image (odd).
func seedProducts(t *testing.T, e *env, n int, broken []uint) {
	t.Helper()
	const distinct = 16
	for i := 0; i < distinct; i++ {
		e.put(fmt.Sprintf("src/%02d.jpg", i), jpegBytes(t, 40, 30))
	}
	e.put("src/text.jpg", []byte("just text, not an image"))
	bad := map[uint]string{}
	for i, id := range broken {
		bad[id] = []string{"src/missing.jpg", "src/text.jpg"}[i%2]
	}
	rows := make([]rawProduct, n)
	for i := range rows {
		id := uint(i + 1)
		rows[i] = rawProduct{ID: id, Name: fmt.Sprint("p", id), Cover: ImageField{Key: fmt.Sprintf("src/%02d.jpg", i%distinct)}}
		if k, ok := bad[id]; ok {
			rows[i].Cover.Key = k
		}
	}
	if err := e.db.CreateInBatches(&rows, 200).Error; err != nil {
		t.Fatal(err)
	}
}

// thumbsByID returns id -> thumbnail key for every row.
func thumbsByID(t *testing.T, e *env) map[uint]string {
	t.Helper()
	var ps []Product
	if err := e.db.Order("id").Find(&ps).Error; err != nil {
		t.Fatal(err)
	}
	m := map[uint]string{}
	for _, p := range ps {
		m[p.ID] = p.CoverThumb.Key
	}
	return m
}

func failedKeys(rep *RegenerateReport) []uint {
	var ids []uint
	for _, f := range rep.Failed {
		ids = append(ids, f.Key.(uint))
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func thumbCount(e *env) int {
	n := 0
	for _, k := range e.keys() {
		if strings.Contains(k, "/thumbnails/") {
			n++
		}
	}
	return n
}

// 1,000 rows, ten with broken sources: the broken ones are reported by key
// and left alone, the rest are made; a second run skips them all; a changed
// tag is counted by a dry run and made by a run resumed from a key.
func TestRegenerateThousandRows(t *testing.T) {
	e := newEnv(t, dbBackends[0], bucketBackends[0], envConfig{}) // sqlite + mem
	e.migrate(&Product{})
	broken := []uint{7, 107, 207, 307, 407, 507, 607, 707, 807, 907}
	seedProducts(t, e, 1000, broken)

	var progress []RegenerateProgress
	rep, err := Regenerate(e.ctx, e.db, &Product{}, RegenerateOptions{
		BatchSize: 64, Concurrency: 4,
		Progress: func(p RegenerateProgress) { progress = append(progress, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 1000 || rep.Made != 990 || rep.Skipped != 0 || !reflect.DeepEqual(failedKeys(rep), broken) || rep.LastKey != uint(1000) {
		t.Fatalf("first run: rows %d made %d skipped %d failed %v last %v", rep.Rows, rep.Made, rep.Skipped, failedKeys(rep), rep.LastKey)
	}
	for _, f := range rep.Failed {
		want := ErrNotImage
		if f.Key.(uint)%200 == 7 {
			want = ErrSourceNotFound
		}
		wantErr(t, f.Err, want, "Product.CoverThumb", "src/")
	}
	last := progress[len(progress)-1]
	if last.Done != 1000 || last.Total != 1000 || last.Made != 990 || last.Failed != 10 || last.LastKey != uint(1000) {
		t.Fatalf("last progress %+v", last)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i].Done < progress[i-1].Done {
			t.Fatalf("progress went backwards: %+v then %+v", progress[i-1], progress[i])
		}
	}
	first := thumbsByID(t, e)
	for id, key := range first {
		isBroken := false
		for _, b := range broken {
			isBroken = isBroken || id == b
		}
		if isBroken != (key == "") {
			t.Fatalf("row %d: thumb %q (broken %v)", id, key, isBroken)
		}
	}
	for _, id := range []uint{1, 500, 1000} {
		e.wantThumb(first[id], 40, 30, "jpeg") // never upscaled into 110x150
	}
	if n := thumbCount(e); n != 990 {
		t.Fatalf("%d thumbnail blobs, want 990", n)
	}

	// Nothing changed: every good row is skipped, no blob is written.
	rep, err = Regenerate(e.ctx, e.db, &Product{}, RegenerateOptions{BatchSize: 100})
	if err != nil || rep.Made != 0 || rep.Skipped != 990 || len(rep.Failed) != 10 {
		t.Fatalf("second run: %+v, %v", rep, err)
	}
	if !reflect.DeepEqual(thumbsByID(t, e), first) {
		t.Fatal("an up-to-date run changed thumbnail keys")
	}

	// The tag changed to 20x20. A dry run counts the work and writes nothing.
	keysBefore := e.keys()
	rep, err = Regenerate(e.ctx, e.db, &smallProduct{}, RegenerateOptions{DryRun: true})
	if err != nil || rep.Made != 990 || rep.Skipped != 0 || !reflect.DeepEqual(failedKeys(rep), broken) {
		t.Fatalf("dry run: made %d skipped %d failed %v, %v", rep.Made, rep.Skipped, failedKeys(rep), err)
	}
	if !reflect.DeepEqual(thumbsByID(t, e), first) {
		t.Fatal("dry run changed rows")
	}
	e.wantKeys(keysBefore...)

	// Resume from key 900 (as the command passes it, a string).
	rep, err = Regenerate(e.ctx, e.db, &smallProduct{}, RegenerateOptions{After: "900", Concurrency: 3})
	if err != nil || rep.Rows != 100 || rep.Made != 99 || !reflect.DeepEqual(failedKeys(rep), []uint{907}) {
		t.Fatalf("resumed run: rows %d made %d failed %v, %v", rep.Rows, rep.Made, failedKeys(rep), err)
	}
	now := thumbsByID(t, e)
	for id := uint(1); id <= 1000; id++ {
		switch {
		case id == 907 || id <= 900:
			if now[id] != first[id] {
				t.Fatalf("row %d outside the resumed range changed", id)
			}
		default:
			if now[id] == first[id] {
				t.Fatalf("row %d was not remade", id)
			}
			if ok, _ := e.bucket.Exists(e.ctx, first[id]); ok {
				t.Fatalf("row %d: superseded thumbnail %s still in the bucket", id, first[id])
			}
		}
	}
	e.wantThumb(now[1000], 20, 15, "jpeg")
	if n := thumbCount(e); n != 990 {
		t.Fatalf("%d thumbnail blobs after the resumed run, want 990", n)
	}
}

// The same walk on every backend: row locks on PostgreSQL and MySQL, S3.
func TestRegenerateBackends(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		seedProducts(t, e, 12, []uint{3, 8})
		rep, err := Regenerate(e.ctx, e.db, &Product{}, RegenerateOptions{BatchSize: 5, Concurrency: 3})
		if err != nil || rep.Rows != 12 || rep.Made != 10 || !reflect.DeepEqual(failedKeys(rep), []uint{3, 8}) {
			t.Fatalf("made %d failed %v, %v", rep.Made, failedKeys(rep), err)
		}
		got := thumbsByID(t, e)
		e.wantThumb(got[12], 40, 30, "jpeg")
		rep, err = Regenerate(e.ctx, e.db, &smallProduct{}, RegenerateOptions{After: uint(10)})
		if err != nil || rep.Rows != 2 || rep.Made != 2 {
			t.Fatalf("resumed: %+v, %v", rep, err)
		}
		e.wantThumb(thumbsByID(t, e)[12], 20, 15, "jpeg")
	})
}

type twoKeys struct {
	A     uint `gorm:"primaryKey"`
	B     uint `gorm:"primaryKey"`
	Cover ImageField
	Thumb ImageField `thumb:"10x10,source=Cover"`
}

func TestRegenerateRefuses(t *testing.T) {
	e := newEnv(t, dbBackends[0], bucketBackends[0], envConfig{})
	e.migrate(&Product{}, &twoKeys{})
	if _, err := Regenerate(e.ctx, e.db, &twoKeys{}, RegenerateOptions{}); err == nil || !strings.Contains(err.Error(), "single-column primary key") {
		t.Fatalf("composite key: %v", err)
	}
	if _, err := Regenerate(e.ctx, e.db, &rawProduct{}, RegenerateOptions{}); !errors.Is(err, ErrInvalidTag) {
		t.Fatalf("model without thumb fields: %v", err)
	}
	if _, err := Regenerate(e.ctx, e.db, &Product{}, RegenerateOptions{After: "x"}); err == nil || !strings.Contains(err.Error(), "not an unsigned integer") {
		t.Fatalf("bad resume key: %v", err)
	}
	plain, err := gorm.Open(e.db.Dialector, &gorm.Config{})
	if err == nil {
		_, err = Regenerate(e.ctx, plain, &Product{}, RegenerateOptions{})
	}
	if err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("db without the plugin: %v", err)
	}
}

// A run cancelled half-way returns the context error and a resume point;
// resuming from it finishes the table, and nothing is counted twice as made.
func TestRegenerateCancelAndResume(t *testing.T) {
	e := newEnv(t, dbBackends[0], bucketBackends[0], envConfig{})
	e.migrate(&Product{})
	seedProducts(t, e, 60, nil)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	rep, err := Regenerate(ctx, e.db, &Product{}, RegenerateOptions{BatchSize: 10, Concurrency: 2,
		Progress: func(p RegenerateProgress) {
			if p.Done >= 25 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) || rep.LastKey == nil || rep.LastKey.(uint)%10 != 0 || rep.LastKey.(uint) > 30 || len(rep.Failed) != 0 {
		t.Fatalf("cancelled run: %+v, %v", rep, err)
	}
	first := rep.Made
	rep, err = Regenerate(e.ctx, e.db, &Product{}, RegenerateOptions{After: rep.LastKey})
	if err != nil || len(rep.Failed) != 0 {
		t.Fatalf("resumed run: %+v, %v", rep, err)
	}
	// The resumed run redoes the unfinished batch: rows the first run
	// finished there are skipped, so every row is made exactly once.
	if first+rep.Made != 60 {
		t.Fatalf("made %d then %d (skipped %d), want 60 in all", first, rep.Made, rep.Skipped)
	}
	for id, key := range thumbsByID(t, e) {
		if key == "" {
			t.Fatalf("row %d has no thumbnail after the resume", id)
		}
	}
}

// Sources are immutable by default: new bytes written in place under a
// source key are not noticed by a save (which makes no bucket call), and
// Regenerate with Force repairs the thumbnails.
func TestInPlaceOverwriteRepairedByForce(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		p := Product{Name: "a", Cover: e.put("o/a.jpg", jpegBytes(t, 300, 200))}
		e.mustCreate(&p)
		before := p.CoverThumb.Key
		e.put("o/a.jpg", pngBytes(t, 150, 150, false)) // overwritten in place
		p.Name = "b"
		if err := e.db.Save(&p).Error; err != nil || p.CoverThumb.Key != before {
			t.Fatalf("save after an in-place overwrite: %v, thumb %q (was %q)", err, p.CoverThumb.Key, before)
		}
		rep, err := Regenerate(e.ctx, e.db, &Product{}, RegenerateOptions{})
		if err != nil || rep.Made != 0 {
			t.Fatalf("Regenerate without Force: %+v, %v", rep, err)
		}
		rep, err = Regenerate(e.ctx, e.db, &Product{}, RegenerateOptions{Force: true})
		if err != nil || rep.Made != 1 {
			t.Fatalf("Regenerate with Force: %+v, %v", rep, err)
		}
		var got Product
		e.db.First(&got, p.ID)
		e.wantThumb(got.CoverThumb.Key, 110, 110, "png")
		if e.exists(before) {
			t.Fatal("the superseded thumbnail is still there")
		}
		e.wantNoOrphans()
	})
}
