package gormthumb

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/gormthumb/gormthumb/thumb"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// Refreshing one row outside a statement (Regenerate): read the row, make
// what is out of date with no lock held, then store the new keys with a
// compare-and-set in a short transaction, so a backfill never blocks the
// application's writes and never overwrites them.

// errLostRace: the row changed between the read and the compare-and-set.
var errLostRace = errors.New("gormthumb: row changed while its thumbnails were made")

// refreshMode says how refreshRow works.
type refreshMode struct {
	dryRun   bool // decide and check headers only
	force    bool // remake every thumbnail that has a source, up to date or not
	failures bool // dry run: the gormthumb_failures table exists; report what it records
}

// refreshAttempts bounds how often refreshRow starts again after losing a
// race with another writer.
const refreshAttempts = 3

// refreshResult is what refreshRow did to one row.
type refreshResult struct {
	changed bool // a thumbnail or placeholder was made or cleared (or, on a dry run, would be)
	// failed holds, per source group that can never be made (its source
	// missing, not an image, too large...), an *Error naming the field and
	// the source. The row's other groups were still brought up to date.
	failed []*Error
}

// refreshRow brings the thumbnails of the row whose primary key (the
// single field pk) is key up to date, each source group on its own. A row
// that no longer exists is not an error; a group whose source can never
// be made is reported in the result's failed; other errors (the database,
// the bucket) are returned.
func (p *Plugin) refreshRow(ctx context.Context, db *gorm.DB, s *schema.Schema, ms *modelSpec, pk *schema.Field, key any, mode refreshMode) (refreshResult, error) {
	for range refreshAttempts {
		res, err := p.refreshOnce(ctx, db, s, ms, pk, key, mode)
		if !errors.Is(err, errLostRace) {
			return res, err
		}
	}
	return refreshResult{}, fmt.Errorf("gormthumb: %s: the row kept changing while its thumbnails were made (%d attempts)", ms.name, refreshAttempts)
}

// readRow reads the primary key and image columns of the row whose
// primary key is key, as column -> key; nil when there is none.
func readRow(ctx context.Context, db *gorm.DB, s *schema.Schema, ms *modelSpec, pk *schema.Field, key any) (map[string]string, error) {
	cols := append([]string{pk.DBName}, ms.imageColumns()...)
	q := db.WithContext(ctx).Session(&gorm.Session{NewDB: true}).Set(internalKey, true).
		Model(reflect.New(s.ModelType).Interface()).Unscoped(). // soft-deleted rows may come back: keep them right too
		Clauses(selectClause(cols)).Where(clause.Eq{Column: clause.Column{Name: pk.DBName}, Value: key})
	found, err := scanMaps(q, cols)
	if err != nil || len(found) == 0 {
		return nil, err
	}
	row := map[string]string{}
	for _, c := range cols[1:] {
		row[c] = keyFromDB(found[0][c])
	}
	return row, nil
}

func (p *Plugin) refreshOnce(ctx context.Context, db *gorm.DB, s *schema.Schema, ms *modelSpec, pk *schema.Field, key any, mode refreshMode) (refreshResult, error) {
	var res refreshResult
	cur, err := readRow(ctx, db, s, ms, pk, key)
	if err != nil {
		return res, fmt.Errorf("gormthumb: %s: reading the row: %w", ms.name, err)
	}
	if cur == nil {
		return res, nil // deleted since: nothing to do
	}
	pkStr := pkString(key)
	pm := planMode{force: mode.force, background: true}
	var created []string
	noteCreated := func(k string) { created = append(created, k) }
	var todo []*rowGroup // groups whose values change
	for _, g := range ms.groups {
		rg := &rowGroup{g: g, src: cur[g.source.DBName], cur: g.keysFrom(cur)}
		if mode.dryRun {
			if err := p.dryRunGroup(ctx, db, ms, s.Table, pkStr, rg, mode); err != nil {
				var pe *Error
				if !errors.As(err, &pe) || !permanent(err) {
					return res, err
				}
				res.failed = append(res.failed, pe)
			} else if !rg.plan.next.equal(rg.cur) || !rg.plan.ready() {
				res.changed = true
			}
			continue
		}
		if err := p.resolve(ctx, ms, s.Table, pkStr, rg, pm, noteCreated); err != nil {
			var pe *Error
			if !errors.As(err, &pe) || !permanent(err) {
				p.deleteKeys(ctx, created)
				return res, err
			}
			res.failed = append(res.failed, pe)
			continue
		}
		if !rg.plan.next.equal(rg.cur) {
			todo = append(todo, rg)
		}
	}
	if mode.dryRun || len(todo) == 0 {
		p.deleteKeys(ctx, created)
		return res, nil
	}

	// Compare-and-set: the row must still hold the sources and the values
	// read above, for the groups that change.
	conds := []clause.Expression{clause.Eq{Column: clause.Column{Name: pk.DBName}, Value: key}}
	set := map[string]any{}
	var superseded []string
	stored := map[string]bool{}
	for _, rg := range todo {
		conds = append(conds, keyIs(rg.g.source.DBName, rg.src))
		next := rg.plan.next
		for i, t := range rg.g.thumbs {
			col := t.field.DBName
			conds = append(conds, keyIs(col, rg.cur.thumbs[i]))
			if next.thumbs[i] != rg.cur.thumbs[i] {
				set[col] = ImageField{Key: next.thumbs[i]}
			}
			for _, k := range memberKeys(next.thumbs[i]) {
				stored[k] = true
			}
		}
		superseded = append(superseded, rg.plan.superseded...)
		if h := rg.g.placeholder; h != nil && next.holder != rg.cur.holder {
			set[h.DBName] = next.holder
		}
	}
	var unused []string
	for _, k := range created {
		if !stored[k] {
			unused = append(unused, k)
		}
	}
	reachedCommit := false
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := inner(tx).Table(s.Table).Where(clause.And(conds...)).UpdateColumns(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errLostRace
		}
		reachedCommit = true
		return nil
	})
	p.deleteKeys(ctx, unused)
	switch {
	case err == nil:
		p.deleteKeys(ctx, superseded)
		res.changed = true
		return res, nil
	case reachedCommit:
		// The commit failed: it may have reached the server. Delete
		// nothing; what is left is Sweep's.
		return res, fmt.Errorf("gormthumb: %s: committing thumbnail keys: %w", ms.name, err)
	default:
		p.deleteKeys(ctx, created)
		if errors.Is(err, errLostRace) {
			return res, err
		}
		return res, fmt.Errorf("gormthumb: %s: storing thumbnail keys: %w", ms.name, err)
	}
}

// dryRunGroup plans rg without making anything. When something would be
// made, it checks the source's header as a save would (so a source that is
// not an image is reported without decoding pixels) and, with
// mode.failures, what background work recorded for it.
func (p *Plugin) dryRunGroup(ctx context.Context, db *gorm.DB, ms *modelSpec, table, pkStr string, rg *rowGroup, mode refreshMode) error {
	if rg.src != "" {
		v, err := p.sourceVersionOf(ctx, rg.src)
		if err != nil {
			return &Error{Model: ms.name, Field: rg.g.firstField(), Key: rg.src, Err: err}
		}
		rg.version, rg.versioned = v, true
	}
	rg.plan = planGroup(rg.input(table, pkStr, planMode{force: mode.force, background: true}))
	if rg.plan.ready() || rg.src == "" {
		return nil
	}
	if err := p.checkSource(ctx, rg.src); err != nil {
		return &Error{Model: ms.name, Field: rg.g.firstField(), Key: rg.src, Err: err}
	}
	// A source whose header passes may still have failed in background
	// work (bad pixels, a processor error): that was recorded, and is
	// reported here rather than as "would make".
	if mode.failures {
		return recordedFailure(ctx, db, ms.name, table, pkStr, rg.src)
	}
	return nil
}

// keyIs is the condition that column col holds key ("" matches NULL and
// the empty string).
func keyIs(col, key string) clause.Expression {
	c := clause.Column{Name: col}
	if key == "" {
		return clause.Or(clause.Eq{Column: c, Value: nil}, clause.Eq{Column: c, Value: ""})
	}
	return clause.Eq{Column: c, Value: key}
}

// checkSource reads the source's header and checks it against the limits,
// without decoding pixels.
func (p *Plugin) checkSource(ctx context.Context, src string) error {
	if err := checkKey(src); err != nil {
		return err
	}
	rd, err := p.bucket.NewReader(ctx, src, nil)
	if err != nil {
		return storageErr("read", err)
	}
	defer rd.Close()
	if _, _, err := thumb.Check(rd, p.limits); err != nil {
		if !isTyped(err) {
			err = storageErr("read", err)
		}
		return err
	}
	return nil
}

// clearGroup empties, with a compare-and-set, the thumbnails and the
// placeholder of the group whose field is named field, in a row whose
// source src can never be made, and deletes the thumbnails after commit:
// a background thumbnail (and BlurHash) of an earlier source must not
// stand for the new one forever.
func (p *Plugin) clearGroup(ctx context.Context, db *gorm.DB, s *schema.Schema, ms *modelSpec, pk *schema.Field, key any, field, src string) error {
	g := ms.groupOf(field)
	if g == nil || src == "" {
		return nil
	}
	cur, err := readRow(ctx, db, s, ms, pk, key)
	if err != nil || cur == nil || cur[g.source.DBName] != src {
		return err // gone, or its source changed since: nothing to clear
	}
	conds := []clause.Expression{clause.Eq{Column: clause.Column{Name: pk.DBName}, Value: key}, keyIs(g.source.DBName, src)}
	set := map[string]any{}
	var old []string
	for _, t := range g.thumbs {
		k := cur[t.field.DBName]
		conds = append(conds, keyIs(t.field.DBName, k))
		if k != "" {
			set[t.field.DBName] = ImageField{}
			old = append(old, k)
		}
	}
	if h := g.placeholder; h != nil && cur[h.DBName] != "" {
		set[h.DBName] = ""
	}
	if len(set) == 0 {
		return nil
	}
	res := inner(db.WithContext(ctx)).Table(s.Table).Where(clause.And(conds...)).UpdateColumns(set)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected > 0 {
		p.deleteKeys(ctx, old)
	}
	return nil
}

// groupOf returns the group of which field is a thumbnail, placeholder or
// source, or nil.
func (ms *modelSpec) groupOf(field string) *sourceGroup {
	for _, g := range ms.groups {
		if g.source.Name == field || (g.placeholder != nil && g.placeholder.Name == field) {
			return g
		}
		for _, t := range g.thumbs {
			if t.field.Name == field {
				return g
			}
		}
	}
	return nil
}
