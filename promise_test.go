package gormthumb

// Regression tests for the lifecycle promise (README, "Lifecycle"): one test
// per reported way a write path broke it, TestRow01 to TestRow13, named
// after the row of the report they pin. Each runs on every database of
// dbBackends (sqlite always; PostgreSQL and MariaDB when their variable is
// set) with the mem:// bucket, one fresh database per sub-case, and asserts
// what the promise says must happen, through the public API, the rows and
// the bucket. The background ones (async thumbnails, Plugin.Work) are in
// promise_queue_test.go.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	mysqldriver "gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// ---------------------------------------------------------------------------
// Helpers shared by the TestRow tests.

// eachDBCase runs every case on every database: one subtest per database
// (side by side), one per case within it, each case with a database and a
// mem:// bucket of its own.
func eachDBCase(t *testing.T, cases []string, fn func(t *testing.T, d dbBackend, name string)) {
	for _, d := range dbBackends {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range cases {
				t.Run(c, func(t *testing.T) { fn(t, d, c) })
			}
		})
	}
}

// wantLiveThumb fails unless key is not empty, is in the bucket and
// decodes as a w×h JPEG: a row's thumbnail that is really there and is of
// the source the row holds (sizes differ per source in these tests).
func (e *env) wantLiveThumb(what, key string, w, h int) {
	e.t.Helper()
	if key == "" {
		e.t.Fatalf("%s: no thumbnail key (want a %dx%d thumbnail)", what, w, h)
	}
	if !e.exists(key) {
		e.t.Fatalf("%s: the row points at %q, which is not in the bucket (a deleted thumbnail)", what, key)
	}
	e.wantThumb(key, w, h, "jpeg")
}

// rowOfProduct reads the Product row id.
func (e *env) rowOfProduct(id uint) Product {
	e.t.Helper()
	var got Product
	if err := e.db.First(&got, id).Error; err != nil {
		e.t.Fatalf("reading the row: %v", err)
	}
	return got
}

// callNoPanic runs fn and turns a panic into an error.
func callNoPanic(fn func() error) (err error, panicked any) {
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	return fn(), nil
}

// boundedWrite runs one write of row id's name on db, within timeout, and
// returns its error (a timeout is an error too): a transaction left open
// by an earlier statement makes it fail ("database is locked" on sqlite) or
// wait for a lock it never gets (PostgreSQL, MariaDB).
func boundedWrite(db *gorm.DB, id uint, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res := make(chan error, 1)
	go func() {
		res <- db.WithContext(ctx).Model(&Product{}).Where("id = ?", id).Update("name", "after").Error
	}()
	select {
	case err := <-res:
		return err
	case <-time.After(timeout + 5*time.Second):
		return fmt.Errorf("the write did not return within %v", timeout+5*time.Second)
	}
}

// releaseLeakedTx makes sure, at the end of the test, that no server
// connection of db's test schema or database is left holding locks (a
// transaction a panic left open, never ended), so that dropping the schema
// or database at cleanup cannot hang: it terminates them from an admin
// connection. Call it after opening db, so that it runs before the drop.
// sqlite needs nothing: its file goes with the test's temporary directory.
func releaseLeakedTx(t *testing.T, db *gorm.DB) {
	switch d := db.Dialector.(type) {
	case *postgres.Dialector:
		schema := ""
		for _, kv := range strings.Fields(d.Config.DSN) {
			if v, ok := strings.CutPrefix(kv, "search_path="); ok {
				schema = v
			}
		}
		t.Cleanup(func() {
			admin, err := sql.Open("pgx", os.Getenv(postgresDSNVar))
			if err != nil {
				return
			}
			defer admin.Close()
			admin.Exec(`SELECT pg_terminate_backend(l.pid) FROM pg_locks l
				JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE n.nspname = $1 AND l.pid <> pg_backend_pid()`, schema)
		})
	case *mysqldriver.Dialector:
		mc, err := mysql.ParseDSN(d.Config.DSN)
		if err != nil {
			return
		}
		name := mc.DBName
		mc.DBName = ""
		t.Cleanup(func() {
			admin, err := sql.Open("mysql", mc.FormatDSN())
			if err != nil {
				return
			}
			defer admin.Close()
			rows, err := admin.Query("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", name)
			if err != nil {
				return
			}
			var ids []int64
			for rows.Next() {
				var id int64
				if rows.Scan(&id) == nil {
					ids = append(ids, id)
				}
			}
			rows.Close()
			for _, id := range ids {
				admin.Exec(fmt.Sprintf("KILL %d", id))
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Row 1: a stale struct written back by a path other than a plain Save.

// TestRow01StaleStructOtherWritePaths: a row is loaded; another request
// gives it a new source (its old thumbnail is deleted); then the stale
// struct is written back by Omit(...).Save, Model(&p).Updates(&p) or
// Select(...).Save. Last writer wins, as in GORM: the row goes back to the
// stale source, but no path may store a thumbnail key the plugin did not
// just make or find in the row under its lock: the row's thumbnail must be
// a live thumbnail of the source it holds, and the other request's
// thumbnail, now superseded, must be gone.
func TestRow01StaleStructOtherWritePaths(t *testing.T) {
	saves := map[string]func(db *gorm.DB, p *Product) error{
		"Omit_Name_Save":         func(db *gorm.DB, p *Product) error { return db.Omit("Name").Save(p).Error },
		"Model_Updates_struct":   func(db *gorm.DB, p *Product) error { return db.Model(p).Updates(p).Error },
		"Select_three_then_Save": func(db *gorm.DB, p *Product) error { return db.Select("Name", "Cover", "CoverThumb").Save(p).Error },
	}
	eachDBCase(t, []string{"Omit_Name_Save", "Model_Updates_struct", "Select_three_then_Save"}, func(t *testing.T, d dbBackend, name string) {
		e := newEnv(t, d, bucketBackends[0], envConfig{})
		e.migrate(&Product{})
		a := e.put("r1/a.jpg", jpegBytes(t, 200, 100)) // thumbnail 110x55
		b := e.put("r1/b.jpg", jpegBytes(t, 100, 200)) // thumbnail 75x150
		p := Product{Name: "p", Cover: a}
		if err := e.db.Create(&p).Error; err != nil {
			t.Fatal(err)
		}
		var stale Product
		if err := e.db.First(&stale, p.ID).Error; err != nil {
			t.Fatal(err)
		}
		// Another request changes the source: the old thumbnail is deleted.
		p.Cover = b
		if err := e.db.Save(&p).Error; err != nil {
			t.Fatal(err)
		}
		if e.exists(stale.CoverThumb.Key) {
			t.Fatalf("setup: the superseded thumbnail %q was not deleted", stale.CoverThumb.Key)
		}
		// The stale struct is written back.
		stale.Name = "stale"
		if err := saves[name](e.db, &stale); err != nil {
			t.Fatalf("%s of the stale struct: %v", name, err)
		}
		got := e.rowOfProduct(p.ID)
		if got.Cover != a {
			t.Fatalf("row's source %q, want the stale struct's %q (last writer wins)", got.Cover.Key, a.Key)
		}
		e.wantLiveThumb("row's thumbnail after "+name, got.CoverThumb.Key, 110, 55)
		e.wantNoOrphansFor(&Product{})
	})
}

// ---------------------------------------------------------------------------
// Row 2: a conditional Save or Updates that matches no row.

// TestRow02ConditionFailsNothingChanges: a Save or Updates with a new
// source and a condition of the caller's (optimistic locking) that does
// not hold updates 0 rows. Then nothing of the row may change (its source
// and its thumbnail stay, the thumbnail blob stays), and the thumbnails
// made for the new source are deleted.
func TestRow02ConditionFailsNothingChanges(t *testing.T) {
	writes := map[string]func(db *gorm.DB, p *Product) *gorm.DB{
		"Where_Select_star_Save": func(db *gorm.DB, p *Product) *gorm.DB { return db.Where("name = ?", "version-1").Select("*").Save(p) },
		"Model_Where_Select_star_Updates": func(db *gorm.DB, p *Product) *gorm.DB {
			return db.Model(p).Where("name = ?", "version-1").Select("*").Updates(p)
		},
	}
	eachDBCase(t, []string{"Where_Select_star_Save", "Model_Where_Select_star_Updates"}, func(t *testing.T, d dbBackend, name string) {
		e := newEnv(t, d, bucketBackends[0], envConfig{})
		e.migrate(&Product{})
		a := e.put("r2/a.jpg", jpegBytes(t, 200, 100))
		p := Product{Name: "version-2", Cover: a}
		if err := e.db.Create(&p).Error; err != nil {
			t.Fatal(err)
		}
		before := p
		p.Cover = e.put("r2/b.jpg", jpegBytes(t, 100, 200))
		res := writes[name](e.db, &p)
		if res.Error != nil {
			t.Fatalf("%s: %v (GORM reports no error when the condition matches no row)", name, res.Error)
		}
		if res.RowsAffected != 0 {
			t.Fatalf("%s: %d rows affected, want 0 (the condition does not hold)", name, res.RowsAffected)
		}
		got := e.rowOfProduct(p.ID)
		if got.Cover != before.Cover || got.CoverThumb != before.CoverThumb || got.Name != before.Name {
			t.Fatalf("0 rows affected, yet the row changed:\n got %+v\nwant %+v", got, before)
		}
		e.wantLiveThumb("row's thumbnail after the failed "+name, got.CoverThumb.Key, 110, 55)
		e.wantNoOrphansFor(&Product{})
	})
}

// ---------------------------------------------------------------------------
// Row 3: writes of a model given by value.

// TestRow03ValueModelsNoPanic: db.Save(p) of a value and
// db.Model(Product{ID: id}).Update("cover", k) both succeed in GORM
// without the plugin. With it they must either do the same (with a live
// thumbnail of the new source) or fail with a typed error before any write,
// never panic, and never leave a transaction open: a later write from the
// same db must succeed at once.
func TestRow03ValueModelsNoPanic(t *testing.T) {
	writes := map[string]func(db *gorm.DB, p Product, src ImageField) error{
		"Save_value": func(db *gorm.DB, p Product, src ImageField) error {
			p.Cover = src
			return db.Save(p).Error
		},
		"Model_value_Update": func(db *gorm.DB, p Product, src ImageField) error {
			return db.Model(Product{ID: p.ID}).Update("cover", src).Error
		},
	}
	eachDBCase(t, []string{"Save_value", "Model_value_Update"}, func(t *testing.T, d dbBackend, name string) {
		e := newEnv(t, d, bucketBackends[0], envConfig{})
		releaseLeakedTx(t, e.db)
		e.migrate(&Product{})
		a := e.put("r3/a.jpg", jpegBytes(t, 200, 100))
		b := e.put("r3/b.jpg", jpegBytes(t, 100, 200))
		p := Product{Name: "p", Cover: a}
		if err := e.db.Create(&p).Error; err != nil {
			t.Fatal(err)
		}
		err, panicked := callNoPanic(func() error { return writes[name](e.db, p, b) })
		if panicked != nil {
			t.Errorf("%s panicked: %v", name, panicked)
		}
		// Whatever happened, the db must still take writes: no
		// transaction may have been left open.
		if werr := boundedWrite(e.db, p.ID, 5*time.Second); werr != nil {
			t.Fatalf("a later write from the same db failed (a transaction left open by %s): %v", name, werr)
		}
		if panicked != nil {
			return
		}
		got := e.rowOfProduct(p.ID)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("%s failed with an untyped error: %v", name, err)
			}
			if got.Cover != a || got.CoverThumb != p.CoverThumb {
				t.Fatalf("%s failed (%v) after writing: row %+v", name, err, got)
			}
			e.wantLiveThumb("row's thumbnail", got.CoverThumb.Key, 110, 55)
		} else {
			if got.Cover != b {
				t.Fatalf("%s: row's source %q, want %q", name, got.Cover.Key, b.Key)
			}
			e.wantLiveThumb("row's thumbnail after "+name, got.CoverThumb.Key, 75, 150)
		}
		e.wantNoOrphansFor(&Product{})
	})
}

// ---------------------------------------------------------------------------
// Row 5: a BeforeSave hook that changes the source of an up-to-date struct.

// PrHooked's BeforeSave hook sets the source to Next when Next is set.
type PrHooked struct {
	ID         uint
	Name       string
	Cover      ImageField
	CoverThumb ImageField `thumb:"110x150,source=Cover"`
	Next       string     `gorm:"-"`
}

func (h *PrHooked) BeforeSave(*gorm.DB) error {
	if h.Next != "" {
		h.Cover, h.Next = ImageField{Key: h.Next}, ""
	}
	return nil
}

// TestRow05HookChangesSourceOfFreshSave: a plain Save of a struct whose
// thumbnail is up to date, whose BeforeSave hook changes the source: the
// row must end with the thumbnail of the source it ends with (as Create
// does), and the old thumbnail must be gone.
func TestRow05HookChangesSourceOfFreshSave(t *testing.T) {
	eachDBCase(t, []string{"plain_Save", "Save_with_new_name"}, func(t *testing.T, d dbBackend, name string) {
		e := newEnv(t, d, bucketBackends[0], envConfig{})
		e.migrate(&PrHooked{})
		a := e.put("r5/a.jpg", jpegBytes(t, 200, 100))
		b := e.put("r5/b.jpg", jpegBytes(t, 100, 200))
		h := PrHooked{Name: "h", Cover: a}
		if err := e.db.Create(&h).Error; err != nil {
			t.Fatal(err)
		}
		var p PrHooked
		if err := e.db.First(&p, h.ID).Error; err != nil {
			t.Fatal(err)
		}
		p.Next = b.Key
		if name == "Save_with_new_name" {
			p.Name = "renamed"
		}
		if err := e.db.Save(&p).Error; err != nil {
			t.Fatal(err)
		}
		var got PrHooked
		if err := e.db.First(&got, h.ID).Error; err != nil {
			t.Fatal(err)
		}
		if got.Cover != b {
			t.Fatalf("setup: the hook's source was not saved: row %+v", got)
		}
		if got.CoverThumb == h.CoverThumb {
			t.Fatalf("the row holds the hook's source %q with the old source's thumbnail %q", got.Cover.Key, got.CoverThumb.Key)
		}
		e.wantLiveThumb("row's thumbnail (the hook's source is 100x200)", got.CoverThumb.Key, 75, 150)
		e.wantNoOrphansFor(&PrHooked{})
	})
}

// ---------------------------------------------------------------------------
// Row 10: Sweep and upload prefixes that start with a date part.

// PrDatedYM and PrDatedY write their thumbnails under upload prefixes that
// start with a date part.
type PrDatedYM struct {
	ID    uint
	Cover ImageField
	Thumb ImageField `thumb:"50x50,source=Cover" upload:"%Y/%m"`
}

type PrDatedY struct {
	ID    uint
	Cover ImageField
	Thumb ImageField `thumb:"50x50,source=Cover" upload:"%Y"`
}

// TestRow10SweepDatePrefix: Sweep must find every orphan the plugin could
// have written, also under a thumb field's upload prefix that starts with a
// date part (%Y/%m, %Y), and still keep what a row references and every
// original.
func TestRow10SweepDatePrefix(t *testing.T) {
	eachDBCase(t, []string{"prefix_Y_m", "prefix_Y"}, func(t *testing.T, d dbBackend, name string) {
		e := newEnv(t, d, bucketBackends[0], envConfig{})
		tag := "%Y/%m"
		var model any = &PrDatedYM{}
		create := func(src ImageField) (uint, string) {
			r := PrDatedYM{Cover: src}
			if err := e.db.Create(&r).Error; err != nil {
				t.Fatal(err)
			}
			return r.ID, r.Thumb.Key
		}
		if name == "prefix_Y" {
			tag, model = "%Y", &PrDatedY{}
			create = func(src ImageField) (uint, string) {
				r := PrDatedY{Cover: src}
				if err := e.db.Create(&r).Error; err != nil {
					t.Fatal(err)
				}
				return r.ID, r.Thumb.Key
			}
		}
		e.migrate(model)
		srcA := e.put("r10/a.jpg", jpegBytes(t, 200, 100))
		srcB := e.put("r10/b.jpg", jpegBytes(t, 100, 200))
		idA, orphan := create(srcA)
		_, kept := create(srcB)
		dated := regexp.MustCompile(`^[0-9]{4}/`)
		if !dated.MatchString(orphan) || !dated.MatchString(kept) {
			t.Fatalf("setup: thumbnails %q, %q not under the dated prefix", orphan, kept)
		}
		e.wantThumb(orphan, 50, 25, "jpeg")
		// The row stops referencing its thumbnail behind the plugin's
		// back (as a process killed after its commit leaves it), with SQL
		// of our own: no GORM update writes a thumbnail column.
		table := "pr_dated_yms"
		if name == "prefix_Y" {
			table = "pr_dated_ies"
		}
		if err := e.db.Exec("UPDATE "+table+" SET thumb = NULL WHERE id = ?", idA).Error; err != nil {
			t.Fatal(err)
		}

		r, err := e.plugin.Sweep(e.ctx, e.db, SweepOptions{Models: []any{model}, DryRun: true, MinAge: -1})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(r.Orphans) != fmt.Sprint([]string{orphan}) {
			t.Fatalf("Sweep dry run under upload:%q: orphans %q (checked %d blobs), want [%q]", tag, r.Orphans, r.Checked, orphan)
		}
		if _, err := e.plugin.Sweep(e.ctx, e.db, SweepOptions{Models: []any{model}, MinAge: -1}); err != nil {
			t.Fatal(err)
		}
		if e.exists(orphan) {
			t.Fatalf("Sweep left the orphan %q", orphan)
		}
		if !e.exists(kept) || !e.exists(srcA.Key) || !e.exists(srcB.Key) {
			t.Fatalf("Sweep deleted a referenced thumbnail or an original: bucket %q", e.keys())
		}
	})
}
