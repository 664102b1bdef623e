package gormthumb

import (
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// beforeCreate decides which sources the INSERT writes (Select/Omit) and,
// for an upsert (ON CONFLICT), reads the rows it may overwrite, whose
// thumbnails would otherwise be lost track of.
func (p *Plugin) beforeCreate(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil {
		return
	}
	st.written = insertedGroups(db.Statement, st.spec)
	c, upsert := db.Statement.Clauses["ON CONFLICT"]
	if !upsert || len(st.written) == 0 {
		return
	}
	oc, _ := c.Expression.(clause.OnConflict)
	var conflictCols []string
	for _, col := range oc.Columns {
		conflictCols = append(conflictCols, col.Name)
	}
	old, err := loadOld(db, st.spec, rowsOf(db), conflictCols, true)
	if err != nil {
		db.AddError(&Error{Model: st.spec.name, Err: fmt.Errorf("%w: reading current thumbnails: %w", ErrStorage, err)})
		return
	}
	st.old = old
}

// insertedGroups returns the source groups whose column an INSERT writes:
// all of them unless Select/Omit leave the column out.
func insertedGroups(stmt *gorm.Statement, ms *modelSpec) []*sourceGroup {
	selected, restricted := stmt.SelectAndOmitColumns(true, false)
	var out []*sourceGroup
	for _, g := range ms.groups {
		if sel, explicit := selected[g.source.DBName]; sel || (!explicit && !restricted) {
			out = append(out, g)
		}
	}
	return out
}
