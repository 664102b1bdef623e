package main

import (
	"flag"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/gormthumb/gormthumb"
	"gorm.io/gorm/schema"
)

// A Go program cannot load the application's model types at run time, so
// the command builds an equivalent model with reflect.StructOf from flags:
//
//	-table products -pk ID -thumb 'CoverThumb=110x150,source=Cover'
//
// Each -thumb is "GoField=<the field's thumb tag>", copied from the struct,
// optionally with ",upload=prefix" (the field's upload tag) and
// ",column=name" (when the column is not GORM's default snake_case name).
// The Go field names must be the application's, because they are part of
// each thumbnail's digest; the columns follow from them by GORM's naming
// rules, as in the application.

// modelSpec is one table given on the command line.
type modelSpec struct {
	table    string
	pk       string // Go field name of the primary key
	pkColumn string
	pkType   string // "int" or "string"
	thumbs   []thumbFlag
}

// thumbFlag is one -thumb value.
type thumbFlag struct {
	field, tag, upload, column string
}

// modelFlags collects -table, -pk, -pk-type and -thumb in order: each
// -table starts a new model, the others apply to the latest one.
type modelFlags struct {
	models []*modelSpec
}

func (m *modelFlags) current(name string) (*modelSpec, error) {
	if len(m.models) == 0 {
		return nil, fmt.Errorf("-%s must follow a -table", name)
	}
	return m.models[len(m.models)-1], nil
}

// register adds the model flags to fs.
func (m *modelFlags) register(fs *flag.FlagSet) {
	fs.Func("table", "table to work on; starts a model description (repeatable)", func(v string) error {
		if v == "" {
			return fmt.Errorf("empty table name")
		}
		m.models = append(m.models, &modelSpec{table: v, pk: "ID", pkType: "int"})
		return nil
	})
	fs.Func("pk", "Go name of the primary key field of the latest -table, optionally Name=column (default ID)", func(v string) error {
		ms, err := m.current("pk")
		if err != nil {
			return err
		}
		ms.pk, ms.pkColumn, _ = strings.Cut(v, "=")
		return checkIdent(ms.pk)
	})
	fs.Func("pk-type", "type of the primary key of the latest -table: int or string (default int)", func(v string) error {
		ms, err := m.current("pk-type")
		if err != nil {
			return err
		}
		if v != "int" && v != "string" {
			return fmt.Errorf("want int or string")
		}
		ms.pkType = v
		return nil
	})
	fs.Func("thumb", "thumbnail field of the latest -table: 'GoField=WxH,source=GoField[,option=value...][,upload=prefix][,column=name]' (repeatable)", func(v string) error {
		ms, err := m.current("thumb")
		if err != nil {
			return err
		}
		t, err := parseThumbFlag(v)
		if err != nil {
			return err
		}
		ms.thumbs = append(ms.thumbs, t)
		return nil
	})
}

var identRE = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]*$`)

func checkIdent(name string) error {
	if !identRE.MatchString(name) {
		return fmt.Errorf("%q is not an exported Go field name (as in the application's struct, e.g. CoverThumb)", name)
	}
	return nil
}

// parseThumbFlag splits "CoverThumb=110x150,source=Cover,upload=x" into
// the field, its thumb tag, its upload tag and its column.
func parseThumbFlag(v string) (thumbFlag, error) {
	var t thumbFlag
	field, rest, ok := strings.Cut(v, "=")
	if !ok {
		return t, fmt.Errorf("%q: want GoField=WxH,source=GoField", v)
	}
	t.field = strings.TrimSpace(field)
	if err := checkIdent(t.field); err != nil {
		return t, err
	}
	var tag []string
	for _, part := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "upload":
			t.upload = val
		case "column":
			t.column = val
		default:
			tag = append(tag, strings.TrimSpace(part))
		}
	}
	t.tag = strings.Join(tag, ",")
	_, src, err := gormthumb.ParseTag(t.tag)
	if err != nil {
		return t, fmt.Errorf("-thumb %s: %w", t.field, err)
	}
	if src == "" {
		return t, fmt.Errorf("-thumb %s: the tag needs source=GoField", t.field)
	}
	if err := checkIdent(src); err != nil {
		return t, fmt.Errorf("-thumb %s: source: %w", t.field, err)
	}
	return t, nil
}

// build returns a pointer to a new value of a struct type equivalent to
// the application's model, e.g. for the flags above
//
//	struct {
//		ID         int64                `gorm:"column:id;primaryKey"`
//		Cover      gormthumb.ImageField `gorm:"column:cover"`
//		CoverThumb gormthumb.ImageField `gorm:"column:cover_thumb" thumb:"110x150,source=Cover"`
//	}
//
// Its table name comes from the naming strategy (see tableNamer).
// index numbers the models of one run.
func (ms *modelSpec) build(index int) (any, error) {
	if len(ms.thumbs) == 0 {
		return nil, fmt.Errorf("table %s: no -thumb given", ms.table)
	}
	naming := schema.NamingStrategy{}
	column := func(field, explicit string) string {
		if explicit != "" {
			return explicit
		}
		return naming.ColumnName("", field)
	}
	pkType := reflect.TypeOf(int64(0))
	if ms.pkType == "string" {
		pkType = reflect.TypeOf("")
	}
	fields := []reflect.StructField{{
		Name: ms.pk,
		Type: pkType,
		Tag:  reflect.StructTag(fmt.Sprintf(`gorm:"column:%s;primaryKey"`, column(ms.pk, ms.pkColumn))),
	}}
	// An ignored field makes each model's type distinct, even when two
	// tables have the same fields.
	fields = append(fields, reflect.StructField{
		Name: fmt.Sprintf("GormthumbModel%d", index), Type: reflect.TypeOf(struct{}{}), Tag: `gorm:"-"`,
	})
	seen := map[string]bool{ms.pk: true}
	imageType := reflect.TypeOf(gormthumb.ImageField{})
	for _, t := range ms.thumbs {
		if seen[t.field] {
			return nil, fmt.Errorf("table %s: field %s given twice", ms.table, t.field)
		}
		seen[t.field] = true
	}
	for _, t := range ms.thumbs {
		_, src, _ := gormthumb.ParseTag(t.tag)
		if !seen[src] {
			seen[src] = true
			fields = append(fields, reflect.StructField{
				Name: src, Type: imageType,
				Tag: reflect.StructTag(fmt.Sprintf(`gorm:"column:%s"`, column(src, ""))),
			})
		}
	}
	for _, t := range ms.thumbs {
		tag := fmt.Sprintf(`gorm:"column:%s" thumb:%q`, column(t.field, t.column), t.tag)
		if t.upload != "" {
			tag += fmt.Sprintf(` upload:%q`, t.upload)
		}
		fields = append(fields, reflect.StructField{Name: t.field, Type: imageType, Tag: reflect.StructTag(tag)})
	}
	return reflect.New(reflect.StructOf(fields)).Interface(), nil
}

// tableNamer gives the command's models their tables. A struct made by
// reflect.StructOf has no name and cannot have a TableName method, so GORM
// asks the naming strategy for the table of "". The command parses its
// models in order right after opening the database (see parseModel in main.go), so
// the n-th such question is about the n-th model; every model type is
// distinct (build adds an ignored marker field), so each is asked once and
// then cached.
type tableNamer struct {
	schema.NamingStrategy
	tables []string
	next   *int
}

// TableName returns the next -table for the command's unnamed models, the
// default otherwise.
func (n tableNamer) TableName(name string) string {
	if name == "" && *n.next < len(n.tables) {
		*n.next++
		return n.tables[*n.next-1]
	}
	return n.NamingStrategy.TableName(name)
}
