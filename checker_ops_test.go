package gormthumb

// The model-based checker's operations: what they are, how they print,
// how the generator draws them, and how one runs on a side (the plugin's
// database or the twin). See checker_test.go.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ckKind is the kind of an operation.
type ckKind int

const (
	kCreate        ckKind = iota // variant: ckCreate*
	kFirstOrCreate               // Where(name).Assign(source).FirstOrCreate
	kUpsert                      // variant: ckUpsert*
	kSaveSlice                   // Save(&[]T{loaded row, new row})
	kLoad                        // S := First(id), variant 1: Select(id, name, source)
	kSave                        // variant: ckSave*
	kUpdates                     // variant: ckUpdates*
	kUpdate                      // variant: ckUpdate*
	kDelete                      // variant: ckDelete*
	kTx                          // db.Transaction with inner ops (and a nested one)
	kUpload                      // plugin.Upload, then Save
	kRegenerate                  // gormthumb.Regenerate (Force or not)
	kSweep                       // plugin.Sweep, MinAge -1
	kSaveRegen                   // a Save and a Regenerate at once
	kWorkerStart                 // the worker runs from now on (drained after each op)
	kWorkerStop                  // the worker stops
	kDrain                       // the worker runs until the outbox is empty
	kTxWorker                    // a caller's transaction with an async save, handled by a running worker before the commit
)

const (
	ckCreatePtr = iota
	ckCreateSlice
	ckCreateMap
	ckCreateBatches
)

const (
	ckUpsertAll = iota
	ckUpsertNothing
	ckUpsertName
	ckUpsertNameSource
)

const (
	ckSavePlain = iota
	ckSaveOmitName
	ckSaveSelectCols
	ckSaveSelectStar
	ckSaveWhereSelectStar
	ckSaveValue
	ckSaveVariants
)

const (
	ckUpdatesSelf = iota
	ckUpdatesStruct
	ckUpdatesMap
	ckUpdatesWhereSelectStar
	ckUpdatesVariants
)

const (
	ckUpdatePtr = iota
	ckUpdateValueModel
	ckUpdateWhere
	ckUpdateName
	ckUpdateColumn
	ckUpdateColumns
	ckUpdateBulk
	ckUpdateVariants
)

const (
	ckDeleteValue = iota
	ckDeleteID
	ckDeleteCond
)

// How an update finds the struct it writes.
const (
	refFresh    = iota // loaded by the op itself
	refSelect          // loaded by the op with Select(id, name, first source)
	refVar             // a struct variable loaded earlier (stale if the row changed since)
	refUnloaded        // built by hand: T{ID: id} and the changes
)

// Source choices (otherwise an index into ckPool).
const (
	srcKeep  = -1
	srcEmpty = -2
)

// ckElem is one row a create-like op writes.
type ckElem struct {
	row  int    // the handle the new row is bound to (or the existing row's)
	name string // "" keeps
	srcs []int  // per group of the model
}

// ckOp is one operation of a sequence. Rows and structs are referred to
// symbolically (row handles #n, struct variables Sn), so that a shorter
// sequence still replays: an op on a handle no earlier op bound is
// skipped on both databases.
type ckOp struct {
	kind     ckKind
	variant  int
	model    int
	row      int // the row handle an op targets (-1: none / a new one)
	v        int // struct variable
	ref      int // refFresh, ...
	group    int // the group an Update writes
	elems    []ckElem
	name     string // a new Name ("" keeps)
	srcs     []int  // per group: srcKeep, srcEmpty or a pool index
	cond     string // the name a Where matches ("" the struct's own name before the change)
	unscoped bool
	prep     bool // in a PrepareStmt session
	force    bool // Regenerate: Force
	inner    []ckOp
	nested   []ckOp
	rollback bool // kTx: the function returns an error
	nestedRB bool // the nested transaction returns an error
}

// twin reports whether the op writes through GORM (and so runs on the
// twin too).
func (op ckOp) twin() bool {
	switch op.kind {
	case kRegenerate, kSweep, kWorkerStart, kWorkerStop, kDrain:
		return false
	}
	return true
}

func (op ckOp) m() *ckModel { return ckModels[op.model] }

// ---------------------------------------------------------------------------
// Printing

// changeList lists the op's changes ("Cover=a.jpg(200x100)", "Name=...").
func (op ckOp) changeList() []string {
	var parts []string
	m := op.m()
	for gi, c := range op.srcs {
		if c != srcKeep {
			parts = append(parts, m.groups[gi].field+"="+ckSrcLabel(c))
		}
	}
	if op.name != "" {
		parts = append(parts, fmt.Sprintf("Name=%q", op.name))
	}
	return parts
}

func (op ckOp) changes() string { return strings.Join(op.changeList(), ", ") }

// assigns prints the changes as assignments to p.
func (op ckOp) assigns() string {
	parts := op.changeList()
	for i := range parts {
		parts[i] = "p." + parts[i]
	}
	return strings.Join(parts, ", ")
}

func (e ckElem) String(m *ckModel) string {
	parts := []string{fmt.Sprintf("%s#%d", m.name, e.row)}
	if e.name != "" {
		parts = append(parts, fmt.Sprintf("name=%q", e.name))
	}
	for gi, c := range e.srcs {
		if c != srcKeep {
			parts = append(parts, strings.ToLower(m.groups[gi].field)+"="+ckSrcLabel(c))
		}
	}
	return strings.Join(parts, " ")
}

func (op ckOp) target() string {
	m := op.m()
	switch op.ref {
	case refFresh:
		return fmt.Sprintf("p := First(%s#%d)", m.name, op.row)
	case refSelect:
		return fmt.Sprintf("p := Select(id, name, %s).First(%s#%d)", m.groups[0].col, m.name, op.row)
	case refVar:
		return fmt.Sprintf("p := S%d", op.v)
	}
	return fmt.Sprintf("p := %s{ID: #%d}", m.name, op.row)
}

func (op ckOp) condStr() string {
	if op.cond == "" {
		return "name = p's own name"
	}
	return fmt.Sprintf("name = %q", op.cond)
}

func (op ckOp) String() string {
	m := op.m()
	pre := ""
	if op.prep {
		pre = "[PrepareStmt] "
	}
	switch op.kind {
	case kCreate:
		var es []string
		for _, e := range op.elems {
			es = append(es, e.String(m))
		}
		how := [...]string{"Create(&v)", "Create(&[]T)", "Model(&T{}).Create(map)", "CreateInBatches(&[]T, 2)"}[op.variant]
		return pre + fmt.Sprintf("%s: %s", how, strings.Join(es, "; "))
	case kFirstOrCreate:
		return pre + fmt.Sprintf("Where(name=%q).Assign(%s=%s).FirstOrCreate(&v) -> %s#%d", op.elems[0].name, m.groups[0].col, ckSrcLabel(op.elems[0].srcs[0]), m.name, op.elems[0].row)
	case kUpsert:
		how := [...]string{"UpdateAll", "DoNothing", "DoUpdates(name)", "DoUpdates(name, " + m.groups[0].col + ")"}[op.variant]
		tgt := fmt.Sprintf("existing %s#%d", m.name, op.row)
		if op.row < 0 {
			tgt = fmt.Sprintf("new %s#%d (explicit id)", m.name, op.elems[0].row)
		}
		return pre + fmt.Sprintf("Clauses(OnConflict{id, %s}).Create(&v): %s %s", how, tgt, ckElem{row: -1, name: op.elems[0].name, srcs: op.elems[0].srcs}.String(m)[len(m.name)+3:])
	case kSaveSlice:
		return pre + fmt.Sprintf("Save(&[]T{First(%s#%d) with %s, new %s})", m.name, op.row, op.changes(), op.elems[0].String(m))
	case kLoad:
		if op.variant == 1 {
			return pre + fmt.Sprintf("S%d := Select(id, name, %s).First(%s#%d)", op.v, m.groups[0].col, m.name, op.row)
		}
		return pre + fmt.Sprintf("S%d := First(%s#%d)", op.v, m.name, op.row)
	case kSave:
		ch := op.assigns()
		if ch != "" {
			ch = "; " + ch
		}
		var how string
		switch op.variant {
		case ckSavePlain:
			how = "Save(&p)"
		case ckSaveOmitName:
			how = `Omit("Name").Save(&p)`
		case ckSaveSelectCols:
			how = fmt.Sprintf("Select(%s).Save(&p)", strings.Join(ckSelectCols(m), ", "))
		case ckSaveSelectStar:
			how = `Select("*").Save(&p)`
		case ckSaveWhereSelectStar:
			how = fmt.Sprintf(`Where(%s).Select("*").Save(&p)`, op.condStr())
		case ckSaveValue:
			how = "Save(p) (a value)"
		}
		return pre + fmt.Sprintf("%s%s; %s", op.target(), ch, how)
	case kUpdates:
		var how string
		switch op.variant {
		case ckUpdatesSelf:
			how = fmt.Sprintf("%s; Model(&p).Updates(&p)", op.assigns())
		case ckUpdatesStruct:
			how = fmt.Sprintf("Model(&p).Updates(%s{%s})", m.name, op.changes())
		case ckUpdatesMap:
			how = fmt.Sprintf("Model(&p).Updates(map{%s})", op.changes())
		case ckUpdatesWhereSelectStar:
			how = fmt.Sprintf(`%s; Model(&p).Where(%s).Select("*").Updates(&p)`, op.assigns(), op.condStr())
		}
		return pre + op.target() + "; " + how
	case kUpdate:
		col := m.groups[op.group].col
		val := ckSrcLabel(op.srcs[op.group])
		var how string
		switch op.variant {
		case ckUpdatePtr:
			how = fmt.Sprintf("Model(&p).Update(%q, %s)", col, val)
		case ckUpdateValueModel:
			return pre + fmt.Sprintf("Model(%s{ID: #%d}).Update(%q, %s) (a value model)", m.name, op.row, col, val)
		case ckUpdateWhere:
			how = fmt.Sprintf("Model(&p).Where(%s).Update(%q, %s)", op.condStr(), col, val)
		case ckUpdateName:
			how = fmt.Sprintf("Model(&p).Update(\"name\", %q)", op.name)
		case ckUpdateColumn:
			how = fmt.Sprintf("Model(&p).UpdateColumn(%q, %s)", col, val)
		case ckUpdateColumns:
			how = fmt.Sprintf("Model(&p).UpdateColumns(map{%q: %s, \"name\": %q})", col, val, op.name)
		case ckUpdateBulk:
			return pre + fmt.Sprintf("Model(&%s{}).Where(name = %q).Update(%q, %s) (bulk)", m.name, op.cond, col, val)
		}
		return pre + op.target() + "; " + how
	case kDelete:
		u := ""
		if op.unscoped {
			u = "Unscoped()."
		}
		switch op.variant {
		case ckDeleteValue:
			return pre + fmt.Sprintf("%s; %sDelete(&p)", op.target(), u)
		case ckDeleteID:
			return pre + fmt.Sprintf("%sDelete(&%s{}, #%d)", u, m.name, op.row)
		}
		return pre + fmt.Sprintf("%sWhere(name = %q).Delete(&%s{})", u, op.cond, m.name)
	case kTx:
		var in []string
		for _, o := range op.inner {
			in = append(in, o.String())
		}
		s := "Transaction { " + strings.Join(in, "; ")
		if len(op.nested) > 0 {
			var nn []string
			for _, o := range op.nested {
				nn = append(nn, o.String())
			}
			end := "commit"
			if op.nestedRB {
				end = "roll back"
			}
			s += "; tx.Transaction { " + strings.Join(nn, "; ") + "; " + end + " }"
		}
		end := "commit"
		if op.rollback {
			end = "roll back"
		}
		return pre + s + "; " + end + " }"
	case kUpload:
		tgt := fmt.Sprintf("p := First(%s#%d)", m.name, op.row)
		if op.row < 0 {
			tgt = fmt.Sprintf("p := new %s#%d", m.name, op.elems[0].row)
		}
		return pre + fmt.Sprintf("%s; plugin.Upload(&p, %q, %s); Save(&p)", tgt, m.groups[op.group].field, ckSrcLabel(op.srcs[op.group]))
	case kRegenerate:
		if op.force {
			return fmt.Sprintf("Regenerate(%s, Force)", m.name)
		}
		return fmt.Sprintf("Regenerate(%s)", m.name)
	case kSweep:
		return "plugin.Sweep(all models, MinAge: -1)"
	case kSaveRegen:
		f := ""
		if op.force {
			f = ", Force"
		}
		return pre + fmt.Sprintf("at once: { p := First(%s#%d); %s; Save(&p) } and Regenerate(%s%s)", m.name, op.row, op.assigns(), m.name, f)
	case kWorkerStart:
		return "start the worker (drained after every op)"
	case kWorkerStop:
		return "stop the worker"
	case kDrain:
		return "drain: run the worker until the outbox is empty"
	case kTxWorker:
		return pre + fmt.Sprintf("with the worker running: Transaction { %s; wait for the worker; commit }", op.inner[0].String())
	}
	return fmt.Sprintf("op%d", op.kind)
}

// ckSelectCols is the Select list of ckSaveSelectCols: Name, the first
// source and its thumbnails (and placeholder).
func ckSelectCols(m *ckModel) []string {
	g := m.groups[0]
	cols := []string{`"Name"`, fmt.Sprintf("%q", g.field)}
	for _, t := range g.thumbs {
		cols = append(cols, fmt.Sprintf("%q", t.field))
	}
	if g.holder != "" {
		cols = append(cols, fmt.Sprintf("%q", g.holder))
	}
	return cols
}

// ---------------------------------------------------------------------------
// The generator

// ckGen draws random operations from a seed. It tracks which handles and
// variables it has handed out (not whether their ops succeeded: that is
// only known when the op runs).
type ckGen struct {
	rng      *rand.Rand
	rows     map[int][]int // model -> row handles
	vars     map[int][]int // model -> struct variables
	varRow   map[int]int   // struct variable -> the row it was loaded from
	models   []int         // the models this sequence works on: few, so its ops meet
	last     int           // the model of the last op: ops on one model meet more often
	next     int           // next row handle
	nextVar  int
	workerOn bool
}

func newCkGen(seed int64) *ckGen {
	g := &ckGen{rng: rand.New(rand.NewSource(seed)), rows: map[int][]int{}, vars: map[int][]int{}, varRow: map[int]int{}, next: 1, nextVar: 1}
	// One to three models per sequence, drawn by weight.
	n := [...]int{1, 1, 2, 2, 3}[g.pick(5)]
	for len(g.models) < n {
		total := 0
		for i, m := range ckModels {
			if !slices.Contains(g.models, i) {
				total += m.weight
			}
		}
		k := g.pick(total)
		for i, m := range ckModels {
			if slices.Contains(g.models, i) {
				continue
			}
			if k < m.weight {
				g.models = append(g.models, i)
				break
			}
			k -= m.weight
		}
	}
	g.last = g.models[0]
	return g
}

// ckWeights are the generator's weights per kind.
var ckWeights = []struct {
	kind ckKind
	w    int
}{
	{kCreate, 16}, {kFirstOrCreate, 3}, {kUpsert, 5}, {kSaveSlice, 2},
	{kLoad, 14}, {kSave, 24}, {kUpdates, 12}, {kUpdate, 10}, {kDelete, 5},
	{kTx, 6}, {kUpload, 3}, {kRegenerate, 3}, {kSweep, 2}, {kSaveRegen, 2},
	{kWorkerStart, 2}, {kWorkerStop, 2}, {kDrain, 5}, {kTxWorker, 1},
}

func (g *ckGen) pick(n int) int { return g.rng.Intn(n) }

func (g *ckGen) chance(p float64) bool { return g.rng.Float64() < p }

func (g *ckGen) model(asyncOnly bool) int {
	if (!asyncOnly || ckModels[g.last].async) && g.chance(0.5) {
		return g.last
	}
	total := 0
	for _, i := range g.models {
		if !asyncOnly || ckModels[i].async {
			total += ckModels[i].weight
		}
	}
	if total == 0 {
		return -1
	}
	n := g.pick(total)
	for _, i := range g.models {
		if asyncOnly && !ckModels[i].async {
			continue
		}
		if n < ckModels[i].weight {
			return i
		}
		n -= ckModels[i].weight
	}
	return g.models[0]
}

// row picks an existing handle of model mi, recent ones more often; -1
// when there is none.
func (g *ckGen) row(mi int) int {
	rs := g.rows[mi]
	if len(rs) == 0 {
		return -1
	}
	if vs := g.vars[mi]; len(vs) > 0 && g.chance(0.45) {
		// The row of a struct variable: it goes stale.
		return g.varRow[vs[len(vs)-1-g.pick(min(2, len(vs)))]]
	}
	if g.chance(0.6) {
		return rs[len(rs)-1-g.pick(min(3, len(rs)))]
	}
	return rs[g.pick(len(rs))]
}

func (g *ckGen) newRow(mi int) int {
	h := g.next
	g.next++
	g.rows[mi] = append(g.rows[mi], h)
	return h
}

// src draws a source choice.
func (g *ckGen) src(keep bool) int {
	r := g.rng.Float64()
	switch {
	case keep && r < 0.4:
		return srcKeep
	case r < 0.48:
		return srcEmpty
	case r < 0.88 || !keep && r < 0.9:
		return ckGoodSources[g.pick(len(ckGoodSources))]
	}
	return ckBadSources[g.pick(len(ckBadSources))]
}

func (g *ckGen) srcs(mi int, keep bool) []int {
	out := make([]int, len(ckModels[mi].groups))
	for i := range out {
		out[i] = g.src(keep)
	}
	return out
}

// name draws a Name: a few plain ones (so conditions match now and then)
// and, for the model with the hook, "swap:N".
func (g *ckGen) name(mi int) string {
	if ckModels[mi].hook && g.chance(0.3) {
		if g.chance(0.85) {
			return fmt.Sprintf("swap:%d", ckGoodSources[g.pick(len(ckGoodSources))])
		}
		return fmt.Sprintf("swap:%d", ckBadSources[g.pick(len(ckBadSources))])
	}
	return fmt.Sprintf("n%d", g.pick(4))
}

// changes draws the changes of an update: at least one.
func (g *ckGen) changes(op *ckOp) {
	for {
		op.srcs = g.srcs(op.model, true)
		op.name = ""
		if g.chance(0.5) {
			op.name = g.name(op.model)
		}
		if op.changes() != "" {
			return
		}
	}
}

func (g *ckGen) cond(op *ckOp) {
	switch {
	case g.chance(0.4):
		op.cond = ""
	case g.chance(0.5):
		op.cond = "no such name"
	default:
		op.cond = fmt.Sprintf("n%d", g.pick(4))
	}
}

// ref draws how an update finds its struct; it may turn into refFresh
// when no variable exists.
func (g *ckGen) ref(op *ckOp) {
	if vs := g.vars[op.model]; len(vs) > 0 && g.chance(0.55) {
		op.ref = refVar
		op.v = vs[len(vs)-1-g.pick(min(2, len(vs)))]
		return
	}
	switch r := g.rng.Float64(); {
	case r < 0.2:
		op.ref = refSelect
	case r < 0.4:
		op.ref = refUnloaded
	default:
		op.ref = refFresh
	}
}

// next draws the next op.
func (g *ckGen) op() ckOp {
	total := 0
	for _, w := range ckWeights {
		total += w.w
	}
	n := g.pick(total)
	kind := kCreate
	for _, w := range ckWeights {
		if n < w.w {
			kind = w.kind
			break
		}
		n -= w.w
	}
	return g.opOf(kind, false)
}

// opOf draws an op of kind; inner ops of a transaction are simpler.
func (g *ckGen) opOf(kind ckKind, inner bool) ckOp {
	asyncOnly := kind == kTxWorker
	mi := g.model(asyncOnly)
	if mi < 0 { // no async model in this sequence
		kind, mi = kTx, g.model(false)
	}
	op := ckOp{kind: kind, model: mi, row: -1}
	g.last = op.model
	op.prep = !inner && g.chance(0.1)
	if op.needsRow() {
		op.row = g.row(op.model)
		if op.row < 0 {
			kind = kCreate
			op.kind = kCreate
		}
	}
	switch op.kind {
	case kCreate:
		op.variant = [...]int{ckCreatePtr, ckCreatePtr, ckCreatePtr, ckCreateSlice, ckCreateSlice, ckCreateMap, ckCreateBatches}[g.pick(7)]
		if inner {
			op.variant = ckCreatePtr
		}
		n := 1
		if op.variant == ckCreateSlice || op.variant == ckCreateBatches {
			n = 2 + g.pick(2)
		}
		for range n {
			op.elems = append(op.elems, ckElem{row: g.newRow(op.model), name: g.name(op.model), srcs: g.srcs(op.model, false)})
		}
	case kFirstOrCreate:
		op.elems = []ckElem{{row: g.newRow(op.model), name: fmt.Sprintf("n%d", g.pick(4)), srcs: []int{g.src(false)}}}
	case kUpsert:
		op.variant = g.pick(4)
		op.row = -1
		if g.chance(0.7) {
			op.row = g.row(op.model)
		}
		h := op.row
		if h < 0 {
			h = g.newRow(op.model)
		}
		op.elems = []ckElem{{row: h, name: g.name(op.model), srcs: g.srcs(op.model, false)}}
	case kSaveSlice:
		g.changes(&op)
		op.elems = []ckElem{{row: g.newRow(op.model), name: g.name(op.model), srcs: g.srcs(op.model, false)}}
	case kLoad:
		op.v = g.nextVar
		g.nextVar++
		g.vars[op.model] = append(g.vars[op.model], op.v)
		g.varRow[op.v] = op.row
		if g.chance(0.3) {
			op.variant = 1
		}
	case kSave:
		g.ref(&op)
		// The commonest write, Save(&p), most often; a Save of a value
		// (not a pointer) rarely.
		op.variant = [...]int{ckSavePlain, ckSavePlain, ckSavePlain, ckSaveOmitName, ckSaveOmitName, ckSaveSelectCols, ckSaveSelectCols,
			ckSaveSelectStar, ckSaveSelectStar, ckSaveWhereSelectStar, ckSaveWhereSelectStar, ckSaveValue}[g.pick(12)]
		if op.ref == refVar && g.chance(0.5) {
			// A struct loaded earlier, written back with Select or Omit.
			op.variant = [...]int{ckSaveOmitName, ckSaveSelectCols}[g.pick(2)]
		}
		g.changes(&op)
		if g.chance(0.4) || op.ref == refVar && g.chance(0.3) {
			op.srcs = make([]int, len(op.srcs)) // no source change: a hook or a stale struct decides
			for i := range op.srcs {
				op.srcs[i] = srcKeep
			}
		}
		g.cond(&op)
		if inner {
			op.ref, op.variant = refFresh, ckSavePlain
		}
	case kUpdates:
		g.ref(&op)
		op.variant = g.pick(ckUpdatesVariants)
		g.changes(&op)
		if op.ref == refVar && op.variant == ckUpdatesSelf && g.chance(0.5) {
			// Write a (maybe stale) struct back with only its name changed.
			op.srcs = make([]int, len(op.srcs))
			for i := range op.srcs {
				op.srcs[i] = srcKeep
			}
			op.name = g.name(op.model)
		}
		g.cond(&op)
		if inner {
			op.ref, op.variant = refFresh, ckUpdatesMap
		}
	case kUpdate:
		g.ref(&op)
		op.variant = [...]int{ckUpdatePtr, ckUpdatePtr, ckUpdateValueModel, ckUpdateWhere, ckUpdateWhere, ckUpdateName, ckUpdateName,
			ckUpdateColumn, ckUpdateColumn, ckUpdateColumns, ckUpdateColumns, ckUpdateBulk}[g.pick(12)]
		op.group = g.pick(len(op.m().groups))
		op.srcs = g.srcs(op.model, true)
		op.srcs[op.group] = g.src(false)
		op.name = g.name(op.model)
		g.cond(&op)
		if op.variant == ckUpdateBulk && op.cond == "" {
			op.cond = "n0"
		}
		if inner {
			op.ref, op.variant = refFresh, ckUpdatePtr
		}
	case kDelete:
		op.variant = g.pick(3)
		op.unscoped = g.chance(0.4)
		g.ref(&op)
		g.cond(&op)
		if op.cond == "" {
			op.cond = "n1"
		}
		if inner {
			op.variant = ckDeleteID
		}
	case kTx:
		kinds := []ckKind{kCreate, kSave, kUpdates, kUpdate, kDelete}
		for range 1 + g.pick(3) {
			op.inner = append(op.inner, g.opOf(kinds[g.pick(len(kinds))], true))
		}
		if g.chance(0.4) {
			for range 1 + g.pick(2) {
				op.nested = append(op.nested, g.opOf(kinds[g.pick(len(kinds))], true))
			}
			op.nestedRB = g.chance(0.4)
		}
		op.rollback = g.chance(0.3)
	case kUpload:
		op.group = g.pick(len(op.m().groups))
		op.srcs = make([]int, len(op.m().groups))
		for i := range op.srcs {
			op.srcs[i] = srcKeep
		}
		c := ckGoodSources[g.pick(len(ckGoodSources))]
		if g.chance(0.2) {
			c = ckPoolIndex("ck/src/text.jpg")
			if g.chance(0.5) {
				c = ckPoolIndex("ck/src/huge.png")
			}
		}
		op.srcs[op.group] = c
		op.row = -1
		if g.chance(0.5) {
			op.row = g.row(op.model)
		}
		if op.row < 0 {
			op.elems = []ckElem{{row: g.newRow(op.model)}}
		}
	case kRegenerate:
		op.force = g.chance(0.4)
	case kSaveRegen:
		op.force = g.chance(0.4)
		g.changes(&op)
	case kWorkerStart:
		g.workerOn = true
	case kWorkerStop:
		g.workerOn = false
	case kTxWorker:
		in := g.opOf(kCreate, true)
		if len(g.rows[op.model]) > 0 && g.chance(0.5) {
			in = ckOp{kind: kSave, model: op.model, row: g.row(op.model), ref: refFresh, variant: ckSavePlain}
			in.srcs = g.srcs(op.model, true)
		}
		in.model = op.model
		if in.kind == kCreate {
			in.elems[0].srcs = make([]int, len(op.m().groups))
			for i := range in.elems[0].srcs {
				in.elems[0].srcs[i] = ckGoodSources[g.pick(len(ckGoodSources))]
			}
			// The handle was drawn for the model opOf picked: rebind it.
			in.elems[0].row = g.newRow(op.model)
		} else {
			in.srcs[0] = ckGoodSources[g.pick(len(ckGoodSources))]
		}
		op.inner = []ckOp{in}
	}
	return op
}

// needsRow reports whether the op kind works on an existing row.
func (op ckOp) needsRow() bool {
	switch op.kind {
	case kLoad, kSave, kUpdates, kUpdate, kDelete, kSaveRegen, kSaveSlice:
		return true
	}
	return false
}

// ---------------------------------------------------------------------------
// Running one op on one side

// ckClass is what a statement's outcome is, for comparison with the twin.
type ckClass int

const (
	clNil         ckClass = iota
	clNotFound            // gorm.ErrRecordNotFound
	clThumb               // a thumbnail cannot be made (documented: the twin's op is not applied)
	clPluginOther         // another *gormthumb.Error: never expected
	clUser                // the checker's own error (a transaction told to roll back)
	clDB                  // any other error
	clPanic
)

func (c ckClass) String() string {
	return [...]string{"ok", "record not found", "thumbnail cannot be made", "gormthumb error", "rolled back by the caller", "database error", "panic"}[c]
}

var (
	errCkRollback = errors.New("checker: roll back")
	errCkNested   = errors.New("checker: roll back the nested transaction")
)

// ckClassify classifies an error.
func ckClassify(err error) ckClass {
	var pe *Error
	switch {
	case err == nil:
		return clNil
	case errors.Is(err, errCkRollback), errors.Is(err, errCkNested):
		return clUser
	case errors.Is(err, gorm.ErrRecordNotFound):
		return clNotFound
	case errors.As(err, &pe):
		for _, s := range []error{ErrSourceNotFound, ErrNotImage, ErrTooLarge, ErrUnsupportedFormat, ErrInvalidKey, ErrBulkUpdate} {
			if errors.Is(err, s) {
				return clThumb
			}
		}
		return clPluginOther
	}
	return clDB
}

// ckResult is the outcome of one statement.
type ckResult struct {
	what    string
	class   ckClass
	err     error
	panic   string
	rows    int64
	skipped bool   // the twin's statement was not run (the plugin's failed: documented)
	key     string // an upload's key
	legit   bool   // a clThumb that the op's sources explain
}

// ckExec runs one op on one side.
type ckExec struct {
	r      *ckRun
	s      *ckSide
	plugin bool
	ctx    context.Context
	ref    []ckResult // the twin: the plugin's results, statement by statement
	out    []ckResult
	viols  []ckViolation
}

// do runs one statement. On the twin, a statement whose plugin side
// failed because a thumbnail could not be made is not run (README,
// Errors: such a statement fails before GORM writes anything).
func (x *ckExec) do(what string, f func() ckResult) (ckResult, bool) {
	i := len(x.out)
	x.out = append(x.out, ckResult{what: what})
	if !x.plugin && i < len(x.ref) && x.ref[i].class == clThumb {
		x.out[i] = ckResult{what: what, class: clThumb, skipped: true}
		return x.out[i], false
	}
	var res ckResult
	func() {
		defer func() {
			if p := recover(); p != nil {
				res = ckResult{class: clPanic, panic: fmt.Sprint(p)}
			}
		}()
		res = f()
	}()
	res.what = what
	x.out[i] = res
	return res, res.class == clNil
}

// stmt runs one GORM statement.
func (x *ckExec) stmt(what string, f func() *gorm.DB) bool {
	_, ok := x.do(what, func() ckResult {
		d := f()
		return ckResult{class: ckClassify(d.Error), err: d.Error, rows: d.RowsAffected}
	})
	return ok
}

func (x *ckExec) id(h int) (uint, bool) {
	id, ok := x.s.ids[h]
	return id, ok
}

func (x *ckExec) bind(h int, ptr reflect.Value) {
	if id := ckGetID(ptr); id != 0 {
		x.s.ids[h] = id
	}
}

// Reflection helpers on a *T of a checker model.
func ckSetKey(ptr reflect.Value, field, key string) {
	ptr.Elem().FieldByName(field).Set(reflect.ValueOf(ImageField{Key: key}))
}
func ckGetKey(ptr reflect.Value, field string) string {
	return ptr.Elem().FieldByName(field).Interface().(ImageField).Key
}
func ckSetName(ptr reflect.Value, name string) { ptr.Elem().FieldByName("Name").SetString(name) }
func ckGetName(ptr reflect.Value) string       { return ptr.Elem().FieldByName("Name").String() }
func ckGetID(ptr reflect.Value) uint           { return uint(ptr.Elem().FieldByName("ID").Uint()) }
func ckSetID(ptr reflect.Value, id uint)       { ptr.Elem().FieldByName("ID").SetUint(uint64(id)) }

// ckKey is the key of a source choice ("" for none).
func ckKey(c int) string {
	if c >= 0 {
		return ckPool[c].key
	}
	return ""
}

// ckApply sets the changes (sources and name) on a struct.
func ckApply(ptr reflect.Value, m *ckModel, srcs []int, name string) {
	for gi, c := range srcs {
		if c != srcKeep {
			ckSetKey(ptr, m.groups[gi].field, ckKey(c))
		}
	}
	if name != "" {
		ckSetName(ptr, name)
	}
}

// mapValue is how a source goes into a map: an ImageField or a plain key
// string, both accepted (README, write paths).
func ckMapValue(c int, asString bool) any {
	if asString {
		return ckKey(c)
	}
	return ImageField{Key: ckKey(c)}
}

// target finds the struct an update writes; false when its row or
// variable is unbound (the op is then skipped).
func (x *ckExec) target(db *gorm.DB, op ckOp) (reflect.Value, bool) {
	m := op.m()
	switch op.ref {
	case refVar:
		ptr, ok := x.s.vars[op.v]
		return ptr, ok
	case refUnloaded:
		id, ok := x.id(op.row)
		if !ok {
			return reflect.Value{}, false
		}
		ptr := m.newPtr()
		ckSetID(ptr, id)
		return ptr, true
	}
	id, ok := x.id(op.row)
	if !ok {
		return reflect.Value{}, false
	}
	ptr := m.newPtr()
	q := db
	if op.ref == refSelect {
		q = q.Select("id", "name", m.groups[0].col)
	}
	if !x.stmt("load", func() *gorm.DB { return q.First(ptr.Interface(), id) }) {
		return reflect.Value{}, false
	}
	return ptr, true
}

// ckCondName is the name a Where of the op matches.
func ckCondName(op ckOp, ptr reflect.Value) string {
	if op.cond == "" {
		return ckGetName(ptr)
	}
	return op.cond
}

// run runs op on db (the side's database, or a transaction on it).
func (x *ckExec) run(db *gorm.DB, op ckOp) {
	if op.prep {
		db = db.Session(&gorm.Session{PrepareStmt: true})
	}
	m := op.m()
	switch op.kind {
	case kCreate:
		x.create(db, op)
	case kFirstOrCreate:
		e := op.elems[0]
		ptr := m.newPtr()
		if x.stmt("FirstOrCreate", func() *gorm.DB {
			return db.Where(map[string]any{"name": e.name}).Assign(map[string]any{m.groups[0].col: ckMapValue(e.srcs[0], false)}).FirstOrCreate(ptr.Interface())
		}) {
			x.bind(e.row, ptr)
		}
	case kUpsert:
		e := op.elems[0]
		ptr := m.newPtr()
		if op.row >= 0 {
			id, ok := x.id(op.row)
			if !ok {
				return
			}
			ckSetID(ptr, id)
		} else {
			ckSetID(ptr, uint(1000+e.row))
		}
		ckApply(ptr, m, e.srcs, e.name)
		oc := clause.OnConflict{Columns: []clause.Column{{Name: "id"}}}
		switch op.variant {
		case ckUpsertAll:
			oc.UpdateAll = true
		case ckUpsertNothing:
			oc.DoNothing = true
		case ckUpsertName:
			oc.DoUpdates = clause.AssignmentColumns([]string{"name"})
		case ckUpsertNameSource:
			oc.DoUpdates = clause.AssignmentColumns([]string{"name", m.groups[0].col})
		}
		if x.stmt("upsert", func() *gorm.DB { return db.Clauses(oc).Create(ptr.Interface()) }) && op.row < 0 {
			x.bind(e.row, ptr)
		}
	case kSaveSlice:
		old, ok := x.target(db, ckOp{model: op.model, row: op.row, ref: refFresh})
		if !ok {
			return
		}
		ckApply(old, m, op.srcs, op.name)
		e := op.elems[0]
		nw := m.newPtr()
		ckApply(nw, m, e.srcs, e.name)
		slice := reflect.MakeSlice(reflect.SliceOf(m.typ), 0, 2)
		slice = reflect.Append(slice, old.Elem(), nw.Elem())
		sp := reflect.New(slice.Type())
		sp.Elem().Set(slice)
		if x.stmt("Save(&[]T)", func() *gorm.DB { return db.Save(sp.Interface()) }) {
			x.bind(e.row, sp.Elem().Index(1).Addr())
		}
	case kLoad:
		delete(x.s.vars, op.v)
		id, ok := x.id(op.row)
		if !ok {
			return
		}
		ptr := m.newPtr()
		q := db
		if op.variant == 1 {
			q = q.Select("id", "name", m.groups[0].col)
		}
		if x.stmt("load", func() *gorm.DB { return q.First(ptr.Interface(), id) }) {
			x.s.vars[op.v] = ptr
		}
	case kSave:
		ptr, ok := x.target(db, op)
		if !ok {
			return
		}
		cond := ckCondName(op, ptr)
		ckApply(ptr, m, op.srcs, op.name)
		x.stmt("save", func() *gorm.DB {
			switch op.variant {
			case ckSaveOmitName:
				return db.Omit("Name").Save(ptr.Interface())
			case ckSaveSelectCols:
				g := m.groups[0]
				cols := []any{g.field}
				for _, t := range g.thumbs {
					cols = append(cols, t.field)
				}
				if g.holder != "" {
					cols = append(cols, g.holder)
				}
				return db.Select("Name", cols...).Save(ptr.Interface())
			case ckSaveSelectStar:
				return db.Select("*").Save(ptr.Interface())
			case ckSaveWhereSelectStar:
				return db.Where("name = ?", cond).Select("*").Save(ptr.Interface())
			case ckSaveValue:
				return db.Save(ptr.Elem().Interface())
			}
			return db.Save(ptr.Interface())
		})
	case kUpdates:
		ptr, ok := x.target(db, op)
		if !ok {
			return
		}
		cond := ckCondName(op, ptr)
		x.stmt("updates", func() *gorm.DB {
			switch op.variant {
			case ckUpdatesStruct:
				upd := m.newPtr()
				ckApply(upd, m, op.srcs, op.name)
				return db.Model(ptr.Interface()).Updates(upd.Elem().Interface())
			case ckUpdatesMap:
				mp := map[string]any{}
				for gi, c := range op.srcs {
					if c != srcKeep {
						mp[m.groups[gi].col] = ckMapValue(c, gi%2 == 1 || c == srcEmpty)
					}
				}
				if op.name != "" {
					mp["name"] = op.name
				}
				return db.Model(ptr.Interface()).Updates(mp)
			case ckUpdatesWhereSelectStar:
				ckApply(ptr, m, op.srcs, op.name)
				return db.Model(ptr.Interface()).Where("name = ?", cond).Select("*").Updates(ptr.Interface())
			}
			ckApply(ptr, m, op.srcs, op.name)
			return db.Model(ptr.Interface()).Updates(ptr.Interface())
		})
	case kUpdate:
		col := m.groups[op.group].col
		val := ckMapValue(op.srcs[op.group], false)
		if op.variant == ckUpdateBulk {
			x.stmt("bulk update", func() *gorm.DB { return db.Model(m.zero()).Where("name = ?", op.cond).Update(col, val) })
			return
		}
		if op.variant == ckUpdateValueModel {
			id, ok := x.id(op.row)
			if !ok {
				return
			}
			v := m.newPtr()
			ckSetID(v, id)
			x.stmt("update of a value model", func() *gorm.DB { return db.Model(v.Elem().Interface()).Update(col, val) })
			return
		}
		ptr, ok := x.target(db, op)
		if !ok {
			return
		}
		cond := ckCondName(op, ptr)
		x.stmt("update", func() *gorm.DB {
			switch op.variant {
			case ckUpdateWhere:
				return db.Model(ptr.Interface()).Where("name = ?", cond).Update(col, val)
			case ckUpdateName:
				return db.Model(ptr.Interface()).Update("name", op.name)
			case ckUpdateColumn:
				return db.Model(ptr.Interface()).UpdateColumn(col, val)
			case ckUpdateColumns:
				return db.Model(ptr.Interface()).UpdateColumns(map[string]any{col: val, "name": op.name})
			}
			return db.Model(ptr.Interface()).Update(col, val)
		})
	case kDelete:
		q := db
		if op.unscoped {
			q = q.Unscoped()
		}
		switch op.variant {
		case ckDeleteValue:
			ptr, ok := x.target(db, op)
			if !ok {
				return
			}
			x.stmt("delete", func() *gorm.DB { return q.Delete(ptr.Interface()) })
		case ckDeleteID:
			id, ok := x.id(op.row)
			if !ok {
				return
			}
			x.stmt("delete", func() *gorm.DB { return q.Delete(m.zero(), id) })
		default:
			x.stmt("delete", func() *gorm.DB { return q.Where("name = ?", op.cond).Delete(m.zero()) })
		}
	case kTx:
		x.stmt("transaction", func() *gorm.DB {
			err := db.Transaction(func(tx *gorm.DB) error {
				for _, in := range op.inner {
					x.run(tx, in)
				}
				if len(op.nested) > 0 {
					x.stmt("nested transaction", func() *gorm.DB {
						err := tx.Transaction(func(tx2 *gorm.DB) error {
							for _, in := range op.nested {
								x.run(tx2, in)
							}
							if op.nestedRB {
								return errCkNested
							}
							return nil
						})
						return &gorm.DB{Error: err}
					})
				}
				if op.rollback {
					return errCkRollback
				}
				return nil
			})
			return &gorm.DB{Error: err}
		})
	case kUpload:
		x.upload(db, op)
	case kRegenerate:
		if x.plugin {
			x.regenerate(op)
		}
	case kSweep:
		if x.plugin {
			if _, err := x.r.plugin.Sweep(x.ctx, x.r.p.db, SweepOptions{Models: ckAllModels(), MinAge: -1}); err != nil {
				x.viols = append(x.viols, ckViolation{kind: "sweep-error", msg: err.Error()})
			}
		}
	case kSaveRegen:
		ptr, ok := x.target(db, ckOp{model: op.model, row: op.row, ref: refFresh})
		if !ok {
			return
		}
		ckApply(ptr, m, op.srcs, op.name)
		if !x.plugin {
			x.stmt("save", func() *gorm.DB { return db.Save(ptr.Interface()) })
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			x.regenerate(op)
		}()
		x.stmt("save", func() *gorm.DB { return db.Save(ptr.Interface()) })
		<-done
	case kWorkerStart, kWorkerStop, kDrain:
		// The run does these (ckRun.step).
	case kTxWorker:
		if x.plugin {
			x.r.startWorker()
		}
		x.stmt("transaction", func() *gorm.DB {
			err := db.Transaction(func(tx *gorm.DB) error {
				before := x.r.doneCount()
				x.run(tx, op.inner[0])
				if x.plugin {
					x.r.waitDone(before, 1500*time.Millisecond)
				}
				return nil
			})
			return &gorm.DB{Error: err}
		})
	}
}

// create runs the kCreate variants.
func (x *ckExec) create(db *gorm.DB, op ckOp) {
	m := op.m()
	switch op.variant {
	case ckCreatePtr:
		e := op.elems[0]
		ptr := m.newPtr()
		ckApply(ptr, m, e.srcs, e.name)
		if x.stmt("create", func() *gorm.DB { return db.Create(ptr.Interface()) }) {
			x.bind(e.row, ptr)
		}
	case ckCreateMap:
		e := op.elems[0]
		mp := map[string]any{"name": e.name}
		for gi, c := range e.srcs {
			mp[m.groups[gi].col] = ckMapValue(c, gi%2 == 0)
		}
		if !x.stmt("create from a map", func() *gorm.DB { return db.Model(m.zero()).Create(mp) }) {
			return
		}
		var id uint
		switch v := mp["id"].(type) {
		case int64:
			id = uint(v)
		case uint:
			id = v
		case int:
			id = uint(v)
		}
		if id == 0 {
			// No id in the map: the row just inserted has the largest.
			var max *uint
			db.Model(m.zero()).Unscoped().Select("max(id)").Scan(&max)
			if max != nil {
				id = *max
			}
		}
		if id != 0 {
			x.s.ids[e.row] = id
		}
	default:
		slice := reflect.MakeSlice(reflect.SliceOf(m.typ), len(op.elems), len(op.elems))
		for i, e := range op.elems {
			ckApply(slice.Index(i).Addr(), m, e.srcs, e.name)
		}
		sp := reflect.New(slice.Type())
		sp.Elem().Set(slice)
		ok := x.stmt("create", func() *gorm.DB {
			if op.variant == ckCreateBatches {
				return db.CreateInBatches(sp.Interface(), 2)
			}
			return db.Create(sp.Interface())
		})
		if ok {
			for i, e := range op.elems {
				x.bind(e.row, sp.Elem().Index(i).Addr())
			}
		}
	}
}

// upload runs plugin.Upload and then saves the struct. The twin sets the
// key the plugin's upload made.
func (x *ckExec) upload(db *gorm.DB, op ckOp) {
	m := op.m()
	g := m.groups[op.group]
	c := op.srcs[op.group]
	var ptr reflect.Value
	newRow := op.row < 0
	if newRow {
		ptr = m.newPtr()
		ckSetName(ptr, "uploaded")
	} else {
		var ok bool
		if ptr, ok = x.target(db, ckOp{model: op.model, row: op.row, ref: refFresh}); !ok {
			return
		}
	}
	name := "photo." + ckPool[c].format
	if ckPool[c].format == "" {
		name = "notes.txt"
	}
	i := len(x.out)
	_, ok := x.do("upload", func() ckResult {
		if !x.plugin {
			ckSetKey(ptr, g.field, x.ref[i].key)
			return ckResult{}
		}
		f, err := x.r.plugin.Upload(x.ctx, ptr.Interface(), g.field, name, bytes.NewReader(ckPoolData()[c]))
		r := ckResult{class: ckClassify(err), err: err, key: f.Key}
		r.legit = r.class == clThumb && (errors.Is(err, ErrNotImage) || errors.Is(err, ErrTooLarge)) && !ckPool[c].good()
		if err == nil {
			x.r.noteUpload(f.Key, c)
		}
		return r
	})
	if !ok {
		return
	}
	if x.stmt("save", func() *gorm.DB { return db.Save(ptr.Interface()) }) && newRow {
		x.bind(op.elems[0].row, ptr)
	}
}

// regenerate runs gormthumb.Regenerate on the op's model; a row it fails
// must have a source that cannot be made.
func (x *ckExec) regenerate(op ckOp) {
	rep, err := Regenerate(x.ctx, x.r.p.db, op.m().zero(), RegenerateOptions{Force: op.force, Concurrency: 1})
	if err != nil {
		x.viols = append(x.viols, ckViolation{kind: "regenerate-error", msg: err.Error()})
		return
	}
	for _, f := range rep.Failed {
		var pe *Error
		if !errors.As(f.Err, &pe) || !x.r.badKey(pe.Key) {
			x.viols = append(x.viols, ckViolation{kind: "regenerate-failed-row", msg: fmt.Sprintf("Regenerate(%s) failed row %v, whose source is not a bad one: %v", op.m().name, f.Key, f.Err)})
		}
	}
}
