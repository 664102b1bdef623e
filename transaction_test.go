package gormthumb

import (
	"errors"
	"strings"
	"testing"

	"gorm.io/gorm"
)

// With SkipDefaultTransaction GORM would autocommit the INSERT before the
// thumbnail fails; the plugin opens its own transaction for models with
// thumb fields, so the row is still not written.
func TestSkipDefaultTransaction(t *testing.T) {
	eachBackendConfig(t, envConfig{gorm: gorm.Config{SkipDefaultTransaction: true}}, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		err := e.db.Create(&Product{Cover: ImageField{Key: "no/such.jpg"}}).Error
		wantErr(t, err, ErrSourceNotFound)
		if n := e.count(&Product{}); n != 0 {
			t.Fatalf("%d rows written with SkipDefaultTransaction", n)
		}
		p := Product{Cover: e.put("yes/a.jpg", jpegBytes(t, 300, 300))}
		if err := e.db.Create(&p).Error; err != nil {
			t.Fatal(err)
		}
		e.wantThumb(p.CoverThumb.Key, 110, 110, "jpeg")
		var got Product
		e.db.First(&got, p.ID)
		if got.CoverThumb != p.CoverThumb {
			t.Fatalf("row %+v", got)
		}
	})
}

func TestTransactionRollbackRemovesThumbnails(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		src := e.put("tx/a.jpg", jpegBytes(t, 200, 100))
		errBoom := errors.New("boom")
		err := e.db.Transaction(func(tx *gorm.DB) error {
			p := Product{Cover: src}
			if err := tx.Create(&p).Error; err != nil {
				return err
			}
			e.wantThumb(p.CoverThumb.Key, 110, 55, "jpeg") // visible inside the transaction
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatal(err)
		}
		e.wantKeys("tx/a.jpg")
		// A failing thumbnail inside a transaction whose error the caller
		// ignores: the row is rolled back to our savepoint, the rest commits.
		err = e.db.Transaction(func(tx *gorm.DB) error {
			tx.Create(&Product{Name: "bad", Cover: ImageField{Key: "tx/missing.jpg"}})
			return tx.Create(&Product{Name: "good", Cover: src}).Error
		})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		e.db.Model(&Product{}).Pluck("name", &names)
		if len(names) != 1 || names[0] != "good" {
			t.Fatalf("rows after ignored error: %q", names)
		}
	})
}
func TestUserTransactions(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		a := e.put("t/a.jpg", jpegBytes(t, 200, 100))
		b := e.put("t/b.jpg", jpegBytes(t, 100, 200))
		p := Product{Cover: a}
		e.db.Create(&p)
		first := p.CoverThumb.Key

		// Commit: the superseded thumbnail goes only at commit.
		err := e.db.Transaction(func(tx *gorm.DB) error {
			p.Cover = b
			if err := tx.Save(&p).Error; err != nil {
				return err
			}
			if !e.exists(first) {
				t.Error("superseded thumbnail deleted before commit")
			}
			return nil
		})
		if err != nil || e.exists(first) || !e.exists(p.CoverThumb.Key) {
			t.Fatalf("after commit: err=%v old exists=%v new exists=%v", err, e.exists(first), e.exists(p.CoverThumb.Key))
		}
		second := p.CoverThumb.Key

		// Begin / Rollback by hand.
		tx := e.db.Begin()
		q := Product{Cover: a}
		if err := tx.Create(&q).Error; err != nil {
			t.Fatal(err)
		}
		p.Cover = a
		if err := tx.Save(&p).Error; err != nil {
			t.Fatal(err)
		}
		tx.Rollback()
		if e.exists(q.CoverThumb.Key) || e.exists(p.CoverThumb.Key) || !e.exists(second) {
			t.Fatal("Begin/Rollback left new thumbnails or lost the old one")
		}

		// Nested: the inner transaction rolls back to its savepoint, the
		// outer commits.
		var innerKey, outerKey string
		err = e.db.Transaction(func(tx *gorm.DB) error {
			o := Product{Name: "outer", Cover: b}
			if err := tx.Create(&o).Error; err != nil {
				return err
			}
			outerKey = o.CoverThumb.Key
			tx.Transaction(func(tx2 *gorm.DB) error {
				i := Product{Name: "inner", Cover: a}
				if err := tx2.Create(&i).Error; err != nil {
					return err
				}
				innerKey = i.CoverThumb.Key
				return errors.New("inner fails")
			})
			return nil
		})
		if err != nil || e.exists(innerKey) || !e.exists(outerKey) {
			t.Fatalf("nested: err=%v inner exists=%v outer exists=%v", err, e.exists(innerKey), e.exists(outerKey))
		}
		var names []string
		e.db.Model(&Product{}).Order("id").Pluck("name", &names)
		if strings.Join(names, ",") != ",outer" {
			t.Fatalf("rows %q", names)
		}
		e.wantNoOrphans()
	})
}
