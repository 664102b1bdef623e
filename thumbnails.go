package gormthumb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/gormthumb/gormthumb/thumb"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Making thumbnails: the one place that reads a source, runs the processor
// and writes blobs (makeThumbs), and the one record every path keeps for a
// row's source group (rowGroup), which resolve takes through the rule of
// plan.go. Statements resolve their groups in their prepare callback,
// before GORM opens its transaction, so no database lock or pooled
// connection is held while an image is decoded; inside the transaction
// they resolve again with what the row really holds, which takes what
// prepare made and only makes what it could not foresee (a hook or a SQL
// expression changed the source, a stale struct), and store the keys.

// thumbUpToDate is the rule for whether a thumbnail is its source's
// (decideThumb asks it): with a source, its key must carry the digest of
// what it would be made from (the field, the source's key and version,
// the spec's canonical key; keys written before the canonical key digested
// the spec's legacy text, and keys written before digest v2 also the
// row's key); with none, it must be empty. It allocates nothing: an
// unchanged Save asks it for every thumbnail.
func thumbUpToDate(key, table, pk string, t *thumbField, src, version string) bool {
	if src == "" {
		return key == ""
	}
	return digestMatches(key, table, t.field.Name, src, version, t.specKey) ||
		(t.legacyKey != "" && digestMatches(key, table, t.field.Name, src, version, t.legacyKey)) ||
		(pk != "" && t.legacyKey != "" && digestMatchesV1(key, table, pk, t.field.Name, src, version, t.legacyKey))
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
	out, err := p.process(ctx, body, specs)
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

// process runs the processor; a panic in it is the processor breaking its
// contract (ErrProcessor), not a crash of the save that called it.
func (p *Plugin) process(ctx context.Context, body io.Reader, specs []Spec) (out []Thumbnail, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: panic: %v", ErrProcessor, r)
		}
	}()
	return p.processor.Process(ctx, body, specs, p.limits)
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

// isTyped reports whether err already wraps one of our sentinels.
func isTyped(err error) bool {
	return permanent(err) || errors.Is(err, ErrStorage)
}

// rowGroup is one row's source group as a statement, Regenerate or Work
// sees it: the one record they keep, from the inputs of the rule to its
// plan.
type rowGroup struct {
	row       int // index into the statement's rows
	g         *sourceGroup
	src       string // the source the row holds (or will hold)
	version   string // src's version, once versioned
	versioned bool
	cur       groupKeys // what the row holds now (see planInput.cur)
	// made is what was made for madeSrc and madeVersion: kept across the
	// statement's callbacks, used only while they are still the source.
	made        groupKeys
	madeSrc     string
	madeVersion string
	plan        groupPlan
}

// planMode is how a path applies the rule.
type planMode struct {
	force      bool // Regenerate's Force
	background bool // Work and Regenerate make async thumbnails
}

// setSource sets the source the row holds; its version is looked up again
// if it changed.
func (rg *rowGroup) setSource(src string) {
	if src != rg.src {
		rg.src, rg.version, rg.versioned = src, "", false
	}
}

// input is the rule's input for rg.
func (rg *rowGroup) input(table, pk string, mode planMode) planInput {
	in := planInput{g: rg.g, table: table, pk: pk, src: rg.src, version: rg.version, cur: rg.cur,
		force: mode.force, background: mode.background}
	if rg.src != "" && rg.madeSrc == rg.src && rg.madeVersion == rg.version {
		in.made = rg.made
	}
	if in.cur.thumbs == nil {
		in.cur = emptyKeys(rg.g)
	}
	return in
}

// firstField names the group in errors that are not one thumbnail's.
func (g *sourceGroup) firstField() string { return g.thumbs[0].field.Name }

// resolve applies the rule to rg and carries out what it asks to make: it
// looks up the source's version where needed, plans, makes what the plan
// lists (each blob recorded in created before it is written), and plans
// again, leaving the final, ready plan in rg.plan.
func (p *Plugin) resolve(ctx context.Context, ms *modelSpec, table, pk string, rg *rowGroup, mode planMode, created func(string)) error {
	if rg.src != "" && !rg.versioned {
		v, err := p.sourceVersionOf(ctx, rg.src)
		if err != nil {
			return &Error{Model: ms.name, Field: rg.g.firstField(), Key: rg.src, Err: err}
		}
		rg.version, rg.versioned = v, true
	}
	pl := planGroup(rg.input(table, pk, mode))
	if !pl.ready() {
		if rg.madeSrc != rg.src || rg.madeVersion != rg.version || rg.made.thumbs == nil {
			rg.made, rg.madeSrc, rg.madeVersion = emptyKeys(rg.g), rg.src, rg.version
		}
		keys, hash, err := p.makeThumbs(ctx, ms, table, rg.g, rg.src, rg.version, pl.make, pl.makeHolder, created)
		if err != nil {
			return err
		}
		for _, i := range pl.make {
			rg.made.thumbs[i] = keys[i]
		}
		if pl.makeHolder {
			rg.made.holder = hash
		}
		pl = planGroup(rg.input(table, pk, mode))
	}
	rg.plan = pl
	return nil
}

// resolveAll resolves recs in parallel (at most WithConcurrency sources at
// once) and returns the first error.
func (p *Plugin) resolveAll(ctx context.Context, st *stmtState, table string, recs []*rowGroup, mode planMode) error {
	errs := make([]error, len(recs))
	p.parallel(len(recs), func(k int) {
		rg := recs[k]
		errs[k] = p.resolve(ctx, st.spec, table, st.rows[rg.row].pk, rg, mode, st.noteCreated)
	})
	return firstError(errs)
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

// storeMode says which of a group's columns store writes.
type storeMode int

const (
	storeChanged storeMode = iota // those whose value the plan changes
	storeAll                      // all of them (an upsert may have written others)
	storeNone                     // none: the INSERT wrote them
)

// store carries out rg's plan in the statement's transaction: it sets the
// new values on the caller's struct (when it can be addressed: a Save of a
// value cannot be), writes the columns mode says to the row, records what
// is stored and superseded for settle, and records background work.
func (p *Plugin) store(db *gorm.DB, st *stmtState, rg *rowGroup, mode storeMode) error {
	r := st.rows[rg.row]
	next, cur := rg.plan.next, rg.cur
	if cur.thumbs == nil {
		cur = emptyKeys(rg.g)
	}
	if r.value.IsValid() {
		if err := rg.g.setKeys(db.Statement.Context, r.value, next); err != nil {
			return fmt.Errorf("gormthumb: %s: setting the thumbnail fields: %w", st.spec.name, err)
		}
	}
	var cols map[string]any
	set := func(col string, changed bool, v any) {
		if mode == storeAll || (mode == storeChanged && changed) {
			if cols == nil {
				cols = map[string]any{}
			}
			cols[col] = v
		}
	}
	for i, t := range rg.g.thumbs {
		set(t.field.DBName, next.thumbs[i] != cur.thumbs[i], ImageField{Key: next.thumbs[i]})
	}
	if h := rg.g.placeholder; h != nil {
		set(h.DBName, next.holder != cur.holder, next.holder)
	}
	if len(cols) > 0 {
		q := inner(db).Table(db.Statement.Table).Where(clause.And(pkConds(db, r)...))
		if err := q.UpdateColumns(cols).Error; err != nil {
			return fmt.Errorf("gormthumb: %s: saving thumbnail columns: %w", st.spec.name, err)
		}
	}
	for i := range rg.g.thumbs { // not the placeholder: it is no blob
		st.noteStored(next.thumbs[i], cur.thumbs[i])
	}
	if rg.plan.enqueue {
		return p.enqueue(db, st, r)
	}
	return nil
}
