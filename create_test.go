package gormthumb

import (
	"testing"
)

// Create from a map, or a slice of maps, makes the thumbnails as a Create
// from a struct does, and adds their columns to the maps (as GORM adds the
// primary key).
func TestCreateFromMaps(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		src := e.put("m/a.jpg", jpegBytes(t, 300, 200))
		m := map[string]any{"Name": "one", "Cover": src}
		if err := e.db.Model(&Product{}).Create(m).Error; err != nil {
			t.Fatal(err)
		}
		ms := []map[string]any{
			{"name": "two", "cover": src.Key},
			{"name": "three", "cover": nil},
		}
		if err := e.db.Model(&Product{}).Create(&ms).Error; err != nil {
			t.Fatal(err)
		}
		var ps []Product
		e.db.Order("name").Find(&ps)
		if len(ps) != 3 {
			t.Fatalf("%d rows", len(ps))
		}
		byName := map[string]Product{}
		for _, p := range ps {
			byName[p.Name] = p
		}
		for _, name := range []string{"one", "two"} {
			p := byName[name]
			e.wantThumb(p.CoverThumb.Key, 110, 73, "jpeg")
		}
		if byName["one"].CoverThumb == byName["two"].CoverThumb {
			t.Fatal("two rows share a thumbnail")
		}
		if !byName["three"].CoverThumb.IsZero() {
			t.Fatalf("row without a source has thumbnail %q", byName["three"].CoverThumb.Key)
		}
		if got, _ := m["cover_thumb"].(ImageField); got != byName["one"].CoverThumb {
			t.Fatalf("map holds %v, row %v", m["cover_thumb"], byName["one"].CoverThumb)
		}
		e.wantNoOrphans()
		// A missing source fails the create and leaves nothing.
		before := e.keys()
		err := e.db.Model(&Product{}).Create(map[string]any{"name": "four", "cover": "m/missing.jpg"}).Error
		wantErr(t, err, ErrSourceNotFound, "Product.CoverThumb", "m/missing.jpg")
		if n := e.count(&Product{}); n != 3 {
			t.Fatalf("%d rows", n)
		}
		e.wantKeys(before...)
	})
}
