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
	keys    []string // per slot of the group: the key (or placeholder) made, "" where none was needed
}

// job is the keys of one row and source group that a statement stores.
type job struct {
	row     row
	group   *sourceGroup
	src     string
	version string
	old     []string // per slot: key (or placeholder) in the database before the statement
	newKey  []string // per slot: after
	premade *made    // what prepare made for this row and group, if anything
	enqueue bool     // an async thumbnail is out of date: Plugin.Work makes it
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

// sourceVersionOf checks the source key src and returns the version of
// the source that thumbnail digests carry: "" for immutable sources (the
// default), else its MD5 or ETag, looked up with one attributes call (which
// also checks its size against the byte limit).
func (p *Plugin) sourceVersionOf(ctx context.Context, src string) (string, error) {
	if err := checkKey(src); err != nil {
		return "", err
	}
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

// makeThumbs reads the source src once and writes a thumbnail (or, for a
// set, one per width) for each thumb of g listed in need, and with
// placeholder computes the source's BlurHash from the same decode. It
// returns the new keys per thumb ("" for those not made) and the
// placeholder; every blob it writes is recorded in created first, so
// nothing it writes can be lost track of.
func (p *Plugin) makeThumbs(ctx context.Context, ms *modelSpec, table string, g *sourceGroup, src, version string, need []int, placeholder bool, created func(string)) ([]string, string, error) {
	keys := make([]string, len(g.thumbs))
	if len(need) == 0 && !placeholder {
		return keys, "", nil
	}
	field := ""
	if len(need) > 0 {
		field = g.thumbs[need[0]].field.Name
	} else {
		field = g.placeholder.Name
	}
	fail := func(field, key string, err error) ([]string, string, error) {
		return keys, "", &Error{Model: ms.name, Field: field, Key: key, Err: err}
	}
	r, err := p.bucket.NewReader(ctx, src, nil)
	if err != nil {
		return fail(field, src, storageErr("read", err))
	}
	defer r.Close()
	if r.Size() > p.limits.MaxBytes { // known from the read's own response: no extra call
		return fail(field, src, wrapf(ErrTooLarge, "%d bytes is more than the limit of %d", r.Size(), p.limits.MaxBytes))
	}
	var specs []Spec
	for _, i := range need {
		specs = append(specs, g.thumbs[i].specs()...)
	}
	if placeholder {
		specs = append(specs, placeholderSpec)
	}
	// The header first: checked against the limits, and its decoded size
	// reserved from the memory budget before any pixel is decoded.
	hdr, body, err := thumb.Check(r, p.limits)
	if err != nil {
		if !isTyped(err) {
			err = storageErr("read", err)
		}
		return fail(field, src, err)
	}
	release, err := p.reserve(ctx, hdr.DecodedBytesFor(specs))
	if err != nil {
		return fail(field, src, err)
	}
	out, err := p.processor.Process(ctx, body, specs, p.limits)
	release()
	if err != nil {
		if !isTyped(err) {
			err = storageErr("read", err)
		}
		return fail(field, src, err)
	}
	if len(out) != len(specs) {
		return fail(field, src, fmt.Errorf("%w: %d thumbnails for %d sizes", ErrProcessor, len(out), len(specs)))
	}
	k := 0 // index into out
	for _, i := range need {
		t := g.thumbs[i]
		members := out[k : k+len(t.specs())]
		k += len(members)
		prefix := ""
		if t.prefix != "" {
			prefix = expandPrefix(t.prefix, p.now())
		}
		digest := thumbDigest(table, t.field.Name, src, version, t.specKey)
		// One thumbnail is a set of one, whose member's key is the set's.
		// In a set, widths past the source's come out at its width: keep one.
		members = distinctWidths(members)
		sizes := make([][2]int, len(members))
		for m, th := range members {
			sizes[m] = [2]int{th.Width, th.Height}
		}
		key := setKey(src, prefix, sizes, digest, members[0].Format)
		for _, th := range members {
			mk := memberKey(key, th.Width, th.Height)
			created(mk) // before the write: a write that fails half-way is cleaned up too
			if err := writeBlob(ctx, p.bucket, mk, th.Data, th.Format, src); err != nil {
				return fail(t.field.Name, mk, err)
			}
		}
		keys[i] = key
	}
	hash := ""
	if placeholder {
		if hash, err = blurHash(out[k].Data); err != nil {
			return fail(g.placeholder.Name, src, fmt.Errorf("%w: placeholder: %w", ErrProcessor, err))
		}
	}
	return keys, hash, nil
}

// distinctWidths drops the members of a set whose width repeats an
// earlier one's (widths past the source's all come out at its width).
func distinctWidths(members []Thumbnail) []Thumbnail {
	var out []Thumbnail
	for _, th := range members {
		if len(out) == 0 || out[len(out)-1].Width != th.Width {
			out = append(out, th)
		}
	}
	return out
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
	var olds [][]string // per todo
	for i := range st.rows {
		for _, g := range st.written {
			src, known := srcOf(i, g)
			if !known {
				st.stale = true
				continue
			}
			todo = append(todo, &made{row: i, group: g, src: src})
			olds = append(olds, oldOf(i, g))
		}
	}
	errs := make([]error, len(todo))
	p.parallel(len(todo), func(k int) {
		m, old := todo[k], olds[k]
		version, need, err := p.plan(ctx, table, st.rows[m.row].pk, m.group, m.src, old)
		if err != nil {
			errs[k] = &Error{Model: st.spec.name, Field: m.group.thumbs[0].field.Name, Key: m.src, Err: err}
			return
		}
		need = syncOnly(m.group, need) // async thumbnails are made by Plugin.Work
		m.version = version
		g := m.group
		holder := !g.asyncOnly() && g.holderWanted(m.src, slot(old, len(g.thumbs)), len(need) > 0)
		keys, hash, err := p.makeThumbs(ctx, st.spec, table, g, m.src, version, need, holder, st.noteCreated)
		if g.placeholder != nil {
			keys = append(keys, hash)
		}
		m.keys, errs[k] = keys, err
	})
	if err := firstError(errs); err != nil {
		db.AddError(err)
		return
	}
	for n, m := range todo {
		for i, k := range m.keys {
			async := i < len(m.group.thumbs) && m.src != "" && m.group.thumbs[i].async &&
				!thumbUpToDate(olds[n][i], table, st.rows[m.row].pk, m.group.thumbs[i], m.src, m.version)
			st.stale = st.stale || k != "" || async || (m.src == "" && olds[n][i] != "")
		}
		if st.madeAt == nil {
			st.madeAt = make(map[madeKey]int, len(todo))
		}
		st.madeAt[madeKey{m.row, m.group}] = len(st.made)
		st.made = append(st.made, *m)
	}
}

// slot is old[i], or "" past its end.
func slot(old []string, i int) string {
	if i < len(old) {
		return old[i]
	}
	return ""
}

// syncOnly filters the async thumbnails out of need.
func syncOnly(g *sourceGroup, need []int) []int {
	out := need[:0]
	for _, i := range need {
		if !g.thumbs[i].async {
			out = append(out, i)
		}
	}
	return out
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

// madeKey names one row's (by index) and source group's thumbnails.
type madeKey struct {
	row   int
	group *sourceGroup
}

// premade returns what prepare made for row i and group g, or nil.
func (st *stmtState) premade(i int, g *sourceGroup) *made {
	if k, ok := st.madeAt[madeKey{i, g}]; ok {
		return &st.made[k]
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
		g := j.group
		j.newKey = make([]string, g.slots())
		if j.src == "" {
			return // source cleared: every thumbnail (and the placeholder) goes too
		}
		pre := j.premade
		if pre != nil && pre.src != j.src {
			pre = nil
		}
		var err error
		if pre != nil {
			j.version = pre.version
		} else {
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
			case t.async:
				j.newKey[i] = j.old[i] // kept until Plugin.Work has made the new one
				j.enqueue = true
			case pre != nil && pre.keys[i] != "":
				j.newKey[i] = pre.keys[i]
			default:
				need = append(need, i)
			}
		}
		making := len(need) > 0
		for i, t := range g.thumbs {
			making = making || (!t.async && j.newKey[i] != j.old[i])
		}
		hi := len(g.thumbs) // the placeholder's slot
		holder := false
		switch {
		case g.placeholder == nil:
		case g.asyncOnly() || !g.holderWanted(j.src, j.old[hi], making):
			j.newKey[hi] = j.old[hi]
		case pre != nil && pre.keys[hi] != "":
			j.newKey[hi] = pre.keys[hi]
		default:
			holder = true
		}
		keys, hash, err := p.makeThumbs(ctx, st.spec, table, g, j.src, j.version, need, holder, st.noteCreated)
		for _, i := range need {
			j.newKey[i] = keys[i]
		}
		if holder {
			j.newKey[hi] = hash
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
	return permanent(err) || errors.Is(err, ErrStorage)
}

// runAndApply runs jobs (runJobs) and stores each one's keys in its row
// (apply, with mode).
func (p *Plugin) runAndApply(db *gorm.DB, st *stmtState, jobs []*job, mode storeMode) error {
	if err := p.runJobs(db, st, jobs); err != nil {
		return err
	}
	for _, j := range jobs {
		if err := p.apply(db, st, j, mode); err != nil {
			return err
		}
	}
	return nil
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
	var cols map[string]any
	store := func(i int, v any) {
		if mode == storeAll || (mode == storeChanged && j.old[i] != j.newKey[i]) {
			if cols == nil {
				cols = map[string]any{}
			}
			cols[j.group.slotColumn(i)] = v
		}
	}
	if err := j.group.setSlots(ctx, j.row.value, j.newKey); err != nil {
		return err
	}
	for i := range j.group.thumbs {
		store(i, ImageField{Key: j.newKey[i]})
	}
	if j.group.placeholder != nil {
		hi := len(j.group.thumbs)
		store(hi, j.newKey[hi])
	}
	if len(cols) > 0 {
		q := inner(db).Table(db.Statement.Table).Where(clause.And(pkConds(db, j.row)...))
		if err := q.UpdateColumns(cols).Error; err != nil {
			return &Error{Model: st.spec.name, Field: j.group.thumbs[0].field.Name, Err: fmt.Errorf("%w: saving thumbnail column: %w", ErrStorage, err)}
		}
	}
	for i := range j.group.thumbs { // not the placeholder: it is no blob
		st.noteStored(j.newKey[i], j.old[i])
	}
	if j.enqueue {
		return p.enqueue(db, st, j.row)
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
