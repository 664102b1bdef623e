package gormthumb

import (
	"fmt"
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// writesEveryColumn reports whether the statement is a Save with no
// Select or Omit: GORM writes every column of every row.
func writesEveryColumn(stmt *gorm.Statement) bool {
	return stmt.Dest == stmt.Model && len(stmt.Selects) == 1 && stmt.Selects[0] == "*" && len(stmt.Omits) == 0
}

// isPlainSave reports whether the statement is such a Save of one struct.
func isPlainSave(stmt *gorm.Statement) bool {
	return writesEveryColumn(stmt) && stmt.ReflectValue.Kind() == reflect.Struct
}

// beforeUpdate finds which sources the update writes and what the
// thumbnail columns held before it: pinned from the struct for a plain
// Save, otherwise read, with a row lock where the database has one.
func (p *Plugin) beforeUpdate(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil {
		return
	}
	st.update = true
	st.written = writtenGroups(db.Statement, st.spec)
	if len(st.written) == 0 {
		return
	}
	rows := rowsOf(db)
	st.rows = rows
	bulk := len(rows) == 0
	for _, r := range rows {
		bulk = bulk || r.pk == ""
	}
	if bulk {
		db.AddError(&Error{Model: st.spec.name, Field: st.written[0].source.Name, Err: ErrBulkUpdate})
		return
	}
	if isPlainSave(db.Statement) {
		p.pinThumbs(db, st, rows[0])
		return
	}
	old, err := loadOld(db, st.spec, rows, nil, true)
	if err != nil {
		db.AddError(&Error{Model: st.spec.name, Err: fmt.Errorf("%w: reading current thumbnails: %w", ErrStorage, err)})
		return
	}
	st.old = old
}

// pinThumbs handles the commonest write, a Save of a loaded row, without
// reading the row first: it takes the thumbnail keys on the struct as the
// old values and makes the UPDATE conditional on the database still
// holding them (as optimistic locking does). When the UPDATE matches, they
// were the old values; when it matches no row (a stale struct, or one not
// loaded from the database), GORM's Save falls back to an upsert, which the
// create chain handles by reading and locking the row first. So a stale
// struct can never bring back a thumbnail that another transaction has
// superseded and deleted. Whether the thumbnails are up to date is decided
// in afterSave (upToDate), which looks up the sources only once the UPDATE
// has matched.
func (p *Plugin) pinThumbs(db *gorm.DB, st *stmtState, r row) {
	ctx := db.Statement.Context
	pin := &pinnedKeys{cols: st.spec.thumbCols, keys: make([]string, 0, len(st.spec.thumbCols))}
	for _, g := range st.written { // all groups, in order: a plain Save writes every column
		for _, t := range g.thumbs {
			pin.keys = append(pin.keys, keyOf(ctx, t.field, r.value))
		}
	}
	db.Statement.AddClause(clause.Where{Exprs: []clause.Expression{pin}})
	// A matching row already holds these keys: leave them out of the SET.
	// (GORM's fallback upsert runs on another statement, without either.)
	db.Statement.Omits = append(db.Statement.Omits, pin.cols...)
	st.pinned = pin
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

// upToDate finishes a pinned Save: it reports whether every thumbnail
// already carries the digest of its source (one attributes look-up per
// source unless sources are immutable), so nothing needs doing. If not, it
// keeps the sources' versions for runJob.
func (p *Plugin) upToDate(db *gorm.DB, st *stmtState, r row) (bool, error) {
	ctx, table := db.Statement.Context, db.Statement.Table
	var stack [4]string
	versions := stack[:0] // per group of st.written
	fresh := true
	i := 0 // index into st.pinned.keys
	for _, g := range st.written {
		src, version := keyOf(ctx, g.source, r.value), ""
		if src != "" {
			err := checkKey(src)
			if err == nil {
				version, err = p.sourceVersionOf(ctx, src)
			}
			if err != nil {
				return false, &Error{Model: st.spec.name, Field: g.thumbs[0].field.Name, Key: src, Err: err}
			}
		}
		versions = append(versions, version)
		for _, t := range g.thumbs {
			fresh = fresh && thumbUpToDate(st.pinned.keys[i], table, r.pk, t, src, version)
			i++
		}
	}
	if !fresh {
		st.versions = make(map[*sourceGroup]string, len(st.written))
		for k, g := range st.written {
			st.versions[g] = versions[k]
		}
	}
	return fresh, nil
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
