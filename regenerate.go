package gormthumb

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// RegenerateOptions configures Regenerate. The zero value walks the whole
// table in batches of 100 rows, GOMAXPROCS rows at a time.
type RegenerateOptions struct {
	// BatchSize is how many primary keys are read per query (default 100).
	BatchSize int
	// Concurrency bounds how many rows are processed at once (default
	// runtime.GOMAXPROCS(0)). On sqlite, writers take turns; use a DSN with
	// _txlock=immediate (or Concurrency 1) so they wait instead of failing.
	Concurrency int
	// After resumes a previous run: only rows whose primary key is greater
	// than After are visited. Pass RegenerateReport.LastKey of the run that
	// stopped. A string is converted for integer keys ("500" -> 500).
	After any
	// DryRun writes nothing: it counts the rows whose thumbnails are out of
	// date (Made) or up to date (Skipped), and the rows whose source would
	// fail (Failed: missing, or not an image by its header, or recorded as
	// failed by background work (Plugin.Work) for that row and source; the
	// pixels are not decoded, so a source corrupt past its header that no
	// worker has tried counts as Made).
	DryRun bool
	// Force remakes every thumbnail that has a source, up to date or not:
	// after sources were overwritten in place without
	// WithSourceVersionCheck, or after a change the digest does not see (a
	// new Processor).
	Force bool
	// Progress, if set, is called after every row, never concurrently.
	Progress func(RegenerateProgress)
}

// RegenerateProgress is passed to RegenerateOptions.Progress.
type RegenerateProgress struct {
	Done, Total           int // rows visited so far; rows to visit (counted at the start)
	Made, Skipped, Failed int // as in RegenerateReport
	LastKey               any // resume point so far (see RegenerateReport.LastKey)
}

// RegenerateReport is the outcome of Regenerate.
type RegenerateReport struct {
	Rows    int // rows visited
	Made    int // rows with at least one thumbnail (re)made or cleared
	Skipped int // rows whose thumbnails were all up to date (or that have no source)
	// Failed lists the rows whose thumbnails could not be made, each with
	// its primary key and an *Error wrapping a sentinel (errors joined when
	// several of a row's source groups failed). Each failed group was left
	// exactly as it was; the row's other groups and the rest of the table
	// were still done.
	Failed []RowError
	// LastKey is the primary key of the last row of the last batch that was
	// finished; pass it as RegenerateOptions.After to resume. nil if no
	// batch finished.
	LastKey any
}

// RowError is one row that Regenerate could not bring up to date.
type RowError struct {
	Key any   // the row's primary key
	Err error // why
}

// Error describes the row and why it failed.
func (e RowError) Error() string { return fmt.Sprintf("row %v: %v", e.Key, e.Err) }

// Unwrap returns Err, for errors.Is and errors.As.
func (e RowError) Unwrap() error { return e.Err }

// Regenerate brings the thumbnails of every row of model's table up to
// date: after a thumb tag was added or changed, or after sources were
// copied in behind the plugin's back. It walks the table in primary-key
// order, in batches. For each row it reads the sources and thumbnail keys,
// makes the thumbnails whose digest (field, source key and version, spec)
// is out of date with no lock held, then stores their keys in a short
// transaction with a compare-and-set: only if the row still holds what was
// read (otherwise it starts that row again, up to three times), so a
// concurrent edit is never overwritten and a backfill never blocks the
// application's writes. Superseded blobs are deleted after commit. Neither
// UpdatedAt nor the model's hooks are touched.
//
// db is the model's database; model is a pointer to the model
// (&Product{}) and needs a single-column primary key. A row whose source is
// missing or broken is reported in Failed and the walk goes on. The error
// is non-nil only when the walk itself failed (bad model, database down,
// ctx cancelled); the report is then what was done so far, rows cut short
// by a cancellation are not counted, and resuming from its LastKey
// redoes the unfinished batch (rows already done are then skipped).
func (p *Plugin) Regenerate(ctx context.Context, db *gorm.DB, model any, opts RegenerateOptions) (*RegenerateReport, error) {
	rep := &RegenerateReport{}
	s, ms, err := p.specOf(db, model, "Regenerate")
	if err != nil {
		return rep, err
	}
	if ms == nil || len(ms.thumbs) == 0 {
		return rep, &Error{Model: s.Name, Err: wrapf(ErrInvalidTag, "no thumb fields to regenerate")}
	}
	if len(s.PrimaryFields) != 1 {
		return rep, &Error{Model: s.Name, Err: fmt.Errorf("gormthumb: Regenerate needs a single-column primary key, %s has %d", s.Name, len(s.PrimaryFields))}
	}
	pkField := s.PrimaryFields[0]
	after, err := convertKey(opts.After, pkField)
	if err != nil {
		return rep, &Error{Model: s.Name, Field: pkField.Name, Err: err}
	}
	batch := opts.BatchSize
	if batch <= 0 {
		batch = 100
	}
	workers := opts.Concurrency
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	mode := refreshMode{dryRun: opts.DryRun, force: opts.Force}
	if mode.dryRun && ms.hasAsync() {
		mode.failures = db.WithContext(ctx).Migrator().HasTable(&failureRow{})
	}
	r := &regenerator{p: p, db: db.WithContext(ctx), s: s, ms: ms, pk: pkField, mode: mode}

	scope := func() *gorm.DB {
		q := r.db.Model(reflect.New(s.ModelType).Interface()).Unscoped() // soft-deleted rows too: they may be restored
		if after != nil {
			q = q.Where(clause.Gt{Column: clause.Column{Name: pkField.DBName}, Value: after})
		}
		return q
	}
	var total int64
	if err := scope().Count(&total).Error; err != nil {
		return rep, fmt.Errorf("gormthumb: Regenerate: counting rows: %w", err)
	}
	prog := RegenerateProgress{Total: int(total), LastKey: opts.After}
	report := func() {
		prog.Done, prog.Made, prog.Skipped, prog.Failed = rep.Rows, rep.Made, rep.Skipped, len(rep.Failed)
		if opts.Progress != nil {
			opts.Progress(prog)
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		keys := reflect.New(reflect.SliceOf(pkField.FieldType))
		q := scope().Order(clause.OrderByColumn{Column: clause.Column{Name: pkField.DBName}}).Limit(batch)
		if err := q.Pluck(pkField.DBName, keys.Interface()).Error; err != nil {
			return rep, fmt.Errorf("gormthumb: Regenerate: reading keys after %v: %w", after, err)
		}
		n := keys.Elem().Len()
		if n == 0 {
			return rep, nil
		}
		outcomes := make(chan rowOutcome)
		var wg sync.WaitGroup
		sem := make(chan struct{}, workers)
		go func() {
			for i := 0; i < n; i++ {
				key := keys.Elem().Index(i).Interface()
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					outcomes <- r.row(ctx, key)
				}()
			}
			wg.Wait()
			close(outcomes)
		}()
		for o := range outcomes {
			if o.err != nil && ctx.Err() != nil {
				continue // cut short by the cancellation: redone on resume
			}
			rep.Rows++
			switch {
			case o.err != nil:
				rep.Failed = append(rep.Failed, RowError{Key: o.key, Err: o.err})
			case o.made:
				rep.Made++
			default:
				rep.Skipped++
			}
			report()
		}
		if err := ctx.Err(); err != nil {
			return rep, err // the batch may be incomplete: LastKey stays at the previous one
		}
		after = keys.Elem().Index(n - 1).Interface()
		rep.LastKey, prog.LastKey = after, after
		report()
	}
}

// Regenerate is Plugin.Regenerate with the plugin registered on db
// (db.Use(plugin)): the same walk, for callers that hold only the db.
func Regenerate(ctx context.Context, db *gorm.DB, model any, opts RegenerateOptions) (*RegenerateReport, error) {
	p, _ := db.Config.Plugins[(&Plugin{}).Name()].(*Plugin)
	if p == nil {
		return &RegenerateReport{}, errors.New("gormthumb: Regenerate: the gormthumb plugin is not registered on db (db.Use(gormthumb.New(bucket)))")
	}
	return p.Regenerate(ctx, db, model, opts)
}

// convertKey turns a resume key given as a string into the primary key's
// Go type where that is an integer.
func convertKey(after any, pk *schema.Field) (any, error) {
	str, ok := after.(string)
	if !ok {
		return after, nil
	}
	if str == "" {
		return nil, nil
	}
	switch pk.IndirectFieldType.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v, err := strconv.ParseInt(str, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("resume key %q is not an integer like the primary key", str)
		}
		return v, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v, err := strconv.ParseUint(str, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("resume key %q is not an unsigned integer like the primary key", str)
		}
		return v, nil
	}
	return str, nil
}

type regenerator struct {
	p    *Plugin
	db   *gorm.DB
	s    *schema.Schema
	ms   *modelSpec
	pk   *schema.Field
	mode refreshMode
}

type rowOutcome struct {
	key  any
	made bool
	err  error
}

// row brings one row up to date (refreshRow).
func (r *regenerator) row(ctx context.Context, key any) rowOutcome {
	out := rowOutcome{key: key}
	if out.err = ctx.Err(); out.err != nil {
		return out
	}
	res, err := r.p.refreshRow(ctx, r.db, r.s, r.ms, r.pk, key, r.mode)
	out.made, out.err = res.changed, err
	if err == nil && len(res.failed) > 0 {
		errs := make([]error, len(res.failed))
		for i, pe := range res.failed {
			errs[i] = pe
		}
		out.err = errors.Join(errs...)
		if len(errs) == 1 {
			out.err = errs[0]
		}
	}
	return out
}
