package gormthumb

import (
	"math/rand"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm/schema"
)

// The digest is part of every stored thumbnail key: a change to how it is
// computed would make every row's thumbnail look out of date.
func TestThumbDigestStable(t *testing.T) {
	got := thumbDigestV1("products", "7", "CoverThumb", "img/a.jpg", "md5:0123456789abcdef0123456789abcdef", "{Width:110 Height:150}")
	if want := "b7971edc24"; got != want {
		t.Fatalf("thumbDigestV1 = %q, want %q (keys written before v2 would look out of date)", got, want)
	}
	got = thumbDigest("products", "CoverThumb", "img/a.jpg", "md5:0123456789abcdef0123456789abcdef", "{Width:110 Height:150}")
	if want := "a81c254b74"; got != want {
		t.Fatalf("thumbDigest = %q, want %q (thumbnail keys would change)", got, want)
	}
	long := string(make([]byte, 1000)) // more than the stack buffer
	if thumbDigest("t", "F", long, "", "") == thumbDigest("t", "F", long[1:], "", "") {
		t.Fatal("long keys collide")
	}
}

func TestParseThumbName(t *testing.T) {
	for _, c := range []struct {
		key    string
		w, h   int
		digest string
	}{
		{"img/thumbnails/cat.110x83.0123456789abcdef.jpg", 110, 83, "0123456789"},
		{"cat.v2.1x1.ABCDEF0123456789.webp", 1, 1, "ABCDEF0123"},
		{".110x83.0123456789abcdef.jpg", 110, 83, "0123456789"},
		{"img/cat.jpg", 0, 0, ""},
		{"cat.110x83.0123456789abcdeg.jpg", 0, 0, ""}, // not hex
		{"cat.110x83.0123456789abcde.jpg", 0, 0, ""},  // short token
		{"cat.0x83.0123456789abcdef.jpg", 0, 0, ""},   // zero width
		{"cat.110-83.0123456789abcdef.jpg", 0, 0, ""}, // no x
		{"110x83.0123456789abcdef.jpg", 0, 0, ""},     // no base part
		{"a.b/cat.110x83.0123456789abcdef", 0, 0, ""}, // no extension
	} {
		w, h, d, ok := parseThumbName(c.key)
		if ok != (c.w > 0) || w != c.w || h != c.h || d != c.digest {
			t.Errorf("parseThumbName(%q) = %d, %d, %q, %v; want %d, %d, %q", c.key, w, h, d, ok, c.w, c.h, c.digest)
		}
	}
}

func TestDigestMatches(t *testing.T) {
	args := [...]string{"products", "CoverThumb", "img/a.jpg", "md5:00", "{Width:110 Height:150}"}
	key := "img/thumbnails/a.110x150." + thumbDigest(args[0], args[1], args[2], args[3], args[4]) + "abcdef.jpg"
	if !digestMatches(key, args[0], args[1], args[2], args[3], args[4]) {
		t.Fatalf("%q does not match its own digest", key)
	}
	if digestMatches(key, args[0], args[1], "img/b.jpg", args[3], args[4]) {
		t.Fatal("matches another source's digest")
	}
	if digestMatches("img/a.jpg", args[0], args[1], args[2], args[3], args[4]) {
		t.Fatal("a key that is not a thumbnail name matches")
	}
	v1 := "img/thumbnails/a.110x150." + thumbDigestV1(args[0], "7", args[1], args[2], args[3], args[4]) + "abcdef.jpg"
	if !digestMatchesV1(v1, args[0], "7", args[1], args[2], args[3], args[4]) || digestMatchesV1(v1, args[0], "8", args[1], args[2], args[3], args[4]) {
		t.Fatal("v1 keys: wrong match")
	}
	tf := &thumbField{field: &schema.Field{Name: args[1]}, specKey: args[4], legacyKey: args[4]}
	for _, k := range []string{key, v1} {
		if !thumbUpToDate(k, args[0], "7", tf, args[2], args[3]) {
			t.Fatalf("%q is not up to date", k)
		}
	}
	if thumbUpToDate(v1, args[0], "", tf, args[2], args[3]) {
		t.Fatal("a v1 key matched without the row's key")
	}
	if n := testing.AllocsPerRun(100, func() { thumbUpToDate(v1, args[0], "7", tf, args[2], args[3]) }); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}

// Keys written before the canonical spec key digested Spec.LegacyKey, the
// %+v of the spec as it was: pinned here, so that they keep matching (the
// golden table of every tag form, for both keys, is thumb's keyGolden).
func TestSpecKeyGolden(t *testing.T) {
	for _, c := range []struct {
		tag, want string
	}{
		{"110x150", "{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
		{"64x64,fit=cover,anchor=topleft,format=webp,quality=80,upscale=true,background=00c800",
			"{Width:64 Height:64 Fit:1 Anchor:1 Format:webp Quality:80 Upscale:true Background:{R:0 G:200 B:0 A:255}}"},
		{"50x50,format=jpg,anchor=bottomright", "{Width:50 Height:50 Fit:0 Anchor:8 Format:jpeg Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}"},
	} {
		spec, _, err := ParseTag(c.tag)
		if err != nil {
			t.Fatal(err)
		}
		if got := spec.LegacyKey(); got != c.want {
			t.Errorf("%q: Spec.LegacyKey() = %q, want %q (every stored thumbnail would look out of date)", c.tag, got, c.want)
		}
	}
	// The whole chain, tag to digest, for one known row.
	spec, _, _ := ParseTag("110x150")
	if got := thumbDigestV1("products", "7", "CoverThumb", "img/a.jpg", "", spec.LegacyKey()); got != "6feed8fca7" {
		t.Errorf("v1 digest of a default spec = %q", got)
	}
	if got := thumbDigest("products", "CoverThumb", "img/a.jpg", "", spec.LegacyKey()); got != "76cf58d5a6" {
		t.Errorf("legacy digest of a default spec = %q", got)
	}
	if got, want := spec.CanonicalKey(), "s2:110x150"; got != want {
		t.Errorf("canonical key of a default spec = %q, want %q", got, want)
	}
	if got := thumbDigest("products", "CoverThumb", "img/a.jpg", "", spec.CanonicalKey()); got != "17692cab59" {
		t.Errorf("digest of a default spec = %q", got)
	}
}

// The key format: <dir>/<base>.<W>x<H>.<10 hex digest><6 hex nonce>.<ext>,
// in a "thumbnails" folder beside the source unless a prefix is given.
func TestThumbKeyGolden(t *testing.T) {
	re := func(s string) *regexp.Regexp { return regexp.MustCompile("^" + s + "$") }
	for _, c := range []struct {
		src, prefix string
		f           Format
		want        *regexp.Regexp
	}{
		{"images/cover/cat.png", "", JPEG, re(`images/cover/thumbnails/cat\.110x83\.0123456789[0-9a-f]{6}\.jpg`)},
		{"cat.v2.tar.jpeg", "", PNG, re(`thumbnails/cat\.v2\.tar\.110x83\.0123456789[0-9a-f]{6}\.png`)},
		{"a/b.gif", "thumbs/2026/11", GIF, re(`thumbs/2026/11/b\.110x83\.0123456789[0-9a-f]{6}\.gif`)},
		{"x.webp", "", WebP, re(`thumbnails/x\.110x83\.0123456789[0-9a-f]{6}\.webp`)},
	} {
		got := thumbKey(c.src, c.prefix, 110, 83, "0123456789", c.f)
		if !c.want.MatchString(got) {
			t.Errorf("thumbKey(%q, %q) = %q, want %v", c.src, c.prefix, got, c.want)
		}
		if w, h, d, ok := parseThumbName(got); !ok || w != 110 || h != 83 || d != "0123456789" {
			t.Errorf("%q reads back as %d, %d, %q, %v", got, w, h, d, ok)
		}
		if got == thumbKey(c.src, c.prefix, 110, 83, "0123456789", c.f) {
			t.Errorf("two keys for the same thumbnail are equal: %q", got)
		}
	}
}

// thumbKey builds a new, never-used key for a thumbnail of size w×h.
func thumbKey(srcKey, prefix string, w, h int, digest string, f Format) string {
	return setKey(srcKey, prefix, [][2]int{{w, h}}, digest, f)
}

// TestKeyNamingContract checks that the writer and the recogniser of
// keys.go are inverses, on generated keys: every key the plugin can write
// for a thumbnail (any source name, unicode and dots included, prefixes
// with date parts, sets of widths and each of their members) is recognised
// where it is written, with the size it was written with; no original an
// Upload can write is, wherever it lies. Sweep deletes what is recognised,
// so the second half is what keeps originals safe.
func TestKeyNamingContract(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	words := []string{"cat", "Ünïcødé", "日本", "a.b.c", "photo 1", "x", "110x83", "0123456789abcdef", "thumbnails", "IMG_0001.JPG", "🐈", "-_-"}
	word := func() string { return words[rng.Intn(len(words))] }
	prefixes := []string{"", "thumbs", "%Y/%m", "media/%Y/%m/%d/t", "t-%Y%m%d/%H%M%S", "a/thumbnails/b"}
	formats := []Format{JPEG, PNG, GIF, WebP, AVIF}
	var patterns []prefixPattern
	for _, p := range prefixes {
		if p != "" {
			patterns = append(patterns, newPrefixPattern(p))
		}
	}
	for n := 0; n < 3000; n++ {
		var segs []string
		for range rng.Intn(4) {
			segs = append(segs, word())
		}
		segs = append(segs, word()+"."+string(formats[rng.Intn(len(formats))]))
		src := strings.Join(segs, "/")
		if checkKey(src) != nil {
			continue
		}
		when := time.Date(1990+rng.Intn(60), time.Month(1+rng.Intn(12)), 1+rng.Intn(28), rng.Intn(24), rng.Intn(60), rng.Intn(60), 0, time.UTC)
		prefix := prefixes[rng.Intn(len(prefixes))]
		expanded := ""
		if prefix != "" {
			expanded = expandPrefix(prefix, when)
		}
		var sizes [][2]int
		for w := 1 + rng.Intn(100); len(sizes) == 0 || (rng.Intn(2) == 0 && len(sizes) < 4); w += 1 + rng.Intn(500) {
			sizes = append(sizes, [2]int{w, 1 + rng.Intn(900)})
		}
		key := setKey(src, expanded, sizes, "0123456789", formats[rng.Intn(len(formats))])
		if !isThumbLocation(key, patterns) {
			t.Fatalf("setKey(%q, %q) = %q is not recognised", src, expanded, key)
		}
		if w, h, _, ok := parseThumbName(key); !ok || w != sizes[len(sizes)-1][0] || h != sizes[len(sizes)-1][1] {
			t.Fatalf("%q reads back as %dx%d, %v; written with %v", key, w, h, ok, sizes)
		}
		members := memberKeys(key)
		if len(sizes) > 1 && len(members) != len(sizes) {
			t.Fatalf("%q has members %q, written with %v", key, members, sizes)
		}
		for _, m := range members {
			if !isThumbLocation(m, patterns) || checkKey(m) != nil {
				t.Fatalf("member %q of %q is not recognised", m, key)
			}
		}
		// An original, as Upload names it, under any of the prefixes
		// (or the default one), is never recognised.
		up := path.Join(expandPrefix(prefixes[1+rng.Intn(len(prefixes)-1)], when),
			uploadName(word()+"."+word(), formats[rng.Intn(len(formats))], 1+rng.Intn(5000), 1+rng.Intn(5000)))
		if isThumbLocation(up, patterns) {
			t.Fatalf("the original %q is recognised as a thumbnail", up)
		}
	}
}
