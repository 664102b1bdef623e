package gormthumb

import (
	"gorm.io/gorm"
	"gorm.io/gorm/migrator"
	"gorm.io/gorm/schema"
)

// GORM's migrator has no hook that can fail, so the plugin wraps the
// dialector's Migrator to check gormthumb tags before AutoMigrate and
// CreateTable run: a malformed tag fails the migration with ErrInvalidTag
// instead of surfacing only at the first save. Everything else is
// forwarded unchanged, including the optional interfaces GORM type-asserts
// (SavePointerDialectorInterface, ErrorTranslator, BuildIndexOptions). It is
// installed only for the dialects we test (sqlite, postgres, mysql); with
// others a bad tag is reported at the first save.

// validatedDialects are the dialects whose migrator we wrap.
var validatedDialects = map[string]bool{"sqlite": true, "postgres": true, "mysql": true}

type validatingDialector struct {
	gorm.Dialector
	plugin *Plugin
}

// Migrator returns the wrapped dialector's migrator with tag validation.
func (d validatingDialector) Migrator(db *gorm.DB) gorm.Migrator {
	return validatingMigrator{Migrator: d.Dialector.Migrator(db), db: db, plugin: d.plugin}
}

// SavePoint forwards to the wrapped dialector (GORM type-asserts for it).
func (d validatingDialector) SavePoint(tx *gorm.DB, name string) error {
	if sp, ok := d.Dialector.(gorm.SavePointerDialectorInterface); ok {
		return sp.SavePoint(tx, name)
	}
	return gorm.ErrUnsupportedDriver
}

// RollbackTo forwards to the wrapped dialector.
func (d validatingDialector) RollbackTo(tx *gorm.DB, name string) error {
	if sp, ok := d.Dialector.(gorm.SavePointerDialectorInterface); ok {
		return sp.RollbackTo(tx, name)
	}
	return gorm.ErrUnsupportedDriver
}

// Translate forwards to the wrapped dialector's error translator, if any.
func (d validatingDialector) Translate(err error) error {
	if tr, ok := d.Dialector.(gorm.ErrorTranslator); ok {
		return tr.Translate(err)
	}
	return err
}

type validatingMigrator struct {
	gorm.Migrator
	db     *gorm.DB
	plugin *Plugin
}

func (m validatingMigrator) validate(models []any) error {
	for _, model := range models {
		stmt := &gorm.Statement{DB: m.db}
		if err := stmt.Parse(model); err != nil {
			continue // not a model; the migrator reports it
		}
		if _, err := m.plugin.modelSpecOf(stmt.Schema); err != nil {
			return err
		}
	}
	return nil
}

// AutoMigrate validates gormthumb tags, then migrates.
func (m validatingMigrator) AutoMigrate(models ...any) error {
	if err := m.validate(models); err != nil {
		return err
	}
	return m.Migrator.AutoMigrate(models...)
}

// CreateTable validates gormthumb tags, then creates the tables.
func (m validatingMigrator) CreateTable(models ...any) error {
	if err := m.validate(models); err != nil {
		return err
	}
	return m.Migrator.CreateTable(models...)
}

// BuildIndexOptions forwards to the wrapped migrator (GORM's CreateTable
// type-asserts for it).
func (m validatingMigrator) BuildIndexOptions(opts []schema.IndexOption, stmt *gorm.Statement) []any {
	if b, ok := m.Migrator.(migrator.BuildIndexOptionsInterface); ok {
		return b.BuildIndexOptions(opts, stmt)
	}
	return nil
}
