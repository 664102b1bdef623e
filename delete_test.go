package gormthumb

import (
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

func TestSharedSourcesAndDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		data := jpegBytes(t, 300, 300)
		shared := e.put("s/shared.jpg", data)
		twin := e.put("s/twin.jpg", data) // same bytes, another key
		rows := []*Product{{Name: "a", Cover: shared}, {Name: "b", Cover: shared}, {Name: "c", Cover: twin}}
		e.mustCreate(&rows)
		seen := map[string]bool{}
		for _, r := range rows {
			if seen[r.CoverThumb.Key] {
				t.Fatalf("two rows share thumbnail %q", r.CoverThumb.Key)
			}
			seen[r.CoverThumb.Key] = true
		}
		// Superseding a's thumbnail leaves b's alone.
		rows[0].Cover = twin
		if err := e.db.Save(rows[0]).Error; err != nil {
			t.Fatal(err)
		}
		e.wantThumb(rows[1].CoverThumb.Key, 110, 110, "jpeg")
		// Hard delete by value: its thumbnail goes, the shared original stays.
		if err := e.db.Delete(rows[1]).Error; err != nil {
			t.Fatal(err)
		}
		if e.exists(rows[1].CoverThumb.Key) || !e.exists("s/shared.jpg") {
			t.Fatal("delete by value: thumbnail kept or original removed")
		}
		// Delete by id and by condition.
		if err := e.db.Delete(&Product{}, rows[0].ID).Error; err != nil {
			t.Fatal(err)
		}
		if err := e.db.Where("name = ?", "c").Delete(&Product{}).Error; err != nil {
			t.Fatal(err)
		}
		if e.exists(rows[0].CoverThumb.Key) || e.exists(rows[2].CoverThumb.Key) {
			t.Fatal("delete by id / condition kept a thumbnail")
		}
		e.wantKeys("s/shared.jpg", "s/twin.jpg")
	})
}

// SoftProduct has gorm.DeletedAt: a soft delete keeps every blob.
type SoftProduct struct {
	ID         uint
	Cover      ImageField
	CoverThumb ImageField `thumb:"64x64,source=Cover"`
	DeletedAt  gorm.DeletedAt
}

func TestSoftDeleteAndOriginals(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&SoftProduct{}, &Product{})
		p := SoftProduct{Cover: e.put("sd/a.jpg", jpegBytes(t, 100, 100))}
		e.db.Create(&p)
		if err := e.db.Delete(&p).Error; err != nil {
			t.Fatal(err)
		}
		if !e.exists(p.CoverThumb.Key) || !e.exists("sd/a.jpg") {
			t.Fatal("soft delete removed blobs")
		}
		if err := e.db.Unscoped().Delete(&p).Error; err != nil {
			t.Fatal(err)
		}
		if e.exists(p.CoverThumb.Key) || e.exists("sd/a.jpg") {
			t.Fatal("hard delete with WithDeleteOriginals kept blobs")
		}
		// An original shared by two rows survives the delete of one.
		shared := e.put("sd/shared.jpg", jpegBytes(t, 100, 100))
		a, b := Product{Cover: shared}, Product{Cover: shared}
		e.db.Create(&a)
		e.db.Create(&b)
		e.db.Delete(&a)
		if !e.exists("sd/shared.jpg") || e.exists(a.CoverThumb.Key) || !e.exists(b.CoverThumb.Key) {
			t.Fatal("deleting one of two rows sharing an original removed it")
		}
		e.db.Delete(&b)
		e.wantKeys()
	}, WithDeleteOriginals(true))
}

func TestOriginalsKeptByDefault(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&Product{})
		p := Product{Cover: e.put("k/a.jpg", jpegBytes(t, 100, 100))}
		e.db.Create(&p)
		e.db.Delete(&p)
		e.wantKeys("k/a.jpg")
	})
}

// FlagDeleted is a soft-delete field of the application's own, built the
// way gorm.io/plugin/soft_delete builds its own: its DeleteClauses turn a
// DELETE into an UPDATE that sets it.
type FlagDeleted uint8

// DeleteClauses implements schema.DeleteClausesInterface.
func (FlagDeleted) DeleteClauses(f *schema.Field) []clause.Interface {
	return []clause.Interface{flagDeleteClause{field: f}}
}

// QueryClauses implements schema.QueryClausesInterface: deleted rows are
// not found.
func (FlagDeleted) QueryClauses(f *schema.Field) []clause.Interface {
	return []clause.Interface{flagQueryClause{field: f}}
}

type flagDeleteClause struct{ field *schema.Field }

func (flagDeleteClause) Name() string               { return "" }
func (flagDeleteClause) Build(clause.Builder)       {}
func (flagDeleteClause) MergeClause(*clause.Clause) {}
func (c flagDeleteClause) ModifyStatement(stmt *gorm.Statement) {
	if stmt.SQL.Len() > 0 || stmt.Unscoped {
		return
	}
	stmt.AddClause(clause.Set{{Column: clause.Column{Name: c.field.DBName}, Value: 1}})
	if stmt.Schema != nil {
		_, queryValues := schema.GetIdentityFieldValuesMap(stmt.Context, stmt.ReflectValue, stmt.Schema.PrimaryFields)
		column, values := schema.ToQueryValues(stmt.Table, stmt.Schema.PrimaryFieldDBNames, queryValues)
		if len(values) > 0 {
			stmt.AddClause(clause.Where{Exprs: []clause.Expression{clause.IN{Column: column, Values: values}}})
		}
	}
	stmt.AddClause(clause.Where{Exprs: []clause.Expression{clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: c.field.DBName}, Value: 0}}})
	stmt.AddClauseIfNotExists(clause.Update{})
	stmt.Build(stmt.DB.Callback().Update().Clauses...)
}

type flagQueryClause struct{ field *schema.Field }

func (flagQueryClause) Name() string               { return "" }
func (flagQueryClause) Build(clause.Builder)       {}
func (flagQueryClause) MergeClause(*clause.Clause) {}
func (c flagQueryClause) ModifyStatement(stmt *gorm.Statement) {
	if !stmt.Unscoped {
		stmt.AddClause(clause.Where{Exprs: []clause.Expression{clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: c.field.DBName}, Value: 0}}})
	}
}

// FlaggedProduct is soft-deleted by FlagDeleted.
type FlaggedProduct struct {
	ID         uint
	Cover      ImageField
	CoverThumb ImageField `thumb:"110x150,source=Cover"`
	Deleted    FlagDeleted
}

// A soft delete of the application's own keeps the row, so it keeps its
// thumbnail (and, with WithDeleteOriginals, its original); the hard delete
// (Unscoped) that follows removes both.
func TestCustomSoftDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.migrate(&FlaggedProduct{})
		p := FlaggedProduct{Cover: e.put("f/a.jpg", jpegBytes(t, 300, 200))}
		e.mustCreate(&p)
		if err := e.db.Delete(&p).Error; err != nil {
			t.Fatal(err)
		}
		n := e.count(&FlaggedProduct{})
		var all int64
		e.db.Unscoped().Model(&FlaggedProduct{}).Count(&all)
		if n != 0 || all != 1 {
			t.Fatalf("soft delete: %d visible rows, %d in all", n, all)
		}
		if !e.exists(p.CoverThumb.Key) || !e.exists(p.Cover.Key) {
			t.Fatal("a soft delete removed the thumbnail or the original of a row that still exists")
		}
		if err := e.db.Unscoped().Delete(&p).Error; err != nil {
			t.Fatal(err)
		}
		if e.exists(p.CoverThumb.Key) || e.exists(p.Cover.Key) {
			t.Fatal("the hard delete kept the thumbnail or the original")
		}
	}, WithDeleteOriginals(true))
}
