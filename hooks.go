package gormthumb

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gocloud.dev/blob"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// Plugin is the gorm.Plugin that makes thumbnails. Create it with New and
// register it with db.Use(plugin).
type Plugin struct {
	bucket           *blob.Bucket
	processor        Processor
	limits           Limits
	concurrency      int
	deleteOriginals  bool
	immutableSources bool
	now              func() time.Time
	schemas          sync.Map // schema cache for Upload
}

// Option configures a Plugin.
type Option func(*Plugin)

// WithProcessor replaces the pure-Go image processor.
func WithProcessor(p Processor) Option { return func(pl *Plugin) { pl.processor = p } }

// WithLimits sets the source size limits (zero fields keep DefaultLimits).
func WithLimits(l Limits) Option { return func(pl *Plugin) { pl.limits = l.WithDefaults() } }

// WithConcurrency bounds how many sources one statement decodes at once
// (a Create of many rows). The default is runtime.GOMAXPROCS(0).
func WithConcurrency(n int) Option {
	return func(pl *Plugin) {
		if n > 0 {
			pl.concurrency = n
		}
	}
}

// WithDeleteOriginals makes a hard delete of a row also delete its original
// images (the source fields), not only the thumbnails the plugin made.
// Originals belong to the application, so this is off by default.
func WithDeleteOriginals(on bool) Option { return func(pl *Plugin) { pl.deleteOriginals = on } }

// WithImmutableSources tells the plugin that the bytes under a source key
// never change (true of keys written by Plugin.Upload, which never
// overwrites). A save then compares keys only: an unchanged source costs no
// bucket call at all, but new bytes written in place under an existing key
// are not noticed. Off by default: each save of a row whose source column
// is written looks up the source's attributes (MD5 or ETag).
func WithImmutableSources(on bool) Option { return func(pl *Plugin) { pl.immutableSources = on } }

// New returns a plugin that stores thumbnails in bucket.
func New(bucket *blob.Bucket, opts ...Option) *Plugin {
	p := &Plugin{
		bucket:      bucket,
		processor:   GoProcessor{},
		limits:      DefaultLimits,
		concurrency: runtime.GOMAXPROCS(0),
		now:         time.Now,
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Bucket returns the plugin's bucket.
func (p *Plugin) Bucket() *blob.Bucket { return p.bucket }

// Name implements gorm.Plugin.
func (p *Plugin) Name() string { return "gormthumb" }

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
		db.Dialector = validatingDialector{Dialector: db.Dialector}
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
	callerTx  bool                      // the statement runs in the caller's transaction
	ownTx     bool                      // we began the transaction (SkipDefaultTransaction)
	pool      gorm.ConnPool             // the pool to restore after ownTx
	savepoint string                    // our savepoint inside a caller's transaction
	update    bool                      // the update chain
	written   []*sourceGroup            // groups whose source column this statement writes
	rows      []row                     // the update chain's rows, from beforeUpdate
	old       *oldRows                  // image columns in the database before the statement
	pinned    *pinnedKeys               // a plain Save's old thumbnail keys, pinned by its WHERE
	digests   map[*sourceGroup][]string // per group, for the one row of a pinned Save
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
	ms, err := modelSpecOf(db.Statement.Schema)
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
		name := "gormthumb_" + strconv.FormatUint(savepointSeq.Add(1), 10)
		if err := inner(db).SavePoint(name).Error; err != nil {
			db.AddError(err)
			return
		}
		st.savepoint = name
	}
}

// savepointSeq names the plugin's savepoints, unique within the process.
var savepointSeq atomic.Uint64

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

// ---------------------------------------------------------------------------
// Create and update

// beforeCreate decides which sources the INSERT writes (Select/Omit) and,
// for an upsert (ON CONFLICT), reads the rows it may overwrite, whose
// thumbnails would otherwise be lost track of.
func (p *Plugin) beforeCreate(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil {
		return
	}
	st.written = insertedGroups(db.Statement, st.spec)
	c, upsert := db.Statement.Clauses["ON CONFLICT"]
	if !upsert || len(st.written) == 0 {
		return
	}
	oc, _ := c.Expression.(clause.OnConflict)
	var conflictCols []string
	for _, col := range oc.Columns {
		conflictCols = append(conflictCols, col.Name)
	}
	old, err := loadOld(db, st.spec, rowsOf(db), conflictCols, true)
	if err != nil {
		db.AddError(&Error{Model: st.spec.name, Err: fmt.Errorf("%w: reading current thumbnails: %w", ErrStorage, err)})
		return
	}
	st.old = old
}

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
// source), so nothing needs doing. If not, it keeps the digests for runJob.
func (p *Plugin) upToDate(db *gorm.DB, st *stmtState, r row) (bool, error) {
	ctx, table := db.Statement.Context, db.Statement.Table
	type source struct{ key, version string } // key "" for none
	var stack [4]source
	sources := stack[:0] // per group of st.written
	fresh := true
	i := 0 // index into st.pinned.keys
	for _, g := range st.written {
		src := keyOf(ctx, g.source, r.value)
		if src == "" {
			for range g.thumbs {
				fresh = fresh && st.pinned.keys[i] == ""
				i++
			}
			sources = append(sources, source{})
			continue
		}
		fail := func(err error) error {
			return &Error{Model: st.spec.name, Field: g.thumbs[0].field.Name, Key: src, Err: err}
		}
		if err := checkKey(src); err != nil {
			return false, fail(err)
		}
		version, err := p.sourceVersionOf(ctx, src)
		if err != nil {
			return false, fail(err)
		}
		sources = append(sources, source{src, version})
		for _, t := range g.thumbs {
			fresh = fresh && digestMatches(st.pinned.keys[i], table, r.pk, t.field.Name, src, version, t.specKey)
			i++
		}
	}
	if !fresh {
		st.digests = make(map[*sourceGroup][]string, len(st.written))
		for k, g := range st.written {
			if s := sources[k]; s.key != "" {
				st.digests[g] = groupDigests(table, r.pk, g, s.key, s.version)
			}
		}
	}
	return fresh, nil
}

// insertedGroups returns the source groups whose column an INSERT writes:
// all of them unless Select/Omit leave the column out.
func insertedGroups(stmt *gorm.Statement, ms *modelSpec) []*sourceGroup {
	selected, restricted := stmt.SelectAndOmitColumns(true, false)
	var out []*sourceGroup
	for _, g := range ms.groups {
		if sel, explicit := selected[g.source.DBName]; sel || (!explicit && !restricted) {
			out = append(out, g)
		}
	}
	return out
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

// job is the work for one source of one row.
type job struct {
	row    row
	group  *sourceGroup
	src    string
	old    []string // per thumb: key in the database before the statement
	newKey []string // per thumb: key after
	err    error
}

// afterSave makes the thumbnails of every row the statement wrote and
// persists their columns in the same transaction.
func (p *Plugin) afterSave(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil || len(st.written) == 0 {
		return
	}
	var (
		upsert     bool
		onConflict clause.OnConflict
	)
	if c, ok := db.Statement.Clauses["ON CONFLICT"]; ok {
		upsert = true
		onConflict, _ = c.Expression.(clause.OnConflict)
	}
	ctx := db.Statement.Context
	rows := st.rows // an UPDATE does not change the primary keys
	if !st.update {
		rows = rowsOf(db) // an INSERT may have set them
	}
	if st.pinned != nil {
		if db.RowsAffected == 0 {
			return // no row held the pinned keys: GORM's Save falls back to an upsert
		}
		fresh, err := p.upToDate(db, st, rows[0])
		if err != nil {
			db.AddError(err)
			return
		}
		if fresh {
			return
		}
		st.old = st.pinned.old(rows[0].pk)
	}
	var now *oldRows
	if upsert {
		if db.Statement.RowsAffected == 0 && db.Dialector.Name() != "mysql" {
			return // every row conflicted and nothing was written
		}
		// (MySQL counts changed rows, not matched ones: 0 may mean rows
		// rewritten with the same values, whose source bytes may be new.)
		// What the upsert really left in each row: with DO NOTHING or a DO
		// UPDATE of other columns an existing row keeps its source (and
		// MySQL may even report another row's id for it).
		var err error
		if now, err = loadOld(db, st.spec, rows, nil, false); err != nil {
			db.AddError(&Error{Model: st.spec.name, Err: fmt.Errorf("%w: reading rows after upsert: %w", ErrStorage, err)})
			return
		}
	}
	var jobs []*job
	for _, r := range rows {
		if r.pk == "" {
			continue // not inserted (ON CONFLICT DO NOTHING)
		}
		old := st.old.lookup(db, r)
		if st.update && old == nil {
			continue // no such row: the UPDATE changed nothing
		}
		for _, g := range st.written {
			src := keyOf(ctx, g.source, r.value)
			if upsert {
				stored, ok := now.byPK[r.pk]
				if !ok || stored[g.source.DBName] != src || (old != nil && !upsertWrites(onConflict, g.source.DBName)) {
					continue // the row kept its own source
				}
			}
			j := &job{row: r, group: g, src: src}
			for _, t := range g.thumbs {
				j.old = append(j.old, old[t.field.DBName])
			}
			jobs = append(jobs, j)
		}
	}
	p.runJobs(db, jobs)
	for _, j := range jobs {
		if j.err != nil {
			db.AddError(j.err)
			return
		}
	}
	for _, j := range jobs {
		if err := p.apply(db, j); err != nil {
			db.AddError(err)
			return
		}
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

// runJobs processes jobs with bounded concurrency: at most p.concurrency
// sources are decoded at once.
func (p *Plugin) runJobs(db *gorm.DB, jobs []*job) {
	if len(jobs) == 1 || p.concurrency <= 1 {
		for _, j := range jobs {
			p.runJob(db, j)
		}
		return
	}
	sem := make(chan struct{}, p.concurrency)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p.runJob(db, j)
		}()
	}
	wg.Wait()
}

// runJob makes the thumbnails of one row's source that are out of date.
// It touches only the bucket, never the database (which is not safe for
// concurrent use inside one transaction).
func (p *Plugin) runJob(db *gorm.DB, j *job) {
	ctx := db.Statement.Context
	ms := stateOf(db).spec
	thumbs := j.group.thumbs
	j.newKey = make([]string, len(thumbs))
	if j.src == "" {
		return // source cleared: every thumbnail goes too
	}
	fail := func(err error) {
		j.err = &Error{Model: ms.name, Field: thumbs[0].field.Name, Key: j.src, Err: err}
	}
	if err := checkKey(j.src); err != nil {
		fail(err)
		return
	}
	digests, known := stateOf(db).digests[j.group] // from upToDate (one row)
	if !known {
		var err error
		if digests, err = p.sourceDigests(ctx, db.Statement.Table, j.row.pk, j.group, j.src); err != nil {
			fail(err)
			return
		}
	}
	var need []int
	for i := range thumbs {
		if _, _, d, ok := parseThumbName(j.old[i]); ok && d == digests[i] {
			j.newKey[i] = j.old[i] // up to date: no read, no decode, no write
			continue
		}
		need = append(need, i)
	}
	if len(need) == 0 {
		return
	}
	r, err := p.bucket.NewReader(ctx, j.src, nil)
	if err != nil {
		fail(storageErr("read", err))
		return
	}
	defer r.Close()
	specs := make([]Spec, len(need))
	for k, i := range need {
		specs[k] = thumbs[i].spec
	}
	out, err := p.processor.Process(ctx, &limitedReader{r: r, n: p.limits.MaxBytes}, specs, p.limits)
	if err != nil {
		if !isTyped(err) {
			err = storageErr("read", err)
		}
		fail(err)
		return
	}
	for k, i := range need {
		t := thumbs[i]
		prefix := ""
		if t.prefix != "" {
			prefix = expandPrefix(t.prefix, p.now())
		}
		key := thumbKey(j.src, prefix, out[k].Width, out[k].Height, digests[i], out[k].Format)
		if err := writeBlob(ctx, p.bucket, key, out[k].Data, out[k].Format, j.src); err != nil {
			j.err = &Error{Model: ms.name, Field: t.field.Name, Key: key, Err: err}
			return
		}
		// Written inside the transaction: gone again if it rolls back.
		wctx := context.WithoutCancel(ctx)
		p.onOutcome(db, nil, func() { deleteBlob(wctx, p.bucket, key) })
		j.newKey[i] = key
	}
}

// sourceDigests returns, for each thumbnail of group, the digest its key
// must carry to be up to date with the source src of the row pk.
func (p *Plugin) sourceDigests(ctx context.Context, table, pk string, g *sourceGroup, src string) ([]string, error) {
	version, err := p.sourceVersionOf(ctx, src)
	if err != nil {
		return nil, err
	}
	return groupDigests(table, pk, g, src, version), nil
}

// sourceVersionOf looks up the source's attributes (MD5 or ETag, and size
// against the byte limit) unless the plugin was told sources are
// immutable, when the version is "".
func (p *Plugin) sourceVersionOf(ctx context.Context, src string) (string, error) {
	if p.immutableSources {
		return "", nil
	}
	attrs, err := p.bucket.Attributes(ctx, src)
	if err != nil {
		return "", storageErr("attributes", err)
	}
	if attrs.Size > p.limits.MaxBytes {
		return "", wrapf(ErrTooLarge, "%d bytes is more than the limit of %d", attrs.Size, p.limits.MaxBytes)
	}
	return sourceVersion(attrs), nil
}

// groupDigests returns the digest of each thumbnail of g for the source
// src at version, in the row pk.
func groupDigests(table, pk string, g *sourceGroup, src, version string) []string {
	digests := make([]string, len(g.thumbs))
	for i, t := range g.thumbs {
		digests[i] = thumbDigest(table, pk, t.field.Name, src, version, t.specKey)
	}
	return digests
}

// isTyped reports whether err already wraps one of our sentinels.
func isTyped(err error) bool {
	for _, s := range []error{ErrNotImage, ErrUnsupportedFormat, ErrTooLarge, ErrStorage, ErrSourceNotFound, ErrInvalidKey} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// apply sets the new keys on the caller's value, persists the changed
// columns in the statement's transaction and schedules the superseded
// blobs for deletion after commit.
func (p *Plugin) apply(db *gorm.DB, j *job) error {
	ctx := db.Statement.Context
	cols := map[string]any{}
	var superseded []string
	for i, t := range j.group.thumbs {
		newKey, old := j.newKey[i], j.old[i]
		onValue := keyOf(ctx, t.field, j.row.value)
		if onValue != newKey {
			if err := setImage(ctx, t.field, j.row.value, newKey); err != nil {
				return err
			}
		}
		if onValue != newKey || old != newKey {
			cols[t.field.DBName] = ImageField{Key: newKey}
		}
		if old != newKey && old != "" {
			superseded = append(superseded, old)
		}
	}
	if len(cols) > 0 {
		q := inner(db).Table(db.Statement.Table).Where(clause.And(pkConds(db, j.row)...))
		if err := q.UpdateColumns(cols).Error; err != nil {
			return &Error{Model: stateOf(db).spec.name, Field: j.group.thumbs[0].field.Name, Err: fmt.Errorf("%w: saving thumbnail column: %w", ErrStorage, err)}
		}
	}
	p.deleteLater(db, superseded...)
	return nil
}

// setImage sets an ImageField or *ImageField field.
func setImage(ctx context.Context, f *schema.Field, rv reflect.Value, key string) error {
	if f.FieldType.Kind() == reflect.Ptr {
		if key == "" {
			return f.Set(ctx, rv, (*ImageField)(nil))
		}
		return f.Set(ctx, rv, &ImageField{Key: key})
	}
	return f.Set(ctx, rv, ImageField{Key: key})
}

// ---------------------------------------------------------------------------
// Delete

// beforeDelete schedules a hard-deleted row's thumbnails (and, with
// WithDeleteOriginals, its originals) for deletion after commit. It reads
// the rows the DELETE will remove with the same conditions, inside the
// transaction. A soft delete (gorm.DeletedAt) keeps everything until a
// hard delete (Unscoped).
func (p *Plugin) beforeDelete(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil {
		return
	}
	if !db.Statement.Unscoped && isSoftDelete(db.Statement.Schema) {
		return
	}
	var conds []clause.Expression
	if w, ok := db.Statement.Clauses["WHERE"]; ok {
		if where, ok := w.Expression.(clause.Where); ok {
			conds = append(conds, where.Exprs...)
		}
	}
	var pks []clause.Expression
	for _, r := range rowsOf(db) {
		if r.pk == "" {
			continue
		}
		pks = append(pks, clause.And(pkConds(db, r)...))
	}
	if len(pks) > 0 {
		conds = append(conds, clause.Or(pks...))
	}
	if len(conds) == 0 && !db.AllowGlobalUpdate {
		return // GORM refuses a DELETE without conditions
	}
	cols := st.spec.imageColumns()
	// A fresh model value lets conditions name the primary key the way
	// Delete(&T{}, id) does; Unscoped so soft-deleted rows are found too.
	model := reflect.New(db.Statement.Schema.ModelType).Interface()
	q := inner(db).Model(model).Table(db.Statement.Table).Unscoped().Select(cols)
	if len(conds) > 0 {
		q = q.Where(clause.And(conds...))
	}
	var found []map[string]any
	if err := q.Find(&found).Error; err != nil {
		db.AddError(&Error{Model: st.spec.name, Err: fmt.Errorf("%w: reading thumbnails to delete: %w", ErrStorage, err)})
		return
	}
	var thumbs, originals []string
	for _, m := range found {
		for _, g := range st.spec.groups {
			if k := keyFromDB(m[g.source.DBName]); k != "" && p.deleteOriginals {
				originals = append(originals, k)
			}
			for _, t := range g.thumbs {
				if k := keyFromDB(m[t.field.DBName]); k != "" {
					thumbs = append(thumbs, k)
				}
			}
		}
	}
	p.deleteLater(db, thumbs...)
	if len(originals) > 0 {
		p.deleteOriginalsLater(db, st.spec, originals)
	}
}

// deleteOriginalsLater deletes originals after commit, unless a row of the
// same model still references them (rows may share an original).
func (p *Plugin) deleteOriginalsLater(db *gorm.DB, ms *modelSpec, keys []string) {
	ctx := context.WithoutCancel(db.Statement.Context)
	root := db.Session(&gorm.Session{NewDB: true, SkipHooks: true, Context: ctx})
	root.Statement.ConnPool = db.Config.ConnPool // outside the finished transaction
	table := db.Statement.Table
	p.onOutcome(db, func() {
		for _, k := range keys {
			q := root.Session(&gorm.Session{NewDB: true}).Table(table)
			for i, g := range ms.groups {
				if i == 0 {
					q = q.Where(clause.Eq{Column: clause.Column{Name: g.source.DBName}, Value: k})
				} else {
					q = q.Or(clause.Eq{Column: clause.Column{Name: g.source.DBName}, Value: k})
				}
			}
			var n int64
			if err := q.Count(&n).Error; err == nil && n == 0 {
				deleteBlob(ctx, p.bucket, k)
			}
		}
	}, nil)
}

// isSoftDelete reports whether the schema has a gorm.DeletedAt field.
func isSoftDelete(s *schema.Schema) bool {
	for _, f := range s.Fields {
		if f.FieldType == reflect.TypeOf(gorm.DeletedAt{}) {
			return true
		}
	}
	return false
}

// reflectValueOf returns the addressable struct a model pointer points to.
func reflectValueOf(model any) reflect.Value {
	return reflect.Indirect(reflect.ValueOf(model))
}

// uploadTarget finds the ImageField named field on model.
func (p *Plugin) uploadTarget(model any, field string) (*modelSpec, *schema.Field, error) {
	rv := reflect.ValueOf(model)
	if rv.Kind() != reflect.Ptr || rv.Elem().Kind() != reflect.Struct {
		return nil, nil, fmt.Errorf("gormthumb: Upload needs a pointer to a struct, got %T", model)
	}
	s, err := schema.Parse(model, &p.schemas, schema.NamingStrategy{})
	if err != nil {
		return nil, nil, err
	}
	f := s.LookUpField(field)
	if !isImageField(f) {
		return nil, nil, &Error{Model: s.Name, Field: field, Err: wrapf(ErrInvalidTag, "no ImageField named %q", field)}
	}
	ms, err := modelSpecOf(s)
	if err != nil {
		return nil, nil, err
	}
	if ms == nil {
		ms = &modelSpec{name: s.Name, uploads: map[string]string{}}
	}
	return ms, f, nil
}
