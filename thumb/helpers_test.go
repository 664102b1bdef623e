package thumb

import (
	"image"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// Test images: internal/testphoto's deterministic, photo-like images, and
// the shared real-world corpus.

func photo(w, h int, seed int) *image.NRGBA { return testphoto.Photo(w, h, uint64(seed), false) }

func jpegBytes(t testing.TB, w, h int) []byte { return testphoto.JPEG(w, h, 1, 90) }

// pngBytes is a PNG photo; with alpha, its alpha ramps from 0 at the left
// edge to 255 at the right.
func pngBytes(t testing.TB, w, h int, alpha bool) []byte {
	img := testphoto.Photo(w, h, 2, false)
	if alpha {
		testphoto.AlphaRamp(img)
	}
	return testphoto.EncodePNG(img)
}

func gifBytes(t testing.TB, w, h int) []byte { return testphoto.GIF(w, h) }

func corpusBytes(t testing.TB, name string) []byte { return testphoto.Corpus(t, name) }
