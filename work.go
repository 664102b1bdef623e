package gormthumb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"gocloud.dev/pubsub"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// WorkOptions configures Plugin.Work.
type WorkOptions struct {
	// Models are the models whose rows the messages name, e.g.
	// []any{&Product{}}. A message for another table is acked and reported.
	Models []any
	// Concurrency is how many messages are worked on at once (default
	// runtime.GOMAXPROCS(0)). The plugin's memory budget still bounds the
	// decodes.
	Concurrency int
	// Timeout bounds the work of one message (default 5 minutes); work cut
	// short is not acked, so the message comes back.
	Timeout time.Duration
	// RelayEvery is how often Work publishes again the outbox rows whose
	// message may have been lost (a process that died between its commit
	// and its publish); it also does so when it starts. Default 30 s.
	RelayEvery time.Duration
	// RelayAfter leaves outbox rows younger than this to the process that
	// wrote them (default 10 s).
	RelayAfter time.Duration
	// OnFailure, if set, is called once for each row, field and source that
	// can never be made into a thumbnail (missing, not an image, too
	// large, unsupported): such a message is acked, not retried. Calls may
	// come from several goroutines at once.
	OnFailure func(WorkFailure)
	// OnDone, if set, is called after every message acked, with whether it
	// changed a thumbnail. Calls may come from several goroutines at once.
	OnDone func(WorkDone)
	// OnError, if set, is called with every error that is not a row's: the
	// relay failing to read the outbox or to publish, a message that
	// comes back because the database or the bucket failed. Without it,
	// they are logged through the db's logger. Work goes on either way.
	OnError func(error)
}

// WorkFailure is a thumbnail Work can never make, or a message it can
// never do (one naming a table none of WorkOptions.Models has: Field is
// then empty).
type WorkFailure struct {
	Table string // the row's table
	Key   string // the row's primary key
	Field string // the thumbnail field
	Err   error  // an *Error wrapping ErrSourceNotFound, ErrNotImage, ErrTooLarge, ...
}

// WorkDone is one message Work has acked.
type WorkDone struct {
	Table, Key string
	Made       bool // a thumbnail was made or cleared
}

// Work receives background work from sub (the subscription of the topic
// given to WithQueue) until ctx is done, and for each message brings the
// named row's thumbnails up to date the way Regenerate does: it re-reads
// the row, makes what is out of date with no lock held, stores the keys
// with a compare-and-set, deletes what it superseded after commit, and
// acks. Redelivered, duplicated, reordered and out-of-date messages change
// nothing wrong: the row's current source wins. A source that can never be
// made is acked and reported once (OnFailure, and the gormthumb_failures
// table), and the thumbnails of an earlier source are cleared; other errors (the database or the bucket down) nack the message
// so it comes back. When ctx is done Work finishes the messages in flight,
// nacks any it received but did not start, and returns nil; it returns an
// error if the subscription fails.
//
// db must have the plugin registered (with WithQueue, so that Work can
// publish the outbox's lost messages again).
func (p *Plugin) Work(ctx context.Context, db *gorm.DB, sub *pubsub.Subscription, opts WorkOptions) error {
	if p.queue == nil {
		return errors.New("gormthumb: Work needs a plugin with a queue (gormthumb.WithQueue)")
	}
	models := map[string]workModel{}
	for _, m := range opts.Models {
		s, ms, err := p.specOf(db, m, "Work")
		if err != nil {
			return err
		}
		if ms == nil || len(ms.thumbs) == 0 || len(s.PrimaryFields) != 1 {
			return &Error{Model: s.Name, Err: wrapf(ErrInvalidTag, "Work needs models with thumb fields and a single-column primary key")}
		}
		models[s.Table] = workModel{s: s, ms: ms, pk: s.PrimaryFields[0]}
	}
	if len(models) == 0 {
		return errors.New("gormthumb: Work needs WorkOptions.Models")
	}
	n := opts.Concurrency
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	relayEvery, relayAfter := opts.RelayEvery, opts.RelayAfter
	if relayEvery <= 0 {
		relayEvery = 30 * time.Second
	}
	if relayAfter <= 0 {
		relayAfter = 10 * time.Second
	}
	w := &worker{p: p, db: db, models: models, opts: opts, timeout: timeout, relayAfter: relayAfter}

	var wg sync.WaitGroup
	wg.Go(func() { // the relay
		t := time.NewTicker(relayEvery)
		defer t.Stop()
		for {
			if _, err := p.relay(ctx, db, relayAfter); err != nil && ctx.Err() == nil {
				w.report(fmt.Errorf("gormthumb: Work: relaying the outbox: %w", err))
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			for {
				msg, err := sub.Receive(ctx)
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				if ctx.Err() != nil {
					if msg.Nackable() {
						msg.Nack() // received, not started: back to the queue
					}
					return
				}
				w.handle(context.WithoutCancel(ctx), msg)
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

type workModel struct {
	s  *schema.Schema
	ms *modelSpec
	pk *schema.Field
}

type worker struct {
	p          *Plugin
	db         *gorm.DB
	models     map[string]workModel
	opts       WorkOptions
	timeout    time.Duration
	relayAfter time.Duration
}

// report passes an error that is not a row's to OnError, or the logger.
func (w *worker) report(err error) {
	if w.opts.OnError != nil {
		w.opts.OnError(err)
		return
	}
	w.db.Logger.Error(context.Background(), "%v", err)
}

// notYetBack is how long a worker waits before it hands back a message
// whose outbox row it cannot see yet.
const notYetBack = 200 * time.Millisecond

// handle does one message's work and acks or nacks it. The outbox row is
// deleted only by work that saw the row's current source: the message's
// outbox row must be visible (committed) before the row is read, so the
// row read holds the save's source or a later one.
func (w *worker) handle(ctx context.Context, msg *pubsub.Message) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	retry := func(err error) {
		w.report(err)
		if msg.Nackable() {
			msg.Nack()
		}
	}
	m, err := parseWork(msg.Body)
	if err != nil {
		msg.Ack() // never valid: do not let it come back forever
		w.fail(WorkFailure{Err: err})
		return
	}
	wm, ok := w.models[m.Table]
	var key any
	if ok {
		key, err = convertKey(m.Key, wm.pk)
	} else {
		err = fmt.Errorf("gormthumb: Work: no model for table %q in WorkOptions.Models", m.Table)
	}
	if err != nil {
		// It can never be done here: report it once, and end its outbox
		// row, which would otherwise be relayed forever.
		w.failed(ctx, m, "", "", err)
		if derr := outboxDone(ctx, w.db, m); derr != nil {
			retry(fmt.Errorf("gormthumb: Work: ending outbox row %d: %w", m.Outbox, derr))
			return
		}
		msg.Ack()
		return
	}
	if m.Outbox != 0 {
		visible, err := outboxVisible(ctx, w.db, m)
		if err != nil {
			retry(fmt.Errorf("gormthumb: Work: reading outbox row %d: %w", m.Outbox, err))
			return
		}
		if !visible {
			// Done already, rolled back, or not committed yet (a save in
			// the caller's transaction). While it is young, hand it back
			// to come again; after that, the relay publishes the row again
			// if it ever commits.
			if age := time.Since(time.UnixMilli(m.At)); m.At != 0 && age < w.relayAfter && msg.Nackable() {
				select {
				case <-time.After(notYetBack):
				case <-ctx.Done():
				}
				msg.Nack()
				return
			}
			msg.Ack()
			return
		}
	}
	res, err := w.p.refreshRow(ctx, w.db, wm.s, wm.ms, wm.pk, key, refreshMode{})
	if err != nil {
		retry(fmt.Errorf("gormthumb: Work: %s %s: %w", m.Table, m.Key, err))
		return // not acked: it comes back
	}
	for _, pe := range res.failed {
		w.failed(ctx, m, pe.Field, pe.Key, pe)
		if err := w.p.clearGroup(ctx, w.db, wm.s, wm.ms, wm.pk, key, pe.Field, pe.Key); err != nil {
			retry(fmt.Errorf("gormthumb: Work: %s %s: clearing %s: %w", m.Table, m.Key, pe.Field, err))
			return
		}
	}
	if err := outboxDone(ctx, w.db, m); err != nil {
		retry(fmt.Errorf("gormthumb: Work: ending outbox row %d: %w", m.Outbox, err))
		return
	}
	msg.Ack()
	if w.opts.OnDone != nil {
		w.opts.OnDone(WorkDone{Table: m.Table, Key: m.Key, Made: res.changed || len(res.failed) > 0})
	}
}

// permanentErrs are the errors no retry can fix: the source is missing,
// not an image, too large or unsupported, or the processor cannot make it.
var permanentErrs = []error{ErrSourceNotFound, ErrNotImage, ErrUnsupportedFormat, ErrTooLarge, ErrInvalidKey, ErrProcessor}

// permanent reports whether err is one of permanentErrs.
func permanent(err error) bool {
	for _, s := range permanentErrs {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// failed records what can never be done (a source that cannot be made
// into field's thumbnail, or a message Work cannot do) and reports it,
// once per row, field and source whatever the redeliveries.
func (w *worker) failed(ctx context.Context, m workMessage, field, src string, err error) {
	row := failureRow{Tbl: m.Table, RowKey: m.Key, Field: field, SourceSum: sourceSum(src), Source: src, Error: truncate(err.Error(), 1024), CreatedAt: w.p.now()}
	res := w.db.WithContext(ctx).Session(&gorm.Session{NewDB: true}).Set(internalKey, true).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		w.report(fmt.Errorf("gormthumb: Work: recording a failure of %s %s: %w", m.Table, m.Key, res.Error))
	} else if res.RowsAffected == 0 {
		return // reported before
	}
	w.fail(WorkFailure{Table: m.Table, Key: m.Key, Field: field, Err: err})
}

func (w *worker) fail(f WorkFailure) {
	if w.opts.OnFailure != nil {
		w.opts.OnFailure(f)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// sourceSum is the failures table's digest of a source key.
func sourceSum(src string) string {
	sum := sha256.Sum256([]byte(src))
	return hex.EncodeToString(sum[:8])
}

// recordedFailure returns the failure background work recorded for this
// row and source, as an *Error naming the model, the field and the source,
// or nil. The error wraps the sentinel the recorded message carries
// (ErrProcessor when none does).
func recordedFailure(ctx context.Context, db *gorm.DB, model, table, rowKey, src string) error {
	var rows []failureRow
	err := db.WithContext(ctx).Session(&gorm.Session{NewDB: true}).Set(internalKey, true).
		Select("field", "error"). // not created_at: MySQL without parseTime could not scan it
		Where(&failureRow{Tbl: table, RowKey: rowKey, SourceSum: sourceSum(src)}).Limit(1).Find(&rows).Error
	if err != nil {
		return fmt.Errorf("gormthumb: %s: reading gormthumb_failures: %w", model, err)
	}
	if len(rows) == 0 {
		return nil
	}
	sentinel := ErrProcessor
	for _, s := range permanentErrs {
		if strings.Contains(rows[0].Error, s.Error()) {
			sentinel = s
			break
		}
	}
	return &Error{Model: model, Field: rows[0].Field, Key: src,
		Err: fmt.Errorf("%w (recorded by background work): %s", sentinel, rows[0].Error)}
}
