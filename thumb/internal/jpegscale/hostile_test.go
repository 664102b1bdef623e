package jpegscale

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var scales = []int{1, 2, 4, 8}

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

// decodeAll decodes b at every scale and checks the error contract and the
// output bounds. It returns the errors by scale.
func decodeAll(t testing.TB, name string, b []byte, opts Options) [9]error {
	t.Helper()
	var errs [9]error
	for _, s := range scales {
		opts.Scale = s
		m, err := Decode(bytes.NewReader(b), opts)
		errs[s] = err
		if err != nil {
			if !typed(err) {
				t.Errorf("%s 1/%d: error %q does not wrap exactly one sentinel", name, s, err)
			}
			continue
		}
		cfg, err := DecodeConfig(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s 1/%d: Decode succeeds but DecodeConfig fails: %v", name, s, err)
			continue
		}
		if got, want := m.Bounds().Size(), (image2{(cfg.Width + s - 1) / s, (cfg.Height + s - 1) / s}); got.X != want.x || got.Y != want.y {
			t.Errorf("%s 1/%d: size %v, want %dx%d", name, s, got, want.x, want.y)
		}
	}
	return errs
}

type image2 struct{ x, y int }

func TestCorpusHostile(t *testing.T) {
	dir := corpusDir(t)
	for _, f := range []string{"not-an-image-ole-doc.jpg", "jpeg-truncated-progressive.jpg"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		_, stdErr := stdDecode(b)
		errs := decodeAll(t, f, b, Options{})
		for _, s := range scales {
			if stdErr != nil && !errors.Is(errs[s], ErrFormat) {
				t.Errorf("%s 1/%d: image/jpeg fails (%v); we return %v, want ErrFormat", f, s, stdErr, errs[s])
			}
			if stdErr == nil && errs[s] != nil {
				t.Errorf("%s 1/%d: image/jpeg decodes it; we fail: %v", f, s, errs[s])
			}
		}
	}
}

// hostileInputs are small valid files of each kind to damage.
func hostileInputs(t *testing.T) []variant {
	var vs []variant
	for _, v := range generatedVariants(t) {
		switch v.name {
		case "stdlib-q75", "stdlib-gray", "cjpeg-restart1", "cjpeg-prog", "cjpeg-prog-restart-444", "cjpeg-411", "cjpeg-noninterleaved":
			vs = append(vs, v)
		}
	}
	dir := corpusDir(t)
	for _, f := range []string{"jpeg-progressive.jpg", "jpeg-cmyk-ycck-adobe.jpg", "jpeg-sof1-16bit-qtables.jpg"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, variant{name: f, data: b})
	}
	return vs
}

func TestTruncated(t *testing.T) {
	for _, v := range hostileInputs(t) {
		n := len(v.data)
		for _, cut := range cutPoints(n) {
			b := v.data[:cut]
			errs := decodeAll(t, fmt.Sprintf("%s[:%d]", v.name, cut), b, Options{})
			for _, s := range scales {
				if !errors.Is(errs[s], ErrFormat) {
					t.Errorf("%s cut at %d of %d, 1/%d: error %v, want ErrFormat (image/jpeg needs EOI)", v.name, cut, n, s, errs[s])
				}
			}
			if _, err := stdDecode(b); err == nil {
				t.Errorf("%s cut at %d: image/jpeg decodes it", v.name, cut)
			}
		}
	}
}

// cutPoints spreads truncation points over a file: every byte of the first
// 400 (the headers), then 60 more.
func cutPoints(n int) []int {
	var cs []int
	for i := 0; i < min(n, 400); i += 3 {
		cs = append(cs, i)
	}
	for i := 1; i <= 60; i++ {
		cs = append(cs, 400+(n-400)*i/61)
	}
	return append(cs, n-1, n-2)
}

// bitFlipSeeds are the PCG seeds TestBitFlips runs its sample with: one
// sample can miss a difference that another finds.
var bitFlipSeeds = [][2]uint64{{1, 2}, {3, 4}, {5, 6}}

func TestBitFlips(t *testing.T) {
	inputs := hostileInputs(t)
	flips := 100
	if underRace {
		flips = 10
	}
	agree, differ, excepted := 0, 0, 0
	for _, seed := range bitFlipSeeds {
		rng := rand.New(rand.NewPCG(seed[0], seed[1]))
		for _, v := range inputs {
			for i := range flips {
				b := bytes.Clone(v.data)
				for range 1 + i%3 {
					p := rng.IntN(len(b))
					b[p] ^= 1 << rng.IntN(8)
				}
				name := fmt.Sprintf("%s seed %v flip %d", v.name, seed, i)
				switch compareFlipped(t, name, b) {
				case flipAgrees:
					agree++
				case flipDiffers:
					differ++
				default:
					excepted++
				}
			}
		}
	}
	t.Logf("bit-flipped files: accept/reject agrees with image/jpeg for %d, differs for %d, documented header exceptions %d", agree, differ, excepted)
}

const (
	flipAgrees = iota
	flipDiffers
	flipExcepted
)

// compareFlipped decodes a damaged file at every scale and reports whether
// we accept or reject it as image/jpeg does: at 1/1, 1/2 and 1/4, which
// read every scan, and at 1/8 unless we accept what image/jpeg rejects (a
// progressive file's AC scans are not read at 1/8). It reports an error for
// each difference, except for the corrupt headers that the package doc
// lists as rejected by us only (flipExcepted).
func compareFlipped(t *testing.T, name string, b []byte) int {
	t.Helper()
	errs := decodeAll(t, name, b, Options{MaxPixels: 1 << 24})
	std, stdErr := stdDecode(b)
	if stdErr == nil && errs[1] != nil && (std.Bounds().Empty() || headerException(b)) {
		return flipExcepted
	}
	res := flipAgrees
	for _, s := range scales {
		if (stdErr == nil) != (errs[s] == nil) && (s < 8 || stdErr == nil) {
			t.Errorf("%s 1/%d: image/jpeg %v, we %v", name, s, stdErr, errs[s])
			res = flipDiffers
		}
	}
	return res
}

// headerException reports whether the headers of b, up to the first scan,
// hold a DQT segment that ends just after a table's Pq/Tq byte or a DHT
// table whose code counts overflow the code space: corrupt headers that
// image/jpeg lets through and we reject, as the package doc says.
func headerException(b []byte) bool {
	for i := 2; i+4 <= len(b) && b[i] == 0xff; {
		m := b[i+1]
		if m == 0xff {
			i++
			continue
		}
		if m == 0xda || m == 0xd9 {
			break
		}
		end := i + 2 + (int(b[i+2])<<8 | int(b[i+3]))
		if end > len(b) || end < i+4 {
			break
		}
		seg := b[i+4 : end]
		switch m {
		case 0xdb:
			for j := 0; j < len(seg); {
				pq, tq := seg[j]>>4, seg[j]&15
				j++
				if j == len(seg) && pq <= 1 && tq <= 3 {
					return true
				}
				j += 64 << pq
			}
		case 0xc4:
			for j := 0; j+17 <= len(seg); {
				code, total := 0, 0
				for l := 1; l <= 16; l++ {
					code += int(seg[j+l])
					total += int(seg[j+l])
					if code > 1<<l {
						return true
					}
					code <<= 1
				}
				j += 17 + total
			}
		}
		i = end
	}
	return false
}

// TestHeaderExceptions checks the corrupt headers that the package doc says
// we reject and image/jpeg does not, and that headerException knows them.
func TestHeaderExceptions(t *testing.T) {
	base := seqFile(dc0, ac0, ecs("00"))
	sof := bytes.Index(base, []byte{0xff, 0xc0})
	dqt := bytes.Index(base, []byte{0xff, 0xdb})
	edit := func(f func(b []byte)) []byte {
		b := bytes.Clone(base)
		f(b)
		return b
	}
	for _, c := range []struct {
		name  string
		data  []byte
		empty bool
	}{
		{"zero height", edit(func(b []byte) { b[sof+5], b[sof+6] = 0, 0 }), true},
		{"zero width", edit(func(b []byte) { b[sof+7], b[sof+8] = 0, 0 }), true},
		// Length 3: the Pq/Tq byte only; the 64 table bytes that follow
		// are junk before the next marker for image/jpeg.
		{"DQT ending after Pq/Tq", edit(func(b []byte) { b[dqt+3] = 3 }), false},
		// '0', then three codes of length 2 where two fit ('10', '11').
		{"DHT overflowing", seqFile(dc0, dht(1, 0, []int{1, 3}, 0x00, 0x01, 0x02, 0x03), ecs("00")), false},
	} {
		m, err := stdDecode(c.data)
		if err != nil {
			t.Errorf("%s: image/jpeg fails (%v); the case is wrong", c.name, err)
			continue
		}
		if m.Bounds().Empty() != c.empty || (!c.empty && !headerException(c.data)) {
			t.Errorf("%s: image/jpeg bounds %v, headerException %v", c.name, m.Bounds(), headerException(c.data))
		}
		for _, s := range scales {
			if _, err := Decode(bytes.NewReader(c.data), Options{Scale: s}); !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
				t.Errorf("%s 1/%d: error %v, want ErrFormat or ErrUnsupported", c.name, s, err)
			}
		}
	}
	if headerException(base) {
		t.Errorf("headerException(valid file) = true")
	}
}

// TestBitFlipRegressions are flips that TestBitFlips once found accepted
// by us and rejected by image/jpeg (both were EOB runs left unfinished at
// the end of a scan, which image/jpeg carries into the next AC scan).
func TestBitFlipRegressions(t *testing.T) {
	type flip struct{ pos, bit int }
	cases := []struct {
		variant string
		flips   []flip
		stdErr  string
	}{
		// Flip 2 of seed {1, 2} with the -race sample: the bit at 5360,
		// in the Cr AC refinement scan, makes it end inside an EOB run
		// (the other two, in the last scan, change no verdict).
		{"cjpeg-prog", []flip{{8484, 0}, {7546, 5}, {5360, 1}}, "too many coefficients"},
		// Flip 6: symbol 0x10 (an EOB run of 2 or 3) becomes 0x90 (512 to
		// 1023) in the DHT of the Cb AC first scan.
		{"cjpeg-prog", []flip{{2699, 7}}, "bad Huffman code"},
	}
	vs := map[string][]byte{}
	for _, v := range hostileInputs(t) {
		vs[v.name] = v.data
	}
	for _, c := range cases {
		data, found := vs[c.variant]
		if !found {
			t.Skipf("%s not generated (cjpeg missing)", c.variant)
		}
		b := bytes.Clone(data)
		for _, f := range c.flips {
			if f.pos >= len(b) {
				t.Skipf("%s is %d bytes: not the file this case was found in", c.variant, len(b))
			}
			b[f.pos] ^= 1 << f.bit
		}
		name := fmt.Sprintf("%s %v", c.variant, c.flips)
		if _, err := stdDecode(b); err == nil || !strings.Contains(err.Error(), c.stdErr) {
			// Another cjpeg may encode the variant differently; the
			// crafted cases of TestEntropyErrors do not depend on it.
			t.Skipf("%s: image/jpeg says %v, not %q: the variant is not the file this case was found in", name, err, c.stdErr)
		}
		compareFlipped(t, name, b)
	}
}

// craftHeader is a minimal JPEG up to and including SOF for a w x h image
// with nComp components (baseline unless progressive).
func craftHeader(w, h, nComp int, progressive bool) []byte {
	var b bytes.Buffer
	b.Write([]byte{0xff, 0xd8})
	// DQT: table 0, all ones.
	b.Write([]byte{0xff, 0xdb, 0, 67, 0})
	b.Write(bytes.Repeat([]byte{1}, 64))
	sof := byte(0xc0)
	if progressive {
		sof = 0xc2
	}
	b.Write([]byte{0xff, sof, 0, byte(8 + 3*nComp), 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(nComp)})
	for i := range nComp {
		b.Write([]byte{byte(i + 1), 0x11, 0})
	}
	return b.Bytes()
}

func TestMaxPixels(t *testing.T) {
	b := craftHeader(65535, 65535, 3, false)
	// A scan header and some data follow, so a decoder that ignored the
	// limit would allocate 12 GB.
	b = append(b, 0xff, 0xda, 0, 12, 3, 1, 0, 2, 0, 3, 0, 0, 63, 0, 0x12, 0x34, 0xff, 0xd9)
	opts := Options{MaxPixels: 50_000_000}
	var err error
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	allocs := testing.AllocsPerRun(20, func() {
		_, err = Decode(bytes.NewReader(b), opts)
	})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("65535x65535 with MaxPixels %d: error %v, want ErrTooLarge", opts.MaxPixels, err)
	}
	perRun := float64(after.TotalAlloc-before.TotalAlloc) / 21
	t.Logf("65535x65535 refused with %v allocations, %.0f bytes per Decode", allocs, perRun)
	if perRun > 128<<10 {
		t.Errorf("refusing an oversized image allocated %.0f bytes per Decode", perRun)
	}
	// Without a limit the header alone is accepted by DecodeConfig.
	cfg, err := DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width != 65535 || cfg.Height != 65535 {
		t.Errorf("DecodeConfig: %+v, %v", cfg, err)
	}
}

// manyScans is an 8x8 progressive gray JPEG with a DC first scan followed by
// n DC refinement scans of one byte each: valid, and as slow as n makes it.
func manyScans(n int) []byte {
	b := craftHeader(8, 8, 1, true)
	// DHT: DC table 0 with one 1-bit code for category 0.
	b = append(b, 0xff, 0xc4, 0, 20, 0x00, 1)
	b = append(b, make([]byte, 15)...)
	b = append(b, 0)
	// DC first scan, Al = 1: one block, category 0 (code '0'), padded.
	b = append(b, 0xff, 0xda, 0, 8, 1, 1, 0x00, 0, 0, 0x01, 0x7f)
	for range n {
		// DC refinement, Ah = 1, Al = 0: one bit.
		b = append(b, 0xff, 0xda, 0, 8, 1, 1, 0x00, 0, 0, 0x10, 0xff, 0x00)
	}
	return append(b, 0xff, 0xd9)
}

func TestMaxScans(t *testing.T) {
	b := manyScans(5000)
	if _, err := stdDecode(b); err != nil {
		t.Fatalf("the crafted file is not valid for image/jpeg: %v", err)
	}
	for _, s := range scales {
		if _, err := Decode(bytes.NewReader(b), Options{Scale: s}); err != nil {
			t.Errorf("1/%d without MaxScans: %v", s, err)
		}
		_, err := Decode(bytes.NewReader(b), Options{Scale: s, MaxScans: 100})
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("1/%d with MaxScans 100: error %v, want ErrTooLarge", s, err)
		}
	}
}

// failingReader returns data, then fails.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data[:min(len(r.data), 1000)])
	r.data = r.data[n:]
	return n, nil
}

func TestReaderError(t *testing.T) {
	readErr := errors.New("bucket went away")
	for _, v := range hostileInputs(t)[:4] {
		for _, cut := range []int{1, 100, len(v.data) / 2, len(v.data) - 1} {
			for _, s := range scales {
				_, err := Decode(&failingReader{data: v.data[:cut], err: readErr}, Options{Scale: s})
				if !errors.Is(err, readErr) || typed(err) {
					t.Errorf("%s cut at %d, 1/%d: error %v, want the reader's error and no sentinel", v.name, cut, s, err)
				}
			}
			if _, err := DecodeConfig(&failingReader{data: v.data[:min(cut, 100)], err: readErr}); !errors.Is(err, readErr) {
				t.Errorf("%s DecodeConfig cut at %d: error %v, want the reader's error", v.name, cut, err)
			}
		}
	}
	// io.EOF from the reader is the end of the data: a truncated JPEG.
	v := hostileInputs(t)[0]
	if _, err := Decode(&failingReader{data: v.data[:len(v.data)/2], err: io.EOF}, Options{}); !errors.Is(err, ErrFormat) {
		t.Errorf("truncated by io.EOF: %v, want ErrFormat", err)
	}
}

func TestMissingEOI(t *testing.T) {
	for _, v := range hostileInputs(t) {
		b := bytes.TrimSuffix(v.data, []byte{0xff, 0xd9})
		_, stdErr := stdDecode(b)
		for _, s := range scales {
			_, err := Decode(bytes.NewReader(b), Options{Scale: s})
			if (stdErr != nil) != (err != nil) || (err != nil && !errors.Is(err, ErrFormat)) {
				t.Errorf("%s without EOI, 1/%d: image/jpeg %v, we %v", v.name, s, stdErr, err)
			}
		}
	}
}

func TestFillBytesAndExtraneousData(t *testing.T) {
	v := hostileInputs(t)[0]
	// Fill bytes before EOI, extraneous bytes before a marker, and a stray
	// RST after the last scan: image/jpeg accepts all three.
	i := bytes.LastIndex(v.data, []byte{0xff, 0xd9})
	b := append(bytes.Clone(v.data[:i]), 0x12, 0x34, 0xff, 0xd0, 0xff, 0xff, 0xff, 0xd9)
	if _, err := stdDecode(b); err != nil {
		t.Fatalf("image/jpeg: %v", err)
	}
	checkAgainstStd(t, "fill bytes", b)
	// Corrupt restart marker: the wrong RST number is an error for both.
	r := generatedVariants(t)
	for _, w := range r {
		if w.name != "cjpeg-restart1" {
			continue
		}
		j := bytes.Index(w.data, []byte{0xff, 0xd1})
		b := bytes.Clone(w.data)
		b[j+1] = 0xd5
		_, stdErr := stdDecode(b)
		_, err := Decode(bytes.NewReader(b), Options{})
		if stdErr == nil || !errors.Is(err, ErrFormat) {
			t.Errorf("wrong RST number: image/jpeg %v, we %v", stdErr, err)
		}
		// Garbage before a restart marker is skipped by both.
		b = append(bytes.Clone(w.data[:j]), append([]byte{0x00, 0x55}, w.data[j:]...)...)
		checkAgainstStd(t, "garbage before RST", b)
	}
}
