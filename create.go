package gormthumb

import (
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The create chain. A row with a source is one INSERT with its thumbnail
// keys already set: prepareCreate makes the thumbnails before GORM opens
// its transaction, beforeCreate puts their keys on the values the INSERT
// writes. An upsert (ON CONFLICT, and Save of a slice) also reads, under a
// row lock, the rows it may overwrite, and afterCreate stores what the
// upsert really left. A new row never takes the plugin's values from the
// value it was built from (a copy of another row would share its blobs):
// every group of every row is planned, those whose source column the
// INSERT leaves out with no source.

// prepareCreate makes the thumbnails of every row the INSERT writes a
// source for, outside any transaction.
func (p *Plugin) prepareCreate(db *gorm.DB) {
	st := p.start(db)
	if st == nil {
		return
	}
	stmt := db.Statement
	ctx := stmt.Context
	st.written = st.spec.groups
	cols := insertedColumns(stmt)
	if maps := createMaps(stmt); maps != nil {
		st.kind = kindCreateMaps
		st.rows = make([]row, len(maps)) // no struct values
		var bad error
		st.newRecs(func(i int, g *sourceGroup) string {
			v, _ := mapValue(maps[i], g.source.DBName, g.source.Name)
			src, ok := keyFromValue(v)
			if !ok && bad == nil {
				bad = &Error{Model: st.spec.name, Field: g.source.Name, Err: wrapf(ErrInvalidKey, "a %T is not a key", v)}
			}
			return src
		})
		if bad != nil {
			db.AddError(bad)
			return
		}
	} else {
		st.kind = kindCreate
		if _, upsert := stmt.Clauses["ON CONFLICT"]; upsert {
			st.kind = kindUpsert
		}
		st.rows = rowsOf(db)
		st.newRecs(func(i int, g *sourceGroup) string {
			if !cols.has(g.source.DBName) {
				return ""
			}
			return keyOf(ctx, g.source, st.rows[i].value)
		})
		if st.kind == kindUpsert {
			// A guess, checked in the transaction: the value's own keys,
			// if up to date, are the row's.
			for _, rg := range st.writtenRecs() {
				rg.cur = rg.g.keysOf(ctx, st.rows[rg.row].value)
			}
		}
	}
	if err := p.resolveAll(ctx, st, stmt.Table, st.writtenRecs(), planMode{}); err != nil {
		db.AddError(err)
	}
}

// beforeCreate runs inside the transaction, after the model's
// BeforeCreate/BeforeSave hooks: it sets the plugin's values on the values
// the INSERT writes (making any a hook's change of source needs), or, for
// an upsert, reads the rows it may overwrite.
func (p *Plugin) beforeCreate(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil || st.recs == nil {
		return
	}
	stmt := db.Statement
	ctx := stmt.Context
	switch st.kind {
	case kindCreateMaps:
		p.fillMaps(st, createMaps(stmt))
	case kindUpsert:
		c := stmt.Clauses["ON CONFLICT"]
		oc, _ := c.Expression.(clause.OnConflict)
		var conflictCols []string
		for _, col := range oc.Columns {
			conflictCols = append(conflictCols, col.Name)
		}
		old, err := loadOld(db, st.spec, rowsOf(db), conflictCols, true)
		if err != nil {
			db.AddError(fmt.Errorf("gormthumb: %s: reading the rows an upsert may overwrite: %w", st.spec.name, err))
			return
		}
		st.old = old
	default:
		st.rows = rowsOf(db)
		cols := insertedColumns(stmt)
		recs := st.writtenRecs()
		for _, rg := range recs {
			src := ""
			if cols.has(rg.g.source.DBName) {
				src = keyOf(ctx, rg.g.source, st.rows[rg.row].value)
			}
			rg.setSource(src) // a hook may have changed it
			rg.cur = groupKeys{}
		}
		if err := p.resolveAll(ctx, st, stmt.Table, recs, planMode{}); err != nil {
			db.AddError(err)
			return
		}
		for _, rg := range recs {
			if err := rg.g.setKeys(ctx, st.rows[rg.row].value, rg.plan.next); err != nil {
				db.AddError(err)
				return
			}
		}
	}
}

// afterCreate stores what the INSERT did not (a column that Select or Omit
// left out of it), records what it stored and the background work, and
// settles an upsert's rows.
func (p *Plugin) afterCreate(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil || st.recs == nil {
		return
	}
	switch st.kind {
	case kindCreateMaps:
		p.afterMaps(db, st, createMaps(db.Statement))
	case kindUpsert:
		oc, _ := db.Statement.Clauses["ON CONFLICT"].Expression.(clause.OnConflict)
		p.afterUpsert(db, st, oc)
	default:
		st.rows = rowsOf(db) // the INSERT set the primary keys
		cols := insertedColumns(db.Statement)
		for _, rg := range st.writtenRecs() {
			mode := storeNone
			for _, col := range rg.g.columns() {
				if !cols.has(col) {
					mode = storeChanged
				}
			}
			rg.cur = emptyKeys(rg.g)
			if err := p.store(db, st, rg, mode); err != nil {
				db.AddError(err)
				return
			}
		}
	}
}

// afterUpsert stores the plugin's values of the rows an upsert inserted or
// overwrote: it reads what the upsert really left in each row (with DO
// NOTHING, or a DO UPDATE of other columns, an existing row keeps its
// source, and MySQL may even report another row's id for it) and applies
// the rule to that, with what the row held before (read under its lock)
// as its current values. Every plugin column of those rows is written:
// the upsert may have written the value's own.
func (p *Plugin) afterUpsert(db *gorm.DB, st *stmtState, oc clause.OnConflict) {
	if db.Statement.RowsAffected == 0 && (oc.DoNothing || db.Dialector.Name() != "mysql") {
		return // every row conflicted and nothing was written
	}
	// (MySQL counts changed rows, not matched ones: 0 may mean rows
	// rewritten with the same values, whose source bytes may be new.)
	ctx := db.Statement.Context
	st.rows = rowsOf(db)
	now, err := loadOld(db, st.spec, st.rows, nil, false)
	if err != nil {
		db.AddError(fmt.Errorf("gormthumb: %s: reading the rows after an upsert: %w", st.spec.name, err))
		return
	}
	var recs []*rowGroup
	for _, rg := range st.writtenRecs() {
		r := st.rows[rg.row]
		stored, ok := now.byPK[r.pk]
		if r.pk == "" || !ok {
			continue // not inserted (ON CONFLICT DO NOTHING)
		}
		old := st.old.lookup(db, r)
		if old != nil && !upsertWritesGroup(oc, rg.g) {
			continue // an existing row the upsert left as it was
		}
		if old == nil && stored[rg.g.source.DBName] != keyOf(ctx, rg.g.source, r.value) {
			continue // not the value's row: one that kept its own source (MySQL reports its id)
		}
		rg.setSource(stored[rg.g.source.DBName])
		rg.cur = rg.g.keysFrom(old)
		recs = append(recs, rg)
	}
	if err := p.resolveAll(ctx, st, db.Statement.Table, recs, planMode{}); err != nil {
		db.AddError(err)
		return
	}
	for _, rg := range recs {
		if err := p.store(db, st, rg, storeAll); err != nil {
			db.AddError(err)
			return
		}
	}
}

// upsertWritesGroup reports whether an ON CONFLICT clause overwrites any
// column of g (its source or the plugin's) in an existing row.
func upsertWritesGroup(oc clause.OnConflict, g *sourceGroup) bool {
	if upsertWrites(oc, g.source.DBName) {
		return true
	}
	for _, col := range g.columns() {
		if upsertWrites(oc, col) {
			return true
		}
	}
	return false
}

// upsertWrites reports whether an ON CONFLICT clause overwrites col of an
// existing row.
func upsertWrites(oc clause.OnConflict, col string) bool {
	if oc.DoNothing {
		return false
	}
	if oc.UpdateAll {
		return true
	}
	for _, a := range oc.DoUpdates {
		if a.Column.Name == col {
			return true
		}
	}
	return false
}

// columnSet is the columns an INSERT writes, following Select and Omit.
type columnSet struct {
	selected   map[string]bool
	restricted bool
}

// insertedColumns computes the columns an INSERT of stmt writes.
func insertedColumns(stmt *gorm.Statement) columnSet {
	selected, restricted := stmt.SelectAndOmitColumns(true, false)
	return columnSet{selected, restricted}
}

// has reports whether the INSERT writes col.
func (c columnSet) has(col string) bool {
	sel, explicit := c.selected[col]
	return sel || (!explicit && !c.restricted)
}

// ---------------------------------------------------------------------------
// Create(map[string]any) and Create([]map[string]any)

// createMaps returns the maps a Create of maps writes, or nil.
func createMaps(stmt *gorm.Statement) []map[string]any {
	switch d := stmt.Dest.(type) {
	case map[string]any:
		return []map[string]any{d}
	case *map[string]any:
		return []map[string]any{*d}
	case []map[string]any:
		return d
	case *[]map[string]any:
		return *d
	}
	return nil
}

// mapValue returns the value a map holds for field f, by column or field
// name as GORM accepts.
func mapValue(m map[string]any, col, name string) (any, bool) {
	if v, ok := m[col]; ok {
		return v, true
	}
	v, ok := m[name]
	return v, ok
}

// keyFromValue reads a key from a value given for a source column (in a
// map, or through Update): false for what is not a key (a SQL expression).
func keyFromValue(v any) (string, bool) {
	switch k := v.(type) {
	case nil:
		return "", true
	case ImageField:
		return k.Key, true
	case *ImageField:
		if k == nil {
			return "", true
		}
		return k.Key, true
	case string:
		return k, true
	case []byte:
		return string(k), true
	case *string:
		if k == nil {
			return "", true
		}
		return *k, true
	}
	return "", false
}

// fillMaps puts the plugin's values into the maps a Create of maps
// writes (GORM adds the primary key to them the same way).
func (p *Plugin) fillMaps(st *stmtState, maps []map[string]any) {
	for _, rg := range st.writtenRecs() {
		m, next := maps[rg.row], rg.plan.next
		for k, t := range rg.g.thumbs {
			delete(m, t.field.Name)
			m[t.field.DBName] = ImageField{Key: next.thumbs[k]}
		}
		if h := rg.g.placeholder; h != nil {
			delete(m, h.Name)
			m[h.DBName] = next.holder
		}
	}
}

// afterMaps records what a Create of maps stored, and its background
// work. GORM has put each new row's primary key into its map, or, where
// the database returns it (RETURNING) into a *[]map, appended one map of
// returned columns per row, in order.
func (p *Plugin) afterMaps(db *gorm.DB, st *stmtState, maps []map[string]any) {
	n := len(st.rows)
	for i := range st.rows {
		r := mapRow(db, maps[i])
		if r.pk == "" && len(maps) >= 2*n {
			r = mapRow(db, maps[n+i])
		}
		st.rows[i] = r
	}
	for _, rg := range st.writtenRecs() {
		rg.cur = emptyKeys(rg.g)
		if err := p.store(db, st, rg, storeNone); err != nil {
			db.AddError(err)
			return
		}
	}
}
