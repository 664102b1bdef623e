package gormthumb

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"path"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// ---------------------------------------------------------------------------
// Tag options, end to end through the plugin

// Artwork exercises the tag options.
type Artwork struct {
	ID      uint
	Src     ImageField
	Contain ImageField `thumb:"64x64,source=Src"`
	Cover   ImageField `thumb:"50x50,source=Src,fit=cover,anchor=left,format=png"`
	Webp    ImageField `thumb:"64x64,source=Src,format=webp,quality=80"`
	Big     ImageField `thumb:"400x400,source=Src,upscale=true,format=jpeg,background=00c800"`
}

// artworkPNG is 200x100: red on the left half, blue on the right, and a
// transparent band across the top 20 rows.
func artworkPNG(t testing.TB) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 200, 100))
	for y := 0; y < 100; y++ {
		for x := 0; x < 200; x++ {
			c := color.NRGBA{255, 0, 0, 255}
			if x >= 100 {
				c = color.NRGBA{0, 0, 255, 255}
			}
			if y < 20 {
				c.A = 0
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTagOptions(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Artwork{})
		a := Artwork{Src: e.put("art/flag.png", artworkPNG(t))}
		if err := e.db.Create(&a).Error; err != nil {
			t.Fatal(err)
		}
		red, blue, green := [3]int{255, 0, 0}, [3]int{0, 0, 255}, [3]int{0, 200, 0}
		img := e.wantThumb(a.Contain.Key, 64, 32, "png") // fit=contain, format=source
		if !testphoto.Near(testphoto.RGBAt(img, 10, 20), red, 2) || !testphoto.Near(testphoto.RGBAt(img, 54, 20), blue, 2) || testphoto.AlphaAt(img, 30, 2) != 0 {
			t.Errorf("contain: %v %v alpha %d", testphoto.RGBAt(img, 10, 20), testphoto.RGBAt(img, 54, 20), testphoto.AlphaAt(img, 30, 2))
		}
		img = e.wantThumb(a.Cover.Key, 50, 50, "png") // the left 100x100, scaled down
		if !testphoto.Near(testphoto.RGBAt(img, 25, 30), red, 2) || !testphoto.Near(testphoto.RGBAt(img, 47, 30), red, 2) {
			t.Errorf("cover anchor=left: %v %v", testphoto.RGBAt(img, 25, 30), testphoto.RGBAt(img, 47, 30))
		}
		img = e.wantThumb(a.Webp.Key, 64, 32, "webp")
		if !testphoto.Near(testphoto.RGBAt(img, 10, 20), red, 40) || !testphoto.Near(testphoto.RGBAt(img, 54, 20), blue, 40) || testphoto.AlphaAt(img, 30, 2) > 8 {
			t.Errorf("webp: %v %v alpha %d", testphoto.RGBAt(img, 10, 20), testphoto.RGBAt(img, 54, 20), testphoto.AlphaAt(img, 30, 2))
		}
		img = e.wantThumb(a.Big.Key, 400, 200, "jpeg") // upscale=true
		if !testphoto.Near(testphoto.RGBAt(img, 200, 10), green, 12) || !testphoto.Near(testphoto.RGBAt(img, 100, 150), red, 12) {
			t.Errorf("upscaled jpeg: band %v, body %v", testphoto.RGBAt(img, 200, 10), testphoto.RGBAt(img, 100, 150))
		}
		if path.Ext(a.Webp.Key) != ".webp" {
			t.Errorf("webp key %q", a.Webp.Key)
		}
		attrs, err := e.bucket.Attributes(e.ctx, a.Webp.Key)
		if err != nil || attrs.ContentType != "image/webp" {
			t.Errorf("webp attributes %+v, %v", attrs, err)
		}
	})
}

func TestTagOptionValidation(t *testing.T) {
	for _, good := range []string{"10x10,format=webp", "10x10,format=jpg,quality=1", "10x10,fit=cover,anchor=bottomright", "10x10,quality=100,upscale=true"} {
		if _, _, err := ParseTag(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
	for _, bad := range []string{"10x10,format=tiff", "10x10,format=heic", "10x10,quality=0", "10x10,quality=101",
		"10x10,fit=stretch", "10x10,anchor=middle", "10x10,background=fff"} {
		if _, _, err := ParseTag(bad); !errors.Is(err, ErrInvalidTag) {
			t.Errorf("%q: got %v, want ErrInvalidTag", bad, err)
		}
	}
}
