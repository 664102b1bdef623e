package gormthumb

// TestModelChecker is a model-based randomized checker of the README's
// promise: a row never points at a blob that is not there; a row's
// thumbnail is always the thumbnail of that row's own current source;
// every blob no row points at is deleted or found by Sweep; no background
// work is lost.
//
// A seeded generator (checker_ops_test.go) draws sequences of operations
// over every GORM write path, the caller's transactions, Upload,
// Regenerate, Sweep and a background worker, on the checker's own models
// (checker_models_test.go). Each sequence runs on a fresh database with
// the plugin and on a fresh TWIN database without it; after every op the
// non-plugin columns of every row, each statement's error kind and
// RowsAffected must match the twin's (except where the README documents
// a difference: a thumbnail that cannot be made fails the statement, and
// the twin's is then not run), and the invariants must hold
// (checker_check_test.go). A failing sequence is shrunk (ddmin, replayed
// on fresh databases) to a short one that is printed with its seed.
//
//	GORMTHUMB_CHECK_OPS     operations per database (default 240; 48 under -race)
//	GORMTHUMB_CHECK_SEED    run this one seed only
//	GORMTHUMB_CHECK_SHRINK  replays the shrinker may spend per violation (default 150)
//	GORMTHUMB_CHECK_REPORT  distinct violations (kind and op) shrunk and reported per database (default 3)
//
// A sequence stops at its first violation; the next seed is drawn until
// the budget is spent or enough distinct violations were seen.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/mempubsub"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// ckViolation is one broken promise.
type ckViolation struct {
	kind string // short, stable: what the shrinker keeps
	msg  string
}

func (v ckViolation) String() string { return v.kind + ": " + v.msg }

// ckSide is one of the two databases of a run, with what the ops bound on
// it: row handles to primary keys and struct variables to structs.
type ckSide struct {
	name string
	db   *gorm.DB
	sql  *sql.DB
	ids  map[int]uint
	vars map[int]reflect.Value
}

// ckRun is one run of a sequence: the plugin's database, bucket, queue and
// worker, the twin, and what the checker has seen.
type ckRun struct {
	t       *testing.T
	ctx     context.Context
	bucket  *blob.Bucket
	topic   *pubsub.Topic
	sub     *pubsub.Subscription
	plugin  *Plugin
	p, tw   *ckSide
	probe   *sql.DB
	tables  []string
	workOn  bool // the worker runs between ops (drained after each)
	cache   *ckCache
	uploads map[string]int // uploaded key -> pool index of its bytes

	wmu      sync.Mutex
	wCancel  context.CancelFunc
	wDone    chan error
	failures []WorkFailure
	dones    int
	doneCh   chan struct{}
}

// ckCache holds what never changes for a key: a thumbnail blob's
// attributes and decoded size (keys are never written twice), and a
// source's BlurHash candidates. One per database, shared by replays.
type ckCache struct {
	mu     sync.Mutex
	blobs  map[string]ckBlob
	hashes map[string][]string
}

func newCkCache() *ckCache {
	return &ckCache{blobs: map[string]ckBlob{}, hashes: map[string][]string{}}
}

// newCkRun opens fresh databases and a fresh bucket for one run.
func newCkRun(t *testing.T, d dbBackend, cache *ckCache) *ckRun {
	t.Helper()
	cfg := &gorm.Config{Logger: logger.Discard}
	r := &ckRun{t: t, ctx: context.Background(), cache: cache, uploads: map[string]int{}, doneCh: make(chan struct{}, 1)}
	r.bucket = memblob.OpenBucket(nil)
	r.topic = mempubsub.NewTopic()
	r.sub = mempubsub.NewSubscription(r.topic, 5*time.Second)
	r.plugin = New(r.bucket, WithQueue(r.topic), WithLimits(Limits{MaxPixels: ckMaxPixels}), WithConcurrency(2))
	pdb := d.open(t, cfg)
	if err := pdb.Use(r.plugin); err != nil {
		t.Fatal(err)
	}
	tdb := d.open(t, &gorm.Config{Logger: logger.Discard})
	for _, db := range []*gorm.DB{pdb, tdb} {
		if err := db.AutoMigrate(ckAllModels()...); err != nil {
			t.Fatalf("AutoMigrate: %v", err)
		}
	}
	r.p = &ckSide{name: "plugin", db: pdb, ids: map[int]uint{}, vars: map[int]reflect.Value{}}
	r.tw = &ckSide{name: "twin", db: tdb, ids: map[int]uint{}, vars: map[int]reflect.Value{}}
	var err error
	if r.p.sql, err = pdb.DB(); err != nil {
		t.Fatal(err)
	}
	if r.tw.sql, err = tdb.DB(); err != nil {
		t.Fatal(err)
	}
	r.probe = ckOpenProbe(t, pdb)
	ckCheckSchema(t, pdb)
	for _, m := range ckModels {
		r.tables = append(r.tables, m.table)
	}
	for i, s := range ckPool {
		if s.write {
			if err := r.bucket.WriteAll(r.ctx, s.key, ckPoolData()[i], nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	return r
}

// ckOpenProbe opens a second pool on the plugin's database, without the
// plugin: "another connection" for the check that no transaction was left
// open. On sqlite it waits at most a second for the write lock.
func ckOpenProbe(t *testing.T, db *gorm.DB) *sql.DB {
	t.Helper()
	dial := sameDatabase(t, db, "")
	if d, ok := db.Dialector.(*sqlite.Dialector); ok {
		dial = sqlite.Open(strings.Replace(d.DSN, "_busy_timeout=5000", "_busy_timeout=1000", 1))
	}
	pdb, err := gorm.Open(dial, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	s, err := pdb.DB()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var ckSchemaOnce sync.Once

// ckCheckSchema checks once that the checker's hand-written knowledge of
// its models (tables, columns) is GORM's.
func ckCheckSchema(t *testing.T, db *gorm.DB) {
	ckSchemaOnce.Do(func() {
		for _, m := range ckModels {
			stmt := &gorm.Statement{DB: db}
			if err := stmt.Parse(m.zero()); err != nil {
				t.Fatal(err)
			}
			if stmt.Schema.Table != m.table {
				t.Fatalf("%s: table %q, the checker says %q", m.name, stmt.Schema.Table, m.table)
			}
			for _, g := range m.groups {
				cols := map[string]string{g.field: g.col}
				for _, th := range g.thumbs {
					cols[th.field] = th.col
				}
				if g.holder != "" {
					cols[g.holder] = g.holderCol
				}
				for f, c := range cols {
					if sf := stmt.Schema.LookUpField(f); sf == nil || sf.DBName != c {
						t.Fatalf("%s.%s: not column %q", m.name, f, c)
					}
				}
			}
		}
	})
}

// close stops the worker and closes everything the run opened (the
// databases' schemas are dropped by their backends at the test's end).
func (r *ckRun) close() {
	r.stopWorker()
	r.p.sql.Close()
	r.tw.sql.Close()
	r.probe.Close()
	r.sub.Shutdown(context.Background())
	r.topic.Shutdown(context.Background())
	r.bucket.Close()
}

func (r *ckRun) noteUpload(key string, src int) {
	r.wmu.Lock()
	r.uploads[key] = src
	r.wmu.Unlock()
}

// srcIndex is the pool index of the bytes under a source key, -1 if
// unknown.
func (r *ckRun) srcIndex(key string) int {
	if i := ckPoolIndex(key); i >= 0 {
		return i
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if i, ok := r.uploads[key]; ok {
		return i
	}
	return -1
}

// badKey reports whether key is a source no thumbnail can be made of.
func (r *ckRun) badKey(key string) bool {
	i := r.srcIndex(key)
	return i >= 0 && !ckPool[i].good()
}

// ---------------------------------------------------------------------------
// The worker

// startWorker runs plugin.Work on the run's subscription, relaying the
// outbox quickly, until stopWorker.
func (r *ckRun) startWorker() {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.wCancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	r.wCancel, r.wDone = cancel, done
	go func() {
		done <- r.plugin.Work(ctx, r.p.db, r.sub, WorkOptions{
			Models:      ckAllModels(),
			Concurrency: 2,
			RelayEvery:  100 * time.Millisecond,
			RelayAfter:  time.Millisecond,
			Timeout:     30 * time.Second,
			OnFailure: func(f WorkFailure) {
				r.wmu.Lock()
				r.failures = append(r.failures, f)
				r.wmu.Unlock()
			},
			OnDone: func(WorkDone) {
				r.wmu.Lock()
				r.dones++
				r.wmu.Unlock()
				select {
				case r.doneCh <- struct{}{}:
				default:
				}
			},
		})
	}()
}

// stopWorker stops the worker: Work finishes what is in flight and
// returns.
func (r *ckRun) stopWorker() *ckViolation {
	r.wmu.Lock()
	cancel, done := r.wCancel, r.wDone
	r.wCancel, r.wDone = nil, nil
	r.wmu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			return &ckViolation{kind: "work-error", msg: "plugin.Work returned " + err.Error()}
		}
	case <-time.After(30 * time.Second):
		return &ckViolation{kind: "work-hangs", msg: "plugin.Work did not return 30 s after its context was cancelled"}
	}
	return nil
}

func (r *ckRun) doneCount() int {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	return r.dones
}

// waitDone waits (at most d) until the worker has acked a message more
// than before.
func (r *ckRun) waitDone(before int, d time.Duration) {
	deadline := time.After(d)
	for r.doneCount() <= before {
		select {
		case <-r.doneCh:
		case <-deadline:
			return
		}
	}
}

// outbox lists the rows of the plugin's outbox table, as "table/key".
func (r *ckRun) outbox() ([]string, error) {
	var rows []struct {
		Tbl    string
		RowKey string
	}
	err := r.p.db.Raw("SELECT tbl, row_key FROM gormthumb_outbox ORDER BY id").Scan(&rows).Error
	var out []string
	for _, x := range rows {
		out = append(out, x.Tbl+"/"+x.RowKey)
	}
	return out, err
}

// drain runs the worker until the outbox is empty (a bounded wait), then
// stops it: every recorded piece of background work is done.
func (r *ckRun) drain() *ckViolation {
	r.startWorker()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows, err := r.outbox()
		if err != nil {
			r.stopWorker()
			return &ckViolation{kind: "outbox-read", msg: err.Error()}
		}
		if len(rows) == 0 {
			break
		}
		if time.Now().After(deadline) {
			r.stopWorker()
			return &ckViolation{kind: "work-not-done", msg: fmt.Sprintf("the worker ran 20 s and the outbox still holds %v", rows)}
		}
		time.Sleep(5 * time.Millisecond) // a bounded poll: the outbox has no change feed
	}
	return r.stopWorker()
}

// ---------------------------------------------------------------------------
// One step

// step runs op on both sides, compares them, and checks the invariants.
func (r *ckRun) step(op ckOp) []ckViolation {
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	px := &ckExec{r: r, s: r.p, plugin: true, ctx: ctx}
	switch op.kind {
	case kWorkerStart:
		r.workOn = true
		r.startWorker()
	case kWorkerStop:
		r.workOn = false
	}
	px.run(r.p.db.WithContext(ctx), op)
	viols := px.viols
	gormPanicked, skipped := false, false
	if op.twin() {
		tx := &ckExec{r: r, s: r.tw, ctx: ctx, ref: px.out}
		tx.run(r.tw.db.WithContext(ctx), op)
		viols = append(viols, ckCompare(px.out, tx.out, r)...)
		for _, res := range tx.out {
			gormPanicked = gormPanicked || res.class == clPanic
			skipped = skipped || res.skipped
		}
	}
	if skipped {
		if err := r.alignIDs(); err != nil {
			viols = append(viols, ckViolation{kind: "checker-error", msg: "aligning the twin's ids: " + err.Error()})
		}
	}
	if r.workOn || op.kind == kDrain || op.kind == kTxWorker {
		if v := r.drain(); v != nil {
			viols = append(viols, *v)
		}
	} else if v := r.stopWorker(); v != nil {
		viols = append(viols, *v)
	}
	if !gormPanicked {
		// (GORM itself leaves its transaction open when it panics, with or
		// without the plugin: not the plugin's leak.)
		viols = append(viols, r.checkConns()...)
	}
	cancel() // rolls back a transaction a panic left open
	viols = append(viols, r.checkState(false)...)
	if r.workOn {
		r.startWorker()
	}
	return viols
}

// alignIDs gives the twin's tables the plugin's next ids. When a statement
// fails because a thumbnail cannot be made, the twin's is not run; but the
// plugin's op may have inserted rows and rolled them back (CreateInBatches:
// the batches before the failing one), using ids on PostgreSQL and MySQL.
func (r *ckRun) alignIDs() error {
	ctx := context.Background()
	for _, tbl := range r.tables {
		switch r.p.db.Dialector.Name() {
		case "postgres":
			var seq, tseq string
			if err := r.p.sql.QueryRowContext(ctx, "SELECT pg_get_serial_sequence($1, 'id')", tbl).Scan(&seq); err != nil {
				return err
			}
			if err := r.tw.sql.QueryRowContext(ctx, "SELECT pg_get_serial_sequence($1, 'id')", tbl).Scan(&tseq); err != nil {
				return err
			}
			var last int64
			var called bool
			if err := r.p.sql.QueryRowContext(ctx, "SELECT last_value, is_called FROM "+seq).Scan(&last, &called); err != nil {
				return err
			}
			if _, err := r.tw.sql.ExecContext(ctx, "SELECT setval($1, $2, $3)", tseq, last, called); err != nil {
				return err
			}
		case "mysql":
			const q = "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"
			var next sql.NullInt64
			if err := r.p.sql.QueryRowContext(ctx, q, tbl).Scan(&next); err != nil {
				return err
			}
			if next.Valid {
				if _, err := r.tw.sql.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s AUTO_INCREMENT = %d", tbl, next.Int64)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ckCompare compares the plugin's statements with the twin's.
func ckCompare(p, t []ckResult, r *ckRun) []ckViolation {
	var out []ckViolation
	if len(p) != len(t) {
		return []ckViolation{{kind: "statements-differ", msg: fmt.Sprintf("the plugin's side ran %d statements, the twin %d", len(p), len(t))}}
	}
	for i := range p {
		a, b := p[i], t[i]
		switch {
		case a.class == clPanic && b.class == clPanic:
		case a.class == clPanic:
			out = append(out, ckViolation{kind: "panic", msg: fmt.Sprintf("%s panics with the plugin (%s), not without", a.what, a.panic)})
		case a.class == clPluginOther:
			out = append(out, ckViolation{kind: "plugin-error", msg: fmt.Sprintf("%s: %v", a.what, a.err)})
		case a.class == clThumb:
			if !a.legit && !r.legitThumbErr(a.err) {
				out = append(out, ckViolation{kind: "spurious-failure", msg: fmt.Sprintf("%s fails with %v, though no source it writes is bad", a.what, a.err)})
			}
		case a.class != b.class:
			out = append(out, ckViolation{kind: "error-differs", msg: fmt.Sprintf("%s: with the plugin %s (%v), without %s (%v%s)", a.what, a.class, a.err, b.class, b.err, b.panic)})
		case a.class == clNil && a.rows != b.rows:
			out = append(out, ckViolation{kind: "rows-affected", msg: fmt.Sprintf("%s: RowsAffected %d with the plugin, %d without", a.what, a.rows, b.rows)})
		}
	}
	return out
}

// legitThumbErr reports whether a failed statement's error is one the
// README documents for it: a source that cannot be made, or a bulk update.
func (r *ckRun) legitThumbErr(err error) bool {
	if errors.Is(err, ErrBulkUpdate) {
		return true
	}
	var pe *Error
	return errors.As(err, &pe) && r.badKey(pe.Key)
}

// checkConns checks that the op left no connection in use and no
// transaction open: a write from another connection succeeds within a
// second.
func (r *ckRun) checkConns() []ckViolation {
	var out []ckViolation
	// database/sql may give a connection back from a goroutine of its own
	// (a query whose context ended): wait a little for it.
	for deadline := time.Now().Add(time.Second); ; time.Sleep(2 * time.Millisecond) {
		n := r.p.sql.Stats().InUse
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			out = append(out, ckViolation{kind: "connection-leak", msg: fmt.Sprintf("%d connections of the plugin's database still in use a second after the op", n)})
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err := func() error {
		tx, err := r.probe.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, tbl := range r.tables {
			if _, err := tx.ExecContext(ctx, "UPDATE "+tbl+" SET name = name"); err != nil {
				return err
			}
		}
		return tx.Commit()
	}()
	if err != nil || time.Since(start) > 1500*time.Millisecond {
		out = append(out, ckViolation{kind: "transaction-left-open", msg: fmt.Sprintf("a write from another connection did not succeed within a second (%v, %v)", err, time.Since(start).Round(time.Millisecond))})
	}
	return out
}

// ---------------------------------------------------------------------------
// Running and shrinking sequences

// ckOutcome is the first violation of a run of a sequence.
type ckOutcome struct {
	at    int // the op after which it was seen (len(ops) for the final checks)
	viols []ckViolation
}

func (o *ckOutcome) kind() string { return o.viols[0].kind }

// ckRunSeq runs ops from fresh databases and returns the first op after
// which a violation was seen (nil if none).
func ckRunSeq(t *testing.T, d dbBackend, cache *ckCache, ops []ckOp) *ckOutcome {
	r := newCkRun(t, d, cache)
	defer r.close()
	for i, op := range ops {
		if v := r.step(op); len(v) > 0 {
			return &ckOutcome{at: i, viols: v}
		}
	}
	if v := r.quiesce(); len(v) > 0 {
		return &ckOutcome{at: len(ops), viols: v}
	}
	return nil
}

// ckShrink reduces ops to a shorter sequence that still shows a violation
// of the same kind: ddmin over chunks, then single ops, then the inner ops
// of transactions, each candidate replayed from fresh databases.
func ckShrink(t *testing.T, d dbBackend, cache *ckCache, ops []ckOp, want string, budget int) ([]ckOp, *ckOutcome, int) {
	runs := 0
	var last *ckOutcome
	fails := func(cand []ckOp) bool {
		if runs >= budget || len(cand) == 0 {
			return false
		}
		runs++
		o := ckRunSeq(t, d, cache, cand)
		if o != nil && o.kind() == want {
			last = o
			return true
		}
		return false
	}
	n := 2
	for len(ops) >= 2 && runs < budget {
		chunk := (len(ops) + n - 1) / n
		reduced := false
		for start := 0; start < len(ops); start += chunk {
			cand := append(append([]ckOp(nil), ops[:start]...), ops[min(start+chunk, len(ops)):]...)
			if fails(cand) {
				ops, reduced = cand, true
				// Cut what follows the violation.
				if last.at < len(ops) {
					ops = ops[:last.at+1]
				}
				n = max(n-1, 2)
				break
			}
		}
		if !reduced {
			if n >= len(ops) {
				break
			}
			n = min(2*n, len(ops))
		}
	}
	// Simplify single ops: no PrepareStmt session, fewer rows in a create,
	// fewer inner ops in a transaction, no nested one.
	for i := 0; i < len(ops) && runs < budget; i++ {
		for _, simpler := range ckSimpler(ops[i]) {
			cand := append(append(append([]ckOp(nil), ops[:i]...), simpler), ops[i+1:]...)
			if fails(cand) {
				ops = cand
			}
		}
	}
	if last == nil || runs == budget {
		last = ckRunSeq(t, d, cache, ops)
		runs++
	}
	return ops, last, runs
}

// ckSimpler lists simpler versions of an op, each one step simpler.
func ckSimpler(op ckOp) []ckOp {
	var out []ckOp
	if op.prep {
		s := op
		s.prep = false
		out = append(out, s)
	}
	if op.kind == kCreate && len(op.elems) > 1 {
		for i := range op.elems {
			s := op
			s.elems = append(append([]ckElem(nil), op.elems[:i]...), op.elems[i+1:]...)
			out = append(out, s)
		}
	}
	if op.kind == kTx && len(op.nested) > 0 {
		s := op
		s.nested = nil
		out = append(out, s)
	}
	if op.kind == kTx && len(op.inner) > 1 {
		for i := range op.inner {
			s := op
			s.inner = append(append([]ckOp(nil), op.inner[:i]...), op.inner[i+1:]...)
			out = append(out, s)
		}
	}
	return out
}

// ckEnvInt reads an integer environment variable.
func ckEnvInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: not an integer", name, v)
	}
	return n
}

// ckSequence draws the sequence of a seed: its length comes from the seed
// too, so a seed replays whatever the budget.
func ckSequence(seed int64) []ckOp {
	g := newCkGen(seed)
	n := 10 + g.pick(31)
	ops := make([]ckOp, 0, n)
	for range n {
		ops = append(ops, g.op())
	}
	return ops
}

func ckFormatOps(ops []ckOp) string {
	var b strings.Builder
	for i, op := range ops {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, op)
	}
	return b.String()
}

func TestModelChecker(t *testing.T) {
	budget := ckEnvInt(t, "GORMTHUMB_CHECK_OPS", 240)
	if underRace && os.Getenv("GORMTHUMB_CHECK_OPS") == "" {
		budget = 48
	}
	shrinkBudget := ckEnvInt(t, "GORMTHUMB_CHECK_SHRINK", 150)
	reports := ckEnvInt(t, "GORMTHUMB_CHECK_REPORT", 3)
	var seeds []int64
	if s := os.Getenv("GORMTHUMB_CHECK_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("GORMTHUMB_CHECK_SEED=%q: not an integer", s)
		}
		seeds = []int64{n}
	}
	for _, d := range dbBackends {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			cache := newCkCache()
			type found struct {
				seed  int64
				ops   []ckOp
				out   *ckOutcome
				after int // ops run on this database until it was seen
			}
			var founds []found
			seen := map[string]bool{}
			total := 0
			start := time.Now()
			for i := 0; ; i++ {
				var seed int64
				switch {
				case seeds != nil && i < len(seeds):
					seed = seeds[i]
				case seeds != nil:
				default:
					seed = int64(i + 1)
				}
				if seed == 0 || (seeds == nil && total >= budget) {
					break
				}
				ops := ckSequence(seed)
				if seeds != nil {
					t.Logf("seed %d:\n%s", seed, ckFormatOps(ops))
				}
				o := ckRunSeq(t, d, cache, ops)
				if o == nil {
					total += len(ops)
					continue
				}
				total += min(o.at+1, len(ops))
				sig := o.kind() + " after " + ckOpLabel(ops, o.at)
				if !seen[sig] {
					seen[sig] = true
					founds = append(founds, found{seed: seed, ops: ops[:min(o.at+1, len(ops))], out: o, after: total})
				}
				if len(founds) >= reports {
					break
				}
			}
			t.Logf("%s: %d ops in %v", d.name, total, time.Since(start).Round(time.Millisecond))
			for _, f := range founds[:min(len(founds), reports)] {
				shrunk, o, runs := ckShrink(t, d, cache, f.ops, f.out.kind(), shrinkBudget)
				if o == nil {
					o = f.out
					shrunk = f.ops
				}
				var vs []string
				for _, v := range o.viols {
					vs = append(vs, v.String())
				}
				at := "at quiescence (drain, relay, Sweep)"
				if o.at < len(shrunk) {
					at = fmt.Sprintf("after op %d", o.at+1)
				}
				t.Errorf("seed %d on %s (found after %d ops on this database): %s\nshrunk from %d to %d ops (%d replays):\n%s%s:\n  %s\nreplay the seed: GORMTHUMB_CHECK_SEED=%d go test -run 'TestModelChecker/%s$' .",
					f.seed, d.name, f.after, o.kind(), len(f.ops), len(shrunk), runs, ckFormatOps(shrunk), at, strings.Join(vs, "\n  "), f.seed, d.name)
			}
		})
	}
}

// ckOpLabel names the kind of op i (the end of the sequence past it).
func ckOpLabel(ops []ckOp, i int) string {
	if i >= len(ops) {
		return "quiescence"
	}
	op := ops[i]
	return fmt.Sprintf("%d/%d/%d", op.kind, op.variant, op.ref)
}
