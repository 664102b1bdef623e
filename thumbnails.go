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

// Making thumbnails: the one place that reads a source, runs the processor
// and writes blobs. Statements make their thumbnails in their prepare
// callback, before GORM opens its transaction, so no database lock or
// pooled connection is held while an image is decoded; inside the
// transaction they only store the keys (job and apply below).

// made is what a statement's prepare made for one row and source group.
type made struct {
	row     int // index into the statement's rows
	group   *sourceGroup
	src     string
	version string
	keys    []string // per thumb of the group: the key made, "" where none was needed
}

// job is the keys of one row and source group that a statement stores.
type job struct {
	row     row
	group   *sourceGroup
	src     string
	version string
	old     []string // per thumb: key in the database before the statement
	newKey  []string // per thumb: key after
	premade *made    // what prepare made for this row and group, if anything
	err     error
}

// thumbUpToDate is the one rule for whether a thumbnail needs making
// (Save, Update and Regenerate all ask it): with a source, its key must
// carry the digest of what it would be made from (the field, the source's
// key and version, the spec; keys written before the digest left out the
// row carry the row's key too); with none, it must be empty. It allocates
// nothing: an unchanged Save asks it for every thumbnail.
func thumbUpToDate(key, table, pk string, t *thumbField, src, version string) bool {
	if src == "" {
		return key == ""
	}
	return digestMatches(key, table, t.field.Name, src, version, t.specKey) ||
		(pk != "" && digestMatchesV1(key, table, pk, t.field.Name, src, version, t.specKey))
}

// sourceVersionOf returns the version of the source src that thumbnail
// digests carry: "" for immutable sources (the default), else its MD5 or
// ETag, looked up with one attributes call (which also checks its size
// against the byte limit).
func (p *Plugin) sourceVersionOf(ctx context.Context, src string) (string, error) {
	if !p.versionCheck {
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

// plan decides which thumbnails of group g, whose keys are now old, must be
// made for the source src. It checks the source key and looks up its
// version; need lists the indexes of the thumbnails that are out of date.
func (p *Plugin) plan(ctx context.Context, table, pk string, g *sourceGroup, src string, old []string) (version string, need []int, err error) {
	if src != "" {
		if err := checkKey(src); err != nil {
			return "", nil, err
		}
		if version, err = p.sourceVersionOf(ctx, src); err != nil {
			return "", nil, err
		}
	}
	for i, t := range g.thumbs {
		if !thumbUpToDate(old[i], table, pk, t, src, version) && src != "" {
			need = append(need, i)
		}
	}
	return version, need, nil
}

// makeThumbs reads the source src once and writes a thumbnail for each
// thumb of g listed in need. It returns the new keys per thumb ("" for
// those not made); every blob it writes is recorded in created first, so
// nothing it writes can be lost track of.
func (p *Plugin) makeThumbs(ctx context.Context, ms *modelSpec, table string, g *sourceGroup, src, version string, need []int, created func(string)) ([]string, error) {
	keys := make([]string, len(g.thumbs))
	if len(need) == 0 {
		return keys, nil
	}
	fail := func(field, key string, err error) ([]string, error) {
		return keys, &Error{Model: ms.name, Field: field, Key: key, Err: err}
	}
	first := g.thumbs[need[0]].field.Name
	r, err := p.bucket.NewReader(ctx, src, nil)
	if err != nil {
		return fail(first, src, storageErr("read", err))
	}
	defer r.Close()
	if r.Size() > p.limits.MaxBytes { // known from the read's own response: no extra call
		return fail(first, src, wrapf(ErrTooLarge, "%d bytes is more than the limit of %d", r.Size(), p.limits.MaxBytes))
	}
	specs := make([]Spec, len(need))
	for k, i := range need {
		specs[k] = g.thumbs[i].spec
	}
	out, err := p.processor.Process(ctx, thumb.LimitReader(r, p.limits.MaxBytes), specs, p.limits)
	if err != nil {
		if !isTyped(err) {
			err = storageErr("read", err)
		}
		return fail(first, src, err)
	}
	if len(out) != len(specs) {
		return fail(first, src, fmt.Errorf("%w: %d thumbnails for %d sizes", ErrProcessor, len(out), len(specs)))
	}
	for k, i := range need {
		t := g.thumbs[i]
		prefix := ""
		if t.prefix != "" {
			prefix = expandPrefix(t.prefix, p.now())
		}
		digest := thumbDigest(table, t.field.Name, src, version, t.specKey)
		key := thumbKey(src, prefix, out[k].Width, out[k].Height, digest, out[k].Format)
		created(key) // before the write: a write that fails half-way is cleaned up too
		if err := writeBlob(ctx, p.bucket, key, out[k].Data, out[k].Format, src); err != nil {
			return fail(t.field.Name, key, err)
		}
		keys[i] = key
	}
	return keys, nil
}

// parallel runs fn(0..n-1) with at most p.concurrency running at once.
func (p *Plugin) parallel(n int, fn func(i int)) {
	if n == 1 || p.concurrency <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	sem := make(chan struct{}, p.concurrency)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}

// prepare makes, before the transaction, the thumbnails of every row and
// written group whose keys (old, per row and group) are out of date with
// the source the statement writes (src). A row or group with src unknown
// (a SQL expression) is left for the transaction. It notes whether
// anything is out of date (st.stale), and fails the statement on the first
// error; nothing it made is then kept.
func (p *Plugin) prepare(db *gorm.DB, st *stmtState, srcOf func(i int, g *sourceGroup) (string, bool), oldOf func(i int, g *sourceGroup) []string) {
	ctx, table := db.Statement.Context, db.Statement.Table
	var todo []*made
	olds := map[*made][]string{}
	for i := range st.rows {
		for _, g := range st.written {
			src, known := srcOf(i, g)
			if !known {
				st.stale = true
				continue
			}
			m := &made{row: i, group: g, src: src}
			todo = append(todo, m)
			olds[m] = oldOf(i, g)
		}
	}
	errs := make([]error, len(todo))
	p.parallel(len(todo), func(k int) {
		m := todo[k]
		old := olds[m]
		version, need, err := p.plan(ctx, table, st.rows[m.row].pk, m.group, m.src, old)
		if err != nil {
			errs[k] = &Error{Model: st.spec.name, Field: m.group.thumbs[0].field.Name, Key: m.src, Err: err}
			return
		}
		m.version = version
		m.keys, errs[k] = p.makeThumbs(ctx, st.spec, table, m.group, m.src, version, need, st.noteCreated)
	})
	if err := firstError(errs); err != nil {
		db.AddError(err)
		return
	}
	for _, m := range todo {
		for i, k := range m.keys {
			st.stale = st.stale || k != "" || (m.src == "" && olds[m][i] != "")
		}
		st.made = append(st.made, *m)
	}
}

// firstError is the first non-nil error of errs.
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// premade returns what prepare made for row i and group g, or nil.
func (st *stmtState) premade(i int, g *sourceGroup) *made {
	for k := range st.made {
		if m := &st.made[k]; m.row == i && m.group == g {
			return m
		}
	}
	return nil
}

// runJobs settles the new keys of every job: a thumbnail already up to
// date keeps its key, one that prepare made for the same source takes that
// key, and anything else (a source a hook or a SQL expression changed, a
// stale struct) is made now, inside the transaction; that path is rare.
func (p *Plugin) runJobs(db *gorm.DB, st *stmtState, jobs []*job) error {
	ctx, table := db.Statement.Context, db.Statement.Table
	p.parallel(len(jobs), func(k int) {
		j := jobs[k]
		j.newKey = make([]string, len(j.group.thumbs))
		if j.src == "" {
			return // source cleared: every thumbnail goes too
		}
		pre := j.premade
		if pre != nil && pre.src != j.src {
			pre = nil
		}
		var err error
		if pre != nil {
			j.version = pre.version
		} else if err = checkKey(j.src); err == nil {
			j.version, err = p.sourceVersionOf(ctx, j.src)
		}
		if err != nil {
			j.err = &Error{Model: st.spec.name, Field: j.group.thumbs[0].field.Name, Key: j.src, Err: err}
			return
		}
		var need []int
		for i, t := range j.group.thumbs {
			switch {
			case thumbUpToDate(j.old[i], table, j.row.pk, t, j.src, j.version):
				j.newKey[i] = j.old[i]
			case pre != nil && pre.keys[i] != "":
				j.newKey[i] = pre.keys[i]
			default:
				need = append(need, i)
			}
		}
		keys, err := p.makeThumbs(ctx, st.spec, table, j.group, j.src, j.version, need, st.noteCreated)
		for _, i := range need {
			j.newKey[i] = keys[i]
		}
		j.err = err
	})
	for _, j := range jobs {
		if j.err != nil {
			return j.err
		}
	}
	return nil
}

// isTyped reports whether err already wraps one of our sentinels.
func isTyped(err error) bool {
	for _, s := range []error{ErrNotImage, ErrUnsupportedFormat, ErrTooLarge, ErrStorage, ErrSourceNotFound, ErrInvalidKey, ErrProcessor} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// storeMode says which thumbnail columns apply writes.
type storeMode int

const (
	storeChanged storeMode = iota // those whose key changed
	storeAll                      // all of the job's (an upsert may have written others)
	storeNone                     // none: the INSERT wrote them
)

// apply sets a job's new keys on the caller's value, stores the columns
// mode says in the statement's transaction, and records what is stored
// and superseded for settle.
func (p *Plugin) apply(db *gorm.DB, st *stmtState, j *job, mode storeMode) error {
	ctx := db.Statement.Context
	cols := map[string]any{}
	for i, t := range j.group.thumbs {
		newKey, old := j.newKey[i], j.old[i]
		if keyOf(ctx, t.field, j.row.value) != newKey {
			if err := setImage(ctx, t.field, j.row.value, newKey); err != nil {
				return err
			}
		}
		if mode == storeAll || (mode == storeChanged && old != newKey) {
			cols[t.field.DBName] = ImageField{Key: newKey}
		}
	}
	if len(cols) > 0 {
		q := inner(db).Table(db.Statement.Table).Where(clause.And(pkConds(db, j.row)...))
		if err := q.UpdateColumns(cols).Error; err != nil {
			return &Error{Model: st.spec.name, Field: j.group.thumbs[0].field.Name, Err: fmt.Errorf("%w: saving thumbnail column: %w", ErrStorage, err)}
		}
	}
	for i := range j.group.thumbs {
		st.noteStored(j.newKey[i], j.old[i])
	}
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
