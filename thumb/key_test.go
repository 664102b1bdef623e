package thumb_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"image/color"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gormthumb/gormthumb"
	"github.com/gormthumb/gormthumb/thumb"
)

// keyGolden pins both keys of every tag form the README's Tag grammar
// documents: each option and each of its values, option order, sets of
// widths. The legacy column is what the release before CanonicalKey
// computed (fmt's %+v of its Spec; for a set, the root package's
// "widths=%v %s" around it), taken from that release's code: a thumbnail
// named from it must still be recognised. The canonical column may only
// change with a new key version.
//
// Tags are parsed by the root package's ParseTag (an external test
// package may import it), so the whole path from tag to digest input is
// pinned.
var keyGolden = []struct{ tag, canonical, legacy string }{
	{"110x150,source=Cover", "s2:110x150",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110X150,source=Cover", "s2:110x150",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"1x1,source=Cover", "s2:1x1",
		"{Width:1 Height:1 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"8192x8192,source=Cover", "s2:8192x8192",
		"{Width:8192 Height:8192 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,fit=contain", "s2:110x150",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,fit=cover", "s2:110x150,fit=cover",
		"{Width:110 Height:150 Fit:1 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"100x100,source=Cover,fit=cover,anchor=center", "s2:100x100,fit=cover",
		"{Width:100 Height:100 Fit:1 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"100x100,source=Cover,fit=cover,anchor=top", "s2:100x100,fit=cover,anchor=top",
		"{Width:100 Height:100 Fit:1 Anchor:2 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"100x100,source=Cover,fit=cover,anchor=bottom", "s2:100x100,fit=cover,anchor=bottom",
		"{Width:100 Height:100 Fit:1 Anchor:7 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"100x100,source=Cover,fit=cover,anchor=left", "s2:100x100,fit=cover,anchor=left",
		"{Width:100 Height:100 Fit:1 Anchor:4 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"100x100,source=Cover,fit=cover,anchor=right", "s2:100x100,fit=cover,anchor=right",
		"{Width:100 Height:100 Fit:1 Anchor:5 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"100x100,source=Cover,fit=cover,anchor=topleft", "s2:100x100,fit=cover,anchor=topleft",
		"{Width:100 Height:100 Fit:1 Anchor:1 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"100x100,source=Cover,fit=cover,anchor=topright", "s2:100x100,fit=cover,anchor=topright",
		"{Width:100 Height:100 Fit:1 Anchor:3 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"100x100,source=Cover,fit=cover,anchor=bottomleft", "s2:100x100,fit=cover,anchor=bottomleft",
		"{Width:100 Height:100 Fit:1 Anchor:6 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"100x100,source=Cover,fit=cover,anchor=bottomright", "s2:100x100,fit=cover,anchor=bottomright",
		"{Width:100 Height:100 Fit:1 Anchor:8 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,anchor=top", "s2:110x150,anchor=top",
		"{Width:110 Height:150 Fit:0 Anchor:2 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,format=source", "s2:110x150",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,format=jpeg", "s2:110x150,format=jpeg",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format:jpeg Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,format=jpg", "s2:110x150,format=jpeg",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format:jpeg Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,format=png", "s2:110x150,format=png",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format:png Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,format=gif", "s2:110x150,format=gif",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format:gif Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,format=webp", "s2:110x150,format=webp",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format:webp Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,format=avif", "s2:110x150,format=avif",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format:avif Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,quality=1", "s2:110x150,quality=1",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:1 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,quality=50", "s2:110x150,quality=50",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:50 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,quality=85", "s2:110x150",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:85 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,quality=100", "s2:110x150,quality=100",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:100 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,upscale=true", "s2:110x150,upscale=true",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:0 Upscale:true Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,upscale=false", "s2:110x150",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,background=ffffff", "s2:110x150",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:255 G:255 B:255 A:255}}"},
	{"110x150,source=Cover,background=000000", "s2:110x150,background=000000",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:255}}"},
	{"110x150,source=Cover,background=00c800", "s2:110x150,background=00c800",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:200 B:0 A:255}}"},
	{"110x150,source=Cover,background=#FF8000", "s2:110x150,background=ff8000",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:255 G:128 B:0 A:255}}"},
	{"110x150,source=Cover,async", "s2:110x150",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"110x150,source=Cover,async=true", "s2:110x150",
		"{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"64x64,source=Cover,fit=cover,anchor=topleft,format=webp,quality=80,upscale=true,background=00c800", "s2:64x64,fit=cover,anchor=topleft,format=webp,quality=80,upscale=true,background=00c800",
		"{Width:64 Height:64 Fit:1 Anchor:1 Format:webp Quality:80 Upscale:true Background:{R:0 G:200 B:0 A:255}}"},
	{"320x240,source=Cover,format=jpeg,background=336699,quality=70,anchor=bottomright,fit=cover,upscale=true", "s2:320x240,fit=cover,anchor=bottomright,format=jpeg,quality=70,upscale=true,background=336699",
		"{Width:320 Height:240 Fit:1 Anchor:8 Format:jpeg Quality:70 Upscale:true Background:{R:51 G:102 B:153 A:255}}"},
	{"widths=320|640|1280,source=Cover", "s2:widths=320|640|1280",
		"widths=[320 640 1280] {Width:0 Height:0 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"widths=1280|320|640,source=Cover", "s2:widths=320|640|1280",
		"widths=[320 640 1280] {Width:0 Height:0 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"widths=400,source=Cover", "s2:widths=400",
		"widths=[400] {Width:0 Height:0 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"widths=320|640,source=Cover,format=webp,quality=70", "s2:widths=320|640,format=webp,quality=70",
		"widths=[320 640] {Width:0 Height:0 Fit:0 Anchor:0 Format:webp Quality:70 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	{"widths=320|640,source=Cover,anchor=top,background=000000,format=png,async", "s2:widths=320|640,anchor=top,format=png,background=000000",
		"widths=[320 640] {Width:0 Height:0 Fit:0 Anchor:2 Format:png Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:255}}"},
}

// setWidths are the widths of a `widths=` tag, ascending as the root
// package's parser returns them, or nil.
func setWidths(t *testing.T, tag string) []int {
	size, _, _ := strings.Cut(tag, ",")
	list, ok := strings.CutPrefix(size, "widths=")
	if !ok {
		return nil
	}
	var ws []int
	for _, w := range strings.Split(list, "|") {
		n, err := strconv.Atoi(w)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, n)
	}
	slices.Sort(ws)
	return ws
}

func TestKeyGolden(t *testing.T) {
	for _, c := range keyGolden {
		spec, _, err := gormthumb.ParseTag(c.tag)
		if err != nil {
			t.Fatalf("%q: %v", c.tag, err)
		}
		canonical, legacy := spec.CanonicalKey(), spec.LegacyKey()
		if ws := setWidths(t, c.tag); ws != nil {
			canonical, legacy = spec.CanonicalSetKey(ws), spec.LegacySetKey(ws)
		}
		if canonical != c.canonical {
			t.Errorf("%q: canonical key %q, want %q", c.tag, canonical, c.canonical)
		}
		if legacy != c.legacy {
			t.Errorf("%q: legacy key %q, want %q (thumbnails named by earlier versions would look out of date)", c.tag, legacy, c.legacy)
		}
	}
}

// v1Spec mirrors the first version's Spec: the same field names and
// underlying types, without the methods (String) fmt would call since.
type v1Spec struct {
	Width, Height int
	Fit           int
	Anchor        int
	Format        string
	Quality       int
	Upscale       bool
	Background    color.NRGBA
}

// randomSpec is a Spec with random values of the first version's fields,
// from small sets (so that equal values are frequent) and odd ones
// (unknown fits, anchors and formats, negative numbers, any alpha).
func randomSpec(r *rand.Rand) thumb.Spec {
	pick := func(vs ...int) int { return vs[r.IntN(len(vs))] }
	formats := []thumb.Format{thumb.FormatSource, thumb.JPEG, thumb.PNG, thumb.GIF, thumb.WebP, thumb.AVIF, "weird", "png,upscale=true"}
	bgs := []color.NRGBA{{}, {255, 255, 255, 255}, {255, 255, 255, 0}, {0, 0, 0, 255}, {0, 0, 0, 1}, {0, 200, 0, 255}, {0, 200, 0, 9}}
	return thumb.Spec{
		Width: pick(0, 1, 64, 110, 8192, -3), Height: pick(0, 1, 64, 150, 8192),
		Fit: thumb.Fit(pick(0, 1, 2, -1)), Anchor: thumb.Anchor(pick(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1)),
		Format: formats[r.IntN(len(formats))], Quality: pick(0, 1, 50, 85, 100, 101, -5),
		Upscale: r.IntN(2) == 1, Background: bgs[r.IntN(len(bgs))],
	}
}

// TestLegacyKeyIsFmt: LegacyKey, written field by field, is exactly fmt's
// %+v of the first version's Spec, for any values.
func TestLegacyKeyIsFmt(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		s := randomSpec(r)
		s.Background = color.NRGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256))}
		v1 := v1Spec{s.Width, s.Height, int(s.Fit), int(s.Anchor), string(s.Format), s.Quality, s.Upscale, s.Background}
		want := fmt.Sprintf("%+v", v1)
		if got := s.LegacyKey(); got != want {
			t.Fatalf("LegacyKey %q, fmt %q", got, want)
		}
		if got := s.Key(); got != want {
			t.Fatalf("Key %q, want LegacyKey %q", got, want)
		}
		ws := []int{320, 640 + r.IntN(3)}
		if got, want := s.LegacySetKey(ws), fmt.Sprintf("widths=%v %s", ws, want); got != want {
			t.Fatalf("LegacySetKey %q, want %q", got, want)
		}
	}
}

// effective is what a spec makes: its options with the defaults filled
// in (the background's alpha is never used).
func effective(s thumb.Spec) thumb.Spec {
	if s.Quality == 0 {
		s.Quality = thumb.DefaultQuality
	}
	if s.Background == (color.NRGBA{}) {
		s.Background = color.NRGBA{255, 255, 255, 255}
	}
	s.Background.A = 255
	return s
}

// TestCanonicalKeyIsOneToOne: two specs have the same canonical key
// exactly when they make the same thumbnails.
func TestCanonicalKeyIsOneToOne(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	seen := map[string]thumb.Spec{}
	for range 20000 {
		s := randomSpec(r)
		k := s.CanonicalKey()
		if !strings.HasPrefix(k, "s2:") {
			t.Fatalf("%q has no version prefix", k)
		}
		if prev, ok := seen[k]; ok && effective(prev) != effective(s) {
			t.Fatalf("%+v and %+v share the key %q", prev, s, k)
		}
		seen[k] = s
	}
	byEffect := map[thumb.Spec]string{}
	for k, s := range seen {
		if prev, ok := byEffect[effective(s)]; ok && prev != k {
			t.Fatalf("%+v has two keys: %q and %q", s, prev, k)
		}
		byEffect[effective(s)] = k
	}
}

// specFields is every field of Spec, with a value other than its default
// and whether the first version had it. A field added to Spec must be
// added here (TestKeyKnowsEveryField fails until it is), and to
// CanonicalKey, which omits it at its default, so that every existing key
// stays the same; LegacyKey must be "" when it is not at its default.
var specFields = map[string]struct {
	value any
	v1    bool
}{
	"Width":      {7, true},
	"Height":     {9, true},
	"Fit":        {thumb.FitCover, true},
	"Anchor":     {thumb.BottomLeft, true},
	"Format":     {thumb.WebP, true},
	"Quality":    {40, true},
	"Upscale":    {true, true},
	"Background": {color.NRGBA{1, 2, 3, 255}, true},
}

// TestKeyKnowsEveryField: every field of Spec is known to the keys; each,
// at its zero value, leaves both keys as they are, and at another value
// changes the canonical key (and the legacy one, or empties it for a field
// the first version did not have). So a new field cannot slip into Spec
// without a decision on its key, and at its zero value it changes no key
// written before.
func TestKeyKnowsEveryField(t *testing.T) {
	base := thumb.Spec{Width: 100, Height: 100}
	typ := reflect.TypeFor[thumb.Spec]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		known, ok := specFields[f.Name]
		if !ok {
			t.Errorf("Spec.%s is new to the keys: give it a default, write it in CanonicalKey only when it differs from it, make LegacyKey \"\" when it does (v1Only), and add it to specFields", f.Name)
			continue
		}
		s := base
		reflect.ValueOf(&s).Elem().Field(i).Set(reflect.Zero(f.Type))
		if f.Name != "Width" && f.Name != "Height" && (s.CanonicalKey() != base.CanonicalKey() || s.LegacyKey() != base.LegacyKey()) {
			t.Errorf("Spec.%s at its zero value changes the keys: %q, %q", f.Name, s.CanonicalKey(), s.LegacyKey())
		}
		reflect.ValueOf(&s).Elem().Field(i).Set(reflect.ValueOf(known.value))
		if s.CanonicalKey() == base.CanonicalKey() {
			t.Errorf("Spec.%s = %v does not change the canonical key %q", f.Name, known.value, s.CanonicalKey())
		}
		if l := s.LegacyKey(); known.v1 && (l == "" || l == base.LegacyKey()) || !known.v1 && l != "" {
			t.Errorf("Spec.%s = %v: legacy key %q", f.Name, known.value, l)
		}
	}
	if typ.NumField() != len(specFields) {
		t.Errorf("Spec has %d fields, specFields %d", typ.NumField(), len(specFields))
	}
}

// TestKeysReadFieldsByName: key.go's encoders use their Spec receiver only
// as s.Field or s.method(), never whole (no %v of it, no reflection), so a
// new field changes no key until it is written there on purpose.
func TestKeysReadFieldsByName(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "key.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]bool{}
	for name := range specFields {
		fields[name] = true
	}
	checked := 0
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || len(fn.Recv.List[0].Names) == 0 || fn.Name.Name == "v1Only" {
			continue // v1Only copies s on purpose: to see that the rest is zero
		}
		recv := fn.Recv.List[0].Names[0].Name
		checked++
		allowed := map[*ast.Ident]bool{}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == recv {
					allowed[id] = true
					if !fields[sel.Sel.Name] && !strings.HasPrefix(sel.Sel.Name, "canonical") && sel.Sel.Name != "v1Only" && !strings.HasSuffix(sel.Sel.Name, "Key") {
						t.Errorf("%s reads %s.%s, which is not a known field", fn.Name.Name, recv, sel.Sel.Name)
					}
				}
			}
			return true
		})
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && id.Name == recv && !allowed[id] {
				t.Errorf("%s uses its receiver %s whole at %v", fn.Name.Name, recv, id.Pos())
			}
			return true
		})
	}
	if checked < 5 {
		t.Fatalf("checked %d methods of key.go, want its encoders", checked)
	}
}
