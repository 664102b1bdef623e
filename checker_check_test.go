package gormthumb

// The model-based checker's invariants (see checker_test.go): the rows
// against the twin's, every key a row holds against the bucket, every
// thumbnail and placeholder against what the row's current source gives
// (computed here, independently of the plugin), and at quiescence the
// bucket, the outbox and the failures reported.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // image.Decode of thumbnails
	"image/png"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/buckket/go-blurhash"
	"github.com/gormthumb/gormthumb/thumb"
)

// ckRow is one row as read from a database: its plain columns, and on the
// plugin's side its thumbnail and placeholder columns.
type ckRow struct {
	id      string
	name    string
	deleted bool
	srcs    []string   // per group
	thumbs  [][]string // per group, per thumbnail
	holders []string   // per group ("" without a placeholder)
}

// plain is what is compared with the twin.
func (r ckRow) plain() string {
	return fmt.Sprintf("id=%s name=%q deleted=%v sources=%q", r.id, r.name, r.deleted, r.srcs)
}

// ckReadRows reads every row of m (soft-deleted ones too), by raw SQL.
func ckReadRows(s *ckSide, m *ckModel, full bool) ([]ckRow, error) {
	cols := []string{"id", "name"}
	for _, g := range m.groups {
		cols = append(cols, g.col)
	}
	if full {
		for _, g := range m.groups {
			for _, t := range g.thumbs {
				cols = append(cols, t.col)
			}
			if g.holder != "" {
				cols = append(cols, g.holderCol)
			}
		}
	}
	del := "0"
	if m.soft {
		del = "CASE WHEN deleted_at IS NULL THEN 0 ELSE 1 END"
	}
	rows, err := s.sql.QueryContext(context.Background(), "SELECT "+strings.Join(cols, ", ")+", "+del+" FROM "+m.table+" ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ckRow
	for rows.Next() {
		vals := make([]any, len(cols)+1)
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		str := func(i int) string {
			switch v := vals[i].(type) {
			case nil:
				return ""
			case []byte:
				return string(v)
			case string:
				return v
			}
			return fmt.Sprint(vals[i])
		}
		r := ckRow{id: str(0), name: str(1), deleted: str(len(cols)) == "1"}
		k := 2
		for range m.groups {
			r.srcs = append(r.srcs, str(k))
			k++
		}
		if full {
			for _, g := range m.groups {
				var ts []string
				for range g.thumbs {
					ts = append(ts, str(k))
					k++
				}
				r.thumbs = append(r.thumbs, ts)
				h := ""
				if g.holder != "" {
					h = str(k)
					k++
				}
				r.holders = append(r.holders, h)
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ckBlob is what the checker learnt of a thumbnail blob.
type ckBlob struct {
	source string // its gormthumb-source metadata
	w, h   int
	format string
	err    error
}

// blobInfo reads (once per key: keys are never written twice) a blob's
// metadata and decoded size.
func (r *ckRun) blobInfo(key string) ckBlob {
	r.cache.mu.Lock()
	b, ok := r.cache.blobs[key]
	r.cache.mu.Unlock()
	if ok {
		return b
	}
	attrs, err := r.bucket.Attributes(r.ctx, key)
	if err != nil {
		return ckBlob{err: err} // not cached: it may be a missing blob
	}
	b.source = attrs.Metadata["gormthumb-source"]
	data, err := r.bucket.ReadAll(r.ctx, key)
	if err != nil {
		return ckBlob{err: err}
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		b.err = fmt.Errorf("decoding %s: %w", key, err)
	} else {
		b.w, b.h, b.format = img.Bounds().Dx(), img.Bounds().Dy(), format
	}
	r.cache.mu.Lock()
	r.cache.blobs[key] = b
	r.cache.mu.Unlock()
	return b
}

// hashes returns the BlurHashes a placeholder of pool source src may hold
// in group g of m: the README's recipe (a 32-pixel PNG of the source from
// GoProcessor, then go-blurhash Encode(4, 3)), computed here. A JPEG is
// decoded at the scale the largest size made with it asks for, so the
// candidates are those of every subset of the group's thumbnails made in
// the same pass.
func (r *ckRun) hashes(src int, m *ckModel, gi int) []string {
	if src < 0 || !ckPool[src].good() {
		return nil
	}
	ck := fmt.Sprintf("%d/%s/%d", src, m.name, gi)
	r.cache.mu.Lock()
	hs, ok := r.cache.hashes[ck]
	r.cache.mu.Unlock()
	if ok {
		return hs
	}
	g := m.groups[gi]
	for set := 0; set < 1<<len(g.thumbs); set++ {
		var specs []Spec
		for i, t := range g.thumbs {
			if set&(1<<i) != 0 {
				specs = append(specs, ckSpecs(t)...)
			}
		}
		specs = append(specs, Spec{Width: 32, Height: 32, Format: PNG})
		out, err := thumb.GoProcessor{}.Process(r.ctx, bytes.NewReader(ckPoolData()[src]), specs, Limits{MaxPixels: ckMaxPixels})
		if err != nil {
			r.t.Fatalf("checker: a placeholder of %s: %v", ckPool[src].label, err)
		}
		img, err := png.Decode(bytes.NewReader(out[len(out)-1].Data))
		if err != nil {
			r.t.Fatal(err)
		}
		h, err := blurhash.Encode(4, 3, img)
		if err != nil {
			r.t.Fatal(err)
		}
		if !slices.Contains(hs, h) {
			hs = append(hs, h)
		}
	}
	r.cache.mu.Lock()
	r.cache.hashes[ck] = hs
	r.cache.mu.Unlock()
	return hs
}

// exists reports whether key is in the bucket.
func (r *ckRun) exists(key string) bool {
	ok, err := r.bucket.Exists(r.ctx, key)
	return ok && err == nil
}

// checkState compares every table with the twin's and checks every row's
// keys, thumbnails and placeholders, and that no original was deleted.
func (r *ckRun) checkState(final bool) []ckViolation {
	var out []ckViolation
	add := func(kind, format string, args ...any) {
		out = append(out, ckViolation{kind: kind, msg: fmt.Sprintf(format, args...)})
	}
	pending, failed, err := r.backgroundState()
	if err != nil {
		add("read-error", "reading the outbox and failures: %v", err)
		return out
	}
	for _, m := range ckModels {
		prows, err := ckReadRows(r.p, m, true)
		if err != nil {
			add("read-error", "%s: %v", m.table, err)
			continue
		}
		trows, err := ckReadRows(r.tw, m, false)
		if err != nil {
			add("read-error", "twin %s: %v", m.table, err)
			continue
		}
		var pp, tp []string
		for _, x := range prows {
			pp = append(pp, x.plain())
		}
		for _, x := range trows {
			tp = append(tp, x.plain())
		}
		if !slices.Equal(pp, tp) {
			add("rows-differ", "%s, with the plugin:\n    %s\n  without:\n    %s", m.table, strings.Join(pp, "\n    "), strings.Join(tp, "\n    "))
		}
		for _, row := range prows {
			out = append(out, r.checkRow(m, row, pending, failed)...)
		}
	}
	for _, key := range r.originals() {
		if !r.exists(key) {
			add("original-deleted", "the original %s was deleted", key)
		}
	}
	return out
}

// backgroundState reads the outbox (which rows have work recorded) and the
// failures background work recorded ("table/key/field/source").
func (r *ckRun) backgroundState() (pending, failed map[string]bool, err error) {
	pending, failed = map[string]bool{}, map[string]bool{}
	rows, err := r.outbox()
	if err != nil {
		return nil, nil, err
	}
	for _, k := range rows {
		pending[k] = true
	}
	var fs []struct {
		Tbl, RowKey, Field, Source string
	}
	if err := r.p.db.Raw("SELECT tbl, row_key, field, source FROM gormthumb_failures").Scan(&fs).Error; err != nil {
		return nil, nil, err
	}
	for _, f := range fs {
		failed[f.Tbl+"/"+f.RowKey+"/"+f.Field+"/"+f.Source] = true
	}
	return pending, failed, nil
}

// checkRow checks one row of the plugin's database.
func (r *ckRun) checkRow(m *ckModel, row ckRow, pending, failed map[string]bool) []ckViolation {
	var out []ckViolation
	where := fmt.Sprintf("%s id=%s", m.name, row.id)
	add := func(kind, format string, args ...any) {
		out = append(out, ckViolation{kind: kind, msg: where + ": " + fmt.Sprintf(format, args...)})
	}
	isPending := pending[m.table+"/"+row.id]
	for gi, g := range m.groups {
		src := row.srcs[gi]
		si := r.srcIndex(src)
		groupFailed := false
		for _, t := range g.thumbs {
			groupFailed = groupFailed || failed[m.table+"/"+row.id+"/"+t.field+"/"+src]
		}
		for ti, t := range g.thumbs {
			k := row.thumbs[gi][ti]
			col := g.col + "→" + t.col
			if k == "" {
				if src != "" && !(t.async && (isPending || groupFailed)) {
					add("missing-thumbnail", "%s: source %s, no thumbnail (and no background work recorded or failed)", col, src)
				}
				continue
			}
			members, sizes, ok := ckMembers(k)
			if !ok {
				add("bad-key", "%s: %q is not a thumbnail key", t.col, k)
				continue
			}
			dangling := false
			for _, mk := range members {
				if !r.exists(mk) {
					add("dangling", "%s = %q points at a blob that is not there (%s)", t.col, k, mk)
					dangling = true
				}
			}
			if dangling {
				continue
			}
			if src == "" {
				add("thumbnail-without-source", "%s = %q with no source", t.col, k)
				continue
			}
			b := r.blobInfo(members[0])
			if b.err != nil && b.source == "" {
				add("blob-unreadable", "%s: %v", k, b.err)
				continue
			}
			if b.source != src {
				if !(t.async && isPending) {
					add("thumbnail-of-another-source", "%s: the row's source is %s, its thumbnail %s was made from %s", col, src, k, b.source)
				}
				continue
			}
			if si < 0 {
				continue // a key the checker did not write: cannot say what it gives
			}
			want := ckExpectedSizes(t, ckPool[si].w, ckPool[si].h)
			if !slices.Equal(sizes, want) {
				add("thumbnail-size", "%s: key %s names sizes %v, a thumbnail of %s has %v", col, k, sizes, ckPool[si].label, want)
				continue
			}
			for i, mk := range members {
				mb := r.blobInfo(mk)
				if mb.err != nil || mb.w != want[i][0] || mb.h != want[i][1] || mb.format != ckPool[si].format {
					add("thumbnail-content", "%s: blob %s is %s %dx%d (%v), want %s %dx%d", col, mk, mb.format, mb.w, mb.h, mb.err, ckPool[si].format, want[i][0], want[i][1])
				}
			}
		}
		if g.holder == "" {
			continue
		}
		h := row.holders[gi]
		col := g.col + "→" + g.holderCol
		switch {
		case src == "":
			if h != "" {
				add("placeholder-without-source", "%s = %q with no source", col, h)
			}
		case slices.Contains(r.hashes(si, m, gi), h):
		case h == "":
			if !(g.asyncOnly() && (isPending || groupFailed)) {
				add("missing-placeholder", "%s: source %s, no placeholder", col, src)
			}
		default:
			if !(g.asyncOnly() && isPending) {
				add("placeholder-of-another-source", "%s = %q is not the BlurHash of %s (%q)", col, h, src, r.hashes(si, m, gi))
			}
		}
	}
	return out
}

// originals lists the source blobs the checker wrote (directly or through
// Upload): none may ever be deleted.
func (r *ckRun) originals() []string {
	var out []string
	for _, s := range ckPool {
		if s.write {
			out = append(out, s.key)
		}
	}
	r.wmu.Lock()
	for k := range r.uploads {
		out = append(out, k)
	}
	r.wmu.Unlock()
	sort.Strings(out)
	return out
}

// quiesce ends a sequence: the worker drains the outbox (its relay
// publishing anything lost), Sweep deletes every orphan, and then every
// blob is an original or referenced, the outbox is empty, and each
// permanent failure was reported exactly once.
func (r *ckRun) quiesce() []ckViolation {
	var out []ckViolation
	add := func(kind, format string, args ...any) {
		out = append(out, ckViolation{kind: kind, msg: fmt.Sprintf(format, args...)})
	}
	if v := r.drain(); v != nil {
		return []ckViolation{*v}
	}
	if _, err := r.plugin.Sweep(r.ctx, r.p.db, SweepOptions{Models: ckAllModels(), MinAge: -1}); err != nil {
		add("sweep-error", "%v", err)
	}
	if out = append(out, r.checkState(true)...); len(out) > 0 {
		return out
	}
	referenced := map[string]bool{}
	for _, m := range ckModels {
		rows, err := ckReadRows(r.p, m, true)
		if err != nil {
			add("read-error", "%v", err)
			return out
		}
		for _, row := range rows {
			for gi := range m.groups {
				referenced[row.srcs[gi]] = true
				for _, k := range row.thumbs[gi] {
					ms, _, _ := ckMembers(k)
					for _, mk := range ms {
						referenced[mk] = true
					}
				}
			}
		}
	}
	originals := map[string]bool{}
	for _, k := range r.originals() {
		originals[k] = true
	}
	it := r.bucket.List(nil)
	for {
		obj, err := it.Next(r.ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			add("list-error", "%v", err)
			break
		}
		if !originals[obj.Key] && !referenced[obj.Key] {
			b := r.blobInfo(obj.Key)
			add("orphan", "%s (made from %q) is referenced by no row, and Sweep left it", obj.Key, b.source)
		}
	}
	if rows, err := r.outbox(); err != nil || len(rows) > 0 {
		add("outbox-not-empty", "after the drain: %v %v", rows, err)
	}
	// Each permanent failure reported once, and each recorded.
	var fs []struct {
		Tbl, RowKey, Field, Source string
	}
	if err := r.p.db.Raw("SELECT tbl, row_key, field, source FROM gormthumb_failures").Scan(&fs).Error; err != nil {
		add("read-error", "%v", err)
		return out
	}
	reported := map[string]int{}
	r.wmu.Lock()
	for _, f := range r.failures {
		src := ""
		var pe *Error
		if errors.As(f.Err, &pe) {
			src = pe.Key
		}
		reported[f.Table+"/"+f.Key+"/"+f.Field+"/"+src]++
	}
	r.wmu.Unlock()
	recorded := map[string]bool{}
	for _, f := range fs {
		k := f.Tbl + "/" + f.RowKey + "/" + f.Field + "/" + f.Source
		recorded[k] = true
		if reported[k] != 1 {
			add("failure-reports", "the failure %s was reported %d times through OnFailure", k, reported[k])
		}
	}
	for k, n := range reported {
		if !recorded[k] {
			add("failure-reports", "OnFailure reported %s (%d times), which gormthumb_failures does not record", k, n)
		}
	}
	return out
}
