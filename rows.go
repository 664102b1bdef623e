package gormthumb

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// row is one model value a statement writes.
type row struct {
	value reflect.Value // the struct; not valid for a map (Create of maps)
	pk    string        // primary key values joined; "" when any is zero
	conds []clause.Expression
}

// mapRow is the row of one map of a Create of maps, after the INSERT: GORM
// has put the new primary key into it (unless the database could not tell).
func mapRow(db *gorm.DB, m map[string]any) row {
	var r row
	for i, f := range db.Statement.Schema.PrimaryFields {
		v, ok := mapValue(m, f.DBName, f.Name)
		if !ok || v == nil || reflect.ValueOf(v).IsZero() {
			return row{}
		}
		if i > 0 {
			r.pk += "\x00"
		}
		r.pk += pkString(reflect.Indirect(reflect.ValueOf(v)).Interface())
		r.conds = append(r.conds, clause.Eq{Column: clause.Column{Name: f.DBName}, Value: v})
	}
	return r
}

// pkConds returns the conditions that select r by its primary key.
func pkConds(db *gorm.DB, r row) []clause.Expression {
	if r.conds != nil {
		return r.conds
	}
	var eqs []clause.Expression
	for _, f := range db.Statement.Schema.PrimaryFields {
		v, _ := f.ValueOf(db.Statement.Context, r.value)
		eqs = append(eqs, clause.Eq{Column: clause.Column{Name: f.DBName}, Value: v})
	}
	return eqs
}

// rowsOf returns the model values of a statement: one for a struct, one per
// element of a slice (nil pointers skipped).
func rowsOf(db *gorm.DB) []row { return rowsOfValue(db, db.Statement.ReflectValue) }

// rowsOfValue returns the rows of rv, a struct or a slice of them.
func rowsOfValue(db *gorm.DB, rv reflect.Value) []row {
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		rows := make([]row, 0, rv.Len())
		for i := 0; i < rv.Len(); i++ {
			if r, ok := rowOf(db, rv.Index(i)); ok {
				rows = append(rows, r)
			}
		}
		return rows
	case reflect.Struct:
		if r, ok := rowOf(db, rv); ok {
			return []row{r}
		}
	}
	return nil
}

// rowOf returns the row of one model value, or false for a nil pointer.
func rowOf(db *gorm.DB, v reflect.Value) (row, bool) {
	for v.Kind() == reflect.Ptr || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return row{}, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return row{}, false
	}
	r := row{value: v}
	for i, f := range db.Statement.Schema.PrimaryFields {
		part, zero := pkPart(db.Statement.Context, f, v)
		if zero {
			r.pk = ""
			break
		}
		if i > 0 {
			r.pk += "\x00"
		}
		r.pk += part
	}
	return r, true
}

// pkPart formats the primary key field f of v as pkString does, reading
// fields of the predeclared integer and string types without boxing them.
func pkPart(ctx context.Context, f *schema.Field, v reflect.Value) (string, bool) {
	if len(f.StructField.Index) == 1 {
		fv := reflect.Indirect(v).Field(f.StructField.Index[0])
		kind := fv.Kind()
		if fv.Type().PkgPath() != "" {
			kind = reflect.Invalid // a named type may print itself (fmt.Stringer)
		}
		switch kind {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return strconv.FormatInt(fv.Int(), 10), fv.Int() == 0
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return strconv.FormatUint(fv.Uint(), 10), fv.Uint() == 0
		case reflect.String:
			return fv.String(), fv.String() == ""
		}
	}
	val, zero := f.ValueOf(ctx, v)
	return pkString(val), zero
}

func pkString(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}

// keyFromDB reads a key scanned into an any.
func keyFromDB(v any) string {
	switch k := v.(type) {
	case string:
		return k
	case []byte:
		return string(k)
	}
	return ""
}

// oldRows is what the database held before a statement, per row: the
// columns' keys, by primary key and (for upserts) by conflict-column values.
type oldRows struct {
	byPK       map[string]map[string]string
	byConflict map[string]map[string]string
	conflict   []string // conflict columns (non-primary) of an upsert
}

// lookup returns the old keys of r, or nil when the row did not exist.
func (o *oldRows) lookup(db *gorm.DB, r row) map[string]string {
	if o == nil {
		return nil
	}
	if m, ok := o.byPK[r.pk]; ok {
		return m
	}
	if len(o.conflict) > 0 {
		return o.byConflict[conflictKey(db, r, o.conflict)]
	}
	return nil
}

func conflictKey(db *gorm.DB, r row, cols []string) string {
	var parts []string
	for _, c := range cols {
		f := db.Statement.Schema.LookUpField(c)
		if f == nil {
			return ""
		}
		v, zero := f.ValueOf(db.Statement.Context, r.value)
		if zero {
			return ""
		}
		parts = append(parts, pkString(v))
	}
	return strings.Join(parts, "\x00")
}

// loadOld reads the image columns (thumbnails and sources) of rows from
// the database inside the statement's transaction: rows with a primary key
// by key, others by the upsert's conflict columns. lock takes row locks
// (SELECT ... FOR UPDATE) where the database supports them, so concurrent
// saves of one row cannot both supersede the same thumbnail.
func loadOld(db *gorm.DB, ms *modelSpec, rows []row, conflict []string, lock bool) (*oldRows, error) {
	s := db.Statement.Schema
	old := &oldRows{byPK: map[string]map[string]string{}, byConflict: map[string]map[string]string{}}
	for _, c := range conflict {
		if f := s.LookUpField(c); f == nil || !f.PrimaryKey {
			old.conflict = conflict
		}
	}

	var conds []clause.Expression
	for _, r := range rows {
		var eqs []clause.Expression
		switch {
		case r.pk != "":
			eqs = pkConds(db, r)
		case len(old.conflict) > 0 && conflictKey(db, r, old.conflict) != "":
			for _, c := range old.conflict {
				v, _ := s.LookUpField(c).ValueOf(db.Statement.Context, r.value)
				eqs = append(eqs, clause.Eq{Column: clause.Column{Name: c}, Value: v})
			}
		default:
			continue
		}
		conds = append(conds, clause.And(eqs...))
	}
	if len(conds) == 0 {
		return old, nil
	}
	return old, old.read(db, ms, []clause.Expression{clause.Or(conds...)}, lock)
}

// loadWhere reads, under row locks where the database has them, the image
// columns of the rows that conds select.
func loadWhere(db *gorm.DB, ms *modelSpec, conds []clause.Expression) (*oldRows, error) {
	old := &oldRows{byPK: map[string]map[string]string{}}
	return old, old.read(db, ms, conds, true)
}

// read adds the rows that conds select to o.
func (o *oldRows) read(db *gorm.DB, ms *modelSpec, conds []clause.Expression, lock bool) error {
	s := db.Statement.Schema
	cols := append([]string(nil), s.PrimaryFieldDBNames...)
	cols = append(cols, o.conflict...)
	imageCols := ms.imageColumns()
	cols = append(cols, imageCols...)
	q := selectColumns(inner(db).Table(db.Statement.Table), cols)
	if len(conds) > 0 {
		q = q.Where(clause.And(conds...))
	}
	if lock && db.Dialector.Name() != "sqlite" {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	found, err := scanMaps(q, cols)
	if err != nil {
		return err
	}
	for _, m := range found {
		keys := map[string]string{}
		for _, c := range imageCols {
			keys[c] = keyFromDB(m[c])
		}
		var pk, ck []string
		for _, c := range s.PrimaryFieldDBNames {
			pk = append(pk, pkString(m[c]))
		}
		for _, c := range o.conflict {
			ck = append(ck, pkString(m[c]))
		}
		o.byPK[strings.Join(pk, "\x00")] = keys
		if len(ck) > 0 {
			o.byConflict[strings.Join(ck, "\x00")] = keys
		}
	}
	return nil
}

// imageColumns lists the columns of every source, thumbnail and
// placeholder field.
func (ms *modelSpec) imageColumns() []string {
	var cols []string
	for _, g := range ms.groups {
		cols = append(cols, g.source.DBName)
		cols = append(cols, g.columns()...)
	}
	return cols
}

// selectColumns makes q select cols, quoted: Select(names) on a query
// with Table and no model writes the names raw, which breaks on reserved
// words ("set") and on names whose case matters (NoLowerCase on
// PostgreSQL).
func selectColumns(q *gorm.DB, cols []string) *gorm.DB { return q.Clauses(selectClause(cols)) }

// selectClause is the SELECT of cols, quoted.
func selectClause(cols []string) clause.Select {
	sel := clause.Select{Columns: make([]clause.Column, len(cols))}
	for i, c := range cols {
		sel.Columns[i] = clause.Column{Name: c}
	}
	return sel
}

// scanMaps runs q and returns its rows as column -> value maps. It scans
// with database/sql directly, which is cheaper than GORM's Find into maps
// on this path that runs for every save.
func scanMaps(q *gorm.DB, cols []string) ([]map[string]any, error) {
	var out []map[string]any
	err := eachRow(q, len(cols), func(vals []any) {
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			m[c] = vals[i]
		}
		out = append(out, m)
	})
	return out, err
}

// eachRow runs q, which selects n columns, and calls fn with each row's
// values (the slice is reused between rows).
func eachRow(q *gorm.DB, n int, fn func(vals []any)) error {
	rows, err := q.Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		fn(vals)
	}
	return rows.Err()
}

// hasAsync reports whether any thumbnail of the model is made in the
// background (an `async` tag).
func (ms *modelSpec) hasAsync() bool {
	for _, t := range ms.thumbs {
		if t.async {
			return true
		}
	}
	return false
}
