package thumb

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	xwebp "golang.org/x/image/webp"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/gormthumb/gormthumb/thumb/internal/isobmff"
	"github.com/gormthumb/gormthumb/thumb/internal/pngscale"
)

// recorder keeps the bytes read through it, so a header sniff can be
// replayed into the full decoder without reading the source twice.
type recorder struct {
	r   io.Reader
	buf bytes.Buffer
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.buf.Write(p[:n])
	return n, err
}

// readErrs remembers the first error other than io.EOF that reading the
// source returned, so a decoder's complaint about missing bytes is reported
// as what it is (the byte limit, the bucket) rather than as a bad image.
type readErrs struct {
	r   io.Reader
	err error
}

func (r *readErrs) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// codec is one image format we read. The table below is used instead of
// image.RegisterFormat's global registry, so which decoder runs on untrusted
// bytes never depends on what else the program imports (the WebP encoder
// package, for one, registers a libwebp-based decoder of its own).
type codec struct {
	format Format
	magic  string // '?' matches any byte
	// decode is nil for JPEG, which decodeJPEG decodes at a reduced scale.
	decode func(io.Reader) (image.Image, error)
	config func(io.Reader) (image.Config, error)
	// orient is a HEIF's or AVIF's irot and imir, as EXIF numbers them
	// (sniffISOBMFF sets it; 0 for the other formats).
	orient int
}

var codecs = []codec{
	{format: JPEG, magic: "\xff\xd8", config: jpeg.DecodeConfig},
	{format: PNG, magic: "\x89PNG\r\n\x1a\n", decode: png.Decode, config: png.DecodeConfig},
	{format: GIF, magic: "GIF8?a", decode: gif.Decode, config: gif.DecodeConfig},
	{format: WebP, magic: "RIFF????WEBPVP8", decode: decodeWebP, config: xwebp.DecodeConfig},
	{format: TIFF, magic: "II*\x00", decode: tiff.Decode, config: tiff.DecodeConfig},
	{format: TIFF, magic: "MM\x00*", decode: tiff.Decode, config: tiff.DecodeConfig},
	{format: BMP, magic: "BM????\x00\x00\x00\x00", decode: bmp.Decode, config: bmp.DecodeConfig},
}

// sniffLen is the longest magic in codecs.
const sniffLen = 16

func match(magic string, b []byte) bool {
	if len(b) < len(magic) {
		return false
	}
	for i := 0; i < len(magic); i++ {
		if magic[i] != '?' && magic[i] != b[i] {
			return false
		}
	}
	return true
}

// codecFor returns the codec whose magic starts b.
func codecFor(b []byte) (codec, bool) {
	for _, c := range codecs {
		if match(c.magic, b) {
			return c, true
		}
	}
	return codec{}, false
}

// sniffCodec reads just enough of src to learn its format and dimensions,
// and checks them against lim before any pixel is decoded. It returns the
// codec that decodes it, the bytes read and a reader that replays them
// followed by the rest of src.
func sniffCodec(src io.Reader, lim Limits) (image.Config, codec, []byte, io.Reader, error) {
	var cfg image.Config
	errs := &readErrs{r: src}
	rec := &recorder{r: errs}
	magic := make([]byte, sniffLen)
	n, err := io.ReadFull(rec, magic)
	magic = magic[:n]
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return cfg, codec{}, nil, nil, err // the byte limit or the bucket
	}
	if n == 0 {
		return cfg, codec{}, nil, nil, wrapf(ErrNotImage, "empty file")
	}
	if isobmff.Is(magic) { // HEIF and AVIF: internal/isobmff
		return sniffISOBMFF(rec, errs, src, lim)
	}
	c, ok := codecFor(magic)
	if !ok {
		if f := knownUnsupported(magic); f != "" {
			return cfg, codec{}, nil, nil, wrapf(ErrUnsupportedFormat, "%s images are not supported", f)
		}
		return cfg, codec{}, nil, nil, wrapf(ErrNotImage, "unknown format")
	}
	cfg, err = c.config(io.MultiReader(bytes.NewReader(magic), rec))
	head := rec.buf.Bytes()
	if err != nil {
		if errs.err != nil {
			return cfg, c, nil, nil, errs.err
		}
		return cfg, c, nil, nil, wrapf(ErrNotImage, "%s header: %v", c.format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return cfg, c, nil, nil, wrapf(ErrNotImage, "%s with empty size %dx%d", c.format, cfg.Width, cfg.Height)
	}
	if c.format == WebP && len(head) > 20 && string(head[12:16]) == "VP8X" && head[20]&2 != 0 {
		return cfg, c, nil, nil, wrapf(ErrUnsupportedFormat, "animated WebP images are not supported")
	}
	if int64(cfg.Width)*int64(cfg.Height) > lim.MaxPixels {
		return cfg, c, nil, nil, wrapf(ErrTooLarge, "%dx%d is more than %d pixels", cfg.Width, cfg.Height, lim.MaxPixels)
	}
	return cfg, c, head, io.MultiReader(bytes.NewReader(head), src), nil
}

// sniffISOBMFF is sniffCodec for a file starting with an ftyp box (HEIF
// and AVIF): rec has recorded what was read so far. The header is read,
// and every image the decoder would decode checked against lim, by
// internal/isobmff.
func sniffISOBMFF(rec *recorder, errs *readErrs, src io.Reader, lim Limits) (image.Config, codec, []byte, io.Reader, error) {
	more := func(n int64) ([]byte, error) {
		if k := n - int64(rec.buf.Len()); k > 0 {
			if _, err := io.CopyN(io.Discard, rec, k); err != nil {
				if errs.err != nil {
					return rec.buf.Bytes(), errs.err
				}
				return rec.buf.Bytes(), wrapf(ErrNotImage, "truncated ISO-BMFF header")
			}
		}
		return rec.buf.Bytes(), nil
	}
	h, err := isobmff.Read(rec.buf.Bytes(), more)
	if err == nil {
		var b []byte
		if b, err = more(h.HeadEnd()); err == nil {
			err = h.Check(lim.MaxPixels, b)
		}
	}
	if err != nil {
		if errs.err != nil {
			err = errs.err
		}
		return image.Config{}, codec{}, nil, nil, bmffError(err)
	}
	// HEIF and AVIF have no codecs table entry: their magic is the ftyp
	// box, and which of the two a file is comes from its header. The
	// decoder gets the header parsed here.
	c := codec{format: HEIF, orient: h.Orientation, decode: func(r io.Reader) (image.Image, error) { return decodeHEIF(r, h) }}
	if h.Coding == isobmff.AV1 {
		c.format, c.decode = AVIF, func(r io.Reader) (image.Image, error) { return decodeAVIF(r, h) }
	}
	head := rec.buf.Bytes()
	return h.Config(), c, head, io.MultiReader(bytes.NewReader(head), src), nil
}

// bmffError is err, from internal/isobmff, as an error wrapping our
// sentinel of its kind (errors of our own, or of the source, as they are).
func bmffError(err error) error {
	switch {
	case errors.Is(err, isobmff.ErrFormat):
		return wrapf(ErrNotImage, "%v", err)
	case errors.Is(err, isobmff.ErrUnsupported):
		return wrapf(ErrUnsupportedFormat, "%v", err)
	case errors.Is(err, isobmff.ErrTooLarge):
		return wrapf(ErrTooLarge, "%v", err)
	}
	return err
}

// knownUnsupported names image formats we recognise but do not decode.
func knownUnsupported(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0, 0, 1, 0}):
		return "ICO"
	case bytes.HasPrefix(head, []byte("8BPS")):
		return "PSD"
	case bytes.HasPrefix(head, []byte{0xff, 0x0a}), bytes.HasPrefix(head, []byte("\x00\x00\x00\x0cJXL ")):
		return "JPEG XL"
	case bytes.HasPrefix(head, []byte("\x00\x00\x00\x0cjP  ")):
		return "JPEG 2000"
	}
	return ""
}

// Header is what Check learned from a source's header.
type Header struct {
	Format        Format
	Width, Height int         // as stored, before any EXIF orientation
	ColorModel    color.Model // as the format's decoder reports it
	Orientation   int         // 1 (upright) to 8, as EXIF numbers them: JPEG's EXIF tag, or HEIF's and AVIF's irot and imir
	// Chroma is a JPEG's chroma subsampling, as SourceInfo.Chroma says
	// it: zero for other formats and for CMYK JPEGs (decoded at full
	// size only).
	Chroma image.Point

	png pngscale.Config // a PNG's IHDR, for DecodedBytesFor
}

// SourceInfo is what PlanFor needs to know of the source, from its
// header: all of it but Alpha, which only the pixels tell.
func (h Header) SourceInfo() SourceInfo {
	return SourceInfo{Width: h.Width, Height: h.Height, Orientation: h.Orientation, Format: h.Format, Chroma: h.Chroma}
}

// ShownSize is the size of the picture as shown: Width×Height, swapped
// for the orientations that turn it a quarter.
func (h Header) ShownSize() (w, hgt int) {
	if h.Orientation >= 5 && h.Orientation <= 8 {
		return h.Height, h.Width
	}
	return h.Width, h.Height
}

// Sniff reads just enough of src to learn its format and size and checks
// them against lim before any pixel is decoded, as a Processor would. It
// returns a reader that replays what it read followed by the rest of src.
// Errors wrap ErrNotImage, ErrUnsupportedFormat or ErrTooLarge, or are
// src's own.
func Sniff(src io.Reader, lim Limits) (Header, io.Reader, error) {
	lim = lim.WithDefaults()
	cfg, c, head, body, err := sniffCodec(&limitedReader{r: src, n: lim.MaxBytes}, lim)
	if err != nil {
		return Header{}, nil, err
	}
	h := Header{Format: c.format, Width: cfg.Width, Height: cfg.Height, ColorModel: cfg.ColorModel, Orientation: 1}
	switch c.format {
	case JPEG:
		info := jpegSource(cfg, head)
		h.Orientation, h.Chroma = info.Orientation, info.Chroma
	case HEIF, AVIF:
		h.Orientation = c.orient
	case PNG:
		h.png, _ = pngscale.ParseIHDR(head)
	}
	return h, body, nil
}

// Check is Sniff, and for a GIF, whose frames are only known from the
// whole stream, it also reads the stream (at most lim.MaxBytes) and checks
// every frame's bounds and the frame count.
func Check(src io.Reader, lim Limits) (Header, io.Reader, error) {
	h, body, err := Sniff(src, lim)
	if err != nil || h.Format != GIF {
		return h, body, err
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return Header{}, nil, err
	}
	if _, err := scanGIF(data, lim.WithDefaults()); err != nil {
		return Header{}, nil, err
	}
	return h, bytes.NewReader(data), nil
}
