package gormthumb

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// The delete chain. A hard delete's thumbnails (and, with
// WithDeleteOriginals, its originals) are deleted after it commits. Whether
// a delete is hard is decided from the statement GORM actually ran: a
// field type whose DeleteClauses turn the DELETE into an UPDATE (GORM's
// DeletedAt, gorm.io/plugin/soft_delete, one of the application's own) is a
// soft delete, and keeps everything until a hard delete (Unscoped).

// doomedKeys are the keys of the rows a delete is about to remove.
type doomedKeys struct {
	thumbs    []string
	originals []string // with WithDeleteOriginals
}

// prepareDelete finds the model's thumb fields.
func (p *Plugin) prepareDelete(db *gorm.DB) { p.start(db) }

// beforeDelete reads the keys of the rows the DELETE will remove, with the
// same conditions, inside the transaction and under a row lock where the
// database has one. A soft delete with GORM's own DeletedAt is known to be
// one without reading.
func (p *Plugin) beforeDelete(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil {
		return
	}
	if !db.Statement.Unscoped && isSoftDelete(db.Statement.Schema) {
		return
	}
	var conds []clause.Expression
	if w, ok := db.Statement.Clauses["WHERE"]; ok {
		if where, ok := w.Expression.(clause.Where); ok {
			conds = append(conds, where.Exprs...)
		}
	}
	var pks []clause.Expression
	for _, r := range rowsOf(db) {
		if r.pk == "" {
			continue
		}
		pks = append(pks, clause.And(pkConds(db, r)...))
	}
	if len(pks) > 0 {
		conds = append(conds, clause.Or(pks...))
	}
	if len(conds) == 0 && !db.AllowGlobalUpdate {
		return // GORM refuses a DELETE without conditions
	}
	cols := st.spec.imageColumns()
	// A fresh model value lets conditions name the primary key the way
	// Delete(&T{}, id) does; Unscoped so soft-deleted rows are found too.
	model := reflect.New(db.Statement.Schema.ModelType).Interface()
	q := selectColumns(inner(db).Model(model).Table(db.Statement.Table).Unscoped(), cols)
	if len(conds) > 0 {
		q = q.Where(clause.And(conds...))
	}
	if db.Dialector.Name() != "sqlite" {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	found, err := scanMaps(q, cols)
	if err != nil {
		db.AddError(fmt.Errorf("gormthumb: %s: reading the thumbnails to delete: %w", st.spec.name, err))
		return
	}
	d := &doomedKeys{}
	for _, m := range found {
		for _, g := range st.spec.groups {
			if k := keyFromDB(m[g.source.DBName]); k != "" && p.deleteOriginals {
				d.originals = append(d.originals, k)
			}
			for _, t := range g.thumbs {
				if k := keyFromDB(m[t.field.DBName]); k != "" {
					d.thumbs = append(d.thumbs, k)
				}
			}
		}
	}
	st.doomed = d
}

// afterDelete supersedes the doomed keys if the statement GORM ran was a
// DELETE (not the UPDATE of a soft delete) and removed rows.
func (p *Plugin) afterDelete(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil || st.doomed == nil {
		return
	}
	sql := strings.TrimSpace(db.Statement.SQL.String())
	if db.Statement.RowsAffected == 0 || len(sql) < 6 || !strings.EqualFold(sql[:6], "DELETE") {
		st.doomed = nil // a soft delete, or nothing deleted: everything stays
		return
	}
	for _, k := range st.doomed.thumbs {
		st.noteStored("", k)
	}
}

// deleteOriginalKeys deletes the originals of hard-deleted rows once the
// delete committed, unless a row of the same model still references them
// (rows may share an original). It runs outside the finished transaction.
func (p *Plugin) deleteOriginalKeys(db *gorm.DB, ms *modelSpec, keys []string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(db.Statement.Context), p.deleteTimeout)
	defer cancel()
	root := db.Session(&gorm.Session{NewDB: true, SkipHooks: true, Context: ctx})
	table := db.Statement.Table
	for _, k := range keys {
		q := root.Session(&gorm.Session{NewDB: true}).Table(table)
		for i, g := range ms.groups {
			if i == 0 {
				q = q.Where(clause.Eq{Column: clause.Column{Name: g.source.DBName}, Value: k})
			} else {
				q = q.Or(clause.Eq{Column: clause.Column{Name: g.source.DBName}, Value: k})
			}
		}
		var n int64
		if err := q.Count(&n).Error; err == nil && n == 0 {
			if deleteBlob(ctx, p.bucket, k) != nil && ctx.Err() != nil {
				return
			}
		}
	}
}

// isSoftDelete reports whether the schema has a gorm.DeletedAt field.
func isSoftDelete(s *schema.Schema) bool {
	for _, f := range s.Fields {
		if f.FieldType == reflect.TypeOf(gorm.DeletedAt{}) {
			return true
		}
	}
	return false
}
