// Command example is the newcomer's tour of gormthumb: it opens a sqlite
// file and a local-folder bucket in a directory it creates, uploads a photo
// (a small embedded one, or the file named on the command line), saves a
// Product and prints what the plugin made.
//
//	go run ./example                      # embedded photo, ./gormthumb-example
//	go run ./example -dir /tmp/demo my.jpg
//
// Running it again adds another product; nothing is overwritten.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/gormthumb/gormthumb"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

//go:embed sunset.jpg
var sunset []byte

// Product is a model with an original image and its thumbnail.
type Product struct {
	ID         uint
	Name       string
	Cover      gormthumb.ImageField `upload:"images/cover/%Y/%m/%d"`
	CoverThumb gormthumb.ImageField `thumb:"110x150,source=Cover"`
}

func main() {
	dir := flag.String("dir", "gormthumb-example", "directory for the sqlite file and the bucket folder (created if missing)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./example [-dir DIR] [IMAGE]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*dir, flag.Arg(0)); err != nil {
		log.Fatal(err)
	}
}

func run(dir, imagePath string) error {
	ctx := context.Background()
	mediaDir, err := filepath.Abs(filepath.Join(dir, "media"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(mediaDir, 0o755); err != nil {
		return err
	}

	// A local folder as the bucket; in production an s3:// or gs:// URL.
	bucket, err := gormthumb.OpenBucket(ctx, "file://"+filepath.ToSlash(mediaDir)+"?no_tmp_dir=1")
	if err != nil {
		return err
	}
	defer bucket.Close()

	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "example.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return err
	}
	plugin := gormthumb.New(bucket)
	if err := db.Use(plugin); err != nil {
		return err
	}
	if err := db.AutoMigrate(&Product{}); err != nil {
		return err
	}

	var (
		src  io.Reader = bytes.NewReader(sunset)
		name           = "sunset.jpg"
	)
	if imagePath != "" {
		f, err := os.Open(imagePath)
		if err != nil {
			return err
		}
		defer f.Close()
		src, name = f, filepath.Base(imagePath)
	}

	// Upload the original under the Cover field's upload prefix, then save:
	// the plugin makes the thumbnail and stores its key in the same
	// transaction.
	p := Product{Name: name}
	if _, err := plugin.Upload(ctx, &p, "Cover", name, src); err != nil {
		return err
	}
	if err := db.Create(&p).Error; err != nil {
		return err
	}

	var row Product
	if err := db.First(&row, p.ID).Error; err != nil {
		return err
	}
	w, h, _ := row.CoverThumb.Size()
	var count int64
	db.Model(&Product{}).Count(&count)
	fmt.Printf("row:        %+v\n", row)
	fmt.Printf("original:   %s\n", filepath.Join(mediaDir, filepath.FromSlash(row.Cover.Key)))
	fmt.Printf("thumbnail:  %s\n", row.CoverThumb.Key)
	fmt.Printf("on disk:    %s\n", filepath.Join(mediaDir, filepath.FromSlash(row.CoverThumb.Key)))
	fmt.Printf("pixels:     %dx%d\n", w, h)
	fmt.Printf("products:   %d in %s\n", count, filepath.Join(dir, "example.db"))
	return nil
}
