package gormthumb

import (
	"testing"
)

// Select("*").Save of a struct whose thumbnail keys are not the row's (a
// stale copy, or one built by hand) must not be a silent no-op: GORM does
// not fall back to an upsert when Selects are given, so the plugin runs
// the UPDATE again without its pin.
func TestSelectStarSaveOfStaleStruct(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		p := Product{Name: "first", Cover: e.put("s/a.jpg", jpegBytes(t, 300, 200))}
		e.mustCreate(&p)
		stale := p
		p.Cover = e.put("s/b.jpg", jpegBytes(t, 200, 300))
		if err := e.db.Save(&p).Error; err != nil {
			t.Fatal(err)
		}
		stale.Name = "second"
		stale.Cover = e.put("s/c.jpg", jpegBytes(t, 400, 100))
		res := e.db.Select("*").Save(&stale)
		if res.Error != nil || res.RowsAffected != 1 {
			t.Fatalf("Select(*).Save of a stale struct: %v, %d rows", res.Error, res.RowsAffected)
		}
		var got Product
		e.db.First(&got, p.ID)
		if got.Name != "second" || got.Cover != stale.Cover || got.CoverThumb != stale.CoverThumb {
			t.Fatalf("row %+v, want the stale struct's save %+v", got, stale)
		}
		e.wantThumb(got.CoverThumb.Key, 110, 28, "jpeg")
		e.wantNoOrphans() // p's thumbnail was superseded and deleted

		// A struct built by hand with the row's primary key, through both
		// kinds of Save.
		byHand := Product{ID: p.ID, Name: "third", Cover: e.put("s/d.jpg", jpegBytes(t, 100, 100))}
		if err := e.db.Select("*").Save(&byHand).Error; err != nil {
			t.Fatal(err)
		}
		byHand2 := Product{ID: p.ID, Name: "fourth", Cover: byHand.Cover}
		if err := e.db.Save(&byHand2).Error; err != nil {
			t.Fatal(err)
		}
		e.db.First(&got, p.ID)
		if got.Name != "fourth" || got.Cover != byHand.Cover {
			t.Fatalf("row %+v", got)
		}
		e.wantThumb(got.CoverThumb.Key, 100, 100, "jpeg")
		e.wantNoOrphans()
	})
}
