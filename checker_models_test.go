package gormthumb

// The model-based checker's models, what the checker knows about them
// (independently of the plugin's own tag parsing), and its pool of
// sources. See checker_test.go.

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/gormthumb/gormthumb/internal/testphoto"
	"gorm.io/gorm"
)

// ckOne has one source with one sync thumbnail, soft deletes, and a
// BeforeSave hook that swaps in another source when its Name says so
// ("swap:N" puts source N of the pool in Cover): deterministic, and the
// same on the plugin's database and on the twin.
type ckOne struct {
	ID         uint
	Name       string
	Cover      ImageField
	CoverThumb ImageField `thumb:"110x150,source=Cover"`
	DeletedAt  gorm.DeletedAt
}

// BeforeSave swaps the source when Name is "swap:N".
func (o *ckOne) BeforeSave(tx *gorm.DB) error {
	if i, ok := ckSwapTarget(o.Name); ok {
		o.Cover = ImageField{Key: ckPool[i].key}
	}
	return nil
}

// ckSwapTarget reads the pool index from a "swap:N" name.
func ckSwapTarget(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, "swap:")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i >= len(ckPool) {
		return 0, false
	}
	return i, true
}

// ckTwo has two sources, each with a sync thumbnail.
type ckTwo struct {
	ID         uint
	Name       string
	Front      ImageField
	FrontThumb ImageField `thumb:"64x64,source=Front"`
	Back       ImageField
	BackThumb  ImageField `thumb:"80x40,source=Back"`
}

// ckSet has a sync set of widths (srcset) and a placeholder.
type ckSet struct {
	ID        uint
	Name      string
	Photo     ImageField
	PhotoSet  ImageField `thumb:"widths=32|64,source=Photo"`
	PhotoHash string     `placeholder:"source=Photo"`
	DeletedAt gorm.DeletedAt
}

// ckMix has one source with an async and a sync thumbnail.
type ckMix struct {
	ID   uint
	Name string
	Pic  ImageField
	Card ImageField `thumb:"100x100,source=Pic,async"`
	Icon ImageField `thumb:"32x32,source=Pic"`
}

// ckDuo has two sources, each with an async thumbnail.
type ckDuo struct {
	ID     uint
	Name   string
	A      ImageField
	AThumb ImageField `thumb:"64x64,source=A,async"`
	B      ImageField
	BThumb ImageField `thumb:"48x48,source=B,async"`
}

// ckBg has an async-only group: a set of widths, a box and a placeholder.
type ckBg struct {
	ID        uint
	Name      string
	Photo     ImageField
	PhotoSet  ImageField `thumb:"widths=24|48,source=Photo,async"`
	PhotoCard ImageField `thumb:"90x60,source=Photo,async"`
	PhotoHash string     `placeholder:"source=Photo"`
	DeletedAt gorm.DeletedAt
}

// ckThumbInfo is one thumbnail field as the checker sees it.
type ckThumbInfo struct {
	field, col string
	w, h       int   // the box (contain)
	widths     []int // or a set of widths
	async      bool
}

// ckGroup is one source field, its thumbnails and its placeholder.
type ckGroup struct {
	field, col string
	thumbs     []ckThumbInfo
	holder     string // placeholder field ("" for none)
	holderCol  string
}

// asyncOnly reports whether every thumbnail of g is made in the background.
func (g ckGroup) asyncOnly() bool {
	for _, t := range g.thumbs {
		if !t.async {
			return false
		}
	}
	return true
}

// ckModel is one checker model: what the checker knows about it, written
// out by hand (from the README's tag grammar) rather than taken from the
// plugin's parser.
type ckModel struct {
	name   string
	typ    reflect.Type
	table  string
	groups []ckGroup
	soft   bool // has gorm.DeletedAt
	hook   bool // BeforeSave swaps the source ("swap:N" names)
	async  bool // has async thumbnails
	weight int  // how often the generator picks it
}

// newPtr returns a pointer to a new zero value of the model.
func (m *ckModel) newPtr() reflect.Value { return reflect.New(m.typ) }

// zero returns a new zero value of the model as an any (a *T).
func (m *ckModel) zero() any { return reflect.New(m.typ).Interface() }

// plainCols are the columns that are not the plugin's: compared with the
// twin.
func (m *ckModel) plainCols() []string {
	cols := []string{"id", "name"}
	for _, g := range m.groups {
		cols = append(cols, g.col)
	}
	return cols
}

var ckModels = []*ckModel{
	{name: "ckOne", typ: reflect.TypeOf(ckOne{}), table: "ck_ones", soft: true, hook: true, weight: 30, groups: []ckGroup{
		{field: "Cover", col: "cover", thumbs: []ckThumbInfo{{field: "CoverThumb", col: "cover_thumb", w: 110, h: 150}}},
	}},
	{name: "ckTwo", typ: reflect.TypeOf(ckTwo{}), table: "ck_twos", weight: 12, groups: []ckGroup{
		{field: "Front", col: "front", thumbs: []ckThumbInfo{{field: "FrontThumb", col: "front_thumb", w: 64, h: 64}}},
		{field: "Back", col: "back", thumbs: []ckThumbInfo{{field: "BackThumb", col: "back_thumb", w: 80, h: 40}}},
	}},
	{name: "ckSet", typ: reflect.TypeOf(ckSet{}), table: "ck_sets", soft: true, weight: 12, groups: []ckGroup{
		{field: "Photo", col: "photo", holder: "PhotoHash", holderCol: "photo_hash",
			thumbs: []ckThumbInfo{{field: "PhotoSet", col: "photo_set", widths: []int{32, 64}}}},
	}},
	{name: "ckMix", typ: reflect.TypeOf(ckMix{}), table: "ck_mixes", async: true, weight: 12, groups: []ckGroup{
		{field: "Pic", col: "pic", thumbs: []ckThumbInfo{
			{field: "Card", col: "card", w: 100, h: 100, async: true},
			{field: "Icon", col: "icon", w: 32, h: 32},
		}},
	}},
	{name: "ckDuo", typ: reflect.TypeOf(ckDuo{}), table: "ck_duos", async: true, weight: 18, groups: []ckGroup{
		{field: "A", col: "a", thumbs: []ckThumbInfo{{field: "AThumb", col: "a_thumb", w: 64, h: 64, async: true}}},
		{field: "B", col: "b", thumbs: []ckThumbInfo{{field: "BThumb", col: "b_thumb", w: 48, h: 48, async: true}}},
	}},
	{name: "ckBg", typ: reflect.TypeOf(ckBg{}), table: "ck_bgs", soft: true, async: true, weight: 16, groups: []ckGroup{
		{field: "Photo", col: "photo", holder: "PhotoHash", holderCol: "photo_hash", thumbs: []ckThumbInfo{
			{field: "PhotoSet", col: "photo_set", widths: []int{24, 48}, async: true},
			{field: "PhotoCard", col: "photo_card", w: 90, h: 60, async: true},
		}},
	}},
}

// ckAllModels lists a new pointer of every checker model (AutoMigrate,
// Sweep, Work).
func ckAllModels() []any {
	var out []any
	for _, m := range ckModels {
		out = append(out, m.zero())
	}
	return out
}

// ckAsyncModels are the models with async thumbnails.
func ckAsyncModels() []int {
	var out []int
	for i, m := range ckModels {
		if m.async {
			out = append(out, i)
		}
	}
	return out
}

// ckSource is one entry of the checker's pool of sources.
type ckSource struct {
	key    string
	label  string // for the printed sequences
	w, h   int    // pixel size of a good source
	format string // image.Decode's name of its format: "jpeg", "png"
	bad    error  // the sentinel a thumbnail of it fails with; nil for a good source
	write  bool   // written into the bucket at the start of a run
	data   func() []byte
}

// good reports whether thumbnails can be made of the source.
func (s ckSource) good() bool { return s.bad == nil }

// ckMaxPixels is the checker's small Limits.MaxPixels: "too large" is cheap.
const ckMaxPixels = 100_000

var ckPool = []ckSource{
	{key: "ck/src/a.jpg", label: "a.jpg(200x100)", w: 200, h: 100, format: "jpeg", write: true, data: func() []byte { return testphoto.JPEG(200, 100, 1, 90) }},
	{key: "ck/src/b.jpg", label: "b.jpg(100x200)", w: 100, h: 200, format: "jpeg", write: true, data: func() []byte { return testphoto.JPEG(100, 200, 2, 90) }},
	{key: "ck/src/c.png", label: "c.png(120x90)", w: 120, h: 90, format: "png", write: true, data: func() []byte { return testphoto.PNG(120, 90, 3, false) }},
	{key: "ck/src/d.jpg", label: "d.jpg(40x30)", w: 40, h: 30, format: "jpeg", write: true, data: func() []byte { return testphoto.JPEG(40, 30, 4, 90) }},
	{key: "ck/src/e.png", label: "e.png(300x60, alpha)", w: 300, h: 60, format: "png", write: true, data: func() []byte { return testphoto.PNG(300, 60, 5, true) }},
	{key: "ck/src/f.jpg", label: "f.jpg(64x64)", w: 64, h: 64, format: "jpeg", write: true, data: func() []byte { return testphoto.JPEG(64, 64, 6, 90) }},
	{key: "ck/src/g.jpg", label: "g.jpg(160x240)", w: 160, h: 240, format: "jpeg", write: true, data: func() []byte { return testphoto.JPEG(160, 240, 7, 90) }},
	{key: "ck/src/missing.jpg", label: "missing.jpg(not in the bucket)", bad: ErrSourceNotFound},
	{key: "ck/src/text.jpg", label: "text.jpg(not an image)", bad: ErrNotImage, write: true, data: func() []byte { return []byte("these bytes are not an image") }},
	{key: "ck/src/huge.png", label: "huge.png(400x400, over MaxPixels)", w: 400, h: 400, format: "png", bad: ErrTooLarge, write: true, data: func() []byte { return testphoto.PNG(400, 400, 8, false) }},
}

var ckPoolData = sync.OnceValue(func() [][]byte {
	out := make([][]byte, len(ckPool))
	for i, s := range ckPool {
		if s.data != nil {
			out[i] = s.data()
		}
	}
	return out
})

// ckPoolIndex returns the pool index of a source key, -1 for another key
// (an upload).
func ckPoolIndex(key string) int {
	for i, s := range ckPool {
		if s.key == key {
			return i
		}
	}
	return -1
}

// ckGoodSources and ckBadSources are pool indexes.
var ckGoodSources, ckBadSources = func() (good, bad []int) {
	for i, s := range ckPool {
		if s.good() {
			good = append(good, i)
		} else {
			bad = append(bad, i)
		}
	}
	return
}()

// ckFit is the size of a sw×sh source fitted inside w×h keeping its aspect
// ratio, never upscaled: the README's `contain` (Pillow's thumbnail),
// computed here independently of the plugin.
func ckFit(sw, sh, w, h int) (int, int) {
	if sw <= w && sh <= h {
		return sw, sh
	}
	if sw*h >= sh*w {
		return w, max(1, int(float64(sh)*float64(w)/float64(sw)+0.5))
	}
	return max(1, int(float64(sw)*float64(h)/float64(sh)+0.5)), h
}

// ckExpectedSizes lists the sizes (ascending) of the blobs a thumbnail of
// a sw×sh source has: one for a box, one per distinct fitted width for a
// set.
func ckExpectedSizes(t ckThumbInfo, sw, sh int) [][2]int {
	if len(t.widths) == 0 {
		w, h := ckFit(sw, sh, t.w, t.h)
		return [][2]int{{w, h}}
	}
	var out [][2]int
	for _, w := range t.widths {
		fw, fh := ckFit(sw, sh, w, MaxThumbSide)
		if len(out) == 0 || out[len(out)-1][0] != fw {
			out = append(out, [2]int{fw, fh})
		}
	}
	return out
}

// ckSpecs is the Spec of each blob of a thumbnail (for the BlurHash
// candidates, which depend on the decode scale the largest spec asks for).
func ckSpecs(t ckThumbInfo) []Spec {
	if len(t.widths) == 0 {
		return []Spec{{Width: t.w, Height: t.h}}
	}
	var out []Spec
	for _, w := range t.widths {
		out = append(out, Spec{Width: w, Height: MaxThumbSide})
	}
	return out
}

// ckMembers derives the blob keys behind a thumbnail column's key from the
// README's key format ("base.WxH.<token>.ext", a set
// "base.W1xH1,W2xH2.<token>.ext" with one blob per size), and the sizes
// the key names. ok is false for a key not in that format.
func ckMembers(key string) (members []string, sizes [][2]int, ok bool) {
	slash := strings.LastIndexByte(key, '/') + 1
	name := key[slash:]
	parts := strings.Split(name, ".")
	if len(parts) < 4 {
		return nil, nil, false
	}
	sz := parts[len(parts)-3]
	head := key[:slash] + strings.Join(parts[:len(parts)-3], ".") + "."
	tail := "." + parts[len(parts)-2] + "." + parts[len(parts)-1]
	for _, one := range strings.Split(sz, ",") {
		ws, hs, found := strings.Cut(one, "x")
		w, errW := strconv.Atoi(ws)
		h, errH := strconv.Atoi(hs)
		if !found || errW != nil || errH != nil {
			return nil, nil, false
		}
		members = append(members, head+one+tail)
		sizes = append(sizes, [2]int{w, h})
	}
	return members, sizes, true
}

// ckSrcLabel prints a source choice.
func ckSrcLabel(c int) string {
	switch {
	case c == srcEmpty:
		return "∅"
	case c >= 0 && c < len(ckPool):
		return ckPool[c].label
	}
	return fmt.Sprintf("src%d", c)
}
