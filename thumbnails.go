package gormthumb

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/gormthumb/gormthumb/thumb"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// job is the work for one source of one row.
type job struct {
	row    row
	group  *sourceGroup
	src    string
	old    []string // per thumb: key in the database before the statement
	newKey []string // per thumb: key after
	err    error
}

// afterSave makes the thumbnails of every row the statement wrote and
// persists their columns in the same transaction.
func (p *Plugin) afterSave(db *gorm.DB) {
	st := stateOf(db)
	if st == nil || db.Error != nil || len(st.written) == 0 {
		return
	}
	var (
		upsert     bool
		onConflict clause.OnConflict
	)
	if c, ok := db.Statement.Clauses["ON CONFLICT"]; ok {
		upsert = true
		onConflict, _ = c.Expression.(clause.OnConflict)
	}
	ctx := db.Statement.Context
	rows := st.rows // an UPDATE does not change the primary keys
	if !st.update {
		rows = rowsOf(db) // an INSERT may have set them
	}
	if st.pinned != nil {
		if db.RowsAffected == 0 {
			return // no row held the pinned keys: GORM's Save falls back to an upsert
		}
		fresh, err := p.upToDate(db, st, rows[0])
		if err != nil {
			db.AddError(err)
			return
		}
		if fresh {
			return
		}
		st.old = st.pinned.old(rows[0].pk)
	}
	var now *oldRows
	if upsert {
		if db.Statement.RowsAffected == 0 && db.Dialector.Name() != "mysql" {
			return // every row conflicted and nothing was written
		}
		// (MySQL counts changed rows, not matched ones: 0 may mean rows
		// rewritten with the same values, whose source bytes may be new.)
		// What the upsert really left in each row: with DO NOTHING or a DO
		// UPDATE of other columns an existing row keeps its source (and
		// MySQL may even report another row's id for it).
		var err error
		if now, err = loadOld(db, st.spec, rows, nil, false); err != nil {
			db.AddError(&Error{Model: st.spec.name, Err: fmt.Errorf("%w: reading rows after upsert: %w", ErrStorage, err)})
			return
		}
	}
	var jobs []*job
	for _, r := range rows {
		if r.pk == "" {
			continue // not inserted (ON CONFLICT DO NOTHING)
		}
		old := st.old.lookup(db, r)
		if st.update && old == nil {
			continue // no such row: the UPDATE changed nothing
		}
		for _, g := range st.written {
			src := keyOf(ctx, g.source, r.value)
			if upsert {
				stored, ok := now.byPK[r.pk]
				if !ok || stored[g.source.DBName] != src || (old != nil && !upsertWrites(onConflict, g.source.DBName)) {
					continue // the row kept its own source
				}
			}
			j := &job{row: r, group: g, src: src}
			for _, t := range g.thumbs {
				j.old = append(j.old, old[t.field.DBName])
			}
			jobs = append(jobs, j)
		}
	}
	p.runJobs(db, jobs)
	for _, j := range jobs {
		if j.err != nil {
			db.AddError(j.err)
			return
		}
	}
	for _, j := range jobs {
		if err := p.apply(db, j); err != nil {
			db.AddError(err)
			return
		}
	}
}

// upsertWrites reports whether an ON CONFLICT clause overwrites col of an
// existing row.
func upsertWrites(oc clause.OnConflict, col string) bool {
	if oc.DoNothing {
		return false
	}
	if oc.UpdateAll {
		return true
	}
	for _, a := range oc.DoUpdates {
		if a.Column.Name == col {
			return true
		}
	}
	return false
}

// runJobs processes jobs with bounded concurrency: at most p.concurrency
// sources are decoded at once.
func (p *Plugin) runJobs(db *gorm.DB, jobs []*job) {
	if len(jobs) == 1 || p.concurrency <= 1 {
		for _, j := range jobs {
			p.runJob(db, j)
		}
		return
	}
	sem := make(chan struct{}, p.concurrency)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p.runJob(db, j)
		}()
	}
	wg.Wait()
}

// runJob makes the thumbnails of one row's source that are out of date.
// It touches only the bucket, never the database (which is not safe for
// concurrent use inside one transaction).
func (p *Plugin) runJob(db *gorm.DB, j *job) {
	ctx := db.Statement.Context
	ms := stateOf(db).spec
	thumbs := j.group.thumbs
	j.newKey = make([]string, len(thumbs))
	if j.src == "" {
		return // source cleared: every thumbnail goes too
	}
	fail := func(err error) {
		j.err = &Error{Model: ms.name, Field: thumbs[0].field.Name, Key: j.src, Err: err}
	}
	if err := checkKey(j.src); err != nil {
		fail(err)
		return
	}
	version, known := stateOf(db).versions[j.group] // from a pinned Save's upToDate (one row)
	if !known {
		var err error
		if version, err = p.sourceVersionOf(ctx, j.src); err != nil {
			fail(err)
			return
		}
	}
	table := db.Statement.Table
	var need []int
	for i, t := range thumbs {
		if thumbUpToDate(j.old[i], table, j.row.pk, t, j.src, version) {
			j.newKey[i] = j.old[i] // no read, no decode, no write
			continue
		}
		need = append(need, i)
	}
	if len(need) == 0 {
		return
	}
	r, err := p.bucket.NewReader(ctx, j.src, nil)
	if err != nil {
		fail(storageErr("read", err))
		return
	}
	defer r.Close()
	specs := make([]Spec, len(need))
	for k, i := range need {
		specs[k] = thumbs[i].spec
	}
	out, err := p.processor.Process(ctx, thumb.LimitReader(r, p.limits.MaxBytes), specs, p.limits)
	if err != nil {
		if !isTyped(err) {
			err = storageErr("read", err)
		}
		fail(err)
		return
	}
	for k, i := range need {
		t := thumbs[i]
		prefix := ""
		if t.prefix != "" {
			prefix = expandPrefix(t.prefix, p.now())
		}
		digest := thumbDigest(table, j.row.pk, t.field.Name, j.src, version, t.specKey)
		key := thumbKey(j.src, prefix, out[k].Width, out[k].Height, digest, out[k].Format)
		if err := writeBlob(ctx, p.bucket, key, out[k].Data, out[k].Format, j.src); err != nil {
			j.err = &Error{Model: ms.name, Field: t.field.Name, Key: key, Err: err}
			return
		}
		// Written inside the transaction: gone again if it rolls back.
		wctx := context.WithoutCancel(ctx)
		p.onOutcome(db, nil, func() { deleteBlob(wctx, p.bucket, key) })
		j.newKey[i] = key
	}
}

// thumbUpToDate is the one rule for whether a thumbnail needs making
// (Save, Update and Regenerate all ask it): with a source, its key must
// carry the digest of what it would be made from (the row, the field, the
// source's key and version, the spec); with none, it must be empty. It
// allocates nothing: an unchanged Save asks it for every thumbnail.
func thumbUpToDate(key, table, pk string, t *thumbField, src, version string) bool {
	if src == "" {
		return key == ""
	}
	return digestMatches(key, table, pk, t.field.Name, src, version, t.specKey)
}

// sourceVersionOf looks up the source's attributes (MD5 or ETag, and size
// against the byte limit) unless the plugin was told sources are
// immutable, when the version is "".
func (p *Plugin) sourceVersionOf(ctx context.Context, src string) (string, error) {
	if p.immutableSources {
		return "", nil
	}
	attrs, err := p.bucket.Attributes(ctx, src)
	if err != nil {
		return "", storageErr("attributes", err)
	}
	if attrs.Size > p.limits.MaxBytes {
		return "", wrapf(ErrTooLarge, "%d bytes is more than the limit of %d", attrs.Size, p.limits.MaxBytes)
	}
	return sourceVersion(attrs), nil
}

// isTyped reports whether err already wraps one of our sentinels.
func isTyped(err error) bool {
	for _, s := range []error{ErrNotImage, ErrUnsupportedFormat, ErrTooLarge, ErrStorage, ErrSourceNotFound, ErrInvalidKey} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// apply sets the new keys on the caller's value, persists the changed
// columns in the statement's transaction and schedules the superseded
// blobs for deletion after commit.
func (p *Plugin) apply(db *gorm.DB, j *job) error {
	ctx := db.Statement.Context
	cols := map[string]any{}
	var superseded []string
	for i, t := range j.group.thumbs {
		newKey, old := j.newKey[i], j.old[i]
		onValue := keyOf(ctx, t.field, j.row.value)
		if onValue != newKey {
			if err := setImage(ctx, t.field, j.row.value, newKey); err != nil {
				return err
			}
		}
		if onValue != newKey || old != newKey {
			cols[t.field.DBName] = ImageField{Key: newKey}
		}
		if old != newKey && old != "" {
			superseded = append(superseded, old)
		}
	}
	if len(cols) > 0 {
		q := inner(db).Table(db.Statement.Table).Where(clause.And(pkConds(db, j.row)...))
		if err := q.UpdateColumns(cols).Error; err != nil {
			return &Error{Model: stateOf(db).spec.name, Field: j.group.thumbs[0].field.Name, Err: fmt.Errorf("%w: saving thumbnail column: %w", ErrStorage, err)}
		}
	}
	p.deleteLater(db, superseded...)
	return nil
}

// setImage sets an ImageField or *ImageField field.
func setImage(ctx context.Context, f *schema.Field, rv reflect.Value, key string) error {
	if f.FieldType.Kind() == reflect.Ptr {
		if key == "" {
			return f.Set(ctx, rv, (*ImageField)(nil))
		}
		return f.Set(ctx, rv, &ImageField{Key: key})
	}
	return f.Set(ctx, rv, ImageField{Key: key})
}
