package gormthumb

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"

	"gorm.io/gorm"
)

// begin makes sure the statement runs in a transaction the plugin can
// undo: GORM's default one, our own (with SkipDefaultTransaction), or a
// savepoint inside the caller's transaction.
func (p *Plugin) begin(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil {
		return
	}
	if _, inTx := db.Statement.ConnPool.(gorm.TxCommitter); !inTx {
		tx := db.Session(&gorm.Session{NewDB: true, Context: db.Statement.Context}).Begin()
		if tx.Error != nil {
			db.AddError(tx.Error)
			return
		}
		st.ownTx, st.pool = true, db.Statement.ConnPool
		db.Statement.ConnPool = tx.Statement.ConnPool
		return
	}
	if st.callerTx {
		name := "gormthumb_" + strconv.FormatUint(p.savepoints.Add(1), 10)
		if err := inner(db).SavePoint(name).Error; err != nil {
			db.AddError(err)
			return
		}
		st.savepoint = name
	}
}

// finish ends what begin started: commits or rolls back our own
// transaction, or rolls back to our savepoint on error so the caller's
// transaction is left as it was before the statement.
func (p *Plugin) finish(db *gorm.DB) {
	st := stateOf(db)
	if st == nil {
		return
	}
	switch {
	case st.ownTx:
		committer := db.Statement.ConnPool.(gorm.TxCommitter)
		if db.Error != nil {
			committer.Rollback()
		} else {
			db.AddError(committer.Commit())
		}
		db.Statement.ConnPool = st.pool
	case st.savepoint != "" && db.Error != nil:
		err := db.Error
		db.Error = nil
		rbErr := inner(db).RollbackTo(st.savepoint).Error
		db.Error = errors.Join(err, rbErr)
	case st.savepoint != "":
		// Release it, so a long transaction does not pile up savepoints.
		db.AddError(inner(db).Exec("RELEASE SAVEPOINT " + st.savepoint).Error)
	}
	if db.Error != nil {
		st.mu.Lock()
		undo := st.untracked
		st.mu.Unlock()
		for _, f := range undo {
			f()
		}
	}
}

// onOutcome registers actions for when the statement's transaction commits
// or rolls back.
func (p *Plugin) onOutcome(db *gorm.DB, onCommit, onRollback func()) {
	if tx, ok := db.Statement.ConnPool.(*trackedTx); ok {
		tx.defer_(onCommit, onRollback)
		return
	}
	// A transaction begun outside our pool wrapper (should not happen once
	// the plugin is registered): undo on error, and leave superseded
	// thumbnails to Sweep.
	if st := stateOf(db); st != nil && onRollback != nil {
		st.mu.Lock()
		st.untracked = append(st.untracked, onRollback)
		st.mu.Unlock()
	}
}

// deleteLater deletes keys once the transaction commits.
func (p *Plugin) deleteLater(db *gorm.DB, keys ...string) {
	if len(keys) == 0 {
		return
	}
	ctx := context.WithoutCancel(db.Statement.Context)
	p.onOutcome(db, func() {
		for _, k := range keys {
			deleteBlob(ctx, p.bucket, k)
		}
	}, nil)
}

// Blob writes cannot join a database transaction, so the plugin learns the
// real outcome of every transaction by wrapping GORM's connection pool (as
// gorm.io/plugin/dbresolver does): each transaction begun through it is a
// *trackedTx that runs the plugin's after-commit actions (delete superseded
// thumbnails) when it commits and its after-rollback actions (delete
// thumbnails written inside it) when it rolls back, including a rollback to
// a savepoint.

// trackingPool wraps a gorm.ConnPool so every transaction begun through it
// is tracked.
type trackingPool struct {
	gorm.ConnPool
}

// BeginTx implements gorm.ConnPoolBeginner.
func (p *trackingPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	var (
		tx  gorm.ConnPool
		err error
	)
	switch b := p.ConnPool.(type) {
	case gorm.TxBeginner:
		var stx *sql.Tx
		stx, err = b.BeginTx(ctx, opts)
		if stx != nil {
			tx = stx
		}
	case gorm.ConnPoolBeginner:
		tx, err = b.BeginTx(ctx, opts)
	default:
		return nil, gorm.ErrInvalidTransaction
	}
	if err != nil {
		return nil, err
	}
	committer, ok := tx.(gorm.TxCommitter)
	if !ok {
		return nil, gorm.ErrInvalidTransaction
	}
	return &trackedTx{ConnPool: tx, committer: committer}, nil
}

// GetDBConn implements gorm.GetDBConnector, so db.DB() still works.
func (p *trackingPool) GetDBConn() (*sql.DB, error) { return dbConnOf(p.ConnPool) }

// Ping lets gorm's Open ping through the wrapper.
func (p *trackingPool) Ping() error {
	if pinger, ok := p.ConnPool.(interface{ Ping() error }); ok {
		return pinger.Ping()
	}
	return nil
}

func dbConnOf(pool gorm.ConnPool) (*sql.DB, error) {
	switch c := pool.(type) {
	case *sql.DB:
		return c, nil
	case gorm.GetDBConnector:
		return c.GetDBConn()
	}
	return nil, gorm.ErrInvalidDB
}

// txAction is one pair of deferred actions.
// which it was registered.
type txAction struct {
	onCommit, onRollback func()
}

// trackedTx is a transaction begun through a trackingPool.
type trackedTx struct {
	gorm.ConnPool
	committer gorm.TxCommitter

	mu         sync.Mutex
	actions    []txAction
	savepoints []savepoint
}

type savepoint struct {
	name string
	n    int // len(actions) when the savepoint was set
}

// defer registers actions to run when the transaction ends.
func (t *trackedTx) defer_(onCommit, onRollback func()) {
	t.mu.Lock()
	t.actions = append(t.actions, txAction{onCommit, onRollback})
	t.mu.Unlock()
}

// Commit implements gorm.TxCommitter.
func (t *trackedTx) Commit() error {
	err := t.committer.Commit()
	t.finish(err == nil)
	return err
}

// Rollback implements gorm.TxCommitter.
func (t *trackedTx) Rollback() error {
	err := t.committer.Rollback()
	t.finish(false)
	return err
}

func (t *trackedTx) finish(committed bool) {
	t.mu.Lock()
	actions := t.actions
	t.actions, t.savepoints = nil, nil
	t.mu.Unlock()
	for _, a := range actions {
		if committed && a.onCommit != nil {
			a.onCommit()
		}
		if !committed && a.onRollback != nil {
			a.onRollback()
		}
	}
}

// GetDBConn implements gorm.GetDBConnector.
func (t *trackedTx) GetDBConn() (*sql.DB, error) { return dbConnOf(t.ConnPool) }

// ExecContext runs the statement and follows savepoints, so that a
// rollback to a savepoint runs the after-rollback actions registered since
// it (and forgets their after-commit actions).
func (t *trackedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := t.ConnPool.ExecContext(ctx, query, args...)
	if err == nil {
		t.followSavepoint(query)
	}
	return res, err
}

func (t *trackedTx) followSavepoint(query string) {
	q := strings.TrimSpace(query)
	// Cheap test first: this runs for every statement of the transaction.
	if len(q) < 9 || !strings.ContainsAny(q[:1], "SsRr") {
		return
	}
	q = strings.ToUpper(q)
	if !strings.Contains(q, "SAVEPOINT") {
		return
	}
	fields := strings.Fields(q)
	name := strings.Trim(fields[len(fields)-1], "`\"")
	t.mu.Lock()
	switch {
	case strings.HasPrefix(q, "SAVEPOINT "):
		t.savepoints = append(t.savepoints, savepoint{name, len(t.actions)})
		t.mu.Unlock()
	case strings.HasPrefix(q, "ROLLBACK TO "):
		i := t.findSavepoint(name)
		if i < 0 {
			t.mu.Unlock()
			return
		}
		undone := append([]txAction(nil), t.actions[t.savepoints[i].n:]...)
		t.actions = t.actions[:t.savepoints[i].n]
		t.savepoints = t.savepoints[:i+1] // the savepoint itself survives a rollback to it
		t.mu.Unlock()
		for j := len(undone) - 1; j >= 0; j-- {
			if undone[j].onRollback != nil {
				undone[j].onRollback()
			}
		}
	case strings.HasPrefix(q, "RELEASE "):
		if i := t.findSavepoint(name); i >= 0 {
			t.savepoints = t.savepoints[:i]
		}
		t.mu.Unlock()
	default:
		t.mu.Unlock()
	}
}

func (t *trackedTx) findSavepoint(name string) int {
	for i := len(t.savepoints) - 1; i >= 0; i-- {
		if t.savepoints[i].name == name {
			return i
		}
	}
	return -1
}
