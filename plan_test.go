package gormthumb

import (
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"testing"

	"gorm.io/gorm/schema"
)

// The rule of plan.go, with no database and no bucket: table tests of
// planGroup, and a generated check that unchangedGroup (the allocation-free
// question an unchanged Save asks) agrees with it.

// planFixture is a group of two thumbnails of Cover (the second async
// when async is set) and, with holder, a placeholder.
func planFixture(async, holder bool) *sourceGroup {
	src := &schema.Field{Name: "Cover", DBName: "cover"}
	g := &sourceGroup{source: src}
	for i, name := range []string{"CoverThumb", "CoverCard"} {
		spec := Spec{Width: 110 * (i + 1), Height: 150}
		g.thumbs = append(g.thumbs, &thumbField{field: &schema.Field{Name: name, DBName: "c" + fmt.Sprint(i)}, source: src,
			spec: spec, specKey: spec.CanonicalKey(), legacyKey: spec.LegacyKey(), async: async && i == 1})
	}
	if holder {
		g.placeholder = &schema.Field{Name: "CoverHash", DBName: "cover_hash"}
	}
	return g
}

// keyFor is a key of thumbnail i of g made for src (as makeThumbs names it).
func keyFor(g *sourceGroup, i int, src string) string {
	t := g.thumbs[i]
	return setKey(src, "", [][2]int{{t.spec.Width, 80}}, thumbDigest("products", t.field.Name, src, "", t.specKey), JPEG)
}

func TestPlanGroup(t *testing.T) {
	g, ga, gh, gah := planFixture(false, false), planFixture(true, false), planFixture(false, true), planFixture(true, true)
	gah.thumbs[0].async = true // async only
	a, b := "img/a.jpg", "img/b.jpg"
	ka0, ka1, kb0, kb1 := keyFor(g, 0, a), keyFor(g, 1, a), keyFor(g, 1, b), keyFor(g, 1, b)
	kb0 = keyFor(g, 0, b)
	v1 := "img/thumbnails/a.110x80." + thumbDigestV1("products", "7", "CoverThumb", a, "", g.thumbs[0].legacyKey) + "abcdef.jpg"
	keys := func(h string, ks ...string) groupKeys { return groupKeys{thumbs: ks, holder: h} }
	none := keys("", "", "")
	for _, c := range []struct {
		name string
		in   planInput
		want groupPlan
	}{
		{"new row: make every thumbnail", planInput{g: g, src: a},
			groupPlan{next: none, make: []int{0, 1}}},
		{"new row, made: take them", planInput{g: g, src: a, made: keys("", ka0, ka1)},
			groupPlan{next: keys("", ka0, ka1)}},
		{"up to date: keep", planInput{g: g, src: a, cur: keys("", ka0, ka1)},
			groupPlan{next: keys("", ka0, ka1)}},
		{"up to date and made (a concurrent save did it): keep the row's", planInput{g: g, src: a, cur: keys("", ka0, ka1), made: keys("", "x0", "x1")},
			groupPlan{next: keys("", ka0, ka1)}},
		{"new source: make, supersede", planInput{g: g, src: b, cur: keys("", ka0, ka1)},
			groupPlan{next: none, make: []int{0, 1}, superseded: []string{ka0, ka1}}},
		{"new source, made: take, supersede", planInput{g: g, src: b, cur: keys("", ka0, ka1), made: keys("", kb0, kb1)},
			groupPlan{next: keys("", kb0, kb1), superseded: []string{ka0, ka1}}},
		{"stale key of the same field (another source): remade", planInput{g: g, src: a, cur: keys("", kb0, ka1)},
			groupPlan{next: keys("", "", ka1), make: []int{0}, superseded: []string{kb0}}},
		{"a key of another thumbnail field is not this one's", planInput{g: g, src: a, cur: keys("", ka1, ka0)},
			groupPlan{next: none, make: []int{0, 1}, superseded: []string{ka1, ka0}}},
		{"not a thumbnail key at all", planInput{g: g, src: a, cur: keys("", "img/a.jpg", ka1)},
			groupPlan{next: keys("", "", ka1), make: []int{0}, superseded: []string{"img/a.jpg"}}},
		{"source cleared: clear, supersede", planInput{g: g, src: "", cur: keys("", ka0, ka1)},
			groupPlan{next: none, superseded: []string{ka0, ka1}}},
		{"source cleared, nothing there", planInput{g: g, src: ""},
			groupPlan{next: none}},
		{"v1 key (with the row's key) stays valid", planInput{g: g, table: "products", pk: "7", src: a, cur: keys("", v1, ka1)},
			groupPlan{next: keys("", v1, ka1)}},
		{"v1 key of another row is out of date", planInput{g: g, table: "products", pk: "8", src: a, cur: keys("", v1, ka1)},
			groupPlan{next: keys("", "", ka1), make: []int{0}, superseded: []string{v1}}},
		{"force remakes what is up to date", planInput{g: g, src: a, cur: keys("", ka0, ka1), force: true},
			groupPlan{next: none, make: []int{0, 1}, superseded: []string{ka0, ka1}}},
		{"force, made: take", planInput{g: g, src: a, cur: keys("", ka0, ka1), made: keys("", "n0", "n1"), force: true},
			groupPlan{next: keys("", "n0", "n1"), superseded: []string{ka0, ka1}}},
		{"async in a save: the old key stays, work recorded", planInput{g: ga, src: b, cur: keys("", ka0, ka1)},
			groupPlan{next: keys("", "", ka1), make: []int{0}, enqueue: true, superseded: []string{ka0}}},
		{"async in a save, new row: nothing yet, work recorded", planInput{g: ga, src: a},
			groupPlan{next: none, make: []int{0}, enqueue: true}},
		{"async in the background: made", planInput{g: ga, src: b, cur: keys("", kb0, ka1), background: true},
			groupPlan{next: keys("", kb0, ""), make: []int{1}, superseded: []string{ka1}}},
		{"async source cleared in a save: cleared at once", planInput{g: ga, src: "", cur: keys("", ka0, ka1)},
			groupPlan{next: none, superseded: []string{ka0, ka1}}},
		{"placeholder of a new row: made with the thumbnails", planInput{g: gh, src: a},
			groupPlan{next: none, make: []int{0, 1}, makeHolder: true}},
		{"placeholder made: taken", planInput{g: gh, src: a, made: keys("H", ka0, ka1)},
			groupPlan{next: keys("H", ka0, ka1)}},
		{"placeholder kept with its thumbnails", planInput{g: gh, src: a, cur: keys("H", ka0, ka1)},
			groupPlan{next: keys("H", ka0, ka1)}},
		{"missing placeholder is made alone", planInput{g: gh, src: a, cur: keys("", ka0, ka1)},
			groupPlan{next: keys("", ka0, ka1), makeHolder: true}},
		{"placeholder renewed with a new source's thumbnails", planInput{g: gh, src: b, cur: keys("H", ka0, ka1), made: keys("HB", kb0, kb1)},
			groupPlan{next: keys("HB", kb0, kb1), superseded: []string{ka0, ka1}}},
		{"placeholder renewed when one thumbnail is", planInput{g: gh, src: a, cur: keys("H", "", ka1)},
			groupPlan{next: keys("", "", ka1), make: []int{0}, makeHolder: true}},
		{"placeholder cleared with its source", planInput{g: gh, src: "", cur: keys("H", ka0, ka1)},
			groupPlan{next: none, superseded: []string{ka0, ka1}}},
		{"async-only group: its placeholder is Work's", planInput{g: gah, src: b, cur: keys("H", ka0, ka1)},
			groupPlan{next: keys("H", ka0, ka1), enqueue: true}},
		{"mixed group: the placeholder is made with the sync thumbnails", planInput{g: planFixture(true, true), src: b, cur: keys("H", ka0, ka1)},
			groupPlan{next: keys("", "", ka1), make: []int{0}, makeHolder: true, enqueue: true, superseded: []string{ka0}}},
		{"async group's missing placeholder: work recorded", planInput{g: gah, src: a, cur: keys("", ka0, ka1)},
			groupPlan{next: keys("", ka0, ka1), enqueue: true}},
		{"async group's placeholder in the background: made", planInput{g: gah, src: a, cur: keys("", ka0, ka1), background: true},
			groupPlan{next: keys("", ka0, ka1), makeHolder: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.in.table = "products"
			if c.in.cur.thumbs == nil {
				c.in.cur = emptyKeys(c.in.g)
			}
			// The fixture's async thumbnail is the second; the first of
			// an async fixture is sync (a mixed group), except in gah.
			got := planGroup(c.in)
			if !reflect.DeepEqual(normPlan(got), normPlan(c.want)) {
				t.Fatalf("plan:\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// normPlan makes nil and empty slices compare equal.
func normPlan(p groupPlan) groupPlan {
	if len(p.make) == 0 {
		p.make = nil
	}
	if len(p.superseded) == 0 {
		p.superseded = nil
	}
	return p
}

// TestPlanTwoPasses checks, for generated inputs, the contract the
// callers rely on: after making what a plan lists, the next plan is ready,
// takes exactly what was made, and keeps what it kept.
func TestPlanTwoPasses(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 5000; n++ {
		in := randomPlanInput(rng)
		first := planGroup(in)
		if first.ready() {
			continue
		}
		made := emptyKeys(in.g)
		copy(made.thumbs, in.made.thumbs)
		made.holder = in.made.holder
		in.made = made
		for _, i := range first.make {
			in.made.thumbs[i] = fmt.Sprintf("made%d", i)
		}
		if first.makeHolder {
			in.made.holder = "madeH"
		}
		second := planGroup(in)
		if !second.ready() {
			t.Fatalf("%+v: second plan not ready: %+v", in, second)
		}
		for i := range in.g.thumbs {
			want := first.next.thumbs[i]
			if slices.Contains(first.make, i) {
				want = in.made.thumbs[i]
			}
			if second.next.thumbs[i] != want {
				t.Fatalf("%+v: thumbnail %d: first %+v, second %+v", in, i, first, second)
			}
		}
	}
}

// TestUnchangedGroupAgrees checks unchangedGroup against planGroup on
// generated inputs: unchanged exactly when the plan keeps every value and
// records no work.
func TestUnchangedGroupAgrees(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	seen := map[bool]int{}
	for n := 0; n < 20000; n++ {
		in := randomPlanInput(rng)
		in.made, in.force, in.background = groupKeys{}, false, false // what a Save's check sees
		pl := planGroup(in)
		want := pl.ready() && !pl.enqueue && pl.next.equal(in.cur)
		if got := unchangedGroup(&in); got != want {
			t.Fatalf("unchangedGroup(%+v) = %v, plan %+v", in, got, pl)
		}
		seen[want]++
	}
	if seen[true] < 100 || seen[false] < 100 {
		t.Fatalf("generator too narrow: %v", seen)
	}
}

func TestUnchangedGroupAllocs(t *testing.T) {
	g := planFixture(false, false)
	a := "img/a.jpg"
	in := planInput{g: g, table: "products", src: a, cur: groupKeys{thumbs: []string{keyFor(g, 0, a), keyFor(g, 1, a)}}}
	if n := testing.AllocsPerRun(100, func() { unchangedGroup(&in) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// randomPlanInput draws an input from a small world of sources and keys,
// so that keys are often, but not always, of the source.
func randomPlanInput(rng *rand.Rand) planInput {
	g := planFixture(rng.Intn(2) == 0, rng.Intn(2) == 0)
	if rng.Intn(4) == 0 { // an async-only group
		g.thumbs[0].async, g.thumbs[1].async = true, true
	}
	srcs := []string{"", "img/a.jpg", "img/b.jpg"}
	pick := func(i int) string {
		switch rng.Intn(4) {
		case 0:
			return ""
		case 1:
			return "junk"
		}
		return keyFor(g, i, srcs[1+rng.Intn(2)])
	}
	holder := func() string {
		if rng.Intn(2) == 0 {
			return ""
		}
		return "H"
	}
	in := planInput{g: g, table: "products", src: srcs[rng.Intn(3)],
		cur: groupKeys{thumbs: []string{pick(0), pick(1)}}, force: rng.Intn(5) == 0, background: rng.Intn(3) == 0}
	if g.placeholder != nil {
		in.cur.holder = holder()
	}
	if rng.Intn(3) == 0 {
		in.made = groupKeys{thumbs: []string{pick(0), pick(1)}, holder: holder()}
	}
	return in
}
