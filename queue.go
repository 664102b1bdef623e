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
//
// Every column is named in its tag, so the tables look the same whatever
// the db's NamingStrategy (the plugin's own SQL names them).
type outboxRow struct {
	ID        uint64     `gorm:"column:id;primaryKey"`
	Tbl       string     `gorm:"column:tbl;size:128;not null"`
	RowKey    string     `gorm:"column:row_key;size:255;not null"`
	CreatedAt time.Time  `gorm:"column:created_at"`
	RelayedAt *time.Time `gorm:"column:relayed_at"` // last published again by a relay (no index: the table stays small)
}

// TableName implements schema.Tabler.
func (outboxRow) TableName() string { return "gormthumb_outbox" }

// failureRow records, once per row, field and source, a source that can
// never be made into a thumbnail.
type failureRow struct {
	Tbl       string    `gorm:"column:tbl;primaryKey;size:128"`
	RowKey    string    `gorm:"column:row_key;primaryKey;size:191"`
	Field     string    `gorm:"column:field;primaryKey;size:128"`
	SourceSum string    `gorm:"column:source_sum;primaryKey;size:16"` // digest of the source key: keys may be long
	Source    string    `gorm:"column:source;size:1024"`
	Error     string    `gorm:"column:error;size:1024"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

// TableName implements schema.Tabler.
func (failureRow) TableName() string { return "gormthumb_failures" }

// workMessage is the body of a queue message.
type workMessage struct {
	Table  string `json:"t"`
	Key    string `json:"k"`
	Outbox uint64 `json:"o,omitempty"` // the outbox row, deleted when the work is done
	At     int64  `json:"a,omitempty"` // when the message was sent, in Unix milliseconds
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
		return fmt.Errorf("gormthumb: %s: recording background work: %w", st.spec.name, err)
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
		ctx, cancel := context.WithTimeout(context.Background(), p.deleteTimeout)
		p.send(ctx, o) // a failed send leaves the outbox row to the relay
		cancel()
	}
}

// send publishes the message of outbox row o.
func (p *Plugin) send(ctx context.Context, o outboxRow) error {
	body, _ := json.Marshal(workMessage{Table: o.Tbl, Key: o.RowKey, Outbox: o.ID, At: p.now().UnixMilli()})
	return p.queue.Send(ctx, &pubsub.Message{Body: body})
}

// relayPage is how many outbox rows a relay reads at once.
const relayPage = 500

// relay publishes again the outbox rows older than after whose work is
// not done (their message lost with a process that died before publishing,
// not yet received, or received before the row committed), at most once
// per after each, and reports how many. It pages through every such row,
// so no row waits behind others that keep coming back. It reads no time
// column (MySQL without parseTime could not scan one).
func (p *Plugin) relay(ctx context.Context, db *gorm.DB, after time.Duration) (int, error) {
	cutoff := p.now().Add(-after)
	due := clause.Or(clause.Eq{Column: clause.Column{Name: "relayed_at"}, Value: nil}, clause.Lt{Column: clause.Column{Name: "relayed_at"}, Value: cutoff})
	n := 0
	var last uint64
	for {
		var rows []outboxRow
		q := db.WithContext(ctx).Session(&gorm.Session{NewDB: true}).Set(internalKey, true).
			Select("id", "tbl", "row_key").
			Where(clause.Lt{Column: clause.Column{Name: "created_at"}, Value: cutoff}).
			Where(due).Where(clause.Gt{Column: clause.Column{Name: "id"}, Value: last}).
			Order("id").Limit(relayPage)
		if err := q.Find(&rows).Error; err != nil {
			return n, err
		}
		for _, o := range rows {
			last = o.ID
			// Claim the row first (compare-and-set on relayed_at), so that
			// of several workers' relays only one publishes it again.
			now := p.now()
			claim := db.WithContext(ctx).Session(&gorm.Session{NewDB: true}).Set(internalKey, true).Model(&outboxRow{}).
				Where(clause.Eq{Column: clause.Column{Name: "id"}, Value: o.ID}).Where(due).
				Update("relayed_at", &now)
			if claim.Error != nil {
				return n, claim.Error
			}
			if claim.RowsAffected == 0 {
				continue // done, or claimed by another relay
			}
			if err := p.send(ctx, o); err != nil {
				return n, err
			}
			n++
		}
		if len(rows) < relayPage {
			return n, nil
		}
	}
}

// outboxOf selects the outbox row a message names: by its id, and by its
// table and row, since a database may give a rolled-back row's id to the
// next one (SQLite does), which must not be taken for the message's.
func outboxOf(ctx context.Context, db *gorm.DB, m workMessage) *gorm.DB {
	return db.WithContext(ctx).Session(&gorm.Session{NewDB: true}).Set(internalKey, true).Model(&outboxRow{}).
		Where(clause.Eq{Column: clause.Column{Name: "id"}, Value: m.Outbox}).
		Where(clause.Eq{Column: clause.Column{Name: "tbl"}, Value: m.Table}).
		Where(clause.Eq{Column: clause.Column{Name: "row_key"}, Value: m.Key})
}

// outboxVisible reports whether the message's outbox row exists and is
// committed, as far as this connection sees.
func outboxVisible(ctx context.Context, db *gorm.DB, m workMessage) (bool, error) {
	var n int64
	err := outboxOf(ctx, db, m).Count(&n).Error
	return n > 0, err
}

// outboxDone deletes the outbox row of a message whose work is done.
func outboxDone(ctx context.Context, db *gorm.DB, m workMessage) error {
	if m.Outbox == 0 {
		return nil
	}
	return outboxOf(ctx, db, m).Delete(&outboxRow{}).Error
}

// parseWork reads a queue message.
func parseWork(body []byte) (workMessage, error) {
	var m workMessage
	if err := json.Unmarshal(body, &m); err != nil || m.Table == "" || m.Key == "" {
		return m, fmt.Errorf("gormthumb: not a work message: %q", body)
	}
	return m, nil
}
