package gormthumb

import (
	"strings"
	"testing"

	"github.com/buckket/go-blurhash"
)

// Gallery has a set of widths, a fixed-size thumbnail and a placeholder of
// one source.
type Gallery struct {
	ID      uint
	Photo   ImageField
	Widths  ImageField `thumb:"widths=320|640|1280,source=Photo"`
	Square  ImageField `thumb:"100x100,source=Photo,fit=cover"`
	Blur    string     `placeholder:"source=Photo"`
	Caption string
}

// A placeholder is the source's BlurHash, made in the same pass as its
// thumbnails, remade when they are and cleared with the source.
func TestPlaceholder(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Gallery{})
		cb, cp := e.counted()
		g := Gallery{Photo: e.put("g/a.jpg", jpegBytes(t, 1000, 750))}
		e.mustCreate(&g)
		if n := cb.counts(); cp.n.Load() != 1 || n["read"] != 1 {
			t.Fatalf("one decode for the thumbnails and the placeholder: %d decodes, bucket %v", cp.n.Load(), n)
		}
		if len(g.Blur) < 20 {
			t.Fatalf("placeholder %q", g.Blur)
		}
		if _, err := blurhash.Decode(g.Blur, 32, 24, 1); err != nil {
			t.Fatalf("not a BlurHash: %q: %v", g.Blur, err)
		}
		var got Gallery
		e.db.First(&got, g.ID)
		if got.Blur != g.Blur {
			t.Fatalf("row holds %q, struct %q", got.Blur, g.Blur)
		}
		if uri := BlurHashDataURI(got.Blur, 4, 3); !strings.HasPrefix(uri, "data:image/png;base64,") {
			t.Fatalf("data URI %q", uri)
		}
		// Unchanged: kept. A new source: remade. No source: cleared.
		first := got.Blur
		got.Caption = "x"
		if err := e.db.Save(&got).Error; err != nil || got.Blur != first {
			t.Fatalf("unchanged save: %v, %q", err, got.Blur)
		}
		got.Photo = e.put("g/b.jpg", pngBytes(t, 300, 400, false))
		if err := e.db.Save(&got).Error; err != nil || got.Blur == first || got.Blur == "" {
			t.Fatalf("new source: %v, placeholder %q (was %q)", err, got.Blur, first)
		}
		if err := e.db.Model(&got).Update("photo", ImageField{}).Error; err != nil {
			t.Fatal(err)
		}
		e.db.First(&got, g.ID)
		if got.Blur != "" || !got.Widths.IsZero() || !got.Square.IsZero() {
			t.Fatalf("after clearing the source: %+v", got)
		}
		e.wantNoOrphansFor(&Gallery{})
	})
}
