package gormthumb

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gormthumb/gormthumb/internal/testphoto"
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
		// Named by the real format, under the dated prefix, with a random part.
		if !regexp.MustCompile(`^images/cover/2026/11/25/My_Cat_[a-z0-9]{10}\.300x200\.png$`).MatchString(f.Key) || p.Cover != f {
			t.Fatalf("upload key %q, field %q", f.Key, p.Cover.Key)
		}
		got, err := e.bucket.ReadAll(e.ctx, f.Key)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("uploaded bytes differ: %v", err)
		}
		if w, h, ok := f.Size(); !ok || w != 300 || h != 200 {
			t.Fatalf("the original's Size() %d, %d, %v", w, h, ok)
		}
		// Same name again: a unique key, the first original untouched.
		var q Product
		g, err := e.plugin.Upload(e.ctx, &q, "Cover", "My Cat.png", bytes.NewReader(pngBytes(t, 10, 10, false)))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^images/cover/2026/11/25/My_Cat_[a-z0-9]{10}\.10x10\.png$`).MatchString(g.Key) || g.Key == f.Key {
			t.Fatalf("second upload key %q (first %q)", g.Key, f.Key)
		}
		e.mustCreate(&p)
		e.wantThumb(p.CoverThumb.Key, 110, 73, "png")
		// A non-image upload writes nothing.
		before := e.keys()
		_, err = e.plugin.Upload(e.ctx, &q, "Cover", "evil.jpg", strings.NewReader("#!/bin/sh\necho pwned\n"))
		wantErr(t, err, ErrNotImage, "Product.Cover", "evil.jpg")
		e.wantKeys(before...)
		// A GIF whose small canvas hides a huge frame is refused before it is written.
		_, err = e.plugin.Upload(e.ctx, &q, "Cover", "bomb.gif", bytes.NewReader(corpusBytes(t, "gif-bomb-huge-frame.gif")))
		wantErr(t, err, ErrTooLarge, "Product.Cover", "bomb.gif")
		e.wantKeys(before...)
		if _, err := e.plugin.Upload(e.ctx, &q, "Name", "x.png", bytes.NewReader(data)); err == nil {
			t.Fatal("Upload to a non-ImageField succeeded")
		}
	})
}

// Many uploads of one file name at once, over many rounds: every call
// succeeds with a key of its own, and every key holds its own upload's
// bytes. fileblob's IfNotExist is a Stat then a Rename, not atomic, so only
// keys that are new by construction make this hold; S3 too.
func TestUploadRaceSameName(t *testing.T) {
	const uploaders, rounds = 24, 12
	images := make([][]byte, uploaders)
	for i := range images {
		images[i] = testphoto.PNG(20+i, 20, uint64(i), false)
	}
	for _, b := range bucketBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			bucket := b.open(t)
			plugin := New(bucket)
			seen := map[string]bool{}
			for round := range rounds {
				keys := make([]string, uploaders)
				errs := make([]error, uploaders)
				var wg sync.WaitGroup
				for i := range uploaders {
					wg.Go(func() {
						var p Product
						f, err := plugin.Upload(context.Background(), &p, "Cover", "cat.png", bytes.NewReader(images[i]))
						keys[i], errs[i] = f.Key, err
					})
				}
				wg.Wait()
				for i, k := range keys {
					if errs[i] != nil {
						t.Fatalf("round %d: upload %d failed: %v", round, i, errs[i])
					}
					if seen[k] {
						t.Fatalf("round %d: key %q returned twice", round, k)
					}
					seen[k] = true
					got, err := bucket.ReadAll(context.Background(), k)
					if err != nil || !bytes.Equal(got, images[i]) {
						t.Fatalf("round %d: %q holds other bytes than upload %d (%v)", round, k, i, err)
					}
				}
			}
		})
	}
}

// Upload names keep the human-readable part of the file name, safely.
func TestCleanName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"My Cat.JPG", "My_Cat"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\me\holiday photo.png`, "holiday_photo"},
		{"evil\u202egpj.exe.png", "evilgpj_exe"},           // bidi override dropped
		{"zero\u200bwidth\ufeff.png", "zerowidth"},         // zero-width, BOM dropped
		{"c1\u0085\u009bcontrol\x00\x07.png", "c1control"}, // C0 and C1 controls dropped
		{"CON.png", "CON"},                                 // reserved on Windows: the random part follows
		{"café ☕ déjà-vu.png", "café_☕_déjà-vu"},
		{"....png", "image"},
		{"\xff\xfe.png", "image"},
	} {
		if got := cleanName(c.in); got != c.want {
			t.Errorf("cleanName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// Long names are capped by bytes, on a character boundary, with room
	// for the random part: 77 CJK characters or 60 emoji fit a file name.
	for _, long := range []string{strings.Repeat("猫", 77), strings.Repeat("😺", 60), strings.Repeat("a", 300)} {
		name := uploadName(long+".png", PNG, 12000, 8000)
		if len(name) > 128 || !utf8.ValidString(name) {
			t.Errorf("uploadName of %d bytes: %d bytes %q", len(long), len(name), name)
		}
	}
	if n := uploadName("CON.png", PNG, 1, 1); strings.HasPrefix(strings.ToUpper(n), "CON.") {
		t.Errorf("reserved name kept: %q", n)
	}
}

// Long and strange file names upload fine to a local folder (file names
// there are limited to 255 bytes).
func TestUploadLongNamesOnFileblob(t *testing.T) {
	bucket := bucketBackends[1].open(t) // file
	plugin := New(bucket)
	data := testphoto.PNG(10, 10, 1, false)
	for _, name := range []string{strings.Repeat("猫", 77) + ".png", strings.Repeat("😺", 60) + ".png", "a\u202eb.png", "CON.png", "NUL"} {
		var p Product
		f, err := plugin.Upload(context.Background(), &p, "Cover", name, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if got, err := bucket.ReadAll(context.Background(), f.Key); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%q: read back %v", f.Key, err)
		}
	}
}

// An original's size is recorded as shown, after EXIF orientation; keys
// written before sizes were recorded have none (0×0).
func TestUploadRecordsShownSize(t *testing.T) {
	plugin := New(bucketBackends[0].open(t))
	var p Product
	// Stored 40×20 with orientation 6: shown 20×40.
	src := testphoto.WithEXIF(testphoto.JPEG(40, 20, 3, 90), testphoto.EXIF{Orientation: 6})
	f, err := plugin.Upload(context.Background(), &p, "Cover", "turned.jpg", bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if w, h, ok := f.Size(); !ok || w != 20 || h != 40 {
		t.Fatalf("%q: Size() %d, %d, %v; want 20, 40 (as shown)", f.Key, w, h, ok)
	}
	for _, old := range []string{"uploads/2026/11/25/cat_k3j9x2a.jpg", "uploads/cat.jpg", "uploads/cat_k3j9x2a8qm.jpg", "a/b.1x2.jpg"} {
		if w, h, ok := (ImageField{Key: old}).Size(); ok || w != 0 || h != 0 {
			t.Errorf("%q: Size() %d, %d, %v", old, w, h, ok)
		}
	}
}
