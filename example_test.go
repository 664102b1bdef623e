package gormthumb_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/gormthumb/gormthumb"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type Product struct {
	ID         uint
	Name       string
	Cover      gormthumb.ImageField `upload:"images/cover"`
	CoverThumb gormthumb.ImageField `thumb:"110x150,source=Cover"`
}

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gormthumb-example")
	defer os.RemoveAll(dir)

	// A bucket (memory here; a local folder or s3://... in production) and a database.
	bucket, err := gormthumb.OpenBucket(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "shop.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	thumbs := gormthumb.New(bucket)
	if err := db.Use(thumbs); err != nil {
		log.Fatal(err)
	}
	db.AutoMigrate(&Product{})

	// Upload an original (a 400x300 JPEG), then save: the thumbnail is made.
	var photo bytes.Buffer
	jpeg.Encode(&photo, image.NewRGBA(image.Rect(0, 0, 400, 300)), nil)
	p := Product{Name: "lamp"}
	if _, err := thumbs.Upload(ctx, &p, "Cover", "lamp.jpg", &photo); err != nil {
		log.Fatal(err)
	}
	if err := db.Create(&p).Error; err != nil {
		log.Fatal(err)
	}

	var row Product
	db.First(&row, p.ID)
	w, h, _ := row.CoverThumb.Size()
	fmt.Println(filepath.Dir(row.Cover.Key), strings.HasPrefix(filepath.Base(row.Cover.Key), "lamp_"))
	fmt.Println(filepath.Dir(row.CoverThumb.Key), w, h)
	// Output:
	// images/cover true
	// images/cover/thumbnails 110 83
}
