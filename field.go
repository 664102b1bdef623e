package gormthumb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/gormthumb/gormthumb/thumb"
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
// name of every thumbnail it writes ("cat.110x83.1a2b3c4d5e9f8e7d.jpg"), so an
// <img width height> needs no blob read. ok is false for keys the plugin did
// not make (originals).
func (f ImageField) Size() (width, height int, ok bool) {
	w, h, _, ok := parseThumbName(f.Key)
	return w, h, ok
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

// ---------------------------------------------------------------------------
// Tag parsing

// thumbField is one parsed `thumb` tag.
type thumbField struct {
	field   *schema.Field
	source  *schema.Field
	spec    Spec
	specKey string // spec.Key(), computed once for the thumbnail digest
	prefix  string // from the field's `upload` tag; "" = "thumbnails/" beside the source
}

// sourceGroup is one source field and every thumbnail made from it: one
// decode serves them all.
type sourceGroup struct {
	source *schema.Field
	thumbs []*thumbField
}

// modelSpec is everything the plugin knows about one model schema. It is
// built once per *schema.Schema and cached.
type modelSpec struct {
	name      string
	groups    []*sourceGroup
	thumbs    []*thumbField
	thumbCols []string          // the thumbnail columns, group by group
	uploads   map[string]string // field name -> upload prefix
}

type specResult struct {
	spec *modelSpec
	err  error
}

// modelSpecOf parses (once per plugin) the gormthumb tags of a schema. It returns nil,
// nil for a model with no thumb fields.
func (p *Plugin) modelSpecOf(s *schema.Schema) (*modelSpec, error) {
	if r, ok := p.specs.Load(s); ok {
		return r.(specResult).spec, r.(specResult).err
	}
	spec, err := parseModel(s)
	r, _ := p.specs.LoadOrStore(s, specResult{spec, err})
	return r.(specResult).spec, r.(specResult).err
}

func parseModel(s *schema.Schema) (*modelSpec, error) {
	name := s.Name
	if name == "" {
		name = s.Table // a struct built at run time (cmd/gormthumb) has no type name
	}
	ms := &modelSpec{name: name, uploads: map[string]string{}}
	tagErr := func(f *schema.Field, format string, args ...any) error {
		return &Error{Model: name, Field: f.Name, Err: wrapf(ErrInvalidTag, format, args...)}
	}
	for _, f := range s.Fields {
		up, hasUpload := f.Tag.Lookup("upload")
		tag, hasThumb := f.Tag.Lookup("thumb")
		if !hasUpload && !hasThumb {
			continue
		}
		if !isImageField(f) {
			return nil, tagErr(f, "field has a gormthumb tag but is %s, not gormthumb.ImageField", f.FieldType)
		}
		if f.DBName == "" {
			return nil, tagErr(f, "field has a gormthumb tag but no column (gorm:\"-\")")
		}
		if hasUpload {
			if err := checkPrefix(up); err != nil {
				return nil, tagErr(f, "upload prefix %q: %v", up, err)
			}
			ms.uploads[f.Name] = up
		}
		if !hasThumb {
			continue
		}
		spec, srcName, err := ParseTag(tag)
		if err != nil {
			return nil, &Error{Model: name, Field: f.Name, Err: err}
		}
		if srcName == "" {
			return nil, tagErr(f, "thumb tag %q has no source=Field", tag)
		}
		src := s.LookUpFieldByBindName(f.BindNames, srcName)
		if src == nil {
			src = s.LookUpField(srcName)
		}
		switch {
		case src == nil:
			return nil, tagErr(f, "source %q is not a field of %s", srcName, name)
		case src == f:
			return nil, tagErr(f, "source %q is the thumbnail field itself", srcName)
		case !isImageField(src):
			return nil, tagErr(f, "source %q is %s, not gormthumb.ImageField", srcName, src.FieldType)
		case src.DBName == "":
			return nil, tagErr(f, "source %q has no column", srcName)
		}
		ms.thumbs = append(ms.thumbs, &thumbField{field: f, source: src, spec: spec, specKey: spec.Key(), prefix: up})
	}
	// A thumbnail cannot be the source of another one: group after all
	// thumbs are known.
	isThumb := map[*schema.Field]bool{}
	for _, t := range ms.thumbs {
		isThumb[t.field] = true
	}
	for _, t := range ms.thumbs {
		if isThumb[t.source] {
			return nil, tagErr(t.field, "source %q is itself a thumbnail field", t.source.Name)
		}
		var g *sourceGroup
		for _, cand := range ms.groups {
			if cand.source == t.source {
				g = cand
			}
		}
		if g == nil {
			g = &sourceGroup{source: t.source}
			ms.groups = append(ms.groups, g)
		}
		g.thumbs = append(g.thumbs, t)
	}
	for _, g := range ms.groups {
		for _, t := range g.thumbs {
			ms.thumbCols = append(ms.thumbCols, t.field.DBName)
		}
	}
	if len(ms.thumbs) == 0 && len(ms.uploads) == 0 {
		return nil, nil
	}
	return ms, nil
}

// Validate parses the gormthumb tags of models and reports the first bad
// one (an *Error wrapping ErrInvalidTag). The plugin checks a model's tags
// on its first save anyway, and refuses every save of a model with a bad
// tag; call Validate at start-up, beside AutoMigrate (GORM's migrator has
// no hook that can fail), to learn of a bad tag before the first request.
func (p *Plugin) Validate(db *gorm.DB, models ...any) error {
	for _, m := range models {
		stmt := &gorm.Statement{DB: db}
		if err := stmt.Parse(m); err != nil {
			return fmt.Errorf("gormthumb: Validate: %w", err)
		}
		if _, err := p.modelSpecOf(stmt.Schema); err != nil {
			return err
		}
	}
	return nil
}

// ParseTag parses the value of a `thumb` struct tag:
//
//	WxH[,source=Field][,fit=contain|cover][,anchor=center|top|bottom|left|right|topleft|topright|bottomleft|bottomright]
//	   [,format=source|jpeg|png|gif|webp][,quality=1..100][,upscale=true|false][,background=RRGGBB]
//
// It returns the Spec and the source field name. Errors wrap ErrInvalidTag.
func ParseTag(tag string) (Spec, string, error) {
	var spec Spec
	parts := strings.Split(tag, ",")
	size := strings.TrimSpace(parts[0])
	ws, hs, ok := strings.Cut(strings.ToLower(size), "x")
	w, errW := strconv.Atoi(ws)
	h, errH := strconv.Atoi(hs)
	if !ok || errW != nil || errH != nil || w < 1 || h < 1 || w > MaxThumbSide || h > MaxThumbSide {
		return spec, "", wrapf(ErrInvalidTag, "size %q: want WxH with 1 <= W, H <= %d", size, MaxThumbSide)
	}
	spec.Width, spec.Height = w, h
	source := ""
	seen := map[string]bool{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || v == "" {
			return spec, "", wrapf(ErrInvalidTag, "option %q: want key=value", p)
		}
		if seen[k] {
			return spec, "", wrapf(ErrInvalidTag, "option %q given twice", k)
		}
		seen[k] = true
		var err error
		switch k {
		case "source":
			source = v
		case "fit":
			spec.Fit, err = thumb.ParseFit(v)
		case "anchor":
			spec.Anchor, err = thumb.ParseAnchor(v)
		case "format":
			spec.Format, err = thumb.ParseFormat(v)
		case "quality":
			q, qerr := strconv.Atoi(v)
			if qerr != nil || q < 1 || q > 100 {
				err = fmt.Errorf("quality %q: want 1..100", v)
			}
			spec.Quality = q
		case "upscale":
			spec.Upscale, err = strconv.ParseBool(v)
		case "background":
			spec.Background, err = thumb.ParseColor(v)
		default:
			err = fmt.Errorf("unknown option %q", k)
		}
		if err != nil {
			return spec, "", wrapf(ErrInvalidTag, "%v", err)
		}
	}
	return spec, source, nil
}

// MaxThumbSide is the largest width or height a thumb tag may ask for.
const MaxThumbSide = 8192
