package gormthumb

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"gorm.io/gorm"
)

const (
	internalKey = "gormthumb:internal" // set on the plugin's own statements
	stateKey    = "gormthumb:state"    // per-statement *stmtState
)

// Initialize implements gorm.Plugin: it registers the plugin's callbacks
// and, with WithQueue, migrates its two tables (queue.go); nothing else.
// The plugin never replaces db.ConnPool or db.Dialector:
// it learns how each statement ended from GORM's own transaction callbacks
// (see transaction.go).
//
// In each chain (create, update, delete):
//
//	gormthumb:prepare_*  before everything, outside any transaction: parse
//	                     the tags and make the thumbnails the statement needs
//	gormthumb:begin_*    after gorm:begin_transaction: a savepoint in the
//	                     caller's transaction, or our own transaction
//	gormthumb:before_*   just before the row is written
//	gormthumb:after_*    just after: store thumbnail keys, note what is superseded
//	gormthumb:finish_*   before gorm:commit_or_rollback_transaction
//	gormthumb:settle_*   at the very end: delete what the outcome allows
func (p *Plugin) Initialize(db *gorm.DB) error {
	if db.ConnPool == nil {
		return errors.New("gormthumb: db has no connection pool")
	}
	if err := p.migrateQueue(db); err != nil {
		return err
	}
	cr, up, del := db.Callback().Create(), db.Callback().Update(), db.Callback().Delete()
	for _, err := range []error{
		cr.Before("*").Register("gormthumb:prepare_create", guarded(p.prepareCreate)),
		cr.After("gorm:begin_transaction").Before("gorm:before_create").Register("gormthumb:begin_create", guarded(p.begin)),
		cr.After("gorm:before_create").Before("gorm:create").Register("gormthumb:before_create", guarded(p.beforeCreate)),
		cr.After("gorm:save_after_associations").Before("gorm:after_create").Register("gormthumb:after_create", guarded(p.afterCreate)),
		cr.After("gorm:after_create").Before("gorm:commit_or_rollback_transaction").Register("gormthumb:finish_create", guarded(p.finish)),
		cr.After("gorm:commit_or_rollback_transaction").Register("gormthumb:settle_create", guarded(p.settle)),

		up.Before("*").Register("gormthumb:prepare_update", guarded(p.prepareUpdate)),
		up.After("gorm:begin_transaction").Before("gorm:setup_reflect_value").Register("gormthumb:begin_update", guarded(p.begin)),
		up.After("gorm:setup_reflect_value").Before("gorm:update").Register("gormthumb:before_update", guarded(p.beforeUpdate)),
		up.After("gorm:save_after_associations").Before("gorm:after_update").Register("gormthumb:after_update", guarded(p.afterUpdate)),
		up.After("gorm:after_update").Before("gorm:commit_or_rollback_transaction").Register("gormthumb:finish_update", guarded(p.finish)),
		up.After("gorm:commit_or_rollback_transaction").Register("gormthumb:settle_update", guarded(p.settle)),

		del.Before("*").Register("gormthumb:prepare_delete", guarded(p.prepareDelete)),
		del.After("gorm:begin_transaction").Before("gorm:before_delete").Register("gormthumb:begin_delete", guarded(p.begin)),
		del.After("gorm:before_delete").Before("gorm:delete").Register("gormthumb:before_delete", guarded(p.beforeDelete)),
		del.After("gorm:delete").Before("gorm:after_delete").Register("gormthumb:after_delete", guarded(p.afterDelete)),
		del.After("gorm:after_delete").Before("gorm:commit_or_rollback_transaction").Register("gormthumb:finish_delete", guarded(p.finish)),
		del.After("gorm:commit_or_rollback_transaction").Register("gormthumb:settle_delete", guarded(p.settle)),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// guarded runs a callback so that a panic in it fails the statement
// instead of unwinding through GORM, which does not recover: a panic would
// leave GORM's transaction open (and, on SQLite, the database locked).
// The transaction is then rolled back like any failed statement's.
func guarded(fn func(*gorm.DB)) func(*gorm.DB) {
	return func(db *gorm.DB) {
		defer func() {
			if r := recover(); r != nil {
				db.AddError(fmt.Errorf("gormthumb: internal error (please report it): %v\n%s", r, debug.Stack()))
			}
		}()
		fn(db)
	}
}

// stmtKind is what a statement does, as the plugin sees it; prepare
// decides it once.
type stmtKind uint8

const (
	kindCreate     stmtKind = iota + 1 // INSERT of structs
	kindCreateMaps                     // INSERT of maps
	kindUpsert                         // INSERT ... ON CONFLICT (also Save of a slice)
	kindUpdate                         // UPDATE: Updates, Update, UpdateColumn(s), Save with Select or Omit
	kindPlainSave                      // Save of one struct with no Select or Omit: pinned
	kindDelete
)

// stmtState is what the plugin's callbacks share within one statement.
type stmtState struct {
	spec      *modelSpec
	kind      stmtKind
	callerTx  bool           // the statement runs in the caller's transaction
	pool      gorm.ConnPool  // set when we began the transaction (SkipDefaultTransaction): the pool to restore
	savepoint string         // our savepoint inside a caller's transaction
	written   []*sourceGroup // groups whose source column this statement writes
	rows      []row          // the rows the statement writes (update: from prepare)
	// recs holds one record per row and source group of the model, row
	// by row: rows[i] and spec.groups[j] at i*len(spec.groups)+j. Those of
	// the written groups are used.
	recs   []rowGroup
	old    *oldRows    // an upsert's rows before it, read under their locks
	fresh  bool        // a plain Save whose struct prepare found up to date
	pinned *pinnedKeys // a plain Save's plugin columns, pinned by its WHERE
	omits  int         // how many of Statement.Omits beforeUpdate added
	doomed *doomedKeys // a delete's rows' keys, read before it
	commit bool        // finish saw no error: the commit was attempted

	mu         sync.Mutex
	created    []string        // blobs written for this statement
	stored     map[string]bool // which of them a row of the statement now references
	superseded []string        // keys the statement's rows no longer reference
	outbox     []outboxRow     // background work recorded in the transaction
}

// rec is the record of row i and group g.
func (st *stmtState) rec(i int, g *sourceGroup) *rowGroup {
	return &st.recs[i*len(st.spec.groups)+g.index]
}

// newRecs makes a record per row and group; those of the written groups
// get their source as srcOf says.
func (st *stmtState) newRecs(srcOf func(i int, g *sourceGroup) string) {
	st.recs = make([]rowGroup, len(st.rows)*len(st.spec.groups))
	for i := range st.rows {
		for _, g := range st.spec.groups {
			rg := st.rec(i, g)
			rg.row, rg.g = i, g
		}
		for _, g := range st.written {
			st.rec(i, g).src = srcOf(i, g)
		}
	}
}

// writtenRecs returns the records of the written groups.
func (st *stmtState) writtenRecs() []*rowGroup {
	out := make([]*rowGroup, 0, len(st.rows)*len(st.written))
	for i := range st.rows {
		for _, g := range st.written {
			out = append(out, st.rec(i, g))
		}
	}
	return out
}

// stateOf returns the statement's state, nil when the plugin has nothing
// to do: prepare sets it at the beginning of every chain, and never for the
// plugin's own statements or models without thumb fields.
func stateOf(db *gorm.DB) *stmtState {
	// Kept in the statement's own settings (not InstanceSet, which formats
	// a key on every call): start sets or clears it, so a reused
	// *gorm.Statement never sees an old state.
	if v, ok := db.Statement.Settings.Load(stateKey); ok {
		return v.(*stmtState)
	}
	return nil
}

func isInternal(db *gorm.DB) bool {
	_, ok := db.Get(internalKey)
	return ok
}

// inner returns a fresh session on the statement's connection (inside its
// transaction) whose statements the plugin's callbacks ignore.
func inner(db *gorm.DB) *gorm.DB {
	return db.Session(&gorm.Session{NewDB: true, SkipHooks: true, Context: db.Statement.Context}).Set(internalKey, true)
}

// start runs first in every chain, before GORM's own transaction begins:
// it finds the model's thumb fields (reporting a bad tag) and notes whether
// the statement runs in the caller's transaction. It returns the new
// state, nil when the plugin has nothing to do.
func (p *Plugin) start(db *gorm.DB) *stmtState {
	ms, err := p.statementSpec(db)
	if ms == nil {
		db.Statement.Settings.Delete(stateKey)
		if err != nil {
			db.AddError(err)
		}
		return nil
	}
	_, inTx := db.Statement.ConnPool.(gorm.TxCommitter)
	st := &stmtState{spec: ms, callerTx: inTx}
	db.Statement.Settings.Store(stateKey, st)
	return st
}

// statementSpec is the spec of the statement's model when the plugin has
// work to do for it: nil for its own statements, models without thumb
// fields and failed statements; nil and an error for a bad tag, or async
// thumbnails without a queue.
func (p *Plugin) statementSpec(db *gorm.DB) (*modelSpec, error) {
	if db.Error != nil || db.Statement.Schema == nil || isInternal(db) {
		return nil, nil
	}
	ms, err := p.modelSpecOf(db.Statement.Schema)
	if err != nil || ms == nil || len(ms.thumbs) == 0 {
		return nil, err
	}
	if p.queue == nil {
		for _, t := range ms.thumbs {
			if t.async {
				return nil, &Error{Model: ms.name, Field: t.field.Name, Err: wrapf(ErrInvalidTag, "async thumbnails need a queue: the plugin has none (gormthumb.WithQueue)")}
			}
		}
	}
	return ms, nil
}
