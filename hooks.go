package gormthumb

import (
	"errors"
	"sync"

	"gorm.io/gorm"
)

const (
	internalKey = "gormthumb:internal" // set on the plugin's own statements
	stateKey    = "gormthumb:state"    // per-statement *stmtState
)

// Initialize implements gorm.Plugin: it wraps the connection pool so the
// plugin sees every commit and rollback, and registers its callbacks.
func (p *Plugin) Initialize(db *gorm.DB) error {
	if db.ConnPool == nil {
		return errors.New("gormthumb: db has no connection pool")
	}
	if _, wrapped := db.ConnPool.(*trackingPool); !wrapped {
		db.ConnPool = &trackingPool{ConnPool: db.ConnPool}
	}
	db.Statement.ConnPool = db.ConnPool
	if _, wrapped := db.Dialector.(validatingDialector); !wrapped && validatedDialects[db.Dialector.Name()] {
		db.Dialector = validatingDialector{Dialector: db.Dialector, plugin: p}
	}

	cr, up, del := db.Callback().Create(), db.Callback().Update(), db.Callback().Delete()
	steps := []struct {
		err error
	}{
		{cr.Before("*").Register("gormthumb:start_create", p.start)},
		{cr.After("gorm:begin_transaction").Before("gorm:before_create").Register("gormthumb:begin_create", p.begin)},
		{cr.After("gorm:before_create").Before("gorm:create").Register("gormthumb:before_create", p.beforeCreate)},
		{cr.After("gorm:save_after_associations").Before("gorm:after_create").Register("gormthumb:after_create", p.afterSave)},
		{cr.After("gorm:after_create").Before("gorm:commit_or_rollback_transaction").Register("gormthumb:finish_create", p.finish)},

		{up.Before("*").Register("gormthumb:start_update", p.start)},
		{up.After("gorm:begin_transaction").Before("gorm:setup_reflect_value").Register("gormthumb:begin_update", p.begin)},
		{up.After("gorm:setup_reflect_value").Before("gorm:update").Register("gormthumb:before_update", p.beforeUpdate)},
		{up.After("gorm:save_after_associations").Before("gorm:after_update").Register("gormthumb:after_update", p.afterSave)},
		{up.After("gorm:after_update").Before("gorm:commit_or_rollback_transaction").Register("gormthumb:finish_update", p.finish)},

		{del.Before("*").Register("gormthumb:start_delete", p.start)},
		{del.After("gorm:begin_transaction").Before("gorm:before_delete").Register("gormthumb:begin_delete", p.begin)},
		{del.After("gorm:before_delete").Before("gorm:delete").Register("gormthumb:before_delete", p.beforeDelete)},
		{del.After("gorm:after_delete").Before("gorm:commit_or_rollback_transaction").Register("gormthumb:finish_delete", p.finish)},
	}
	for _, s := range steps {
		if s.err != nil {
			return s.err
		}
	}
	return nil
}

// stmtState is what the plugin's callbacks share within one statement.
type stmtState struct {
	spec      *modelSpec
	callerTx  bool                    // the statement runs in the caller's transaction
	ownTx     bool                    // we began the transaction (SkipDefaultTransaction)
	pool      gorm.ConnPool           // the pool to restore after ownTx
	savepoint string                  // our savepoint inside a caller's transaction
	update    bool                    // the update chain
	written   []*sourceGroup          // groups whose source column this statement writes
	rows      []row                   // the update chain's rows, from beforeUpdate
	old       *oldRows                // image columns in the database before the statement
	pinned    *pinnedKeys             // a plain Save's old thumbnail keys, pinned by its WHERE
	versions  map[*sourceGroup]string // source versions, for the one row of a pinned Save
	mu        sync.Mutex
	untracked []func() // rollback actions when the tx is not ours to track
}

// stateOf returns the statement's state, nil when the plugin has nothing
// to do: start sets it at the beginning of every chain, and never for the
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
// the statement runs in the caller's transaction.
func (p *Plugin) start(db *gorm.DB) {
	if db.Error != nil || db.Statement.Schema == nil || isInternal(db) {
		db.Statement.Settings.Delete(stateKey)
		return
	}
	ms, err := p.modelSpecOf(db.Statement.Schema)
	if err != nil {
		db.Statement.Settings.Delete(stateKey)
		db.AddError(err)
		return
	}
	if ms == nil || len(ms.thumbs) == 0 {
		db.Statement.Settings.Delete(stateKey)
		return
	}
	_, inTx := db.Statement.ConnPool.(gorm.TxCommitter)
	db.Statement.Settings.Store(stateKey, &stmtState{spec: ms, callerTx: inTx})
}
