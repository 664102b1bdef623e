package thumb

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/jpeg"
	"runtime"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// processBytes runs the processor on data with lim and reports how many
// bytes it allocated while doing so.
func processBytes(t testing.TB, data []byte, specs []Spec, lim Limits) ([]Thumbnail, uint64, error) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out, err := GoProcessor{}.Process(context.Background(), bytes.NewReader(data), specs, lim)
	runtime.ReadMemStats(&after)
	return out, after.TotalAlloc - before.TotalAlloc, err
}

// wantSentinel fails unless err wraps sentinel (and nothing else of ours).
func wantSentinel(t testing.TB, what string, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("%s: got %v, want an error wrapping %v", what, err, sentinel)
	}
	for _, other := range []error{ErrNotImage, ErrUnsupportedFormat, ErrTooLarge} {
		if other != sentinel && errors.Is(err, other) {
			t.Fatalf("%s: %v wraps %v too", what, err, other)
		}
	}
}

// Broken and hostile real-world files: each fails with its typed error,
// and none costs more than a few MB (the PNG bomb would take about 1 GB).
func TestHostileCorpus(t *testing.T) {
	cases := []struct {
		name     string
		sentinel error
	}{
		{"png-bomb-32000x32000.png", ErrTooLarge},
		{"gif-bomb-huge-frame.gif", ErrTooLarge},
		{"jpeg-truncated-progressive.jpg", ErrNotImage},
		{"png-truncated.png", ErrNotImage},
		{"png-bad-idat-crc.png", ErrNotImage},
		{"png-bad-signature.png", ErrNotImage},
		{"png-garbage-after-signature.png", ErrNotImage},
		{"png-missing-idat.png", ErrNotImage},
		{"not-an-image-ole-doc.jpg", ErrNotImage},
		{"not-an-image-text.png", ErrNotImage},
	}
	for _, c := range cases {
		_, alloc, err := processBytes(t, corpusBytes(t, c.name), []Spec{{Width: 100, Height: 100}}, Limits{})
		wantSentinel(t, c.name, err, c.sentinel)
		if alloc > 16<<20 {
			t.Errorf("%s: allocated %d MB before failing", c.name, alloc>>20)
		}
	}
}

func TestHostileGenerated(t *testing.T) {
	spec := []Spec{{Width: 100, Height: 100}}
	small := gifBytes(t, 10, 10)
	outside := append([]byte{}, small...)
	binary.LittleEndian.PutUint16(outside[6:], 5) // screen 5 wide, frame 10 wide
	cases := []struct {
		what     string
		data     []byte
		lim      Limits
		sentinel error
	}{
		{"zero bytes", nil, Limits{}, ErrNotImage},
		{"HTML", []byte("<!doctype html><html><body>hello</body></html>"), Limits{}, ErrNotImage},
		{"JPEG magic then garbage", append([]byte("\xff\xd8\xff\xe0"), bytes.Repeat([]byte{0x41}, 300)...), Limits{}, ErrNotImage},
		{"GIF magic then garbage", append([]byte("GIF89a"), bytes.Repeat([]byte{0xff}, 300)...), Limits{}, ErrNotImage},
		{"WebP magic then garbage", append([]byte("RIFF\x20\x00\x00\x00WEBPVP8 "), bytes.Repeat([]byte{0x55}, 40)...), Limits{}, ErrNotImage},
		{"TIFF magic then garbage", append([]byte("II*\x00\x08\x00\x00\x00"), bytes.Repeat([]byte{0xee}, 64)...), Limits{}, ErrNotImage},
		{"BMP magic then garbage", append([]byte("BM\x00\x00\x00\x00\x00\x00\x00\x00"), bytes.Repeat([]byte{0x01}, 64)...), Limits{}, ErrNotImage},
		{"HEIC header then zeros", append([]byte("\x00\x00\x00\x18ftypheic"), make([]byte, 64)...), Limits{}, ErrNotImage},
		{"MP4 video", append([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), make([]byte, 64)...), Limits{}, ErrUnsupportedFormat},
		{"ICO", append([]byte{0, 0, 1, 0, 1, 0}, make([]byte, 64)...), Limits{}, ErrUnsupportedFormat},
		{"PSD", append([]byte("8BPS\x00\x01"), make([]byte, 64)...), Limits{}, ErrUnsupportedFormat},
		{"animated WebP", append([]byte("RIFF\x40\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02\x00\x00\x00\x09\x00\x00\x09\x00\x00ANIM\x06\x00\x00\x00"), make([]byte, 32)...), Limits{}, ErrUnsupportedFormat},
		{"truncated GIF", small[:len(small)/2], Limits{}, ErrNotImage},
		{"GIF without frames", append(append([]byte{}, small[:13+3*256]...), 0x3B), Limits{}, ErrNotImage},
		{"GIF frame outside its screen", outside, Limits{}, ErrNotImage},
		{"GIF with 1001 frames", testphoto.GIFFrames(1001), Limits{}, ErrTooLarge},
		{"GIF with more frames than the limit", testphoto.GIFFrames(11), Limits{MaxFrames: 10}, ErrTooLarge},
		{"pixels over the limit", jpegBytes(t, 20, 20), Limits{MaxPixels: 399}, ErrTooLarge},
		{"GIF frame over the limit", small, Limits{MaxPixels: 99}, ErrTooLarge},
		{"bytes over the limit", jpegBytes(t, 200, 200), Limits{MaxBytes: 1000}, ErrTooLarge},
		{"GIF bytes over the limit", testphoto.GIFFrames(100), Limits{MaxBytes: 1000}, ErrTooLarge},
	}
	for _, c := range cases {
		_, _, err := processBytes(t, c.data, spec, c.lim)
		wantSentinel(t, c.what, err, c.sentinel)
	}
	// Right at the limits is fine.
	for _, c := range []struct {
		what string
		data []byte
		lim  Limits
	}{
		{"GIF with 1000 frames", testphoto.GIFFrames(1000), Limits{}},
		{"pixels at the limit", jpegBytes(t, 20, 20), Limits{MaxPixels: 400}},
	} {
		if _, _, err := processBytes(t, c.data, spec, c.lim); err != nil {
			t.Errorf("%s: %v", c.what, err)
		}
	}
	// A 1x100000 strip and a 100000x1 line: thumbnails of sensible size.
	for _, c := range []struct {
		img        image.Image
		spec       Spec
		wantW, wnH int
	}{
		{image.NewGray(image.Rect(0, 0, 1, 100000)), Spec{Width: 100, Height: 100}, 1, 100},
		{image.NewGray(image.Rect(0, 0, 100000, 1)), Spec{Width: 100, Height: 100}, 100, 1},
		{image.NewGray(image.Rect(0, 0, 1, 100000)), Spec{Width: 100, Height: 100, Fit: FitCover}, 1, 1},
		{image.NewGray(image.Rect(0, 0, 1, 100000)), Spec{Width: 100, Height: 100, Fit: FitCover, Upscale: true}, 100, 100},
	} {
		th, _ := thumb(t, testphoto.EncodePNG(c.img), c.spec)
		if th.Width != c.wantW || th.Height != c.wnH {
			t.Errorf("%v with %+v: %dx%d, want %dx%d", c.img.Bounds(), c.spec, th.Width, th.Height, c.wantW, c.wnH)
		}
	}
}

// The GIF bomb fails before any frame is decoded: well under the 86 MB its
// frame would take (TotalAlloc is process-wide, so the bound leaves room
// for other goroutines).
func TestGIFBombCheapToRefuse(t *testing.T) {
	_, alloc, err := processBytes(t, corpusBytes(t, "gif-bomb-huge-frame.gif"), []Spec{{Width: 100, Height: 100}}, Limits{})
	wantSentinel(t, "gif bomb", err, ErrTooLarge)
	if alloc > 4<<20 {
		t.Fatalf("allocated %d KB to refuse a 44-byte file", alloc>>10)
	}
}

// failAfter reads n bytes of data, then fails.
type failAfter struct {
	data []byte
	n    int
	err  error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := copy(p[:min(len(p), f.n)], f.data)
	f.data, f.n = f.data[k:], f.n-k
	return k, nil
}

// A source that fails while being read is reported as that failure (the
// plugin turns it into ErrStorage), not as a broken image, whether it fails
// in the header, in the pixels or in a buffered GIF.
func TestReadFailureIsNotABadImage(t *testing.T) {
	broken := errors.New("connection reset")
	for _, c := range []struct {
		what string
		data []byte
		n    int
	}{
		{"JPEG header", jpegBytes(t, 300, 200), 10},
		{"JPEG pixels", jpegBytes(t, 300, 200), 2000},
		{"PNG pixels", pngBytes(t, 300, 200, false), 2000},
		{"GIF", gifBytes(t, 300, 200), 2000},
	} {
		_, err := GoProcessor{}.Process(context.Background(), &failAfter{data: c.data, n: c.n, err: broken}, []Spec{{Width: 10, Height: 10}}, Limits{})
		if !errors.Is(err, broken) || errors.Is(err, ErrNotImage) {
			t.Errorf("%s: got %v, want the read error", c.what, err)
		}
	}
}

// A progressive JPEG whose last scan is repeated a thousand times: Go's
// decoder would walk the whole image once per scan. With MaxPixels 100,000
// this 256x160 image may have 244 scans (scans x pixels <= 100 x MaxPixels).
func TestJPEGScanBomb(t *testing.T) {
	b := corpusBytes(t, "jpeg-progressive.jpg")
	last := bytes.LastIndex(b, []byte{0xFF, 0xDA})
	eoi := len(b) - 2
	var buf bytes.Buffer
	buf.Write(b[:eoi])
	for i := 0; i < 1000; i++ {
		buf.Write(b[last:eoi])
	}
	buf.Write(b[eoi:])
	lim := Limits{MaxPixels: 100_000}
	if _, err := jpeg.Decode(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("Go's decoder refuses the repeated scans itself: %v", err)
	}
	_, _, err := processBytes(t, buf.Bytes(), []Spec{{Width: 50, Height: 50}}, lim)
	wantSentinel(t, "1012 scans", err, ErrTooLarge)
	if _, _, err := processBytes(t, b, []Spec{{Width: 50, Height: 50}}, lim); err != nil {
		t.Fatalf("the original's 12 scans: %v", err)
	}
}
