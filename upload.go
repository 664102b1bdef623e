package gormthumb

import (
	"context"
	"fmt"
	"io"
	"path"
	"reflect"

	"github.com/gormthumb/gormthumb/thumb"
	"gorm.io/gorm/schema"
)

// ---------------------------------------------------------------------------
// Uploading originals

// Upload writes an original image into the bucket and sets model's field to
// it. The key is the field's `upload` prefix (date parts %Y %m %d %H %M %S
// expanded, like Django's upload_to; "uploads/%Y/%m/%d" when the field has
// none) plus the sanitised base name of filename, a random part and the
// extension of the real format ("cat_k3j9x2a8qm.jpg"): every upload gets a
// new key, so concurrent uploads of one file name never meet. Before
// anything is written, the header is checked to be an image's within the
// plugin's limits (and a GIF's frames too), so a file that is not an image
// fails with ErrNotImage and writes nothing; the pixels themselves are
// only decoded when a thumbnail is made.
//
// Upload does not save the row: call db.Save (or Create) afterwards, which
// makes the thumbnails. If that save fails, the original stays in the
// bucket (Sweep never deletes originals): delete it with Bucket().Delete
// if you do not retry.
func (p *Plugin) Upload(ctx context.Context, model any, field, filename string, r io.Reader) (ImageField, error) {
	ms, f, err := p.uploadTarget(model, field)
	if err != nil {
		return ImageField{}, err
	}
	fail := func(key string, err error) (ImageField, error) {
		return ImageField{}, &Error{Model: ms.name, Field: field, Key: key, Err: err}
	}
	hdr, body, err := thumb.Sniff(r, p.limits)
	if err != nil {
		return fail(filename, err)
	}
	if hdr.Format == GIF {
		// A GIF's frames are checked from the whole stream, buffered (at
		// most MaxBytes) under the memory budget.
		release, err := p.reserve(ctx, min(p.limits.MaxBytes, p.memoryLimit))
		if err != nil {
			return fail(filename, err)
		}
		defer release()
		if hdr, body, err = thumb.Check(body, p.limits); err != nil {
			return fail(filename, err)
		}
	}
	format := hdr.Format
	prefix := ms.uploads[field]
	if prefix == "" {
		prefix = "uploads/%Y/%m/%d"
	}
	dir := expandPrefix(prefix, p.now())
	shownW, shownH := hdr.ShownSize()
	key := path.Join(dir, uploadName(filename, format, shownW, shownH))
	if err := writeOriginal(ctx, p.bucket, key, body, format); err != nil {
		return fail(key, err)
	}
	img := ImageField{Key: key}
	if err := setImage(ctx, f, reflectValueOf(model), key); err != nil {
		return fail(key, err)
	}
	return img, nil
}

// reflectValueOf returns the addressable struct a model pointer points to.
func reflectValueOf(model any) reflect.Value {
	return reflect.Indirect(reflect.ValueOf(model))
}

// uploadTarget finds the ImageField named field on model.
func (p *Plugin) uploadTarget(model any, field string) (*modelSpec, *schema.Field, error) {
	rv := reflect.ValueOf(model)
	if rv.Kind() != reflect.Ptr || rv.Elem().Kind() != reflect.Struct {
		return nil, nil, fmt.Errorf("gormthumb: Upload needs a pointer to a struct, got %T", model)
	}
	s, err := schema.Parse(model, &p.schemas, schema.NamingStrategy{})
	if err != nil {
		return nil, nil, err
	}
	f := s.LookUpField(field)
	if !isImageField(f) {
		return nil, nil, &Error{Model: s.Name, Field: field, Err: wrapf(ErrInvalidTag, "no ImageField named %q", field)}
	}
	ms, err := p.modelSpecOf(s)
	if err != nil {
		return nil, nil, err
	}
	if ms == nil {
		ms = &modelSpec{name: s.Name, uploads: map[string]string{}}
	}
	return ms, f, nil
}
