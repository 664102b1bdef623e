package gormthumb

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"gocloud.dev/pubsub"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Background thumbnails. A thumb field tagged `async` is not made by the
// save: the save stores its source, keeps the thumbnail column as it was
// (or clears it with the source), and records one row of background work
// in the plugin's outbox table, in the same transaction. After the commit
// the work is published to the plugin's queue (WithQueue); Plugin.Work
// receives it, makes the thumbnail and stores its key. A process that dies
// between the commit and the publish leaves its outbox row, which workers
// publish again (at start and every WorkOptions.RelayEvery), so no work is
// lost; duplicates are harmless (Work compares and sets).

// WithQueue makes the plugin publish the work of `async` thumb fields to
// topic (any gocloud.dev/pubsub topic: NATS, RabbitMQ, SQS, Google Pub/Sub,
// Kafka, or mem:// in tests), for Plugin.Work to do. Use registers the
// plugin's two tables (gormthumb_outbox and gormthumb_failures) with
// AutoMigrate on the db it is registered on.
func WithQueue(topic *pubsub.Topic) Option { return func(pl *Plugin) { pl.queue = topic } }

// outboxRow is one piece of background work: make the out-of-date async
// thumbnails of one row. It is written in the same transaction as the row.
type outboxRow struct {
	ID        uint64 `gorm:"primaryKey"`
	Tbl       string `gorm:"column:tbl;size:128;not null"`
	RowKey    string `gorm:"size:255;not null"`
	CreatedAt time.Time
	RelayedAt *time.Time // last published again by a relay (no index: the table stays small)
}

// TableName implements schema.Tabler.
func (outboxRow) TableName() string { return "gormthumb_outbox" }

// failureRow records, once per row, field and source, a source that can
// never be made into a thumbnail.
type failureRow struct {
	Tbl       string `gorm:"column:tbl;primaryKey;size:128"`
	RowKey    string `gorm:"primaryKey;size:191"`
	Field     string `gorm:"primaryKey;size:128"`
	SourceSum string `gorm:"primaryKey;size:16"` // digest of the source key: keys may be long
	Source    string `gorm:"size:1024"`
	Error     string `gorm:"size:1024"`
	CreatedAt time.Time
}

// TableName implements schema.Tabler.
func (failureRow) TableName() string { return "gormthumb_failures" }

// workMessage is the body of a queue message.
type workMessage struct {
	Table  string `json:"t"`
	Key    string `json:"k"`
	Outbox uint64 `json:"o,omitempty"`
}

// migrateQueue creates the plugin's tables when it has a queue.
func (p *Plugin) migrateQueue(db *gorm.DB) error {
	if p.queue == nil {
		return nil
	}
	if err := db.Session(&gorm.Session{NewDB: true}).AutoMigrate(&outboxRow{}, &failureRow{}); err != nil {
		return fmt.Errorf("gormthumb: creating the queue's tables: %w", err)
	}
	return nil
}

// enqueue records background work for row r in the statement's
// transaction, once per row: Work brings every thumbnail of the row up to
// date, whichever source group asked.
func (p *Plugin) enqueue(db *gorm.DB, st *stmtState, r row) error {
	if r.pk == "" {
		return nil // no key to find the row by (a Create from maps): Regenerate makes it
	}
	st.mu.Lock()
	done := slices.ContainsFunc(st.outbox, func(o outboxRow) bool { return o.RowKey == r.pk })
	st.mu.Unlock()
	if done {
		return nil
	}
	o := outboxRow{Tbl: db.Statement.Table, RowKey: r.pk, CreatedAt: p.now()}
	if err := insertOutbox(db, &o); err != nil {
		return &Error{Model: st.spec.name, Err: fmt.Errorf("%w: recording background work: %w", ErrStorage, err)}
	}
	st.mu.Lock()
	st.outbox = append(st.outbox, o)
	st.mu.Unlock()
	return nil
}

// insertOutbox writes o in the statement's transaction and sets its id: one
// plain INSERT on the statement's connection (RETURNING where the database
// has it, else the driver's last insert id), not a whole GORM create chain,
// on this path that every save with background work takes.
func insertOutbox(db *gorm.DB, o *outboxRow) error {
	const insert = "INSERT INTO gormthumb_outbox (tbl, row_key, created_at) VALUES (?, ?, ?)"
	ctx, pool := db.Statement.Context, db.Statement.ConnPool
	if db.Dialector.Name() == "postgres" {
		return pool.QueryRowContext(ctx, "INSERT INTO gormthumb_outbox (tbl, row_key, created_at) VALUES ($1, $2, $3) RETURNING id", o.Tbl, o.RowKey, o.CreatedAt).Scan(&o.ID)
	}
	res, err := pool.ExecContext(ctx, insert, o.Tbl, o.RowKey, o.CreatedAt)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	o.ID = uint64(id)
	return err
}

// publish hands the messages of outbox rows to the plugin's publisher,
// which sends them in the background, so a save does not wait for the
// broker. If the publisher is behind (its buffer full) or a send fails,
// the outbox row stays and a worker's relay publishes it later.
func (p *Plugin) publish(rows []outboxRow) {
	p.publisherOnce.Do(func() {
		p.publishing = make(chan outboxRow, 4096)
		go p.publisher()
	})
	for _, o := range rows {
		select {
		case p.publishing <- o:
		default: // behind: the relay will do it
		}
	}
}

// publisher sends what publish hands it, for the life of the process.
func (p *Plugin) publisher() {
	for o := range p.publishing {
		body, _ := json.Marshal(workMessage{Table: o.Tbl, Key: o.RowKey, Outbox: o.ID})
		ctx, cancel := context.WithTimeout(context.Background(), p.deleteTimeout)
		p.queue.Send(ctx, &pubsub.Message{Body: body})
		cancel()
	}
}

// relay publishes again the outbox rows older than after whose work is
// not done (their message lost with a process that died before publishing,
// or not yet received), at most once per after, and reports how many.
func (p *Plugin) relay(ctx context.Context, db *gorm.DB, after time.Duration) (int, error) {
	cutoff := p.now().Add(-after)
	var rows []outboxRow
	q := db.WithContext(ctx).Session(&gorm.Session{NewDB: true}).
		Where("created_at < ?", cutoff).
		Where(clause.Or(clause.Eq{Column: clause.Column{Name: "relayed_at"}, Value: nil}, clause.Lt{Column: clause.Column{Name: "relayed_at"}, Value: cutoff})).
		Order("id").Limit(500)
	if err := q.Find(&rows).Error; err != nil {
		return 0, err
	}
	n := 0
	for _, o := range rows {
		// Claim the row first (compare-and-set on relayed_at), so that of
		// several workers' relays only one publishes it again.
		now := p.now()
		claim := db.WithContext(ctx).Session(&gorm.Session{NewDB: true}).Model(&outboxRow{}).
			Where("id = ?", o.ID).
			Where(clause.Or(clause.Eq{Column: clause.Column{Name: "relayed_at"}, Value: nil}, clause.Lt{Column: clause.Column{Name: "relayed_at"}, Value: cutoff})).
			Update("relayed_at", &now)
		if claim.Error != nil {
			return n, claim.Error
		}
		if claim.RowsAffected == 0 {
			continue // done, or claimed by another relay
		}
		body, _ := json.Marshal(workMessage{Table: o.Tbl, Key: o.RowKey, Outbox: o.ID})
		if err := p.queue.Send(ctx, &pubsub.Message{Body: body}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// outboxDone deletes the outbox row of a message whose work is done.
func outboxDone(ctx context.Context, db *gorm.DB, id uint64) error {
	if id == 0 {
		return nil
	}
	return db.WithContext(ctx).Session(&gorm.Session{NewDB: true}).Delete(&outboxRow{}, id).Error
}

// parseWork reads a queue message.
func parseWork(body []byte) (workMessage, error) {
	var m workMessage
	if err := json.Unmarshal(body, &m); err != nil || m.Table == "" || m.Key == "" {
		return m, fmt.Errorf("gormthumb: not a work message: %q", body)
	}
	return m, nil
}
