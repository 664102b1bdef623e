package gormthumb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// ImageField is a reference to an image in the plugin's bucket. It is stored
// as one string column holding the blob key; the zero value (and NULL or an
// empty string in the database) means "no image".
//
// A field tagged `thumb:"..."` is a thumbnail the plugin fills in; any other
// ImageField is an original that the application sets, usually with
// Plugin.Upload.
type ImageField struct {
	// Key is the blob key inside the bucket, e.g. "images/cover/2026/11/25/cat.jpg".
	Key string
}

// IsZero reports whether the field holds no image.
func (f ImageField) IsZero() bool { return f.Key == "" }

// String returns the key.
func (f ImageField) String() string { return f.Key }

// Value implements driver.Valuer: the key, or NULL for no image.
func (f ImageField) Value() (driver.Value, error) {
	if f.Key == "" {
		return nil, nil
	}
	return f.Key, nil
}

// Scan implements sql.Scanner: NULL and the empty string both read as no
// image.
func (f *ImageField) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		f.Key = ""
	case string:
		f.Key = v
	case []byte:
		f.Key = string(v)
	default:
		return fmt.Errorf("gormthumb: cannot scan %T into ImageField", src)
	}
	return nil
}

// GormDataType implements schema.GormDataTypeInterface: a plain string column.
func (ImageField) GormDataType() string { return string(schema.String) }

// GormDBDataType implements migrator.GormDataTypeInterface. It picks a plain
// string column per dialect (an indexable varchar on MySQL, text elsewhere,
// honouring a `gorm:"size:N"` tag).
func (ImageField) GormDBDataType(db *gorm.DB, field *schema.Field) string {
	size := 1024
	if field != nil && field.Size > 0 {
		size = field.Size
	}
	switch db.Dialector.Name() {
	case "mysql":
		return fmt.Sprintf("varchar(%d)", size)
	case "sqlserver":
		return fmt.Sprintf("nvarchar(%d)", size)
	case "postgres", "sqlite":
		if field != nil && field.Size > 0 {
			return fmt.Sprintf("varchar(%d)", size)
		}
		return "text"
	}
	return ""
}

// Size returns the pixel width and height that the plugin encodes in the
// name of every thumbnail it writes ("cat.110x83.1a2b3c4d5e9f8e7d.jpg"; the
// widest of a set of widths) and of every original Upload writes
// ("cat_k3j9x2a8qm.1200x800.jpg", the size as shown, after EXIF
// orientation), so an <img width height> needs no blob read. ok is false
// for other keys (originals uploaded by earlier versions or written by the
// application: 0×0).
func (f ImageField) Size() (width, height int, ok bool) {
	if w, h, _, ok := parseThumbName(f.Key); ok {
		return w, h, true
	}
	return parseUploadName(f.Key)
}

// imageKeyOf returns the key held by a value read with schema.Field.ValueOf,
// which is an ImageField or a *ImageField.
func imageKeyOf(v any) string {
	switch f := v.(type) {
	case ImageField:
		return f.Key
	case *ImageField:
		if f != nil {
			return f.Key
		}
	}
	return ""
}

var imageFieldType = reflect.TypeOf(ImageField{})

// keyOf reads the key of the ImageField or *ImageField field f of the
// struct rv, without the allocation of Field.ValueOf on this hot path.
func keyOf(ctx context.Context, f *schema.Field, rv reflect.Value) string {
	if len(f.StructField.Index) != 1 {
		v, _ := f.ValueOf(ctx, rv) // embedded: ValueOf copes with nil pointers
		return imageKeyOf(v)
	}
	v := reflect.Indirect(rv).Field(f.StructField.Index[0])
	if v.Kind() == reflect.Ptr {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if v.Type() != imageFieldType {
		return ""
	}
	return v.Field(0).String()
}

func isImageField(f *schema.Field) bool {
	return f != nil && f.IndirectFieldType == imageFieldType
}

// setImage sets an ImageField or *ImageField field.
func setImage(ctx context.Context, f *schema.Field, rv reflect.Value, key string) error {
	if f.FieldType.Kind() == reflect.Ptr {
		if key == "" {
			return f.Set(ctx, rv, (*ImageField)(nil))
		}
		return f.Set(ctx, rv, &ImageField{Key: key})
	}
	return f.Set(ctx, rv, ImageField{Key: key})
}
