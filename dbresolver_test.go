package gormthumb

import (
	"context"
	"fmt"
	"testing"

	"gocloud.dev/blob/memblob"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/plugin/dbresolver"
)

// With gorm.io/plugin/dbresolver registered before or after the plugin,
// with Sources (writes through pools of the resolver's own) or without, and
// with or without PrepareStmt, the lifecycle holds: superseded thumbnails
// go after commit, a failed save leaves nothing, a delete takes its
// thumbnail with it.
func TestDBResolver(t *testing.T) {
	for _, d := range dbBackends {
		for _, first := range []string{"resolver", "plugin"} {
			for _, sources := range []bool{false, true} {
				for _, prepare := range []bool{false, true} {
					name := fmt.Sprintf("%s/%s-first/sources=%v/prepare=%v", d.name, first, sources, prepare)
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						db := d.open(t, &gorm.Config{Logger: logger.Discard, PrepareStmt: prepare})
						if sqlDB, err := db.DB(); err == nil {
							t.Cleanup(func() { sqlDB.Close() })
						}
						var cfg dbresolver.Config
						if sources {
							cfg.Sources = []gorm.Dialector{sameDatabase(t, db, "")}
						}
						resolver := dbresolver.Register(cfg)
						bucket := memblob.OpenBucket(nil)
						plugin := New(bucket)
						order := []gorm.Plugin{resolver, plugin}
						if first == "plugin" {
							order = []gorm.Plugin{plugin, resolver}
						}
						for _, p := range order {
							if err := db.Use(p); err != nil {
								t.Fatal(err)
							}
						}
						t.Cleanup(func() { // the resolver's own pools
							resolver.Call(func(p gorm.ConnPool) error {
								if c, ok := p.(interface{ Close() error }); ok {
									c.Close()
								}
								return nil
							})
						})
						e := &env{t: t, ctx: context.Background(), db: db, bucket: bucket, plugin: plugin, name: name}
						e.migrate(&Product{})
						p := Product{Cover: e.put("r/a.jpg", jpegBytes(t, 300, 200))}
						if err := db.Create(&p).Error; err != nil {
							t.Fatal(err)
						}
						old := p.CoverThumb.Key
						p.Cover = e.put("r/b.jpg", jpegBytes(t, 200, 300))
						if err := db.Save(&p).Error; err != nil {
							t.Fatal(err)
						}
						if e.exists(old) || !e.exists(p.CoverThumb.Key) {
							t.Fatalf("after Save: old exists %v, new exists %v", e.exists(old), e.exists(p.CoverThumb.Key))
						}
						before := e.keys()
						q := p
						q.Cover = ImageField{Key: "r/missing.jpg"}
						wantErr(t, db.Save(&q).Error, ErrSourceNotFound)
						e.wantKeys(before...)
						if err := db.Delete(&p).Error; err != nil {
							t.Fatal(err)
						}
						if e.exists(p.CoverThumb.Key) {
							t.Fatal("the deleted row's thumbnail is still there")
						}
						e.wantNoOrphans()
					})
				}
			}
		}
	}
}
