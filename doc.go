// Package gormthumb is a GORM plugin that keeps image thumbnails in step
// with their source images.
//
// A model declares its images as ImageField columns (each holds a blob key
// in a gocloud.dev/blob bucket) and tags the thumbnail fields:
//
//	type Product struct {
//		ID         uint
//		Cover      gormthumb.ImageField `upload:"images/cover/%Y/%m/%d"`
//		CoverThumb gormthumb.ImageField `thumb:"110x150,source=Cover"`
//	}
//
// After every create or update that writes Cover, the plugin reads the
// source from the bucket, detects its format from the bytes, fits it inside
// 110×150 keeping its aspect ratio (never upscaling, like Pillow's
// Image.thumbnail), writes the thumbnail to the bucket and stores its key in
// CoverThumb, in the same transaction. A save that cannot make a thumbnail
// fails with an *Error wrapping a sentinel such as ErrSourceNotFound, and
// neither the row nor a stray blob is left behind.
//
// Where things live: tags are parsed in field.go; hooks.go is the table of
// callbacks, with one file per GORM chain (create.go, update.go, delete.go),
// transaction.go for savepoints and commit/rollback actions, and
// thumbnails.go for making a statement's thumbnails; key naming is in
// keys.go and blobs are written in blobstore.go. The image pipeline itself
// (decoding, resizing in resize.go, encoding) is package
// github.com/gormthumb/gormthumb/thumb, which knows nothing of GORM or
// buckets.
package gormthumb
