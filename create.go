package gormthumb

import (
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The create chain. A row with a source is one INSERT with its thumbnail
// keys already set: prepareCreate makes the thumbnails before GORM opens
// its transaction, beforeCreate puts their keys on the values the INSERT
// writes. An upsert (ON CONFLICT) also reads, under a row lock, the rows it
// may overwrite, and afterCreate stores what the upsert really left.

// prepareCreate makes the thumbnails of every row the INSERT writes a
// source for, outside any transaction.
func (p *Plugin) prepareCreate(db *gorm.DB) {
	st := p.start(db)
	if st == nil {
		return
	}
	st.written = insertedGroups(db.Statement, st.spec)
	if len(st.written) == 0 {
		return
	}
	if maps := createMaps(db.Statement); maps != nil {
		p.prepareMaps(db, st, maps)
		return
	}
	ctx := db.Statement.Context
	st.rows = rowsOf(db)
	_, upsert := db.Statement.Clauses["ON CONFLICT"]
	p.prepare(db, st, func(i int, g *sourceGroup) (string, bool) {
		return keyOf(ctx, g.source, st.rows[i].value), true
	}, func(i int, g *sourceGroup) []string {
		// A new row never takes keys from the value it was built from (a
		// copy of another row would share its blobs); an upsert keeps the
		// value's keys if they are up to date, and learns what the row
		// really holds inside the transaction.
		if upsert {
			return g.slotsOf(ctx, st.rows[i].value)
		}
		return make([]string, g.slots())
	})
}

// beforeCreate runs inside the transaction, after the model's
// BeforeCreate/BeforeSave hooks: it sets the thumbnail keys on the values
// the INSERT writes (making any a hook's change of source needs), or, for
// an upsert, reads the rows it may overwrite.
func (p *Plugin) beforeCreate(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil || len(st.written) == 0 {
		return
	}
	if maps := createMaps(db.Statement); maps != nil {
		p.fillMaps(st, maps)
		return
	}
	st.rows = rowsOf(db)
	if c, upsert := db.Statement.Clauses["ON CONFLICT"]; upsert {
		oc, _ := c.Expression.(clause.OnConflict)
		var conflictCols []string
		for _, col := range oc.Columns {
			conflictCols = append(conflictCols, col.Name)
		}
		old, err := loadOld(db, st.spec, st.rows, conflictCols, true)
		if err != nil {
			db.AddError(&Error{Model: st.spec.name, Err: fmt.Errorf("%w: reading current thumbnails: %w", ErrStorage, err)})
			return
		}
		st.old = old
		return
	}
	jobs := p.createJobs(db, st)
	if err := p.runJobs(db, st, jobs); err != nil {
		db.AddError(err)
		return
	}
	for _, j := range jobs {
		if err := j.group.setSlots(db.Statement.Context, j.row.value, j.newKey); err != nil {
			db.AddError(err)
			return
		}
	}
}

// createJobs lists a plain INSERT's jobs: every row and written group, with
// no old keys.
func (p *Plugin) createJobs(db *gorm.DB, st *stmtState) []*job {
	ctx := db.Statement.Context
	var jobs []*job
	for i, r := range st.rows {
		for _, g := range st.written {
			jobs = append(jobs, &job{row: r, group: g, src: keyOf(ctx, g.source, r.value),
				old: make([]string, g.slots()), premade: st.premade(i, g)})
		}
	}
	return jobs
}

// afterCreate records the keys the INSERT stored (storing, with an UPDATE
// in the same transaction, those whose column a Select or Omit left out of
// it), and settles an upsert's rows.
func (p *Plugin) afterCreate(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil || len(st.written) == 0 {
		return
	}
	if maps := createMaps(db.Statement); maps != nil {
		for _, m := range st.made {
			for _, k := range m.keys[:len(m.group.thumbs)] {
				st.noteStored(k, "")
			}
		}
		return
	}
	if c, upsert := db.Statement.Clauses["ON CONFLICT"]; upsert {
		oc, _ := c.Expression.(clause.OnConflict)
		p.afterUpsert(db, st, oc)
		return
	}
	st.rows = rowsOf(db) // the INSERT set the primary keys
	cols := insertedColumns(db.Statement)
	for _, j := range p.createJobs(db, st) {
		j.newKey = j.group.slotsOf(db.Statement.Context, j.row.value)
		for _, t := range j.group.thumbs {
			j.enqueue = j.enqueue || (t.async && j.src != "")
		}
		inserted := true
		for i := range j.group.slots() {
			inserted = inserted && cols.has(j.group.slotColumn(i))
		}
		mode := storeNone
		if !inserted {
			mode = storeChanged
		}
		if err := p.apply(db, st, j, mode); err != nil {
			db.AddError(err)
			return
		}
	}
}

// afterUpsert stores the thumbnails of the rows an upsert inserted or
// overwrote with their source: it reads what the upsert really left in
// each row (with DO NOTHING, or a DO UPDATE of other columns, an existing
// row keeps its source, and MySQL may even report another row's id for it).
func (p *Plugin) afterUpsert(db *gorm.DB, st *stmtState, oc clause.OnConflict) {
	if db.Statement.RowsAffected == 0 && db.Dialector.Name() != "mysql" {
		return // every row conflicted and nothing was written
	}
	// (MySQL counts changed rows, not matched ones: 0 may mean rows
	// rewritten with the same values, whose source bytes may be new.)
	ctx := db.Statement.Context
	rows := rowsOf(db)
	now, err := loadOld(db, st.spec, rows, nil, false)
	if err != nil {
		db.AddError(&Error{Model: st.spec.name, Err: fmt.Errorf("%w: reading rows after upsert: %w", ErrStorage, err)})
		return
	}
	var jobs []*job
	for i, r := range rows {
		if r.pk == "" {
			continue // not inserted (ON CONFLICT DO NOTHING)
		}
		old := st.old.lookup(db, r)
		for _, g := range st.written {
			src := keyOf(ctx, g.source, r.value)
			stored, ok := now.byPK[r.pk]
			if !ok || stored[g.source.DBName] != src || (old != nil && !upsertWrites(oc, g.source.DBName)) {
				continue // the row kept its own source
			}
			jobs = append(jobs, &job{row: r, group: g, src: src, premade: st.premade(i, g), old: g.slotsFrom(old)})
		}
	}
	// The upsert may have written the value's own thumbnail keys: store
	// every column.
	if err := p.runAndApply(db, st, jobs, storeAll); err != nil {
		db.AddError(err)
	}
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

// insertedGroups returns the source groups whose column an INSERT writes:
// all of them unless Select/Omit leave the column out.
func insertedGroups(stmt *gorm.Statement, ms *modelSpec) []*sourceGroup {
	var out []*sourceGroup
	cols := insertedColumns(stmt)
	for _, g := range ms.groups {
		if cols.has(g.source.DBName) {
			out = append(out, g)
		}
	}
	return out
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

// prepareMaps makes the thumbnails of a Create of maps. The maps have no
// struct to carry a primary key, which the digest does not need.
func (p *Plugin) prepareMaps(db *gorm.DB, st *stmtState, maps []map[string]any) {
	st.rows = make([]row, len(maps)) // no struct values: only the count matters
	var bad error
	p.prepare(db, st, func(i int, g *sourceGroup) (string, bool) {
		v, _ := mapValue(maps[i], g.source.DBName, g.source.Name)
		src, ok := keyFromValue(v)
		if !ok && bad == nil {
			bad = &Error{Model: st.spec.name, Field: g.source.Name, Err: wrapf(ErrInvalidKey, "a %T is not a key", v)}
		}
		return src, ok
	}, func(i int, g *sourceGroup) []string { return make([]string, g.slots()) })
	if bad != nil && db.Error == nil {
		db.AddError(bad)
	}
}

// fillMaps adds the thumbnail columns to the maps a Create of maps writes
// (GORM adds the primary key to them the same way).
func (p *Plugin) fillMaps(st *stmtState, maps []map[string]any) {
	for i, m := range maps {
		for _, g := range st.written {
			pre := st.premade(i, g)
			for k, t := range g.thumbs {
				key := ""
				if pre != nil {
					key = pre.keys[k]
				}
				delete(m, t.field.Name)
				m[t.field.DBName] = ImageField{Key: key}
			}
			if h := g.placeholder; h != nil {
				hash := ""
				if pre != nil {
					hash = pre.keys[len(g.thumbs)]
				}
				delete(m, h.Name)
				m[h.DBName] = hash
			}
		}
	}
}
