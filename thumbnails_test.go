package gormthumb

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// Sketch is the model of the end-to-end hostile-input cases.
type Sketch struct {
	ID    uint
	Name  string
	Image ImageField
	Thumb ImageField `thumb:"64x64,source=Image"`
}

// Through the plugin: typed errors naming model, field and key; no row and
// no blob left behind; good rows of the same model still work.
func TestHostileInputThroughPlugin(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Sketch{})
		cases := []struct {
			key      string
			data     []byte
			sentinel error
		}{
			{"hostile/bomb.png", corpusBytes(t, "png-bomb-32000x32000.png"), ErrTooLarge},
			{"hostile/bomb.gif", corpusBytes(t, "gif-bomb-huge-frame.gif"), ErrTooLarge},
			{"hostile/frames.gif", testphoto.GIFFrames(1001), ErrTooLarge},
			{"hostile/readme.png", corpusBytes(t, "not-an-image-text.png"), ErrNotImage},
			{"hostile/cut.jpg", corpusBytes(t, "jpeg-truncated-progressive.jpg"), ErrNotImage},
			{"hostile/empty.jpg", nil, ErrNotImage},
		}
		for _, c := range cases {
			e.put(c.key, c.data)
		}
		originals := e.keys()
		for _, c := range cases {
			err := e.db.Create(&Sketch{Name: c.key, Image: ImageField{Key: c.key}}).Error
			wantErr(t, err, c.sentinel, "Sketch", "Thumb", c.key)
		}
		if n := e.count(&Sketch{}); n != 0 {
			t.Fatalf("%d rows written by failed creates", n)
		}
		e.wantKeys(originals...)
		ok := Sketch{Image: e.put("fine/anim.gif", corpusBytes(t, "gif-animated-small.gif"))}
		e.mustCreate(&ok)
		e.wantThumb(ok.Thumb.Key, 64, 64, "gif")
		// An extension that lies: a WebP named .jpg is read as WebP and,
		// having alpha, thumbnailed as PNG.
		liar := Sketch{Image: e.put("fine/photo.jpg", corpusBytes(t, "webp-lossy-alpha.webp"))}
		e.mustCreate(&liar)
		if !strings.HasSuffix(liar.Thumb.Key, ".png") {
			t.Fatalf("thumbnail key %q", liar.Thumb.Key)
		}
		e.wantThumb(liar.Thumb.Key, 64, 48, "png")
	})
}

// A stored thumbnail carries nothing of the source's metadata (the
// processor's own output is checked in package thumb).
func TestStoredThumbnailHasNoMetadata(t *testing.T) {
	secrets := []string{"Exif", "SecretCam", "SN-4815162342", "meet me at noon"}
	src := testphoto.WithEXIF(jpegBytes(t, 300, 200), testphoto.EXIF{Make: "SecretCam", Serial: "SN-4815162342", GPS: true, Comment: "meet me at noon"})
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		p := Product{Cover: e.put("gps/photo.jpg", src)}
		e.mustCreate(&p)
		data, err := e.bucket.ReadAll(e.ctx, p.CoverThumb.Key)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("stored thumbnail contains %q", s)
			}
		}
		if bytes.Contains(data, []byte{0xFF, 0xE1}) || bytes.Contains(data, []byte{0xFF, 0xFE}) {
			t.Error("stored thumbnail has an APP1 or COM segment")
		}
	})
}

// shortProcessor breaks the Processor contract: one thumbnail too few.
type shortProcessor struct{}

func (shortProcessor) Process(ctx context.Context, src io.Reader, specs []Spec, lim Limits) ([]Thumbnail, error) {
	out, err := GoProcessor{}.Process(ctx, src, specs, lim)
	if len(out) > 0 {
		out = out[:len(out)-1]
	}
	return out, err
}

// A processor that returns fewer thumbnails than sizes is a typed error,
// not a panic, and leaves nothing behind.
func TestProcessorTooFewThumbnails(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Poster{})
		src := e.put("short/a.jpg", jpegBytes(t, 300, 300))
		err := e.db.Create(&Poster{Image: src}).Error
		wantErr(t, err, ErrProcessor, "Poster", "short/a.jpg")
		if n := e.count(&Poster{}); n != 0 {
			t.Fatalf("%d rows", n)
		}
		e.wantKeys("short/a.jpg")
	}, WithProcessor(shortProcessor{}))
}

// A set of widths (srcset) is one column whose key lists its members; all
// come from one decode, none is wider than the source, and the lifecycle
// (supersede, delete, Sweep, Regenerate) covers every member.
func TestSetOfWidths(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Gallery{})
		g := Gallery{Photo: e.put("s/a.jpg", jpegBytes(t, 1000, 750))}
		e.mustCreate(&g)
		sizes := thumbSizes(g.Widths.Key)
		if fmt.Sprint(sizes) != "[[320 240] [640 480] [1000 750]]" {
			t.Fatalf("members %v of %q", sizes, g.Widths.Key)
		}
		if w, h, ok := g.Widths.Size(); !ok || w != 1000 || h != 750 {
			t.Fatalf("Size() %d, %d, %v", w, h, ok)
		}
		members := memberKeys(g.Widths.Key)
		for i, k := range members {
			e.wantThumb(k, sizes[i][0], sizes[i][1], "jpeg")
		}
		urls := NewURLs(e.bucket, URLOptions{BaseURL: "https://cdn.example.com/media"})
		set, err := urls.SrcSet(e.ctx, g.Widths)
		if err != nil || strings.Count(set, ", ") != 2 || !strings.HasSuffix(set, " 1000w") || !strings.Contains(set, escapeKey(members[0])+" 320w") {
			t.Fatalf("srcset %q, %v", set, err)
		}
		ref, err := urls.Ref(e.ctx, g.Widths)
		if err != nil || ref.SrcSet != set || ref.Width != 1000 || !strings.HasSuffix(ref.URL, escapeKey(members[2])) || ref.Sizes == "" {
			t.Fatalf("ref %+v, %v", ref, err)
		}
		// A new source supersedes every member.
		g.Photo = e.put("s/b.jpg", jpegBytes(t, 500, 500))
		if err := e.db.Save(&g).Error; err != nil {
			t.Fatal(err)
		}
		for _, k := range members {
			if e.exists(k) {
				t.Fatalf("superseded member %q is still there", k)
			}
		}
		if fmt.Sprint(thumbSizes(g.Widths.Key)) != "[[320 320] [500 500]]" {
			t.Fatalf("members of a 500-pixel source: %q", g.Widths.Key)
		}
		e.wantNoOrphansFor(&Gallery{})
		// Regenerate with Force remakes the set; a delete takes it all.
		before := memberKeys(g.Widths.Key)
		if rep, err := Regenerate(e.ctx, e.db, &Gallery{}, RegenerateOptions{Force: true}); err != nil || rep.Made != 1 {
			t.Fatalf("Regenerate: %+v, %v", rep, err)
		}
		e.db.First(&g, g.ID)
		for _, k := range before {
			if e.exists(k) {
				t.Fatalf("Regenerate left %q", k)
			}
		}
		if err := e.db.Delete(&g).Error; err != nil {
			t.Fatal(err)
		}
		for _, k := range memberKeys(g.Widths.Key) {
			if e.exists(k) {
				t.Fatalf("deleted row's member %q is still there", k)
			}
		}
		e.wantNoOrphansFor(&Gallery{})
	})
}
