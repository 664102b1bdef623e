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

// refreshRow brings the thumbnails of the row whose primary key (the
// single field pk) is key up to date. It reports whether it changed any
// (or, with mode.dryRun, would). A row that no longer exists is not an
// error.
func (p *Plugin) refreshRow(ctx context.Context, db *gorm.DB, s *schema.Schema, ms *modelSpec, pk *schema.Field, key any, mode refreshMode) (bool, error) {
	for range refreshAttempts {
		changed, err := p.refreshOnce(ctx, db, s, ms, pk, key, mode)
		if !errors.Is(err, errLostRace) {
			return changed, err
		}
	}
	return false, &Error{Model: ms.name, Err: fmt.Errorf("%w: the row kept changing while its thumbnails were made (%d attempts)", ErrStorage, refreshAttempts)}
}

func (p *Plugin) refreshOnce(ctx context.Context, db *gorm.DB, s *schema.Schema, ms *modelSpec, pk *schema.Field, key any, mode refreshMode) (bool, error) {
	cols := append([]string{pk.DBName}, ms.imageColumns()...)
	q := db.WithContext(ctx).Session(&gorm.Session{NewDB: true}).Set(internalKey, true).
		Model(reflect.New(s.ModelType).Interface()).Select(cols).
		Where(clause.Eq{Column: clause.Column{Name: pk.DBName}, Value: key})
	found, err := scanMaps(q, cols)
	if err != nil {
		return false, &Error{Model: ms.name, Err: fmt.Errorf("%w: reading the row: %w", ErrStorage, err)}
	}
	if len(found) == 0 {
		return false, nil // deleted since: nothing to do
	}
	cur := found[0]
	pkStr := pkString(key)

	type groupWork struct {
		g       *sourceGroup
		src     string
		version string
		old     []string // per slot
		need    []int
		holder  bool // make the placeholder
		keys    []string
	}
	var work []*groupWork
	for _, g := range ms.groups {
		w := &groupWork{g: g, src: keyFromDB(cur[g.source.DBName])}
		for i := range g.slots() {
			w.old = append(w.old, keyFromDB(cur[g.slotColumn(i)]))
		}
		version, need, err := p.plan(ctx, s.Table, pkStr, g, w.src, w.old)
		if err != nil {
			return false, &Error{Model: ms.name, Field: g.thumbs[0].field.Name, Key: w.src, Err: err}
		}
		if mode.force && w.src != "" {
			need = need[:0]
			for i := range g.thumbs {
				need = append(need, i)
			}
		}
		w.version, w.need = version, need
		w.holder = g.holderWanted(w.src, slot(w.old, len(g.thumbs)), len(need) > 0)
		stale := len(need) > 0 || w.holder
		for _, k := range w.old {
			stale = stale || (w.src == "" && k != "")
		}
		if stale {
			work = append(work, w)
		}
	}
	if len(work) == 0 {
		return false, nil
	}
	if mode.dryRun {
		// It would be remade: check the header as a save would, so a
		// source that is not an image is reported, without decoding pixels.
		for _, w := range work {
			if w.src == "" {
				continue
			}
			if err := p.checkSource(ctx, w.src); err != nil {
				return false, &Error{Model: ms.name, Field: w.g.thumbs[0].field.Name, Key: w.src, Err: err}
			}
			// A source whose header passes may still have failed in
			// background work (bad pixels, a processor error): that was
			// recorded, and is reported here rather than as "would make".
			if !mode.failures {
				continue
			}
			if err := recordedFailure(ctx, db, ms.name, s.Table, pkStr, w.src); err != nil {
				return false, err
			}
		}
		return true, nil
	}

	var created []string
	for _, w := range work {
		keys, hash, err := p.makeThumbs(ctx, ms, s.Table, w.g, w.src, w.version, w.need, w.holder, func(k string) { created = append(created, k) })
		if err != nil {
			p.deleteKeys(ctx, created)
			return false, err
		}
		if w.g.placeholder != nil {
			keys = append(keys, hash)
			if !w.holder {
				keys[len(keys)-1] = w.old[len(keys)-1]
			}
		}
		w.keys = keys
	}

	// Compare-and-set: the row must still hold the sources and thumbnail
	// keys read above.
	conds := []clause.Expression{clause.Eq{Column: clause.Column{Name: pk.DBName}, Value: key}}
	set := map[string]any{}
	var superseded []string
	for _, w := range work {
		conds = append(conds, keyIs(w.g.source.DBName, w.src))
		for i := range w.g.slots() {
			col, holder := w.g.slotColumn(i), i == len(w.g.thumbs)
			if !holder {
				conds = append(conds, keyIs(col, w.old[i]))
			}
			newKey := w.old[i]
			if w.src == "" {
				newKey = ""
			} else if w.keys[i] != "" {
				newKey = w.keys[i]
			}
			if newKey == w.old[i] {
				continue
			}
			if holder {
				set[col] = newKey
				continue
			}
			set[col] = ImageField{Key: newKey}
			if w.old[i] != "" {
				superseded = append(superseded, w.old[i])
			}
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
	switch {
	case err == nil:
		p.deleteKeys(ctx, superseded)
		return true, nil
	case reachedCommit:
		// The commit failed: it may have reached the server. Delete
		// nothing; what is left is Sweep's.
		return false, &Error{Model: ms.name, Err: fmt.Errorf("%w: committing: %w", ErrStorage, err)}
	default:
		p.deleteKeys(ctx, created)
		if errors.Is(err, errLostRace) {
			return false, err
		}
		return false, &Error{Model: ms.name, Err: fmt.Errorf("%w: storing thumbnail keys: %w", ErrStorage, err)}
	}
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

// clearThumbs empties, with a compare-and-set, the thumbnails of group g
// (the one whose field is named field) of a row whose source src can never
// be made, and deletes them after commit: a background thumbnail of an
// earlier source must not stand for the new one forever.
func (p *Plugin) clearThumbs(ctx context.Context, db *gorm.DB, s *schema.Schema, ms *modelSpec, pk *schema.Field, key any, field, src string) error {
	var g *sourceGroup
	for _, cand := range ms.groups {
		for _, t := range cand.thumbs {
			if t.field.Name == field {
				g = cand
			}
		}
	}
	if g == nil || src == "" {
		return nil
	}
	cols := []string{pk.DBName}
	for _, t := range g.thumbs {
		cols = append(cols, t.field.DBName)
	}
	q := db.WithContext(ctx).Session(&gorm.Session{NewDB: true}).Set(internalKey, true).
		Model(reflect.New(s.ModelType).Interface()).Select(cols).
		Where(clause.Eq{Column: clause.Column{Name: pk.DBName}, Value: key}).
		Where(clause.Eq{Column: clause.Column{Name: g.source.DBName}, Value: src})
	found, err := scanMaps(q, cols)
	if err != nil || len(found) == 0 {
		return err
	}
	conds := []clause.Expression{clause.Eq{Column: clause.Column{Name: pk.DBName}, Value: key}, keyIs(g.source.DBName, src)}
	set := map[string]any{}
	var old []string
	for _, t := range g.thumbs {
		k := keyFromDB(found[0][t.field.DBName])
		conds = append(conds, keyIs(t.field.DBName, k))
		if k != "" {
			set[t.field.DBName] = ImageField{}
			old = append(old, k)
		}
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
