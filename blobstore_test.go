package gormthumb

import "testing"

// The digest is part of every stored thumbnail key: a change to how it is
// computed would make every row's thumbnail look out of date.
func TestThumbDigestStable(t *testing.T) {
	got := thumbDigest("products", "7", "CoverThumb", "img/a.jpg", "md5:0123456789abcdef0123456789abcdef", "{Width:110 Height:150}")
	if want := "b7971edc24"; got != want {
		t.Fatalf("thumbDigest = %q, want %q (thumbnail keys would change)", got, want)
	}
	long := string(make([]byte, 1000)) // more than the stack buffer
	if thumbDigest("t", "1", "F", long, "", "") == thumbDigest("t", "1", "F", long[1:], "", "") {
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
	args := [...]string{"products", "7", "CoverThumb", "img/a.jpg", "md5:00", "{Width:110 Height:150}"}
	key := "img/thumbnails/a.110x150." + thumbDigest(args[0], args[1], args[2], args[3], args[4], args[5]) + "abcdef.jpg"
	if !digestMatches(key, args[0], args[1], args[2], args[3], args[4], args[5]) {
		t.Fatalf("%q does not match its own digest", key)
	}
	if digestMatches(key, args[0], "8", args[2], args[3], args[4], args[5]) {
		t.Fatal("matches another row's digest")
	}
	if digestMatches("img/a.jpg", args[0], args[1], args[2], args[3], args[4], args[5]) {
		t.Fatal("a key that is not a thumbnail name matches")
	}
	if n := testing.AllocsPerRun(100, func() { digestMatches(key, args[0], args[1], args[2], args[3], args[4], args[5]) }); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}
