package pngscale

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// typed reports whether err wraps exactly one of the three sentinels.
func typed(err error) bool {
	n := 0
	for _, s := range []error{ErrFormat, ErrUnsupported, ErrTooLarge} {
		if errors.Is(err, s) {
			n++
		}
	}
	return n == 1
}

// maxReadAhead is how much further than image/png Decode may read into a
// stream both refuse: klauspost/compress's inflater can take a byte or
// so more of a corrupt deflate stream than compress/flate before the
// error shows (the package doc).
const maxReadAhead = 8

// maxTestPixels is the largest image compareWithStd decodes.
const maxTestPixels = 1 << 20

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// compareWithStd decodes b with image/png and with Decode (at factor k)
// and reports any difference in the outcome: one accepts what the other
// refuses, the error's class differs (image/png's UnsupportedError must
// be ErrUnsupported, its other errors ErrFormat), or they read a
// different number of bytes from the source (so a failing source, the
// byte limit, stops both at the same point), except that on a stream
// both refuse we may read up to maxReadAhead bytes further. It returns
// image/png's error.
//
// A header over maxTestPixels (a flipped bit in IHDR's size) is not given
// to image/png, which would allocate it: Decode must refuse it with
// ErrTooLarge.
func compareWithStd(t *testing.T, name string, b []byte, k int) error {
	return compareWithStdMax(t, name, b, k, maxTestPixels)
}

// compareWithStdMax is compareWithStd for images up to maxPixels.
func compareWithStdMax(t *testing.T, name string, b []byte, k int, maxPixels int) error {
	t.Helper()
	if cfg, err := png.DecodeConfig(bytes.NewReader(b)); err == nil && cfg.Width*cfg.Height > maxPixels {
		_, err := Decode(bytes.NewReader(b), Options{Factor: k, MaxPixels: int64(maxPixels)})
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %dx%d, Decode says %v, want ErrTooLarge", name, cfg.Width, cfg.Height, err)
		}
		return err
	}
	sr := &countingReader{r: bytes.NewReader(b)}
	_, stdErr := png.Decode(sr)
	r := &countingReader{r: bytes.NewReader(b)}
	_, err := Decode(r, Options{Factor: k, MaxPixels: int64(maxPixels)})
	switch {
	case (stdErr == nil) != (err == nil):
		t.Errorf("%s: image/png %v, we %v", name, stdErr, err)
	case err != nil && !typed(err):
		t.Errorf("%s: error %q does not wrap exactly one sentinel", name, err)
	case err != nil:
		var ue png.UnsupportedError
		if want := errors.As(stdErr, &ue); want != errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: image/png %v, we %v", name, stdErr, err)
		}
	}
	if sr.n != r.n && (stdErr == nil || r.n < sr.n || r.n > sr.n+maxReadAhead) {
		t.Errorf("%s: image/png read %d bytes, we %d (image/png: %v, we: %v)", name, sr.n, r.n, stdErr, err)
	}
	return stdErr
}

func TestCorpusBroken(t *testing.T) {
	dir := corpusPNGs(t)
	for _, f := range dir {
		name := filepath.Base(f)
		if !strings.HasPrefix(name, "png-") || name == "png-bomb-32000x32000.png" {
			continue
		}
		b := readFile(t, f)
		stdErr := compareWithStd(t, name, b, 4)
		broken := strings.Contains(name, "bad-") || strings.Contains(name, "missing") || strings.Contains(name, "garbage") || strings.Contains(name, "truncated")
		if broken != (stdErr != nil) {
			t.Errorf("%s: image/png says %v", name, stdErr)
		}
	}
	// The text file with a .png name.
	compareWithStd(t, "not-an-image-text.png", readFile(t, filepath.Join(filepath.Dir(dir[0]), "not-an-image-text.png")), 4)
}

// hostileInputs are small valid files to damage: generated ones of each
// layout (plain and interlaced) and the corpus's valid PNGs.
func hostileInputs(t *testing.T) map[string][]byte {
	in := map[string][]byte{}
	for _, v := range variants() {
		if strings.HasSuffix(v.Name, "-61x47") {
			switch strings.TrimSuffix(strings.TrimSuffix(v.Name, "-61x47"), "-interlaced") {
			case "gray1", "gray8-trns", "gray16", "grayalpha8", "rgb8", "rgb16-trns", "rgba8", "rgba16", "palette2-trns", "palette8-short":
				in[v.Name] = v.Data
			}
		}
	}
	for _, f := range corpusPNGs(t) {
		b := readFile(t, f)
		if len(b) > 20000 { // the bomb, and the truncated file
			continue
		}
		if _, err := stdDecode(b); err == nil {
			in[filepath.Base(f)] = b
		}
	}
	return in
}

func TestTruncated(t *testing.T) {
	inputs := hostileInputs(t)
	bothWays(t, func(t *testing.T) {
		for name, b := range inputs {
			n := len(b)
			for i, cut := range cutPoints(n) {
				if underRace && i%4 != 0 {
					continue
				}
				if err := compareWithStd(t, fmt.Sprintf("%s[:%d]", name, cut), b[:cut], 3); err == nil {
					t.Errorf("%s cut at %d of %d: image/png decodes it", name, cut, n)
				}
			}
		}
	})
}

// cutPoints spreads truncation points over a file: every byte of the first
// 120 (signature, IHDR, PLTE, tRNS, the first IDATs), then 60 more, and
// just before the end.
func cutPoints(n int) []int {
	var cs []int
	for i := 0; i < min(n, 120); i++ {
		cs = append(cs, i)
	}
	for i := 1; i <= 60; i++ {
		cs = append(cs, 120+(n-120)*i/61)
	}
	return append(cs, n-1, n-4, n-12)
}

// bitFlipSeeds are the PCG seeds TestBitFlips runs its sample with.
var bitFlipSeeds = [][2]uint64{{1, 2}, {3, 4}, {5, 6}}

// Damaged files are accepted or refused as image/png accepts or refuses
// them, with the same class of error, reading as much of them. Most flips
// break a CRC; each file is also damaged with its chunk CRCs repaired, so
// the damage reaches the zlib stream and the filters.
func TestBitFlips(t *testing.T) {
	inputs := hostileInputs(t)
	bothWays(t, func(t *testing.T) { bitFlips(t, inputs) })
}

func bitFlips(t *testing.T, inputs map[string][]byte) {
	flips := 60
	if underRace {
		flips = 6
	}
	agree, refused := 0, 0
	for _, seed := range bitFlipSeeds {
		rng := rand.New(rand.NewPCG(seed[0], seed[1]))
		for name, data := range inputs {
			for i := range flips {
				b := bytes.Clone(data)
				for range 1 + i%3 {
					p := rng.IntN(len(b))
					b[p] ^= 1 << rng.IntN(8)
				}
				if i%2 == 1 {
					fixCRCs(b)
				}
				k := 1 + i%5
				if err := compareWithStd(t, fmt.Sprintf("%s seed %v flip %d", name, seed, i), b, k); err != nil {
					refused++
				}
				agree++
			}
		}
	}
	t.Logf("%d damaged files, %d of them refused by image/png", agree, refused)
}

// fixCRCs rewrites the CRC of every chunk of b it can walk to.
func fixCRCs(b []byte) {
	for i := 8; i+12 <= len(b); {
		n := int(be32(b[i:]))
		if n < 0 || i+12+n > len(b) {
			return
		}
		crc := crc32IEEE(b[i+4 : i+8+n])
		b[i+8+n], b[i+9+n], b[i+10+n], b[i+11+n] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
		i += 12 + n
	}
}
