package thumb

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"os/exec"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// TestJPEGChroma reads the subsampling from the frame header the sniff
// recorded, for each layout, and gives 1, 1 when there is none to read.
func TestJPEGChroma(t *testing.T) {
	cases := []struct {
		what   string
		data   []byte
		cx, cy int
	}{
		{"image/jpeg 4:2:0", jpegBytes(t, 24, 18), 2, 2},
		{"4:2:0 behind an EXIF segment", testphoto.WithEXIF(jpegBytes(t, 12, 20), testphoto.EXIF{Orientation: 6}), 2, 2},
		{"not a JPEG", []byte("GIF89a........"), 1, 1},
		{"cut inside the frame header", cutAfter(jpegBytes(t, 24, 18), "\xff\xc0", 8), 1, 1},
		{"no frame header at all", []byte{0xFF, 0xD8, 0xFF, 0xD9}, 1, 1},
	}
	for _, name := range []struct {
		file   string
		cx, cy int
	}{{"jpeg-gray.jpg", 1, 1}, {"jpeg-cmyk-ycck-adobe.jpg", 1, 1}, {"exif-landscape_6.jpg", 2, 2}} {
		if testphoto.CorpusDir() != "" {
			cases = append(cases, struct {
				what   string
				data   []byte
				cx, cy int
			}{name.file, corpusBytes(t, name.file), name.cx, name.cy})
		}
	}
	if _, err := exec.LookPath("cjpeg"); err == nil {
		for _, c := range []struct {
			sample string
			cx, cy int
		}{{"1x1", 1, 1}, {"2x1", 2, 1}, {"1x2", 1, 2}, {"4x1", 4, 1}, {"4x2", 4, 2}} {
			cases = append(cases, struct {
				what   string
				data   []byte
				cx, cy int
			}{"cjpeg -sample " + c.sample, cjpegPhoto(t, 64, 48, c.sample), c.cx, c.cy})
		}
	}
	for _, c := range cases {
		if cx, cy := jpegChroma(c.data); cx != c.cx || cy != c.cy {
			t.Errorf("%s: %d, %d, want %d, %d", c.what, cx, cy, c.cx, c.cy)
		}
	}
}

// TestJPEGDecodeErrors: what jpegscale refuses is reported with the
// pipeline's sentinels. A four-component JPEG without its Adobe marker
// passes the header check (image/jpeg's too) but has no known colour
// model: unsupported, as image/jpeg would also say, rather than broken.
func TestJPEGDecodeErrors(t *testing.T) {
	b := corpusBytes(t, "jpeg-cmyk-ycck-adobe.jpg")
	i := bytes.LastIndex(b, []byte("\xff\xee\x00\x0eAdobe")) // the first is in the EXIF thumbnail
	if i < 0 {
		t.Fatal("no Adobe APP14 segment in jpeg-cmyk-ycck-adobe.jpg")
	}
	noAdobe := bytes.Clone(b)
	noAdobe[i+1] = 0xED // now an APP13 segment, ignored
	_, _, err := processBytes(t, noAdobe, []Spec{{Width: 50, Height: 50}}, Limits{})
	wantSentinel(t, "CMYK without Adobe marker", err, ErrUnsupportedFormat)

	// Corrupt entropy-coded data: not an image.
	jpg := jpegBytes(t, 64, 64)
	sos := bytes.LastIndex(jpg, []byte{0xFF, 0xDA})
	bad := append(bytes.Clone(jpg[:sos+20]), bytes.Repeat([]byte{0xFF, 0x00}, 8)...)
	bad = append(bad, 0xFF, 0xC4, 0x00, 0x02) // a marker where pixels should be
	_, _, err = processBytes(t, bad, []Spec{{Width: 16, Height: 16}}, Limits{})
	wantSentinel(t, "corrupt scan", err, ErrNotImage)

	// A reader error is passed through as itself.
	broken := errors.New("bucket went away")
	_, err = decodeJPEG(&failAfter{data: jpg, n: 300, err: broken}, cfgOf(t, jpg), DefaultLimits, 2)
	if !errors.Is(err, broken) || isTyped(err) {
		t.Errorf("reader error: got %v, want the reader's own", err)
	}
}

// cfgOf is the header of a JPEG, as sniffCodec reads it.
func cfgOf(t testing.TB, b []byte) image.Config {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// cutAfter is b up to n bytes past the first occurrence of sep.
func cutAfter(b []byte, sep string, n int) []byte {
	return b[:bytes.Index(b, []byte(sep))+n]
}
