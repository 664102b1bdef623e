package gormthumb

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"

	"github.com/buckket/go-blurhash"
)

// Placeholders. A string field tagged `placeholder:"source=Cover"` holds a
// BlurHash (https://blurha.sh) of the source: about 30 characters that a
// page paints as a blurred preview while the thumbnail loads. It is made
// in the same pass as the source's thumbnails, from a tiny extra size of
// the same decode, and kept in step with them: remade when they are,
// cleared with the source.

// placeholderSpec is the size the BlurHash is computed from: the hash has
// 4×3 components, so 32 pixels a side is plenty.
var placeholderSpec = Spec{Width: 32, Height: 32, Format: PNG}

// blurHash computes the BlurHash of an encoded placeholder-size image.
func blurHash(data []byte) (string, error) {
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	return blurhash.Encode(4, 3, img)
}

// BlurHashDataURI renders a BlurHash as a tiny PNG data URI (32 pixels
// wide, with the aspect ratio w:h; any positive w, h will do), to use as an
// <img>'s background or a low-quality src while the thumbnail loads, with
// no JavaScript decoder. It returns "" for an empty or invalid hash.
func BlurHashDataURI(hash string, w, h int) string {
	if hash == "" || w <= 0 || h <= 0 {
		return ""
	}
	pw, ph := 32, max(1, 32*h/w)
	if h > w {
		pw, ph = max(1, 32*w/h), 32
	}
	img, err := blurhash.Decode(hash, pw, ph, 1)
	if err != nil {
		return ""
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img.(image.Image)); err != nil {
		return ""
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}
