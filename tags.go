package gormthumb

// Parsing the `thumb`, `placeholder` and `upload` struct tags into a
// modelSpec (model.go), once per schema, and reporting bad ones.

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gormthumb/gormthumb/thumb"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

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
	placeholders := map[*schema.Field]*schema.Field{} // placeholder field -> source
	lookUp := func(f *schema.Field, srcName string) *schema.Field {
		if src := s.LookUpFieldByBindName(f.BindNames, srcName); src != nil {
			return src
		}
		return s.LookUpField(srcName)
	}
	for _, f := range s.Fields {
		if tag, ok := f.Tag.Lookup("placeholder"); ok {
			srcName, found := strings.CutPrefix(strings.TrimSpace(tag), "source=")
			src := lookUp(f, srcName)
			switch {
			case !found || strings.Contains(srcName, ","):
				return nil, tagErr(f, "placeholder tag %q: want source=Field", tag)
			case f.IndirectFieldType.Kind() != reflect.String:
				return nil, tagErr(f, "a placeholder field holds a BlurHash: it must be a string, not %s", f.FieldType)
			case f.DBName == "":
				return nil, tagErr(f, "placeholder field has no column")
			case src == nil || !isImageField(src) || src.DBName == "":
				return nil, tagErr(f, "placeholder source %q is not an ImageField column of %s", srcName, name)
			}
			placeholders[f] = src
			continue
		}
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
		tt, err := parseThumbTag(tag)
		if err != nil {
			return nil, &Error{Model: name, Field: f.Name, Err: err}
		}
		spec, srcName := tt.spec, tt.source

		if srcName == "" {
			return nil, tagErr(f, "thumb tag %q has no source=Field", tag)
		}
		src := lookUp(f, srcName)
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
		specKey, legacyKey := spec.CanonicalKey(), spec.LegacyKey()
		if len(tt.widths) > 0 {
			specKey, legacyKey = spec.CanonicalSetKey(tt.widths), spec.LegacySetKey(tt.widths)
		}
		ms.thumbs = append(ms.thumbs, &thumbField{field: f, source: src, spec: spec, specKey: specKey, legacyKey: legacyKey, prefix: up, async: tt.async, widths: tt.widths})
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
			g = &sourceGroup{index: len(ms.groups), source: t.source}
			ms.groups = append(ms.groups, g)
		}
		g.thumbs = append(g.thumbs, t)
	}
	for f, src := range placeholders {
		var g *sourceGroup
		for _, cand := range ms.groups {
			if cand.source == src {
				g = cand
			}
		}
		switch {
		case g == nil:
			return nil, tagErr(f, "placeholder source %q has no thumb field: a placeholder is made with its source's thumbnails", src.Name)
		case g.placeholder != nil:
			return nil, tagErr(f, "source %q has two placeholder fields", src.Name)
		}
		g.placeholder = f
	}
	for _, g := range ms.groups {
		ms.ownCols = append(ms.ownCols, g.columns()...)
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
		if _, _, err := p.specOf(db, m, "Validate"); err != nil {
			return err
		}
	}
	return nil
}

// specOf parses model with db's schema cache and returns its schema and
// spec (nil for a model without image fields). op names the caller in a
// parse error.
func (p *Plugin) specOf(db *gorm.DB, model any, op string) (*schema.Schema, *modelSpec, error) {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(model); err != nil {
		return nil, nil, fmt.Errorf("gormthumb: %s: %w", op, err)
	}
	ms, err := p.modelSpecOf(stmt.Schema)
	return stmt.Schema, ms, err
}

// ParseTag parses the value of a `thumb` struct tag:
//
//	WxH[,source=Field][,fit=contain|cover][,anchor=center|top|bottom|left|right|topleft|topright|bottomleft|bottomright]
//	   [,format=source|jpeg|png|gif|webp][,quality=1..100][,upscale=true|false][,background=RRGGBB][,async]
//
// It returns the Spec and the source field name. Errors wrap ErrInvalidTag.
func ParseTag(tag string) (thumb.Spec, string, error) {
	t, err := parseThumbTag(tag)
	return t.spec, t.source, err
}

// thumbTag is a parsed `thumb` tag.
type thumbTag struct {
	spec   Spec
	source string
	async  bool  // made in the background, by Plugin.Work (WithQueue)
	widths []int // a set (srcset)
}

func parseThumbTag(tag string) (thumbTag, error) {
	var t thumbTag
	parts := strings.Split(tag, ",")
	size := strings.TrimSpace(parts[0])
	ws, hs, ok := strings.Cut(strings.ToLower(size), "x")
	w, errW := strconv.Atoi(ws)
	h, errH := strconv.Atoi(hs)
	t.spec.Width, t.spec.Height = w, h
	seen := map[string]bool{}
	options := parts[1:]
	if strings.HasPrefix(size, "widths=") {
		// A set: "widths=320|640|1280,source=...", no WxH.
		t.spec.Width, t.spec.Height = 0, 0
		options = parts
	} else if !ok || errW != nil || errH != nil || w < 1 || h < 1 || w > MaxThumbSide || h > MaxThumbSide {
		return t, wrapf(ErrInvalidTag, "size %q: want WxH with 1 <= W, H <= %d, or widths=W1|W2|...", size, MaxThumbSide)
	}
	for _, p := range options {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "async" && !ok {
			v, ok = "true", true // a bare flag
		}
		if !ok || v == "" {
			return t, wrapf(ErrInvalidTag, "option %q: want key=value", p)
		}
		if seen[k] {
			return t, wrapf(ErrInvalidTag, "option %q given twice", k)
		}
		seen[k] = true
		var err error
		switch k {
		case "source":
			t.source = v
		case "fit":
			t.spec.Fit, err = thumb.ParseFit(v)
		case "anchor":
			t.spec.Anchor, err = thumb.ParseAnchor(v)
		case "format":
			t.spec.Format, err = thumb.ParseFormat(v)
		case "quality":
			q, qerr := strconv.Atoi(v)
			if qerr != nil || q < 1 || q > 100 {
				err = fmt.Errorf("quality %q: want 1..100", v)
			}
			t.spec.Quality = q
		case "upscale":
			t.spec.Upscale, err = strconv.ParseBool(v)
		case "background":
			t.spec.Background, err = thumb.ParseColor(v)
		case "async":
			t.async, err = strconv.ParseBool(v)
		case "widths":
			t.widths, err = parseWidths(v)
		default:
			err = fmt.Errorf("unknown option %q", k)
		}
		if err != nil {
			return t, wrapf(ErrInvalidTag, "%v", err)
		}
	}
	if set := strings.HasPrefix(size, "widths="); set != (len(t.widths) > 0) {
		return t, wrapf(ErrInvalidTag, "widths= stands in place of WxH, first in the tag")
	}
	if len(t.widths) > 0 && t.spec.Fit == FitCover {
		return t, wrapf(ErrInvalidTag, "widths= makes width-fitted sizes: fit=cover does not apply")
	}
	if len(t.widths) > 0 && t.spec.Upscale {
		return t, wrapf(ErrInvalidTag, "widths= never upscales: upscale=true does not apply")
	}
	return t, nil
}

// maxWidths bounds the members of a set.
const maxWidths = 12

// parseWidths reads "320|640|1280": distinct widths, 1..MaxThumbSide,
// returned ascending.
func parseWidths(v string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(v, "|") {
		w, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || w < 1 || w > MaxThumbSide {
			return nil, fmt.Errorf("widths %q: want W1|W2|... with 1 <= W <= %d", v, MaxThumbSide)
		}
		if slices.Contains(out, w) {
			return nil, fmt.Errorf("widths %q: %d given twice", v, w)
		}
		out = append(out, w)
	}
	if len(out) > maxWidths {
		return nil, fmt.Errorf("widths %q: at most %d", v, maxWidths)
	}
	slices.Sort(out)
	return out, nil
}

// MaxThumbSide is the largest width or height a thumb tag may ask for.
const MaxThumbSide = 8192
