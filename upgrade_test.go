package gormthumb

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
	"gocloud.dev/pubsub/mempubsub"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Upgrading regenerates nothing. testdata/upgrade holds a sqlite database
// and a file bucket written by the release before the spec key was
// versioned (commit 91f50ef, by TestWriteUpgradeFixture below), with a
// thumbnail of every tag form the README documents; the current code must
// find every one of them up to date. The thumbnail blobs were emptied to
// keep the fixture small: the rule reads their keys, never their bytes.

// upgradeShop has a thumbnail column for every option and value of the
// tag grammar, and a placeholder.
type upgradeShop struct {
	ID        uint
	Name      string
	Cover     ImageField
	Hash      string     `placeholder:"source=Cover"`
	Plain     ImageField `thumb:"110x150,source=Cover"`
	Contain   ImageField `thumb:"110x150,source=Cover,fit=contain"`
	Cover1    ImageField `thumb:"110x150,source=Cover,fit=cover"`
	AnCenter  ImageField `thumb:"90x90,source=Cover,fit=cover,anchor=center"`
	AnTop     ImageField `thumb:"90x90,source=Cover,fit=cover,anchor=top"`
	AnBottom  ImageField `thumb:"90x90,source=Cover,fit=cover,anchor=bottom"`
	AnLeft    ImageField `thumb:"90x90,source=Cover,fit=cover,anchor=left"`
	AnRight   ImageField `thumb:"90x90,source=Cover,fit=cover,anchor=right"`
	AnTL      ImageField `thumb:"90x90,source=Cover,fit=cover,anchor=topleft"`
	AnTR      ImageField `thumb:"90x90,source=Cover,fit=cover,anchor=topright"`
	AnBL      ImageField `thumb:"90x90,source=Cover,fit=cover,anchor=bottomleft"`
	AnBR      ImageField `thumb:"90x90,source=Cover,fit=cover,anchor=bottomright"`
	FmtSource ImageField `thumb:"80x80,source=Cover,format=source"`
	FmtJPEG   ImageField `thumb:"80x80,source=Cover,format=jpeg"`
	FmtJPG    ImageField `thumb:"80x80,source=Cover,format=jpg"`
	FmtPNG    ImageField `thumb:"80x80,source=Cover,format=png"`
	FmtGIF    ImageField `thumb:"80x80,source=Cover,format=gif"`
	FmtWebP   ImageField `thumb:"80x80,source=Cover,format=webp"`
	FmtAVIF   ImageField `thumb:"48x48,source=Cover,format=avif,quality=50"`
	Quality   ImageField `thumb:"80x80,source=Cover,quality=60"`
	Q85       ImageField `thumb:"80x80,source=Cover,quality=85"`
	Upscale   ImageField `thumb:"600x600,source=Cover,upscale=true"`
	NoUpscale ImageField `thumb:"600x600,source=Cover,upscale=false"`
	Backgr    ImageField `thumb:"80x80,source=Cover,format=jpeg,background=ff0000"`
	White     ImageField `thumb:"80x80,source=Cover,format=jpeg,background=ffffff"`
	Async     ImageField `thumb:"70x70,source=Cover,async"`
	Widths    ImageField `thumb:"widths=64|128|1280,source=Cover"`
	WidthsW   ImageField `thumb:"widths=64|128,source=Cover,format=webp,quality=70"`
	Prefixed  ImageField `thumb:"60x60,source=Cover" upload:"thumbs/%Y/%m"`
	Logo      ImageField
	LogoJPEG  ImageField `thumb:"64x64,source=Logo,format=jpeg,background=00ff00,fit=cover,anchor=bottom"`
}

// upgradeFixture is where the fixture lives, relative to the package.
const upgradeFixture = "testdata/upgrade"

// TestWriteUpgradeFixture writes the fixture when GORMTHUMB_WRITE_UPGRADE
// names a folder (run it on the release whose keys must stay valid, then
// copy the folder to testdata/upgrade).
func TestWriteUpgradeFixture(t *testing.T) {
	dir := os.Getenv("GORMTHUMB_WRITE_UPGRADE")
	if dir == "" {
		t.Skip("set GORMTHUMB_WRITE_UPGRADE=dir to write the upgrade fixture")
	}
	ctx := context.Background()
	if err := os.MkdirAll(filepath.Join(dir, "bucket"), 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "shop.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := OpenBucket(ctx, "file://"+filepath.ToSlash(filepath.Join(dir, "bucket"))+"?no_tmp_dir=1")
	if err != nil {
		t.Fatal(err)
	}
	topic := mempubsub.NewTopic()
	p := New(bucket, WithQueue(topic))
	if err := db.Use(p); err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&upgradeShop{}); err != nil {
		t.Fatal(err)
	}
	put := func(key string, data []byte) ImageField {
		if err := bucket.WriteAll(ctx, key, data, nil); err != nil {
			t.Fatal(err)
		}
		return ImageField{Key: key}
	}
	rows := []upgradeShop{
		{Name: "photo", Cover: put("img/photo.jpg", testphoto.JPEG(300, 200, 1, 90)), Logo: put("img/logo.png", testphoto.PhotoPNG(60, 90, true))},
		{Name: "portrait", Cover: put("img/portrait.png", testphoto.PhotoPNG(120, 200, true))},
		{Name: "none"},
	}
	for i := range rows {
		if err := db.Create(&rows[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	// The async thumbnails, as a worker would make them.
	if _, err := Regenerate(ctx, db, &upgradeShop{}, RegenerateOptions{}); err != nil {
		t.Fatal(err)
	}
	db.Exec("DELETE FROM gormthumb_outbox")
	var got []upgradeShop
	db.Find(&got)
	for _, r := range got {
		if r.Cover.Key != "" && (r.Async.Key == "" || r.Plain.Key == "" || r.Hash == "") {
			t.Fatalf("row %+v not filled", r)
		}
	}
	sqlDB, _ := db.DB()
	sqlDB.Close()
	bucket.Close()
}

// TestUpgradeRegeneratesNothing opens the fixture written by the earlier
// release and checks that every thumbnail is up to date for the current
// code: Regenerate's dry run would make nothing, and a Save of each row
// makes no thumbnail.
func TestUpgradeRegeneratesNothing(t *testing.T) {
	if _, err := os.Stat(upgradeFixture); err != nil {
		t.Fatalf("the upgrade fixture is missing: %v", err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(upgradeFixture)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "shop.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		t.Cleanup(func() { sqlDB.Close() })
	}
	bucket, err := OpenBucket(ctx, "file://"+filepath.ToSlash(filepath.Join(dir, "bucket"))+"?no_tmp_dir=1")
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	e := useEnv(t, db, bucket, "upgrade", WithQueue(mempubsub.NewTopic()))
	var thumbs int
	filepath.WalkDir(filepath.Join(dir, "bucket"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(path) != ".attrs" {
			thumbs++
		}
		return nil
	})
	if thumbs < 60 {
		t.Fatalf("the fixture has %d blobs: not the one TestWriteUpgradeFixture writes", thumbs)
	}
	rep, err := e.plugin.Regenerate(ctx, e.db, &upgradeShop{}, RegenerateOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 3 || rep.Made != 0 || len(rep.Failed) != 0 {
		t.Fatalf("dry run after the upgrade: %d rows, %d out of date, failed %v", rep.Rows, rep.Made, rep.Failed)
	}
	// A Save of every row, with a counting processor: nothing is made.
	_, cp := e.counted()
	var rows []upgradeShop
	e.db.Find(&rows)
	before := e.keys()
	for i := range rows {
		rows[i].Name += " saved"
		if err := e.db.Save(&rows[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	if n := cp.n.Load(); n != 0 {
		t.Fatalf("saving the upgraded rows decoded %d sources", n)
	}
	if after := e.keys(); len(after) != len(before) {
		t.Fatalf("saving the upgraded rows changed the bucket: %d blobs, then %d", len(before), len(after))
	}
	var n int64
	e.db.Table("gormthumb_outbox").Count(&n)
	if n != 0 {
		t.Fatalf("saving the upgraded rows recorded %d background jobs", n)
	}
}
