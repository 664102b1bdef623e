package gormthumb

import (
	"errors"
	"image"
	"image/color"
	"path"
	"strings"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
	"gocloud.dev/blob/memblob"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
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
func artworkPNG() []byte {
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
	return testphoto.EncodePNG(img)
}

func TestTagOptions(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Artwork{})
		a := Artwork{Src: e.put("art/flag.png", artworkPNG())}
		e.mustCreate(&a)
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
	for _, good := range []string{"10x10,format=webp", "10x10,format=jpg,quality=1", "10x10,fit=cover,anchor=bottomright", "10x10,quality=100,upscale=true",
		"widths=320|640|1280,source=Cover", "widths=1280|320,format=webp,quality=70", "10x10,async", "10x10,async=false"} {
		if _, _, err := ParseTag(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
	for _, bad := range []string{"10x10,format=tiff", "10x10,format=heic", "10x10,quality=0", "10x10,quality=101",
		"10x10,fit=stretch", "10x10,anchor=middle", "10x10,background=fff",
		"widths=320|320", "widths=0|10", "widths=320,fit=cover", "widths=320,upscale=true", "10x10,widths=320", "widths=", "10x10,async=maybe"} {
		if _, _, err := ParseTag(bad); !errors.Is(err, ErrInvalidTag) {
			t.Errorf("%q: got %v, want ErrInvalidTag", bad, err)
		}
	}
}

func TestImageFieldColumn(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		types, err := e.db.Migrator().ColumnTypes(&Product{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ct := range types {
			if ct.Name() == "cover" || ct.Name() == "cover_thumb" {
				if tn := strings.ToLower(ct.DatabaseTypeName()); !strings.Contains(tn, "text") && !strings.Contains(tn, "char") {
					t.Fatalf("column %s has type %s, want a string type", ct.Name(), tn)
				}
			}
		}
		// NULL and '' both read as no image.
		if err := e.db.Exec("INSERT INTO products (name, cover, cover_thumb) VALUES ('null', NULL, NULL), ('empty', '', '')").Error; err != nil {
			t.Fatal(err)
		}
		var ps []Product
		e.db.Order("id").Find(&ps)
		if len(ps) != 2 || !ps[0].Cover.IsZero() || !ps[1].Cover.IsZero() || !ps[1].CoverThumb.IsZero() {
			t.Fatalf("rows %+v", ps)
		}
		// The zero value is stored as NULL.
		e.db.Create(&Product{Name: "zero"})
		var nulls int64
		e.db.Model(&Product{}).Where("name = ? AND cover IS NULL AND cover_thumb IS NULL", "zero").Count(&nulls)
		if nulls != 1 {
			t.Fatal("zero ImageField not stored as NULL")
		}
	})
}

type BadSize struct {
	ID    uint
	Cover ImageField
	Thumb ImageField `thumb:"110,source=Cover"`
}

type BadSource struct {
	ID    uint
	Cover ImageField
	Thumb ImageField `thumb:"110x150,source=Nope"`
}

type SelfSource struct {
	ID    uint
	Thumb ImageField `thumb:"110x150,source=Thumb"`
}

type NonImageSource struct {
	ID    uint
	Name  string
	Thumb ImageField `thumb:"110x150,source=Name"`
}

type BadOption struct {
	ID    uint
	Cover ImageField
	Thumb ImageField `thumb:"110x150,source=Cover,colour=red"`
}

type NotImageField struct {
	ID    uint
	Cover ImageField
	Thumb string `thumb:"110x150,source=Cover"`
}

type IntPlaceholder struct {
	ID    uint
	Cover ImageField
	Thumb ImageField `thumb:"110x150,source=Cover"`
	Blur  int        `placeholder:"source=Cover"`
}

type LonelyPlaceholder struct {
	ID    uint
	Cover ImageField
	Other ImageField
	Thumb ImageField `thumb:"110x150,source=Cover"`
	Blur  string     `placeholder:"source=Other"`
}

func TestBadTags(t *testing.T) {
	cases := []struct {
		model       any
		name, field string
		detail      string
	}{
		{&BadSize{}, "BadSize", "Thumb", "size"},
		{&BadSource{}, "BadSource", "Thumb", "Nope"},
		{&SelfSource{}, "SelfSource", "Thumb", "itself"},
		{&NonImageSource{}, "NonImageSource", "Thumb", "Name"},
		{&BadOption{}, "BadOption", "Thumb", "colour"},
		{&NotImageField{}, "NotImageField", "Thumb", "string"},
		{&IntPlaceholder{}, "IntPlaceholder", "Blur", "must be a string"},
		{&LonelyPlaceholder{}, "LonelyPlaceholder", "Blur", "has no thumb field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, err := gorm.Open(sqlite.Open(t.TempDir()+"/t.db"), &gorm.Config{Logger: logger.Discard})
			if err != nil {
				t.Fatal(err)
			}
			p := New(memblob.OpenBucket(nil))
			db.Use(p)
			// Reported by Validate, as an application calls it at start-up...
			wantErr(t, p.Validate(db, c.model), ErrInvalidTag, c.name+"."+c.field, c.detail)
			// ...and on every save, never a panic (AutoMigrate, which GORM
			// gives no way to fail, makes the table).
			db.Exec("CREATE TABLE IF NOT EXISTS " + db.NamingStrategy.TableName(c.name) + " (id integer primary key, cover text, thumb text, name text)")
			wantErr(t, db.Create(c.model).Error, ErrInvalidTag, c.name+"."+c.field, c.detail)
			wantErr(t, db.Create(c.model).Error, ErrInvalidTag, c.name+"."+c.field)
			wantErr(t, db.Model(c.model).Where("id = 1").Update("name", "x").Error, ErrInvalidTag, c.name+"."+c.field)
		})
	}
}

func TestParseTag(t *testing.T) {
	spec, src, err := ParseTag("110x150,source=Cover,fit=cover,anchor=top,format=png,quality=70,upscale=true,background=ff0000")
	if err != nil || src != "Cover" || spec.Width != 110 || spec.Height != 150 || spec.Fit != FitCover ||
		spec.Format != PNG || spec.Quality != 70 || !spec.Upscale || spec.Background.R != 255 {
		t.Fatalf("ParseTag: %+v %q %v", spec, src, err)
	}
	for _, bad := range []string{"", "x", "0x10", "10x", "10x10,source", "10x10,quality=101", "10x10,fit=stretch",
		"10x10,format=bmp", "10x10,source=A,source=B", "99999x10", "10x10,upscale=maybe", "10x10,background=red"} {
		if _, _, err := ParseTag(bad); !errors.Is(err, ErrInvalidTag) {
			t.Errorf("ParseTag(%q) = %v, want ErrInvalidTag", bad, err)
		}
	}
}
