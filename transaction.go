package gormthumb

import (
	"context"
	"errors"
	"strconv"

	"gorm.io/gorm"
)

// Blob writes cannot join a database transaction, so each statement keeps
// a ledger: the blobs written for it (created), which of those a row now
// references (stored), and the keys its rows no longer reference
// (superseded). settle, the last callback of every chain, reads the
// statement's outcome from GORM itself and deletes only what that outcome
// makes safe to delete:
//
//	committed              superseded keys, and created blobs no row took
//	rolled back            every created blob
//	unknown                created blobs no row took; the rest is Sweep's
//
// The outcome is unknown when a commit reports an error (the server may
// have committed before the connection dropped) and when the statement
// runs in the caller's transaction, which commits or rolls back later,
// out of the plugin's sight. An orphan can be swept; a row pointing at a
// deleted blob cannot be repaired, so when in doubt nothing is deleted.

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
		st.pool = db.Statement.ConnPool
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
// transaction is left as it was before the statement. It notes whether a
// commit is attempted (by us or, next, by GORM).
func (p *Plugin) finish(db *gorm.DB) {
	st := stateOf(db)
	if st == nil {
		return
	}
	st.commit = db.Error == nil
	switch {
	case st.pool != nil:
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
}

// outcome is how a statement ended, as far as the plugin can know.
type outcome int

const (
	rolledBack outcome = iota
	committed
	unknown
)

// outcomeOf reads the statement's outcome once its chain has run.
func outcomeOf(db *gorm.DB, st *stmtState) outcome {
	if !st.commit {
		// Failed before the commit: GORM rolled back its transaction, we
		// rolled back ours or our savepoint (or nothing was written).
		return rolledBack
	}
	_, gormTx := db.InstanceGet("gorm:started_transaction")
	switch {
	case st.callerTx:
		return unknown // the caller commits or rolls back later
	case db.Error != nil:
		return unknown // the commit failed: it may still have reached the server
	case gormTx || st.pool != nil:
		return committed
	}
	return unknown
}

// settle runs last in every chain and deletes what the statement's outcome
// makes safe to delete (see the table above).
func (p *Plugin) settle(db *gorm.DB) {
	st := stateOf(db)
	if st != nil {
		st.unmark(db.Statement)
	}
	if st == nil || (len(st.created) == 0 && len(st.superseded) == 0 && st.doomed == nil && len(st.outbox) == 0) {
		return // nothing to delete, whatever the outcome (an unchanged Save)
	}
	out := outcomeOf(db, st)
	st.mu.Lock()
	var doomed []string
	for _, k := range st.created {
		if out == rolledBack || !st.stored[k] {
			doomed = append(doomed, k)
		}
	}
	if out == committed {
		doomed = append(doomed, st.superseded...)
	}
	st.created, st.superseded = nil, nil
	st.mu.Unlock()
	p.deleteKeys(db.Statement.Context, doomed)
	if out != rolledBack && len(st.outbox) > 0 {
		// Unknown outcomes publish too: a worker that reads the row before
		// the caller's commit finds nothing to do, and the outbox row,
		// committed, is published again by the relay.
		p.publish(st.outbox)
	}
	if out == committed && st.doomed != nil && len(st.doomed.originals) > 0 {
		p.deleteOriginalKeys(db, st.spec, st.doomed.originals)
	}
}

// deleteKeys deletes keys within the plugin's delete timeout, ignoring the
// caller's cancellation: the statement is over, and what is not deleted in
// time is left for Sweep.
func (p *Plugin) deleteKeys(ctx context.Context, keys []string) {
	if len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.deleteTimeout)
	defer cancel()
	for _, key := range keys {
		for _, k := range memberKeys(key) { // every width of a set
			if deleteBlob(ctx, p.bucket, k) != nil && ctx.Err() != nil {
				return
			}
		}
	}
}

// noteCreated records a blob written for the statement.
func (st *stmtState) noteCreated(key string) {
	st.mu.Lock()
	st.created = append(st.created, key)
	st.mu.Unlock()
}

// noteStored records that a row now references key (one the statement
// created), and that old, if any, is superseded.
func (st *stmtState) noteStored(key, old string) {
	if key == old {
		return // nothing changed
	}
	st.mu.Lock()
	if key != "" {
		if st.stored == nil {
			st.stored = map[string]bool{}
		}
		for _, k := range memberKeys(key) { // created lists a set's members
			st.stored[k] = true
		}
	}
	if old != "" && old != key {
		st.superseded = append(st.superseded, old)
	}
	st.mu.Unlock()
}
