package gormthumb

// What the plugin knows of a model, once its tags are parsed (tags.go):
// its thumbnail fields, grouped by source (one decode serves a group), and
// how a group's values are read from and written to structs and rows.

import (
	"context"
	"reflect"

	"gorm.io/gorm/schema"
)

// thumbField is one parsed `thumb` tag.
type thumbField struct {
	field   *schema.Field
	source  *schema.Field
	spec    Spec
	specKey string // the spec's canonical key (thumb.Spec.CanonicalKey), in every new digest
	// legacyKey is the spec's key as releases before the canonical key
	// digested it (thumb.Spec.LegacyKey): keys they wrote stay up to date.
	// "" when the spec uses an option they did not have.
	legacyKey string
	prefix    string // from the field's `upload` tag; "" = "thumbnails/" beside the source
	async     bool   // made in the background (Plugin.Work), not by the save
	widths    []int  // a set (srcset): one thumbnail per width, ascending
}

// specs are the sizes a thumbnail field is made in: its spec, or for a set
// one spec per width (fitted inside that width, no taller than
// MaxThumbSide).
func (t *thumbField) specs() []Spec {
	if len(t.widths) == 0 {
		return []Spec{t.spec}
	}
	out := make([]Spec, len(t.widths))
	for i, w := range t.widths {
		s := t.spec
		s.Width, s.Height = w, MaxThumbSide
		out[i] = s
	}
	return out
}

// sourceGroup is one source field and every thumbnail made from it: one
// decode serves them all, and its placeholder.
type sourceGroup struct {
	index       int // in modelSpec.groups
	source      *schema.Field
	thumbs      []*thumbField
	placeholder *schema.Field // a `placeholder` field: the source's BlurHash, or nil
}

// columns lists the group's plugin-owned columns: each thumbnail's, then
// the placeholder's.
func (g *sourceGroup) columns() []string {
	cols := make([]string, 0, len(g.thumbs)+1)
	for _, t := range g.thumbs {
		cols = append(cols, t.field.DBName)
	}
	if g.placeholder != nil {
		cols = append(cols, g.placeholder.DBName)
	}
	return cols
}

// keysOf reads g's values from the struct rv.
func (g *sourceGroup) keysOf(ctx context.Context, rv reflect.Value) groupKeys {
	k := emptyKeys(g)
	for i, t := range g.thumbs {
		k.thumbs[i] = keyOf(ctx, t.field, rv)
	}
	if g.placeholder != nil {
		k.holder = stringOf(ctx, g.placeholder, rv)
	}
	return k
}

// setKeys writes k, g's values, into the struct rv (the fields that
// differ). A struct that cannot be addressed (a Save of a value, a Model
// given by value) is left as it is: the row still gets the values.
func (g *sourceGroup) setKeys(ctx context.Context, rv reflect.Value, k groupKeys) error {
	if !rv.CanAddr() {
		return nil
	}
	for i, t := range g.thumbs {
		if keyOf(ctx, t.field, rv) != k.thumbs[i] {
			if err := setImage(ctx, t.field, rv, k.thumbs[i]); err != nil {
				return err
			}
		}
	}
	if h := g.placeholder; h != nil && stringOf(ctx, h, rv) != k.holder {
		return setString(ctx, h, rv, k.holder)
	}
	return nil
}

// keysFrom reads g's values from a row read as column -> value.
func (g *sourceGroup) keysFrom(row map[string]string) groupKeys {
	k := emptyKeys(g)
	for i, t := range g.thumbs {
		k.thumbs[i] = row[t.field.DBName]
	}
	if g.placeholder != nil {
		k.holder = row[g.placeholder.DBName]
	}
	return k
}

// asyncOnly reports whether every thumbnail of g is made in the
// background: then so is its placeholder.
func (g *sourceGroup) asyncOnly() bool {
	for _, t := range g.thumbs {
		if !t.async {
			return false
		}
	}
	return true
}

// stringOf reads a string or *string field.
func stringOf(ctx context.Context, f *schema.Field, rv reflect.Value) string {
	v, _ := f.ValueOf(ctx, rv)
	switch s := v.(type) {
	case string:
		return s
	case *string:
		if s != nil {
			return *s
		}
	}
	return ""
}

// setString sets a string or *string field.
func setString(ctx context.Context, f *schema.Field, rv reflect.Value, s string) error {
	if f.FieldType.Kind() == reflect.Ptr {
		if s == "" {
			return f.Set(ctx, rv, (*string)(nil))
		}
		return f.Set(ctx, rv, &s)
	}
	return f.Set(ctx, rv, s)
}

// modelSpec is everything the plugin knows about one model schema. It is
// built once per *schema.Schema and cached.
type modelSpec struct {
	name    string
	groups  []*sourceGroup
	thumbs  []*thumbField
	ownCols []string          // the plugin's columns (thumbnails, placeholders), group by group
	uploads map[string]string // field name -> upload prefix
}

type specResult struct {
	spec *modelSpec
	err  error
}
