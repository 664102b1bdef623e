package gormthumb

import (
	"context"
	"fmt"
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The update chain (Save of a row with a primary key, Update, Updates,
// UpdateColumn(s)). prepareUpdate decides from the statement and the
// struct what is out of date and makes it before GORM opens its
// transaction; inside it, the UPDATE runs, then afterUpdate reads the
// row's thumbnail keys (the UPDATE holds its lock) and stores the new
// ones, superseding the old.
//
// A plain Save of a loaded row reads nothing: beforeUpdate pins the keys
// on the struct in the UPDATE's WHERE (a compare-and-set, as optimistic
// locking does), so when it matches they are the row's keys. When it does
// not (a stale struct, or one built by hand), afterUpdate reads the row
// under its lock and runs the UPDATE again without the pin.

// writesEveryColumn reports whether the statement is a Save with no
// Select or Omit: GORM writes every column of every row.
func writesEveryColumn(stmt *gorm.Statement) bool {
	return stmt.Dest == stmt.Model && len(stmt.Selects) == 1 && stmt.Selects[0] == "*" && len(stmt.Omits) == 0
}

// prepareUpdate finds the rows and the sources the UPDATE writes, and
// makes, outside any transaction, the thumbnails whose keys on the struct
// are out of date with the new sources.
func (p *Plugin) prepareUpdate(db *gorm.DB) {
	st := p.start(db)
	if st == nil {
		return
	}
	stmt := db.Statement
	st.written = writtenGroups(stmt, st.spec)
	if len(st.written) == 0 {
		return
	}
	st.rows = rowsOfValue(db, modelValue(stmt))
	bulk := len(st.rows) == 0
	for _, r := range st.rows {
		bulk = bulk || r.pk == ""
	}
	if bulk {
		db.AddError(&Error{Model: st.spec.name, Field: st.written[0].source.Name, Err: ErrBulkUpdate})
		return
	}
	st.plainSave = writesEveryColumn(stmt) && len(st.rows) == 1 && modelValue(stmt).Kind() == reflect.Struct
	ctx := stmt.Context
	if st.plainSave && p.structFresh(ctx, stmt.Table, st) {
		return // the commonest write: a Save whose thumbnails are up to date
	}
	p.prepare(db, st, func(i int, g *sourceGroup) (string, bool) {
		return newSource(stmt, st.rows[i], g)
	}, func(i int, g *sourceGroup) []string { return g.slotsOf(ctx, st.rows[i].value) })
}

// structFresh reports, without allocating, whether every thumbnail key on
// a plain Save's struct is up to date with its source. It looks no source
// up in the bucket (it answers false when WithSourceVersionCheck would need
// to, and prepare then does).
func (p *Plugin) structFresh(ctx context.Context, table string, st *stmtState) bool {
	if p.versionCheck {
		return false
	}
	r := st.rows[0]
	for _, g := range st.written {
		src := keyOf(ctx, g.source, r.value)
		for _, t := range g.thumbs {
			if !thumbUpToDate(keyOf(ctx, t.field, r.value), table, r.pk, t, src, "") {
				return false
			}
		}
		if g.placeholder != nil && (src == "") != (stringOf(ctx, g.placeholder, r.value) == "") {
			return false // a placeholder to make or to clear
		}
	}
	return true
}

// modelValue is the statement's model value (a struct or a slice), before
// gorm:setup_reflect_value has made it the statement's ReflectValue.
func modelValue(stmt *gorm.Statement) reflect.Value {
	v := reflect.ValueOf(stmt.Model)
	for v.Kind() == reflect.Ptr {
		v = v.Elem()
	}
	return v
}

// newSource returns the source key the UPDATE writes for group g of row
// r, and false when the statement does not say (a SQL expression).
func newSource(stmt *gorm.Statement, r row, g *sourceGroup) (string, bool) {
	switch dest := stmt.Dest.(type) {
	case map[string]any:
		v, _ := mapValue(dest, g.source.DBName, g.source.Name)
		return keyFromValue(v)
	}
	dv := reflect.ValueOf(stmt.Dest)
	for dv.Kind() == reflect.Ptr {
		dv = dv.Elem()
	}
	if stmt.Dest == stmt.Model || !dv.IsValid() || dv.Kind() != reflect.Struct || dv.Type() != stmt.Schema.ModelType {
		return keyOf(stmt.Context, g.source, r.value), true
	}
	return keyOf(stmt.Context, g.source, dv), true
}

// beforeUpdate pins a plain Save's thumbnail keys (see above).
func (p *Plugin) beforeUpdate(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil || len(st.written) == 0 || !st.plainSave {
		return
	}
	ctx := db.Statement.Context
	pin := &pinnedKeys{cols: st.spec.thumbCols, keys: make([]string, 0, len(st.spec.thumbCols))}
	for _, g := range st.written { // all groups, in order: a plain Save writes every column
		for _, t := range g.thumbs {
			pin.keys = append(pin.keys, keyOf(ctx, t.field, st.rows[0].value))
		}
	}
	db.Statement.AddClause(clause.Where{Exprs: []clause.Expression{pin}})
	// A matching row already holds these keys: leave them out of the SET.
	db.Statement.Omits = append(db.Statement.Omits, pin.cols...)
	st.pinned = pin
}

// afterUpdate stores the thumbnail keys of every row the UPDATE wrote.
func (p *Plugin) afterUpdate(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil || len(st.written) == 0 {
		return
	}
	if st.pinned != nil {
		if db.Statement.RowsAffected > 0 {
			if !st.stale {
				return // an unchanged Save: the struct's keys were up to date, and the row held them
			}
			st.old = st.pinned.old(st.rows[0].pk)
		} else if !p.unpin(db, st) {
			return
		}
	} else {
		// The UPDATE holds the rows' locks: read what it left, the new
		// sources and the old thumbnail keys.
		old, err := loadOld(db, st.spec, st.rows, nil, false)
		if err != nil {
			db.AddError(&Error{Model: st.spec.name, Err: fmt.Errorf("%w: reading current thumbnails: %w", ErrStorage, err)})
			return
		}
		st.old = old
	}
	ctx := db.Statement.Context
	var jobs []*job
	for i, r := range st.rows {
		old := st.old.lookup(db, r)
		if old == nil {
			continue // no such row: the UPDATE changed nothing
		}
		for _, g := range st.written {
			src := old[g.source.DBName] // what the row holds now
			if st.pinned != nil {
				src = keyOf(ctx, g.source, r.value)
			}
			j := &job{row: r, group: g, src: src, premade: st.premade(i, g), old: g.slotsFrom(old)}
			if st.pinned != nil && g.placeholder != nil {
				// A Save wrote the struct's placeholder: that is the row's now.
				j.old[len(g.thumbs)] = stringOf(ctx, g.placeholder, r.value)
			}
			jobs = append(jobs, j)
		}
	}
	if err := p.runAndApply(db, st, jobs, storeChanged); err != nil {
		db.AddError(err)
	}
}

// unpin handles a pinned UPDATE that matched no row. If the row exists
// (read under its lock) but holds other thumbnail keys than the struct, it
// runs the UPDATE again without the pin (keeping every other condition)
// and reports true, with st.old set to what the row held. If the row does
// not exist, or holds the pinned keys (MySQL reports 0 rows for an UPDATE
// that changed nothing), there is nothing to store.
func (p *Plugin) unpin(db *gorm.DB, st *stmtState) bool {
	old, err := loadOld(db, st.spec, st.rows, nil, true)
	if err != nil {
		db.AddError(&Error{Model: st.spec.name, Err: fmt.Errorf("%w: reading current thumbnails: %w", ErrStorage, err)})
		return false
	}
	keys := old.lookup(db, st.rows[0])
	if keys == nil {
		return false // no such row: GORM's Save inserts it, unless Select was given
	}
	same := true
	for i, col := range st.pinned.cols {
		same = same && keys[col] == st.pinned.keys[i]
	}
	if same {
		if !st.stale {
			return false
		}
		st.old = old
		return true
	}
	var conds []clause.Expression
	if w, ok := db.Statement.Clauses["WHERE"].Expression.(clause.Where); ok {
		for _, e := range w.Exprs {
			if e != clause.Expression(st.pinned) {
				conds = append(conds, e)
			}
		}
	}
	q := inner(db).Model(db.Statement.Model).Select(db.Statement.Selects).Omit(db.Statement.Omits...)
	if len(conds) > 0 {
		q = q.Where(clause.And(conds...))
	}
	res := q.Updates(db.Statement.Dest)
	if res.Error != nil {
		db.AddError(res.Error)
		return false
	}
	db.RowsAffected = res.RowsAffected
	db.Statement.RowsAffected = res.RowsAffected
	if res.RowsAffected == 0 {
		return false // another condition (the caller's own) did not hold
	}
	st.old = old
	return true
}

// pinnedKeys is the condition pinThumbs adds to the UPDATE: every
// thumbnail column still holds the key on the struct (an empty key
// matches NULL and the empty string).
type pinnedKeys struct {
	cols []string // modelSpec.thumbCols
	keys []string
}

// Build implements clause.Expression.
func (pin *pinnedKeys) Build(b clause.Builder) {
	for i, col := range pin.cols {
		if i > 0 {
			b.WriteString(" AND ")
		}
		if pin.keys[i] == "" {
			b.WriteByte('(')
			b.WriteQuoted(col)
			b.WriteString(" IS NULL OR ")
			b.WriteQuoted(col)
			b.WriteString(" = '')")
			continue
		}
		b.WriteQuoted(col)
		b.WriteString(" = ")
		b.AddVar(b, pin.keys[i])
	}
}

// old returns the pinned keys as the statement's old values of row pk.
func (pin *pinnedKeys) old(pk string) *oldRows {
	keys := make(map[string]string, len(pin.cols))
	for i, c := range pin.cols {
		keys[c] = pin.keys[i]
	}
	return &oldRows{byPK: map[string]map[string]string{pk: keys}}
}

// writtenGroups returns the source groups whose column an UPDATE writes,
// following GORM's own rules for maps, structs, Select and Omit.
func writtenGroups(stmt *gorm.Statement, ms *modelSpec) []*sourceGroup {
	if writesEveryColumn(stmt) {
		return ms.groups
	}
	selected, restricted := stmt.SelectAndOmitColumns(false, true)
	var out []*sourceGroup
	for _, g := range ms.groups {
		col := g.source.DBName
		sel, explicit := selected[col]
		if explicit && !sel {
			continue // omitted
		}
		allowed := sel || !restricted
		written := false
		switch dest := stmt.Dest.(type) {
		case map[string]any:
			_, byCol := dest[col]
			_, byName := dest[g.source.Name]
			written = allowed && (byCol || byName)
		default:
			dv := reflect.Indirect(reflect.ValueOf(stmt.Dest))
			if dv.Kind() == reflect.Struct && dv.Type() == stmt.Schema.ModelType {
				_, zero := g.source.ValueOf(stmt.Context, dv)
				written = sel || (allowed && !zero)
			} else {
				written = sel
			}
		}
		if written {
			out = append(out, g)
		}
	}
	return out
}
