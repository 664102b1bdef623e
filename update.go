package gormthumb

import (
	"context"
	"fmt"
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The update chain (Save of a row with a primary key, Update, Updates,
// UpdateColumn(s)). The plugin's columns (thumbnails and placeholders) are
// never written from the statement's values: beforeUpdate leaves them out
// of every UPDATE's SET, so a stale or partly loaded struct cannot write
// them back. prepareUpdate predicts from the statement and the struct what
// will be out of date and makes it before GORM opens its transaction;
// inside it, the UPDATE runs, then afterUpdate learns which rows it wrote
// and what they hold (their new sources and, untouched, their plugin
// columns, read under the lock the UPDATE holds), applies the rule
// (plan.go) and stores the plugin's columns.
//
// A plain Save of one struct reads nothing: beforeUpdate pins the plugin
// columns on the struct in the UPDATE's WHERE (a compare-and-set, as
// optimistic locking does), so when it matches they are the row's. When it
// does not (a stale struct, one built by hand or loaded with Select, or a
// condition of the caller's), unpin reads the row with the statement's
// other conditions under its lock and runs the UPDATE again without the
// pin, or learns that nothing matched.

// writesEveryColumn reports whether the statement is a Save with no
// Select or Omit: GORM writes every column of every row.
func writesEveryColumn(stmt *gorm.Statement) bool {
	return len(stmt.Selects) == 1 && stmt.Selects[0] == "*" && len(stmt.Omits) == 0 && sameValue(stmt.Dest, stmt.Model)
}

// sameValue reports whether a and b are the same model value (the same
// pointer, or equal values where they can be compared), without the panic
// of == on structs holding slices or maps.
func sameValue(a, b any) bool {
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	if !av.IsValid() || !bv.IsValid() || av.Type() != bv.Type() {
		return false
	}
	if av.Kind() == reflect.Ptr {
		return av.Pointer() == bv.Pointer()
	}
	return av.Comparable() && av.Equal(bv)
}

// prepareUpdate finds the rows and the sources the UPDATE writes, and
// makes, outside any transaction, the thumbnails that will be out of date
// with the new sources, taking the struct's values as a guess of what the
// rows hold (the transaction checks the guess).
func (p *Plugin) prepareUpdate(db *gorm.DB) {
	st := p.start(db)
	if st == nil {
		return
	}
	stmt := db.Statement
	st.kind = kindUpdate
	if !p.findWritten(db, st) {
		return // beforeUpdate still keeps the plugin's columns out of the SET
	}
	ctx := stmt.Context
	if writesEveryColumn(stmt) && len(st.rows) == 1 && modelValue(stmt).Kind() == reflect.Struct {
		st.kind = kindPlainSave
		if st.fresh = p.structUnchanged(ctx, stmt.Table, st); st.fresh {
			return // the commonest write: a Save whose plugin columns are up to date
		}
	}
	unknown := map[*rowGroup]bool{}
	st.newRecs(func(i int, g *sourceGroup) string {
		src, ok := newSource(stmt, st.rows[i], g)
		if !ok {
			unknown[st.rec(i, g)] = true
		}
		return src
	})
	var recs []*rowGroup
	for _, rg := range st.writtenRecs() {
		if unknown[rg] {
			continue // a SQL expression: resolved in the transaction
		}
		rg.cur = rg.g.keysOf(ctx, st.rows[rg.row].value)
		recs = append(recs, rg)
	}
	if err := p.resolveAll(ctx, st, stmt.Table, recs, planMode{}); err != nil {
		db.AddError(err)
	}
}

// findWritten sets the groups whose source the UPDATE writes and the rows
// it writes, and reports whether there is anything to do. A source written
// on rows without a primary key is refused (ErrBulkUpdate).
func (p *Plugin) findWritten(db *gorm.DB, st *stmtState) bool {
	st.written = writtenGroups(db.Statement, st.spec)
	if len(st.written) == 0 {
		return false
	}
	st.rows = rowsOfValue(db, modelValue(db.Statement))
	bulk := len(st.rows) == 0
	for _, r := range st.rows {
		bulk = bulk || r.pk == ""
	}
	if bulk {
		db.AddError(&Error{Model: st.spec.name, Field: st.written[0].source.Name, Err: ErrBulkUpdate})
		return false
	}
	return true
}

// structUnchanged reports, without allocating, whether the rule changes
// nothing for a plain Save's row when the struct's values are what the
// row holds. It looks no source up in the bucket (it answers false when
// WithSourceVersionCheck would need to).
func (p *Plugin) structUnchanged(ctx context.Context, table string, st *stmtState) bool {
	if p.versionCheck {
		return false
	}
	r := st.rows[0]
	var buf [8]string
	for _, g := range st.written {
		if len(g.thumbs) > len(buf) {
			return false
		}
		in := planInput{g: g, table: table, pk: r.pk, src: keyOf(ctx, g.source, r.value), cur: groupKeys{thumbs: buf[:len(g.thumbs)]}}
		for i, t := range g.thumbs {
			in.cur.thumbs[i] = keyOf(ctx, t.field, r.value)
		}
		if g.placeholder != nil {
			in.cur.holder = stringOf(ctx, g.placeholder, r.value)
		}
		if !unchangedGroup(&in) {
			return false
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
	if sameValue(stmt.Dest, stmt.Model) || !dv.IsValid() || dv.Kind() != reflect.Struct || dv.Type() != stmt.Schema.ModelType {
		return keyOf(stmt.Context, g.source, r.value), true
	}
	return keyOf(stmt.Context, g.source, dv), true
}

// beforeUpdate runs after the model's BeforeSave/BeforeUpdate hooks. It
// keeps the plugin's columns out of the UPDATE's SET, and pins a plain
// Save's (see above).
func (p *Plugin) beforeUpdate(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil {
		return
	}
	stmt := db.Statement
	stmt.Omits = append(stmt.Omits, st.spec.ownCols...)
	st.omits = len(st.spec.ownCols)
	if st.kind != kindPlainSave {
		// A hook may have set a source column (Statement.SetColumn) that
		// prepare did not see written.
		if w := writtenGroups(stmt, st.spec); len(w) > len(st.written) {
			rows := st.rows
			p.findWritten(db, st)
			if rows != nil && st.recs != nil {
				st.rows = rows // the records were made for these
			}
		}
		return
	}
	ctx := stmt.Context
	r := st.rows[0]
	pin := &pinnedKeys{cols: st.spec.ownCols, keys: make([]string, 0, len(st.spec.ownCols))}
	for _, g := range st.written { // every group, in order: a plain Save writes every column
		for _, t := range g.thumbs {
			pin.keys = append(pin.keys, keyOf(ctx, t.field, r.value))
		}
		if g.placeholder != nil {
			pin.keys = append(pin.keys, stringOf(ctx, g.placeholder, r.value))
		}
	}
	stmt.AddClause(clause.Where{Exprs: []clause.Expression{pin}})
	st.pinned = pin
	if st.fresh {
		// A hook may have changed the source since prepare looked.
		st.fresh = p.structUnchanged(ctx, stmt.Table, st)
	}
}

// afterUpdate stores the plugin's columns of every row the UPDATE wrote.
func (p *Plugin) afterUpdate(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil || len(st.written) == 0 {
		return
	}
	var old *oldRows // what the written rows hold, by primary key
	switch {
	case st.pinned != nil && db.Statement.RowsAffected > 0:
		if st.fresh {
			return // an unchanged Save: the row held the struct's values, and they are up to date
		}
		old = st.pinned.old(st.rows[0].pk)
	case st.pinned != nil:
		old = p.unpin(db, st)
	default:
		var err error
		if old, err = p.readWritten(db, st); err != nil {
			db.AddError(fmt.Errorf("gormthumb: %s: reading the rows written: %w", st.spec.name, err))
			return
		}
	}
	if old == nil || db.Error != nil {
		return // no row was written
	}
	if st.recs == nil {
		st.newRecs(func(int, *sourceGroup) string { return "" })
	}
	ctx := db.Statement.Context
	var recs []*rowGroup
	for _, rg := range st.writtenRecs() {
		r := st.rows[rg.row]
		keys := old.byPK[r.pk]
		if keys == nil {
			continue // not written: a condition did not hold
		}
		if st.pinned != nil {
			// A plain Save wrote the struct's source.
			rg.setSource(keyOf(ctx, rg.g.source, r.value))
		} else {
			rg.setSource(keys[rg.g.source.DBName])
		}
		rg.cur = rg.g.keysFrom(keys)
		recs = append(recs, rg)
	}
	if err := p.resolveAll(ctx, st, db.Statement.Table, recs, planMode{}); err != nil {
		db.AddError(err)
		return
	}
	for _, rg := range recs {
		if err := p.store(db, st, rg, storeChanged); err != nil {
			db.AddError(err)
			return
		}
	}
}

// readWritten reads, under the locks the UPDATE took, the image columns of
// the rows it wrote. The UPDATE left the plugin's columns out, so they
// still hold what the rows held before it. Which rows it wrote: with no
// row affected, none (but on MySQL, whose count is of changed rows, the
// rows its WHERE still selects: a row it matched and left unchanged); with
// every row affected, all; otherwise the rows beforeUpdate... the rows its
// WHERE selects now.
func (p *Plugin) readWritten(db *gorm.DB, st *stmtState) (*oldRows, error) {
	n := db.Statement.RowsAffected
	mysql := db.Dialector.Name() == "mysql"
	switch {
	case n == 0 && !mysql:
		return nil, nil
	case n >= int64(len(st.rows)):
		return loadOld(db, st.spec, st.rows, nil, true)
	}
	old, err := loadWhere(db, st.spec, whereOf(db.Statement, nil))
	if err != nil || mysql {
		return old, err
	}
	if int64(len(old.byPK)) != n {
		// Some rows no longer match the WHERE they were written by: which
		// ones the UPDATE wrote cannot be known.
		return nil, &Error{Model: st.spec.name, Field: st.written[0].source.Name, Err: fmt.Errorf("%w: %d of %d rows written, and which is not known", ErrBulkUpdate, n, len(st.rows))}
	}
	return old, nil
}

// whereOf is the statement's WHERE as the UPDATE ran it (the caller's
// conditions, the primary key, soft-delete scopes), without skip.
func whereOf(stmt *gorm.Statement, skip clause.Expression) []clause.Expression {
	var conds []clause.Expression
	if w, ok := stmt.Clauses["WHERE"].Expression.(clause.Where); ok {
		for _, e := range w.Exprs {
			if skip == nil || e != skip {
				conds = append(conds, e)
			}
		}
	}
	return conds
}

// unpin handles a pinned UPDATE that matched no row. It reads the row with
// every other condition of the statement, under its lock: if none matches,
// nothing was written (a condition of the caller's failed, or there is no
// such row: GORM's Save then inserts it, unless Select was given). If the
// row holds the pinned values, the UPDATE did match (MySQL counts changed
// rows, and it changed none). Otherwise the struct's values were not the
// row's: the UPDATE runs again without the pin. It returns what the row
// held, or nil when nothing was written.
func (p *Plugin) unpin(db *gorm.DB, st *stmtState) *oldRows {
	conds := whereOf(db.Statement, st.pinned)
	old, err := loadWhere(db, st.spec, conds)
	if err != nil {
		db.AddError(fmt.Errorf("gormthumb: %s: reading the row: %w", st.spec.name, err))
		return nil
	}
	keys := old.byPK[st.rows[0].pk]
	if keys == nil {
		return nil
	}
	same := true
	for i, col := range st.pinned.cols {
		same = same && keys[col] == st.pinned.keys[i]
	}
	if same {
		if st.fresh {
			return nil
		}
		return old
	}
	stmt := db.Statement
	q := inner(db).Model(stmt.Model).Select(stmt.Selects).Omit(stmt.Omits...)
	if len(conds) > 0 {
		q = q.Where(clause.And(conds...))
	}
	res := q.Updates(stmt.Dest)
	if res.Error != nil {
		db.AddError(res.Error)
		return nil
	}
	db.RowsAffected = res.RowsAffected
	stmt.RowsAffected = res.RowsAffected
	return old // the row is locked and matched: written (MySQL may count 0 if nothing changed)
}

// unmark takes what beforeUpdate added (the omitted columns, the pin) off
// the statement once its chain has run: GORM's Save runs its fallback
// INSERT on the same statement, and a caller may reuse it.
func (st *stmtState) unmark(stmt *gorm.Statement) {
	if n := len(stmt.Omits) - st.omits; st.omits > 0 && n >= 0 {
		stmt.Omits = stmt.Omits[:n:n]
		st.omits = 0
	}
	if st.pinned == nil {
		return
	}
	if c, ok := stmt.Clauses["WHERE"]; ok {
		c.Expression = clause.Where{Exprs: whereOf(stmt, st.pinned)}
		stmt.Clauses["WHERE"] = c
	}
}

// pinnedKeys is the condition beforeUpdate adds to a plain Save's UPDATE:
// every plugin column still holds the value on the struct (an empty one
// matches NULL and the empty string).
type pinnedKeys struct {
	cols []string // modelSpec.ownCols
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

// old returns the pinned values as what row pk held.
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
