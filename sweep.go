package gormthumb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"gocloud.dev/gcerrors"
	"gorm.io/gorm"
)

// SweepOptions configures Plugin.Sweep.
type SweepOptions struct {
	// Models are the models whose rows reference thumbnails, e.g.
	// []any{&Product{}, &Poster{}}. Every model whose thumbnails share the
	// bucket must be listed, or its thumbnails look unreferenced.
	Models []any
	// DryRun reports the orphans without deleting them.
	DryRun bool
	// MinAge keeps blobs younger than this: a thumbnail written by a
	// transaction that has not committed yet is not an orphan. Zero means
	// DefaultSweepMinAge; a negative value keeps nothing back.
	MinAge time.Duration
}

// DefaultSweepMinAge is the SweepOptions.MinAge used when it is zero.
const DefaultSweepMinAge = time.Hour

// SweepReport is what Sweep found and did.
type SweepReport struct {
	Checked int      // thumbnail blobs looked at
	Orphans []string // thumbnail blobs no row references
	Deleted []string // orphans deleted (empty on a dry run)
	Failed  []string // blobs that could not be looked at; Sweep then returns an error
}

// Sweep deletes thumbnail blobs that no row references: the safety net for
// a process that died between a commit and the deletion of a superseded
// thumbnail. A blob is a candidate only if it is named like a thumbnail
// this plugin writes ("name.WxH.digest.ext"), lies in a "thumbnails" folder
// or under a thumb field's upload prefix, carries the plugin's
// "gormthumb-source" metadata, is older than MinAge, and is referenced by
// no thumbnail or source column of any of opts.Models (soft-deleted rows
// included). Originals are never deleted.
func (p *Plugin) Sweep(ctx context.Context, db *gorm.DB, opts SweepOptions) (*SweepReport, error) {
	if len(opts.Models) == 0 {
		return nil, fmt.Errorf("gormthumb: Sweep needs SweepOptions.Models")
	}
	minAge := opts.MinAge
	if minAge == 0 {
		minAge = DefaultSweepMinAge
	}
	referenced := map[string]bool{}
	var prefixes []prefixPattern
	for _, m := range opts.Models {
		s, ms, err := p.specOf(db, m, "Sweep")
		if err != nil {
			return nil, err
		}
		if ms == nil {
			continue
		}
		for _, t := range ms.thumbs {
			if t.prefix != "" {
				prefixes = append(prefixes, newPrefixPattern(t.prefix))
			}
		}
		if err := collectKeys(ctx, db, s.Table, ms.imageColumns(), referenced); err != nil {
			return nil, fmt.Errorf("gormthumb: %s: Sweep reading rows: %w", ms.name, err)
		}
	}

	report := &SweepReport{}
	var failures []error
	cutoff := p.now().Add(-minAge)
	it := p.bucket.List(nil)
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return report, storageErr("list", err)
		}
		if obj.IsDir || !isThumbLocation(obj.Key, prefixes) {
			continue
		}
		report.Checked++
		if referenced[obj.Key] || (minAge > 0 && obj.ModTime.After(cutoff)) {
			continue
		}
		attrs, err := p.bucket.Attributes(ctx, obj.Key)
		if gcerrors.Code(err) == gcerrors.NotFound {
			continue // gone since it was listed
		}
		if err != nil {
			report.Failed = append(report.Failed, obj.Key)
			failures = append(failures, &Error{Model: "Sweep", Key: obj.Key, Err: storageErr("attributes", err)})
			continue // whether it is ours is unknown: keep it, say so, go on
		}
		if !isPluginBlob(attrs.Metadata) {
			continue // not written by the plugin: leave it
		}
		report.Orphans = append(report.Orphans, obj.Key)
		if opts.DryRun {
			continue
		}
		if err := deleteBlob(ctx, p.bucket, obj.Key); err != nil {
			return report, storageErr("delete", err)
		}
		report.Deleted = append(report.Deleted, obj.Key)
	}
	return report, errors.Join(failures...)
}

// collectKeys adds every non-empty value of cols in table to keys,
// streaming the rows (soft-deleted ones included: Table has no scopes).
func collectKeys(ctx context.Context, db *gorm.DB, table string, cols []string, keys map[string]bool) error {
	q := selectColumns(db.WithContext(ctx).Session(&gorm.Session{NewDB: true}).Table(table), cols)
	return eachRow(q, len(cols), func(vals []any) {
		for _, v := range vals {
			if k := keyFromDB(v); k != "" {
				for _, m := range memberKeys(k) { // every width of a set
					keys[m] = true
				}
			}
		}
	})
}
