package gormthumb

// Regression tests for background thumbnails (README, "Background
// thumbnails"): the TestRow tests of promise_test.go whose write path goes
// through the outbox, the queue and Plugin.Work. Every wait is bounded; a
// worker runs with a short relay (RelayEvery/RelayAfter well under a
// second), since republishing lost messages may be part of a fix.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/mempubsub"
	mysqldriver "gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"
)

// pqEnv is an env whose plugin has a mem:// queue, and whose worker
// records what it reports.
type pqEnv struct {
	*env
	sub *pubsub.Subscription

	mu       sync.Mutex
	failures []WorkFailure
	dones    []WorkDone
}

// newPQEnv opens a database with cfg and the mem:// bucket, registers a
// plugin with a mem:// queue and migrates models.
func newPQEnv(t *testing.T, d dbBackend, cfg envConfig, models ...any) *pqEnv {
	t.Helper()
	topic := mempubsub.NewTopic()
	t.Cleanup(func() { topic.Shutdown(context.Background()) })
	sub := mempubsub.NewSubscription(topic, time.Minute)
	cfg.opts = append(cfg.opts, WithQueue(topic))
	e := newEnv(t, d, bucketBackends[0], cfg)
	e.migrate(models...)
	return &pqEnv{env: e, sub: sub}
}

// work runs Plugin.Work (opts.Models as given) until the returned stop is
// called (at the latest at cleanup, before the database is closed).
func (q *pqEnv) work(opts WorkOptions) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	opts.OnFailure = func(f WorkFailure) {
		q.mu.Lock()
		q.failures = append(q.failures, f)
		q.mu.Unlock()
	}
	opts.OnDone = func(d WorkDone) {
		q.mu.Lock()
		q.dones = append(q.dones, d)
		q.mu.Unlock()
	}
	t := q.t
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		if err := q.plugin.Work(ctx, q.db, q.sub, opts); err != nil {
			t.Errorf("Work: %v", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-returned:
			case <-time.After(30 * time.Second):
				t.Errorf("Work did not return within 30 s of its cancellation")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// reports returns the failures reported for table and row key.
func (q *pqEnv) reports(table, key string) []WorkFailure {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []WorkFailure
	for _, f := range q.failures {
		if f.Table == table && f.Key == key {
			out = append(out, f)
		}
	}
	return out
}

// outboxKeys lists the row keys of the outbox rows of table.
func (q *pqEnv) outboxKeys(table string) []string {
	q.t.Helper()
	var keys []string
	if err := q.db.Raw("SELECT row_key FROM gormthumb_outbox WHERE tbl = ? ORDER BY id", table).Scan(&keys).Error; err != nil {
		q.t.Fatalf("reading the outbox: %v", err)
	}
	return keys
}

// addOutbox inserts outbox rows (table, key) created an hour ago, whose
// message was never published: as a process killed between its commit
// and its publish leaves them.
func (q *pqEnv) addOutbox(table string, keys ...string) {
	q.t.Helper()
	rows := make([]outboxRow, len(keys))
	for i, k := range keys {
		rows[i] = outboxRow{Tbl: table, RowKey: k, CreatedAt: time.Now().Add(-time.Hour)}
	}
	if err := q.db.Session(&gorm.Session{NewDB: true}).CreateInBatches(&rows, 200).Error; err != nil {
		q.t.Fatalf("inserting outbox rows: %v", err)
	}
}

// insertListingBehindPlugin inserts a listings row with source src by raw
// SQL (no outbox row, no publish) and returns its id.
func (q *pqEnv) insertListingBehindPlugin(src ImageField) uint {
	q.t.Helper()
	if err := q.db.Exec("INSERT INTO listings (photo) VALUES (?)", src.Key).Error; err != nil {
		q.t.Fatal(err)
	}
	var id uint
	if err := q.db.Raw("SELECT id FROM listings WHERE photo = ?", src.Key).Scan(&id).Error; err != nil || id == 0 {
		q.t.Fatalf("reading the new row's id: %d, %v", id, err)
	}
	return id
}

// waitFor polls cond every 50 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// sized reports whether f is a thumbnail key of w×h (its size is in the key).
func sized(f ImageField, w, h int) bool {
	gw, gh, ok := f.Size()
	return ok && gw == w && gh == h
}

// cardOf reads the Card of listing id.
func (q *pqEnv) cardOf(id uint) ImageField {
	var l Listing
	q.db.First(&l, id)
	return l.Card
}

// waitCard waits (up to timeout) for listing id's Card to be a w×h
// thumbnail, and checks that it is in the bucket and decodes.
func (q *pqEnv) waitCard(id uint, w, h int, timeout time.Duration, what string) {
	q.t.Helper()
	if !waitFor(timeout, func() bool { return sized(q.cardOf(id), w, h) }) {
		q.mu.Lock()
		dones, failures := fmt.Sprintf("%+v", q.dones), fmt.Sprintf("%+v", q.failures)
		q.mu.Unlock()
		q.t.Fatalf("%s: listing %d's async Card is %q after %v, want a %dx%d thumbnail (outbox rows %q; work done %s; failures %s)",
			what, id, q.cardOf(id).Key, timeout, w, h, q.outboxKeys("listings"), dones, failures)
	}
	q.wantLiveThumb(what, q.cardOf(id).Key, w, h)
}

// fastRelay is a worker's relay that republishes lost messages within a
// fraction of a second.
var fastRelay = WorkOptions{RelayEvery: 100 * time.Millisecond, RelayAfter: 200 * time.Millisecond}

func withModels(opts WorkOptions, models ...any) WorkOptions {
	opts.Models = models
	return opts
}

// ---------------------------------------------------------------------------
// Row 4: an async save inside the caller's transaction.

// TestRow04AsyncSaveInCallerTransaction: an async save in the caller's
// db.Transaction, with a worker running that receives the save's message
// while the transaction is still open. The work must be done once the
// caller commits: the outbox row may be deleted only by work that saw the
// row's current source.
//
// PostgreSQL: the bug does not show there (the worker's DELETE does not see
// the uncommitted outbox row, which the relay then republishes after the
// commit), so this test passes on PostgreSQL on the buggy code; it runs
// there as a guard. On sqlite and MariaDB the worker waits on the row lock
// and then deletes the committed outbox row, losing the work.
func TestRow04AsyncSaveInCallerTransaction(t *testing.T) {
	eachDBCase(t, []string{"Create_in_transaction", "Save_in_transaction"}, func(t *testing.T, d dbBackend, name string) {
		q := newPQEnv(t, d, envConfig{}, &Listing{})
		// The relay leaves outbox rows alone for 2 s, longer than the
		// caller's transaction below stays open: the relay must not race
		// the worker for the row at the commit (which would redo the work
		// by chance), yet it redoes lost work well within the wait.
		stop := q.work(WorkOptions{Models: []any{&Listing{}}, RelayEvery: 100 * time.Millisecond, RelayAfter: 2 * time.Second})
		var l Listing
		var oldIcon ImageField
		if name == "Save_in_transaction" {
			l = Listing{Photo: q.put("r4/a.jpg", jpegBytes(t, 150, 300))}
			if err := q.db.Create(&l).Error; err != nil {
				t.Fatal(err)
			}
			q.waitCard(l.ID, 100, 200, 10*time.Second, "setup")
			oldIcon = l.Icon
		}
		src := q.put("r4/b.jpg", jpegBytes(t, 300, 150)) // Card 200x100
		err := q.db.Transaction(func(tx *gorm.DB) error {
			if name == "Create_in_transaction" {
				l = Listing{Photo: src}
				if err := tx.Create(&l).Error; err != nil {
					return err
				}
			} else {
				l.Photo = src
				if err := tx.Save(&l).Error; err != nil {
					return err
				}
			}
			// The worker receives the save's message while this
			// transaction is open.
			time.Sleep(time.Second)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		q.waitCard(l.ID, 200, 100, 10*time.Second, "after the caller's commit")
		if !waitFor(5*time.Second, func() bool { return len(q.outboxKeys("listings")) == 0 }) {
			t.Fatalf("outbox rows left after the work: %q", q.outboxKeys("listings"))
		}
		stop()
		// The sync Icon the Save superseded inside the caller's transaction
		// is Sweep's (README: what the caller's commit orphans); nothing
		// else may be left.
		r, err := q.plugin.Sweep(q.ctx, q.db, SweepOptions{Models: []any{&Listing{}}, DryRun: true, MinAge: -1})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range r.Orphans {
			if k != oldIcon.Key {
				t.Fatalf("orphaned thumbnails: %q (the superseded icon %q is expected)", r.Orphans, oldIcon.Key)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// Row 6: outbox rows no listed model can do.

// TestRow06OutboxRowsOfUnknownTablesEnd: outbox rows whose table is not in
// WorkOptions.Models (a model the worker does not list, or a table since
// renamed) must end: each is reported once (or done) and leaves the outbox,
// never reported again every relay round; and however many there are, they
// cannot keep a listed model's lost message from being relayed and done.
func TestRow06OutboxRowsOfUnknownTablesEnd(t *testing.T) {
	eachDBCase(t, []string{"unlisted_model", "renamed_table", "1000_stuck_rows_ahead"}, func(t *testing.T, d dbBackend, name string) {
		q := newPQEnv(t, d, envConfig{}, &Listing{}, &Banner{})
		switch name {
		case "unlisted_model", "renamed_table":
			table := "banners"
			var keys []string
			if name == "unlisted_model" {
				// Saves of Banner, which this worker does not list.
				for i := range 3 {
					b := Banner{Image: q.put(fmt.Sprintf("r6/%d.jpg", i), jpegBytes(t, 200, 100))}
					if err := q.db.Create(&b).Error; err != nil {
						t.Fatal(err)
					}
					keys = append(keys, fmt.Sprint(b.ID))
				}
			} else {
				// Work recorded for a table since renamed (listings was
				// old_listings): no model names it any more.
				table, keys = "old_listings", []string{"1", "2", "3"}
				q.addOutbox(table, keys...)
			}
			stop := q.work(WorkOptions{Models: []any{&Listing{}}, RelayEvery: 100 * time.Millisecond, RelayAfter: 50 * time.Millisecond})
			settled := func() bool {
				left := q.outboxKeys(table)
				for _, k := range keys {
					if len(q.reports(table, k)) == 0 && slices.Contains(left, k) {
						return false
					}
				}
				return true
			}
			if !waitFor(10*time.Second, settled) {
				t.Fatalf("%s rows neither reported nor gone after 10 s: outbox %q", table, q.outboxKeys(table))
			}
			time.Sleep(1500 * time.Millisecond) // fifteen relay rounds more
			stop()
			for _, k := range keys {
				if n := len(q.reports(table, k)); n > 1 {
					t.Errorf("%s %s reported %d times in 1.5 s (its outbox row kept: %v)", table, k, n, slices.Contains(q.outboxKeys(table), k))
				}
			}
			for _, k := range q.outboxKeys(table) {
				if len(q.reports(table, k)) == 0 {
					t.Errorf("%s outbox row %s kept and never reported", table, k)
				}
			}
		case "1000_stuck_rows_ahead":
			// 1000 rows of a table no model names, then a listed model's
			// row whose message was lost: the relay must reach it. (The
			// relay runs less often than RelayAfter, as with the defaults,
			// 30 s and 10 s.)
			stuck := make([]string, 1000)
			for i := range stuck {
				stuck[i] = fmt.Sprint(i + 1)
			}
			q.addOutbox("gone_table", stuck...)
			id := q.insertListingBehindPlugin(q.put("r6/lost.jpg", jpegBytes(t, 300, 150)))
			q.addOutbox("listings", fmt.Sprint(id))
			q.work(WorkOptions{Models: []any{&Listing{}}, RelayEvery: 300 * time.Millisecond, RelayAfter: time.Millisecond})
			q.waitCard(id, 200, 100, 20*time.Second, "lost message behind 1000 stuck outbox rows")
		}
	})
}

// ---------------------------------------------------------------------------
// Row 7: MySQL/MariaDB without parseTime.

// TestRow07MySQLWithoutParseTime: with the README's own DSN (no
// parseTime=true) the plugin must work (or Use must fail saying so): a
// lost publish is relayed and done, and the failures Work recorded are read
// back by Regenerate's dry run. Applies to MySQL/MariaDB only: sqlite and
// PostgreSQL have no parseTime setting (their drivers always scan times),
// so it runs on MariaDB alone.
func TestRow07MySQLWithoutParseTime(t *testing.T) {
	var my dbBackend
	for _, d := range dbBackends {
		if d.name == "mysql" {
			my = d
		}
	}
	if my.open == nil {
		t.Fatal("no mysql backend in dbBackends")
	}
	// Opens the test database again without parseTime.
	noParseTime := dbBackend{name: "mysql-no-parseTime", open: func(t *testing.T, cfg *gorm.Config) *gorm.DB {
		first := my.open(t, &gorm.Config{Logger: logger.Discard}) // creates the database, dropped at cleanup
		mc, err := mysql.ParseDSN(first.Dialector.(*mysqldriver.Dialector).Config.DSN)
		if err != nil {
			t.Fatal(err)
		}
		if sqlDB, err := first.DB(); err == nil {
			sqlDB.Close()
		}
		mc.ParseTime = false
		db, err := gorm.Open(mysqldriver.Open(mc.FormatDSN()), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}}
	// useOrAccept opens the database and registers a plugin with a
	// mem:// queue; it reports false if Use refused, clearly, to run
	// without parseTime (which the promise allows).
	useOrAccept := func(t *testing.T) (*pqEnv, bool) {
		db := noParseTime.open(t, &gorm.Config{Logger: logger.Discard})
		if sqlDB, err := db.DB(); err == nil {
			t.Cleanup(func() { sqlDB.Close() })
		}
		topic := mempubsub.NewTopic()
		t.Cleanup(func() { topic.Shutdown(context.Background()) })
		sub := mempubsub.NewSubscription(topic, time.Minute)
		bucket := bucketBackends[0].open(t)
		t.Cleanup(func() { bucket.Close() })
		p := New(bucket, WithQueue(topic))
		if err := db.Use(p); err != nil {
			if strings.Contains(strings.ToLower(err.Error()), "parsetime") {
				t.Logf("Use refuses a DSN without parseTime, saying so: %v", err)
				return nil, false
			}
			t.Fatalf("Use without parseTime failed without saying why: %v", err)
		}
		e := &env{t: t, ctx: context.Background(), db: db, bucket: bucket, plugin: p, name: "mysql-no-parseTime+mem"}
		return &pqEnv{env: e, sub: sub}, true
	}
	t.Run("mysql", func(t *testing.T) {
		t.Run("lost_publish_relayed", func(t *testing.T) {
			q, ok := useOrAccept(t)
			if !ok {
				return
			}
			q.migrate(&Listing{})
			id := q.insertListingBehindPlugin(q.put("r7/lost.jpg", jpegBytes(t, 300, 150)))
			q.addOutbox("listings", fmt.Sprint(id))
			q.work(withModels(fastRelay, &Listing{}))
			q.waitCard(id, 200, 100, 10*time.Second, "lost publish, without parseTime")
		})
		t.Run("recorded_failure_read_back", func(t *testing.T) {
			q, ok := useOrAccept(t)
			if !ok {
				return
			}
			q.migrate(&Banner{})
			whole := jpegBytes(t, 200, 100)
			b := Banner{Image: q.put("r7/cut.jpg", whole[:len(whole)/2])} // its header passes; its pixels do not
			if err := q.db.Create(&b).Error; err != nil {
				t.Fatal(err)
			}
			stop := q.work(withModels(fastRelay, &Banner{}))
			if !waitFor(10*time.Second, func() bool { return len(q.reports("banners", fmt.Sprint(b.ID))) > 0 }) {
				t.Fatal("the cut source's failure was never reported")
			}
			stop()
			rep, err := Regenerate(q.ctx, q.db, &Banner{}, RegenerateOptions{DryRun: true})
			if err != nil {
				t.Fatalf("Regenerate dry run without parseTime: %v", err)
			}
			if len(rep.Failed) != 1 || !errors.Is(rep.Failed[0].Err, ErrNotImage) {
				t.Fatalf("Regenerate dry run without parseTime: failed %v, want the recorded ErrNotImage", rep.Failed)
			}
		})
	})
}

// ---------------------------------------------------------------------------
// Row 8: two async sources, one of them not an image.

// PrTwoAsync has two sources, each with an async thumbnail.
type PrTwoAsync struct {
	ID         uint
	Front      ImageField
	FrontThumb ImageField `thumb:"100x100,source=Front,async"`
	Back       ImageField
	BackThumb  ImageField `thumb:"100x100,source=Back,async"`
}

// TestRow08TwoAsyncSourcesOneBad: a row whose two async sources are one an
// image, the other not: each source group is done or failed on its own:
// the good one's thumbnail is made, the bad one is reported once and left
// empty, and the outbox row ends.
func TestRow08TwoAsyncSourcesOneBad(t *testing.T) {
	eachDBCase(t, []string{"bad_first", "bad_second"}, func(t *testing.T, d dbBackend, name string) {
		q := newPQEnv(t, d, envConfig{}, &PrTwoAsync{})
		good := q.put("r8/good.jpg", jpegBytes(t, 200, 100))
		bad := q.put("r8/bad.jpg", []byte("not an image"))
		r := PrTwoAsync{Front: bad, Back: good}
		badField, goodThumb := "FrontThumb", func(r PrTwoAsync) ImageField { return r.BackThumb }
		if name == "bad_second" {
			r = PrTwoAsync{Front: good, Back: bad}
			badField, goodThumb = "BackThumb", func(r PrTwoAsync) ImageField { return r.FrontThumb }
		}
		if err := q.db.Create(&r).Error; err != nil {
			t.Fatal(err)
		}
		stop := q.work(withModels(fastRelay, &PrTwoAsync{}))
		row := func() PrTwoAsync {
			var got PrTwoAsync
			q.db.First(&got, r.ID)
			return got
		}
		key := fmt.Sprint(r.ID)
		if !waitFor(10*time.Second, func() bool { return sized(goodThumb(row()), 100, 50) }) {
			t.Fatalf("the good source's async thumbnail was never made: row %+v, failures %+v, outbox %q",
				row(), q.reports("pr_two_asyncs", key), q.outboxKeys("pr_two_asyncs"))
		}
		q.wantLiveThumb("the good source's thumbnail", goodThumb(row()).Key, 100, 50)
		if !waitFor(5*time.Second, func() bool { return len(q.reports("pr_two_asyncs", key)) > 0 }) {
			t.Fatal("the bad source was never reported")
		}
		if !waitFor(5*time.Second, func() bool { return len(q.outboxKeys("pr_two_asyncs")) == 0 }) {
			t.Fatalf("outbox rows left: %q", q.outboxKeys("pr_two_asyncs"))
		}
		time.Sleep(500 * time.Millisecond) // relay rounds that might report it again
		stop()
		fs := q.reports("pr_two_asyncs", key)
		if len(fs) != 1 || fs[0].Field != badField || !errors.Is(fs[0].Err, ErrNotImage) {
			t.Fatalf("failures reported: %+v, want one ErrNotImage for %s", fs, badField)
		}
		if got := row(); (badField == "FrontThumb" && got.FrontThumb.Key != "") || (badField == "BackThumb" && got.BackThumb.Key != "") {
			t.Fatalf("the bad source has a thumbnail: %+v", got)
		}
		q.wantNoOrphansFor(&PrTwoAsync{})
	})
}

// ---------------------------------------------------------------------------
// Row 9: Create from a map, with an async thumbnail.

// TestRow09CreateFromMapEnqueues: Model(&Listing{}).Create(map) makes the
// async thumbnail in the background like a Create of a struct (GORM puts
// the new id in the map).
func TestRow09CreateFromMapEnqueues(t *testing.T) {
	eachDBCase(t, []string{"Create_map"}, func(t *testing.T, d dbBackend, name string) {
		q := newPQEnv(t, d, envConfig{}, &Listing{})
		q.work(withModels(fastRelay, &Listing{}))
		m := map[string]any{"photo": q.put("r9/a.jpg", jpegBytes(t, 300, 150))}
		if err := q.db.Model(&Listing{}).Create(m).Error; err != nil {
			t.Fatal(err)
		}
		var id uint
		if err := q.db.Raw("SELECT id FROM listings").Scan(&id).Error; err != nil || id == 0 {
			t.Fatalf("the created row: %d, %v", id, err)
		}
		var l Listing
		q.db.First(&l, id)
		q.wantLiveThumb("the sync Icon (made by the Create)", l.Icon.Key, 32, 16)
		q.waitCard(id, 200, 100, 10*time.Second, "Create from a map")
	})
}

// ---------------------------------------------------------------------------
// Row 11: a plain Save of a partly loaded struct, async group with a
// placeholder.

// PrAsyncHolder has an async-only source group with a placeholder: Work
// makes both.
type PrAsyncHolder struct {
	ID    uint
	Name  string
	Photo ImageField
	Card  ImageField `thumb:"100x100,source=Photo,async"`
	Hash  string     `placeholder:"source=Photo"`
}

// TestRow11PartialSaveKeepsAsyncPlaceholder: a plain Save of a struct
// loaded with Select(some columns) (no thumbnail, no placeholder), of a row
// whose async group has a placeholder: the placeholder must stay right (or
// be remade), the thumbnail stay.
func TestRow11PartialSaveKeepsAsyncPlaceholder(t *testing.T) {
	eachDBCase(t, []string{"Select_then_Save"}, func(t *testing.T, d dbBackend, name string) {
		q := newPQEnv(t, d, envConfig{}, &PrAsyncHolder{})
		stop := q.work(withModels(fastRelay, &PrAsyncHolder{}))
		h := PrAsyncHolder{Name: "h", Photo: q.put("r11/a.jpg", jpegBytes(t, 200, 100))}
		if err := q.db.Create(&h).Error; err != nil {
			t.Fatal(err)
		}
		row := func() PrAsyncHolder {
			var got PrAsyncHolder
			q.db.First(&got, h.ID)
			return got
		}
		if !waitFor(10*time.Second, func() bool { r := row(); return r.Card.Key != "" && r.Hash != "" }) {
			t.Fatalf("setup: async card and placeholder never made: %+v", row())
		}
		orig := row()
		var p PrAsyncHolder
		if err := q.db.Select("id", "name", "photo").First(&p, h.ID).Error; err != nil {
			t.Fatal(err)
		}
		p.Name = "renamed"
		if err := q.db.Save(&p).Error; err != nil {
			t.Fatal(err)
		}
		if !waitFor(10*time.Second, func() bool { return row().Hash == orig.Hash }) {
			t.Fatalf("placeholder after the Save of a partly loaded struct: %q, want %q (outbox %q)", row().Hash, orig.Hash, q.outboxKeys("pr_async_holders"))
		}
		got := row()
		if got.Name != "renamed" || got.Photo != orig.Photo {
			t.Fatalf("row %+v", got)
		}
		q.wantLiveThumb("the row's card", got.Card.Key, 100, 50)
		stop()
		q.wantNoOrphansFor(&PrAsyncHolder{})
	})
}

// ---------------------------------------------------------------------------
// Row 12: async set and placeholder, then a source that fails.

// PrAsyncSet has an async set of widths and a placeholder of one source.
type PrAsyncSet struct {
	ID    uint
	Photo ImageField
	Set   ImageField `thumb:"widths=50|100,source=Photo,async"`
	Hash  string     `placeholder:"source=Photo"`
}

// TestRow12FailedSourceClearsPlaceholderToo: when a new source of an async
// group with a set and a placeholder can never be made, the earlier
// picture's thumbnails and its BlurHash are cleared together.
func TestRow12FailedSourceClearsPlaceholderToo(t *testing.T) {
	eachDBCase(t, []string{"new_source_not_an_image"}, func(t *testing.T, d dbBackend, name string) {
		q := newPQEnv(t, d, envConfig{}, &PrAsyncSet{})
		stop := q.work(withModels(fastRelay, &PrAsyncSet{}))
		s := PrAsyncSet{Photo: q.put("r12/a.jpg", jpegBytes(t, 200, 100))}
		if err := q.db.Create(&s).Error; err != nil {
			t.Fatal(err)
		}
		row := func() PrAsyncSet {
			var got PrAsyncSet
			q.db.First(&got, s.ID)
			return got
		}
		if !waitFor(10*time.Second, func() bool { r := row(); return r.Set.Key != "" && r.Hash != "" }) {
			t.Fatalf("setup: async set and placeholder never made: %+v", row())
		}
		s = row()
		s.Photo = q.put("r12/b.jpg", []byte("not an image"))
		if err := q.db.Save(&s).Error; err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprint(s.ID)
		if !waitFor(10*time.Second, func() bool { return len(q.reports("pr_async_sets", key)) > 0 }) {
			t.Fatalf("the failing source was never reported: row %+v", row())
		}
		if fs := q.reports("pr_async_sets", key); !errors.Is(fs[0].Err, ErrNotImage) {
			t.Fatalf("reported %+v, want ErrNotImage", fs)
		}
		if !waitFor(5*time.Second, func() bool { r := row(); return r.Set.Key == "" && r.Hash == "" }) {
			r := row()
			t.Fatalf("after the source failed: set %q, placeholder %q: want both cleared", r.Set.Key, r.Hash)
		}
		stop()
		q.wantNoOrphansFor(&PrAsyncSet{})
	})
}

// ---------------------------------------------------------------------------
// Row 13: the outbox and the database's naming; database errors.

// TestRow13OutboxFollowsNamingNoStorageError: with a NamingStrategy that
// keeps column names' case (NoLowerCase), async saves must work (the outbox
// follows the database's naming) and be done by Work; and an error of the
// database while recording background work is the database's, never
// reported as a bucket error (ErrStorage).
func TestRow13OutboxFollowsNamingNoStorageError(t *testing.T) {
	eachDBCase(t, []string{"NoLowerCase_async_save", "outbox_table_missing"}, func(t *testing.T, d dbBackend, name string) {
		switch name {
		case "NoLowerCase_async_save":
			q := newPQEnv(t, d, envConfig{gorm: gorm.Config{NamingStrategy: schema.NamingStrategy{NoLowerCase: true}}}, &Listing{})
			l := Listing{Photo: q.put("r13/a.jpg", jpegBytes(t, 300, 150))}
			if err := q.db.Create(&l).Error; err != nil {
				if errors.Is(err, ErrStorage) {
					t.Errorf("a database error reported as a bucket error (ErrStorage): %v", err)
				}
				t.Fatalf("async Create with NoLowerCase naming: %v", err)
			}
			q.work(withModels(fastRelay, &Listing{}))
			if !waitFor(10*time.Second, func() bool {
				var got Listing
				q.db.First(&got, l.ID)
				return sized(got.Card, 200, 100)
			}) {
				t.Fatal("the async Card was never made")
			}
		case "outbox_table_missing":
			q := newPQEnv(t, d, envConfig{}, &Listing{})
			if err := q.db.Exec("DROP TABLE gormthumb_outbox").Error; err != nil {
				t.Fatal(err)
			}
			err := q.db.Create(&Listing{Photo: q.put("r13/a.jpg", jpegBytes(t, 300, 150))}).Error
			if err == nil {
				t.Fatal("an async Create succeeded with no outbox table to record its work in")
			}
			if errors.Is(err, ErrStorage) {
				t.Fatalf("a database error reported as a bucket error (ErrStorage): %v", err)
			}
			if n := q.count(&Listing{}); n != 0 {
				t.Fatalf("%d rows written by the failed Create", n)
			}
			q.wantNoOrphansFor(&Listing{})
		}
	})
}
