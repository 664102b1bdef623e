// Package vips is an optional thumb.Processor backed by libvips, for
// applications that can install it (Debian: apt-get install libvips-dev).
// It is a separate Go module so that the gormthumb core stays pure Go.
//
//	plugin := gormthumb.New(bucket, gormthumb.WithProcessor(vips.Processor{}))
//
// libvips decodes JPEG at a reduced scale (shrink-on-load) and streams the
// rest, so a thumbnail of a 12-megapixel JPEG costs a fraction of Go's
// decode alone and a few MB of memory. It makes the same thumbnails as
// thumb.GoProcessor, from the same policy: thumb.PlanFor gives each one's
// size, the region of the source it shows and its orientation, quality and
// background, and thumb.FormatFor its format, so this package decides none
// of them (thumbtest checks both processors against the plans, and this
// one's pixels against the Go processor's). No metadata is kept, and the
// errors are the same typed ones. JPEG, PNG, WebP and
// TIFF sources written as JPEG, PNG or WebP go through libvips; anything
// else (GIF, BMP, formats neither reads) goes to the Fallback processor
// with the bytes already read.
//
// libvips needs the whole compressed source in memory (it is read once,
// within Limits.MaxBytes); the image's size and page count are checked
// against the limits from its header before any pixel is decoded. Each
// size asked for is its own reduced-scale decode of those bytes, which for
// JPEG costs less than sharing one full-size decode.
package vips

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"io"

	"github.com/gormthumb/gormthumb/thumb"
)

// Processor is a thumb.Processor that uses libvips. The zero value is
// ready to use; libvips is started on first use.
type Processor struct {
	// Fallback handles what libvips is not used for (GIF and BMP sources,
	// GIF output, unknown bytes). Nil means thumb.GoProcessor{}.
	Fallback thumb.Processor
}

// Process implements thumb.Processor.
func (p Processor) Process(ctx context.Context, src io.Reader, specs []thumb.Spec, lim thumb.Limits) ([]thumb.Thumbnail, error) {
	lim = lim.WithDefaults()
	data, err := io.ReadAll(io.LimitReader(src, lim.MaxBytes+1))
	if err != nil {
		return nil, err // the plugin's reader reports ErrTooLarge itself; others are storage errors
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: source is larger than the byte limit of %d", thumb.ErrTooLarge, lim.MaxBytes)
	}
	format, cformat := sniff(data)
	if format == "" || !writable(specs) {
		return p.fallback().Process(ctx, bytes.NewReader(data), specs, lim)
	}
	if err := start(); err != nil {
		return nil, err
	}
	w, h, pages, _, err := header(cformat, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s header: %s", thumb.ErrNotImage, format, err)
	}
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("%w: %s with empty size %dx%d", thumb.ErrNotImage, format, w, h)
	}
	if int64(w)*int64(h) > lim.MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d is more than %d pixels", thumb.ErrTooLarge, w, h, lim.MaxPixels)
	}
	if pages > lim.MaxFrames {
		return nil, fmt.Errorf("%w: %d pages is more than %d", thumb.ErrTooLarge, pages, lim.MaxFrames)
	}
	if format == thumb.PNG {
		if err := checkPNGChunks(data); err != nil {
			return nil, err
		}
	}
	// The plan's inputs come from thumb's own reading of the header (its
	// size, EXIF orientation and chroma subsampling, as thumb reads them),
	// so both processors plan from the same facts.
	hdr, _, err := thumb.Sniff(bytes.NewReader(data), lim)
	if err != nil {
		return nil, err
	}
	info := hdr.SourceInfo()
	out := make([]thumb.Thumbnail, 0, len(specs))
	for _, spec := range specs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := makeThumbnail(data, cformat, info, spec)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func (p Processor) fallback() thumb.Processor {
	if p.Fallback != nil {
		return p.Fallback
	}
	return thumb.GoProcessor{}
}

// sniff detects the formats this processor reads from their magic bytes.
func sniff(b []byte) (thumb.Format, int) {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return thumb.JPEG, cJPEG
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return thumb.PNG, cPNG
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return thumb.WebP, cWebP
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return thumb.TIFF, cTIFF
	}
	return "", 0
}

// saveFormats are the output formats written through libvips.
var saveFormats = map[thumb.Format]int{thumb.JPEG: cJPEG, thumb.PNG: cPNG, thumb.WebP: cWebP}

// writable reports whether every explicitly requested output format is
// one libvips writes here.
func writable(specs []thumb.Spec) bool {
	for _, s := range specs {
		if _, ok := saveFormats[s.Format]; s.Format != thumb.FormatSource && !ok {
			return false
		}
	}
	return true
}

// makeThumbnail makes the thumbnail of data (in the C side's format
// cformat) that thumb.PlanFor plans for spec: data decoded at the plan's
// scale (libjpeg's scaled decode for a JPEG), the plan's crop cut out of
// that and resized to the plan's size, the result turned upright.
func makeThumbnail(data []byte, cformat int, src thumb.SourceInfo, spec thumb.Spec) (thumb.Thumbnail, error) {
	p := thumb.PlanFor(spec, src)
	fail := func(what string, err error) (thumb.Thumbnail, error) {
		return thumb.Thumbnail{}, fmt.Errorf("%w: %s %s: %s", thumb.ErrNotImage, what, src.Format, err)
	}
	whole, err := load(cformat, data, p.Scale)
	if err != nil {
		return fail("decoding", err)
	}
	defer whole.close()
	im, err := whole.render(p.CropAt(p.Scale, image.Rect(0, 0, whole.width(), whole.height())), p.Resize, src.Orientation)
	if err != nil {
		return fail("decoding", err)
	}
	defer func() { im.close() }()
	// Whether the source has transparency is learnt from the thumbnail's
	// alpha band, read only when the format turns on it.
	alpha := im.alpha()
	if alpha && thumb.FormatFor(spec, src.Format, true) != thumb.FormatFor(spec, src.Format, false) {
		if alpha, err = im.translucent(); err != nil {
			return fail("decoding", err)
		}
	}
	format := thumb.FormatFor(spec, src.Format, alpha)
	if format == thumb.JPEG && im.alpha() {
		flat, err := im.flatten(p.Background.R, p.Background.G, p.Background.B)
		if err != nil {
			return fail("flattening", err)
		}
		im.close()
		im = flat
	}
	buf, err := im.save(saveFormats[format], p.Quality)
	if err != nil {
		return fail("decoding", err)
	}
	if format == thumb.WebP {
		buf = stripWebP(buf)
	}
	return thumb.Thumbnail{Data: buf, Format: format, Width: im.width(), Height: im.height()}, nil
}

// stripWebP drops the EXIF and XMP chunks from a WebP file (and their
// flags in its VP8X header): libvips 8.14's webpsave writes an EXIF chunk
// despite "strip". A file it cannot parse is returned unchanged.
func stripWebP(b []byte) []byte {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return b
	}
	out := append([]byte(nil), b[:12]...)
	for i := 12; i+8 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		end := i + 8 + n + n%2
		if end > len(b) {
			return b
		}
		switch string(b[i : i+4]) {
		case "EXIF", "XMP ":
		case "VP8X":
			chunk := append([]byte(nil), b[i:end]...)
			chunk[8] &^= 0x08 | 0x04 // EXIF and XMP present
			out = append(out, chunk...)
		default:
			out = append(out, b[i:end]...)
		}
		i = end
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

// checkPNGChunks verifies the CRC of every chunk of a PNG, as Go's decoder
// does: libvips does not reliably reject a damaged chunk, even with
// fail_on=error.
func checkPNGChunks(b []byte) error {
	for i := 8; i+12 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[i:]))
		if n < 0 || n > len(b)-i-12 {
			return fmt.Errorf("%w: png chunk runs past the end", thumb.ErrNotImage)
		}
		if crc32.ChecksumIEEE(b[i+4:i+8+n]) != binary.BigEndian.Uint32(b[i+8+n:]) {
			return fmt.Errorf("%w: png chunk %q has a bad checksum", thumb.ErrNotImage, b[i+4:i+8])
		}
		if string(b[i+4:i+8]) == "IEND" {
			return nil
		}
		i += 12 + n
	}
	return nil
}
