package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/gormthumb/gormthumb"
	"github.com/gormthumb/gormthumb/internal/testphoto"
	"gocloud.dev/blob"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Product is the application's model, as the command's flags describe it.
type Product struct {
	ID         uint
	Name       string
	Cover      gormthumb.ImageField
	CoverThumb gormthumb.ImageField `thumb:"110x150,source=Cover"`
}

// rawProduct writes rows behind the plugin's back.
type rawProduct struct {
	ID    uint
	Name  string
	Cover gormthumb.ImageField
}

func (rawProduct) TableName() string { return "products" }

type app struct {
	dsn, bucketURL string
	db             *gorm.DB
	bucket         *blob.Bucket
	plugin         *gormthumb.Plugin
}

func jpegOf(t *testing.T, w, h int) []byte { return testphoto.JPEG(w, h, 1, 75) }

// newApp makes a sqlite file and a folder bucket as an application would,
// with one row saved through the plugin and n more written behind its back
// (every id in broken with a source that is not an image).
func newApp(t *testing.T, n int, broken ...uint) *app {
	dir := t.TempDir()
	a := &app{
		dsn:       "sqlite:" + filepath.Join(dir, "shop.db"),
		bucketURL: "file://" + filepath.ToSlash(filepath.Join(dir, "media")) + "?create_dir=1&no_tmp_dir=1",
	}
	ctx := context.Background()
	var err error
	if a.bucket, err = gormthumb.OpenBucket(ctx, a.bucketURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.bucket.Close() })
	if a.db, err = gorm.Open(sqlite.Open(strings.TrimPrefix(a.dsn, "sqlite:")+"?_txlock=immediate&_busy_timeout=5000"), &gorm.Config{Logger: logger.Discard}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := a.db.DB(); err == nil {
			s.Close()
		}
	})
	a.plugin = gormthumb.New(a.bucket)
	if err := a.db.Use(a.plugin); err != nil {
		t.Fatal(err)
	}
	if err := a.db.AutoMigrate(&Product{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		a.bucket.WriteAll(ctx, fmt.Sprintf("images/%d.jpg", i), jpegOf(t, 60, 40), nil)
	}
	a.bucket.WriteAll(ctx, "images/notes.jpg", []byte("not an image"), nil)
	if err := a.db.Create(&Product{Name: "saved", Cover: gormthumb.ImageField{Key: "images/0.jpg"}}).Error; err != nil {
		t.Fatal(err)
	}
	var rows []rawProduct
	for i := 0; i < n; i++ {
		id := uint(i + 2)
		r := rawProduct{ID: id, Name: fmt.Sprint("p", id), Cover: gormthumb.ImageField{Key: fmt.Sprintf("images/%d.jpg", i%4)}}
		for _, b := range broken {
			if b == id {
				r.Cover.Key = "images/notes.jpg"
			}
		}
		rows = append(rows, r)
	}
	if len(rows) > 0 {
		if err := a.db.Create(&rows).Error; err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func (a *app) thumbs(t *testing.T) map[uint]string {
	var ps []Product
	if err := a.db.Order("id").Find(&ps).Error; err != nil {
		t.Fatal(err)
	}
	m := map[uint]string{}
	for _, p := range ps {
		m[p.ID] = p.CoverThumb.Key
	}
	return m
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRegenerateCommand(t *testing.T) {
	a := newApp(t, 30, 5, 9)
	before := a.thumbs(t)
	common := []string{"-db", a.dsn, "-bucket", a.bucketURL, "-table", "products", "-thumb", "CoverThumb=110x150,source=Cover"}

	code, out, errOut := runCmd(t, append([]string{"regenerate", "-j", "3", "-batch", "7", "-every", "0"}, common...)...)
	if code != exitFailed {
		t.Fatalf("exit %d with failed rows, want %d\n%s%s", code, exitFailed, out, errOut)
	}
	if !strings.Contains(out, "products: 31 rows: 28 made, 1 skipped (up to date), 2 failed") ||
		!regexp.MustCompile(`failed 5: gormthumb: .*CoverThumb \(key "images/notes.jpg"\): source is not a decodable image`).MatchString(out) ||
		!strings.Contains(out, "failed 9: ") {
		t.Fatalf("summary:\n%s", out)
	}
	// Not a terminal: plain lines with count, rate and ETA.
	if !regexp.MustCompile(`(?m)^products: 31/31 rows \(100\.0%\), [0-9.]+ rows/s, ETA 0s; made 28, skipped 1, failed 2$`).MatchString(errOut) ||
		!regexp.MustCompile(`(?m)^products: 1/31 rows \(3\.2%\), `).MatchString(errOut) {
		t.Fatalf("progress lines:\n%s", errOut)
	}
	after := a.thumbs(t)
	if after[1] != before[1] {
		t.Fatal("the row saved by the application was remade")
	}
	if after[5] != "" || after[9] != "" || after[2] == "" || after[31] == "" {
		t.Fatalf("thumbnails after the run: %v", after)
	}
	img, err := a.bucket.ReadAll(context.Background(), after[31])
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(img)); err != nil || cfg.Width != 60 || cfg.Height != 40 {
		t.Fatalf("thumbnail of row 31: %+v %v", cfg, err)
	}

	// The command's model makes the same digests as the application's: a
	// save by the application keeps the command's thumbnail.
	var p Product
	a.db.First(&p, 31)
	if err := a.db.Model(&p).Select("cover").Updates(&p).Error; err != nil || p.CoverThumb.Key != after[31] {
		t.Fatalf("application save changed %q to %q (%v)", after[31], p.CoverThumb.Key, err)
	}

	// Dry run of a changed tag, then the real run resumed after id 20.
	small := []string{"-db", a.dsn, "-bucket", a.bucketURL, "-table", "products", "-thumb", "CoverThumb=20x20,source=Cover"}
	code, out, _ = runCmd(t, append([]string{"regenerate", "-dry-run"}, small...)...)
	if code != exitFailed || !strings.Contains(out, "products: 31 rows: 29 to make, 0 skipped (up to date), 2 failed") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	if !reflect.DeepEqual(a.thumbs(t), after) {
		t.Fatal("dry run changed rows")
	}
	code, out, errOut = runCmd(t, append([]string{"regenerate", "-after", "20"}, small...)...)
	if code != exitOK || !strings.Contains(out, "products: 11 rows: 11 made, 0 skipped (up to date), 0 failed") {
		t.Fatalf("resumed run: exit %d\n%s%s", code, out, errOut)
	}
	final := a.thumbs(t)
	if final[20] != after[20] || final[21] == after[21] || !strings.Contains(final[21], ".20x13.") {
		t.Fatalf("resume: row 20 %q -> %q, row 21 %q -> %q", after[20], final[20], after[21], final[21])
	}
}

func TestSweepCommand(t *testing.T) {
	a := newApp(t, 3)
	ctx := context.Background()
	// An orphan named like the plugin's own thumbnails (a crash between a
	// commit and the deletion of the superseded blob leaves such a blob).
	orphan := strings.Replace(a.thumbs(t)[1], "/0.", "/lost.", 1)
	if err := a.bucket.WriteAll(ctx, orphan, jpegOf(t, 60, 40), &blob.WriterOptions{Metadata: map[string]string{"gormthumb-source": "images/lost.jpg"}}); err != nil {
		t.Fatal(err)
	}
	common := []string{"-db", a.dsn, "-bucket", a.bucketURL, "-table", "products", "-thumb", "CoverThumb=110x150,source=Cover", "-min-age", "-1s"}
	code, out, errOut := runCmd(t, append([]string{"sweep", "-dry-run"}, common...)...)
	if code != exitOK || !strings.Contains(out, "2 thumbnail blobs checked, 1 orphans, 0 deleted (dry run)") || !strings.Contains(out, "orphan "+orphan) {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	if ok, _ := a.bucket.Exists(ctx, orphan); !ok {
		t.Fatal("dry run deleted the orphan")
	}
	code, out, errOut = runCmd(t, append([]string{"sweep"}, common...)...)
	if code != exitOK || !strings.Contains(out, "1 orphans, 1 deleted") {
		t.Fatalf("sweep: exit %d\n%s%s", code, out, errOut)
	}
	if ok, _ := a.bucket.Exists(ctx, orphan); ok {
		t.Fatal("orphan still there")
	}
	th := a.thumbs(t)
	if ok, _ := a.bucket.Exists(ctx, th[1]); !ok {
		t.Fatal("sweep deleted a referenced thumbnail")
	}
	if ok, _ := a.bucket.Exists(ctx, "images/0.jpg"); !ok {
		t.Fatal("sweep deleted an original")
	}
}

func TestUsageErrors(t *testing.T) {
	a := newApp(t, 0)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "usage:"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"regenerate", "-bucket", a.bucketURL, "-table", "products", "-thumb", "T=1x1,source=C"}, exitUsage, "no database: give -db or set GORMTHUMB_DSN"},
		{[]string{"regenerate", "-db", a.dsn, "-table", "products", "-thumb", "T=1x1,source=C"}, exitUsage, "no bucket"},
		{[]string{"regenerate", "-db", a.dsn, "-bucket", a.bucketURL}, exitUsage, "no table"},
		{[]string{"regenerate", "-thumb", "T=1x1,source=C"}, exitUsage, "-thumb must follow a -table"},
		{[]string{"regenerate", "-table", "products", "-thumb", "CoverThumb=110,source=Cover"}, exitUsage, "invalid gormthumb tag"},
		{[]string{"regenerate", "-table", "products", "-thumb", "cover_thumb=110x150,source=Cover"}, exitUsage, "not an exported Go field name"},
		{[]string{"regenerate", "-db", "oracle://x", "-bucket", a.bucketURL, "-table", "products", "-thumb", "CoverThumb=110x150,source=Cover"}, exitFailed, "cannot tell the database"},
		{[]string{"regenerate", "-db", a.dsn, "-bucket", a.bucketURL, "-table", "nope", "-thumb", "CoverThumb=110x150,source=Cover"}, exitFailed, `table "nope" not found`},
	}
	for _, c := range cases {
		code, out, errOut := runCmd(t, c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("%q: exit %d, output %q; want exit %d and %q", c.args, code, out+errOut, c.code, c.want)
		}
	}
	t.Setenv("GORMTHUMB_DSN", a.dsn)
	t.Setenv("GORMTHUMB_BUCKET", a.bucketURL)
	code, out, errOut := runCmd(t, "regenerate", "-table", "products", "-thumb", "CoverThumb=110x150,source=Cover")
	if code != exitOK || !strings.Contains(out, "products: 1 rows: 0 made, 1 skipped") {
		t.Fatalf("from the environment: exit %d\n%s%s", code, out, errOut)
	}
}

func TestBuildModel(t *testing.T) {
	var m modelFlags
	fs := newFlagSet(&m)
	if err := fs.Parse([]string{"-table", "posters", "-pk", "Code=code", "-pk-type", "string",
		"-thumb", "Small=64x64,source=Image,upload=posters/small", "-thumb", "Large=600x600,source=Image,fit=cover,column=big"}); err != nil {
		t.Fatal(err)
	}
	model, err := m.models[0].build(0)
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeOf(model).Elem()
	want := map[string]string{
		"Code":  `gorm:"column:code;primaryKey"`,
		"Image": `gorm:"column:image"`,
		"Small": `gorm:"column:small" thumb:"64x64,source=Image" upload:"posters/small"`,
		"Large": `gorm:"column:big" thumb:"600x600,source=Image,fit=cover"`,
	}
	for name, tag := range want {
		f, ok := typ.FieldByName(name)
		if !ok || string(f.Tag) != tag {
			t.Errorf("field %s: %q, want %q", name, f.Tag, tag)
		}
	}
	if f, _ := typ.FieldByName("Code"); f.Type.Kind() != reflect.String {
		t.Errorf("string primary key built as %s", f.Type)
	}
}

func newFlagSet(m *modelFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	m.register(fs)
	return fs
}
