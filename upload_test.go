package gormthumb

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestUpload(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		fixed := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		e.plugin.now = func() time.Time { return fixed }
		var p Product
		data := pngBytes(t, 300, 200, false)
		f, err := e.plugin.Upload(e.ctx, &p, "Cover", "../My Cat.JPG", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		// Named by the real format, under the dated prefix.
		if f.Key != "images/cover/2026/11/25/My_Cat.png" || p.Cover != f {
			t.Fatalf("upload key %q, field %q", f.Key, p.Cover.Key)
		}
		got, err := e.bucket.ReadAll(e.ctx, f.Key)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("uploaded bytes differ: %v", err)
		}
		// Same name again: a unique key, the first original untouched.
		var q Product
		g, err := e.plugin.Upload(e.ctx, &q, "Cover", "My Cat.png", bytes.NewReader(pngBytes(t, 10, 10, false)))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^images/cover/2026/11/25/My_Cat_[a-z0-9]{7}\.png$`).MatchString(g.Key) {
			t.Fatalf("second upload key %q", g.Key)
		}
		if err := e.db.Create(&p).Error; err != nil {
			t.Fatal(err)
		}
		e.wantThumb(p.CoverThumb.Key, 110, 73, "png")
		// A non-image upload writes nothing.
		before := e.keys()
		_, err = e.plugin.Upload(e.ctx, &q, "Cover", "evil.jpg", strings.NewReader("#!/bin/sh\necho pwned\n"))
		wantErr(t, err, ErrNotImage, "Product.Cover", "evil.jpg")
		e.wantKeys(before...)
		// A GIF whose small canvas hides a huge frame is refused before it is written.
		if bomb, err := os.ReadFile(filepath.Join("..", "shared", "testdata", "images", "gif-bomb-huge-frame.gif")); err == nil {
			_, err = e.plugin.Upload(e.ctx, &q, "Cover", "bomb.gif", bytes.NewReader(bomb))
			wantErr(t, err, ErrTooLarge, "Product.Cover", "bomb.gif")
			e.wantKeys(before...)
		}
		if _, err := e.plugin.Upload(e.ctx, &q, "Name", "x.png", bytes.NewReader(data)); err == nil {
			t.Fatal("Upload to a non-ImageField succeeded")
		}
	})
}
