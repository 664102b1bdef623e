package gormthumb

import (
	"context"
	"fmt"
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// beforeDelete schedules a hard-deleted row's thumbnails (and, with
// WithDeleteOriginals, its originals) for deletion after commit. It reads
// the rows the DELETE will remove with the same conditions, inside the
// transaction. A soft delete (gorm.DeletedAt) keeps everything until a
// hard delete (Unscoped).
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
	q := inner(db).Model(model).Table(db.Statement.Table).Unscoped().Select(cols)
	if len(conds) > 0 {
		q = q.Where(clause.And(conds...))
	}
	var found []map[string]any
	if err := q.Find(&found).Error; err != nil {
		db.AddError(&Error{Model: st.spec.name, Err: fmt.Errorf("%w: reading thumbnails to delete: %w", ErrStorage, err)})
		return
	}
	var thumbs, originals []string
	for _, m := range found {
		for _, g := range st.spec.groups {
			if k := keyFromDB(m[g.source.DBName]); k != "" && p.deleteOriginals {
				originals = append(originals, k)
			}
			for _, t := range g.thumbs {
				if k := keyFromDB(m[t.field.DBName]); k != "" {
					thumbs = append(thumbs, k)
				}
			}
		}
	}
	p.deleteLater(db, thumbs...)
	if len(originals) > 0 {
		p.deleteOriginalsLater(db, st.spec, originals)
	}
}

// deleteOriginalsLater deletes originals after commit, unless a row of the
// same model still references them (rows may share an original).
func (p *Plugin) deleteOriginalsLater(db *gorm.DB, ms *modelSpec, keys []string) {
	ctx := context.WithoutCancel(db.Statement.Context)
	root := db.Session(&gorm.Session{NewDB: true, SkipHooks: true, Context: ctx})
	root.Statement.ConnPool = db.Config.ConnPool // outside the finished transaction
	table := db.Statement.Table
	p.onOutcome(db, func() {
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
				deleteBlob(ctx, p.bucket, k)
			}
		}
	}, nil)
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
