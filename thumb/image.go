package thumb

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strconv"
	"strings"

	"github.com/disintegration/imaging"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	xwebp "golang.org/x/image/webp"
)

// Format is an image format name as returned by image.DecodeConfig.
type Format string

// Formats the plugin knows. JPEG, PNG, GIF and WebP are read and written;
// TIFF and BMP are read only.
const (
	FormatSource Format = "" // in a Spec: write the source's format (see OutputFormat)
	JPEG         Format = "jpeg"
	PNG          Format = "png"
	GIF          Format = "gif"
	WebP         Format = "webp"
	TIFF         Format = "tiff"
	BMP          Format = "bmp"
)

// Fit says how an image is fitted into the W×H box.
type Fit int

const (
	// FitContain scales the image to fit inside the box, keeping its aspect
	// ratio (Pillow's Image.thumbnail). The default.
	FitContain Fit = iota
	// FitCover scales the image to cover the box and crops the overflow
	// around Spec.Anchor, so the result is exactly W×H (unless the source is
	// smaller and Upscale is false).
	FitCover
)

// Anchor is the point a FitCover crop keeps.
type Anchor = imaging.Anchor

// DefaultQuality is the JPEG quality used when a Spec does not set one.
const DefaultQuality = 85

// Spec describes one thumbnail: a parsed `thumb` tag.
type Spec struct {
	Width, Height int
	Fit           Fit
	Anchor        Anchor      // FitCover only; zero value is imaging.Center
	Format        Format      // FormatSource (default), JPEG, PNG, GIF or WebP
	Quality       int         // JPEG and WebP quality 1..100; 0 means DefaultQuality
	Upscale       bool        // allow enlarging sources smaller than the box
	Background    color.NRGBA // fill for transparent pixels written as JPEG; zero value means white
}

// Key is a stable text form of the spec, part of the thumbnail digest.
func (s Spec) Key() string { return fmt.Sprintf("%+v", s) }

// Limits bound what a source may cost before it is rejected with
// ErrTooLarge. Zero fields take the DefaultLimits value.
type Limits struct {
	MaxBytes  int64 // compressed size read from the bucket
	MaxPixels int64 // width*height of the canvas and of every frame
	MaxFrames int   // frames of an animated GIF
}

// DefaultLimits: 50 MiB, 50 megapixels, 1000 frames.
var DefaultLimits = Limits{MaxBytes: 50 << 20, MaxPixels: 50_000_000, MaxFrames: 1000}

// WithDefaults returns l with every zero or negative field taken from
// DefaultLimits.
func (l Limits) WithDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultLimits.MaxPixels
	}
	if l.MaxFrames <= 0 {
		l.MaxFrames = DefaultLimits.MaxFrames
	}
	return l
}

// Thumbnail is one encoded output of a Processor.
type Thumbnail struct {
	Data          []byte
	Format        Format
	Width, Height int
}

// Processor turns one source image into thumbnails. It decodes the source
// once and returns one Thumbnail per Spec, in order. Errors must wrap
// ErrNotImage, ErrUnsupportedFormat or ErrTooLarge where they apply.
type Processor interface {
	Process(ctx context.Context, src io.Reader, specs []Spec, lim Limits) ([]Thumbnail, error)
}

// GoProcessor is the default, pure-Go Processor.
//
// It reads the source once: the header is sniffed through a recorder and
// checked against the Limits before any pixel is decoded, then replayed into
// the decoder. GIFs are the exception that proves the rule: their frame
// sizes and count are only known after scanning the whole stream, so a GIF
// is buffered (at most Limits.MaxBytes of compressed bytes), scanned, and
// decoded from that buffer (see gif.go).
type GoProcessor struct{}

// Process implements Processor.
func (GoProcessor) Process(ctx context.Context, src io.Reader, specs []Spec, lim Limits) ([]Thumbnail, error) {
	lim = lim.WithDefaults()
	s, err := decodeSource(&limitedReader{r: src, n: lim.MaxBytes}, lim, wantsAnimation(specs))
	if err != nil {
		return nil, err
	}
	out := make([]Thumbnail, 0, len(specs))
	for _, spec := range specs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := s.thumbnail(ctx, spec)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

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
	decode func(io.Reader) (image.Image, error)
	config func(io.Reader) (image.Config, error)
}

var codecs = []codec{
	{JPEG, "\xff\xd8", jpeg.Decode, jpeg.DecodeConfig},
	{PNG, "\x89PNG\r\n\x1a\n", png.Decode, png.DecodeConfig},
	{GIF, "GIF8?a", gif.Decode, gif.DecodeConfig},
	{WebP, "RIFF????WEBPVP8", decodeWebP, xwebp.DecodeConfig},
	{TIFF, "II*\x00", tiff.Decode, tiff.DecodeConfig},
	{TIFF, "MM\x00*", tiff.Decode, tiff.DecodeConfig},
	{BMP, "BM????\x00\x00\x00\x00", bmp.Decode, bmp.DecodeConfig},
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

// sniff reads just enough of src to learn its format and dimensions, and
// checks them against lim before any pixel is decoded. It returns a reader
// that replays the sniffed bytes followed by the rest of src.
func sniff(src io.Reader, lim Limits) (image.Config, Format, []byte, io.Reader, error) {
	cfg, c, head, r, err := sniffCodec(src, lim)
	return cfg, c.format, head, r, err
}

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

// knownUnsupported names image formats we recognise but do not decode.
func knownUnsupported(head []byte) string {
	switch {
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		return "HEIF/AVIF"
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

// source is a decoded source image, ready to be thumbnailed.
type source struct {
	img    image.Image // the still picture (a GIF's first frame on its canvas)
	format Format
	orient int           // EXIF orientation 1..8
	anim   *gifStream    // an animated GIF, when its animation is kept (see gif.go)
	pal    color.Palette // a GIF's first-frame palette, reused for GIF output
}

// wantsAnimation reports whether any spec could write an animated GIF.
func wantsAnimation(specs []Spec) bool {
	for _, s := range specs {
		if s.Format == FormatSource || s.Format == GIF {
			return true
		}
	}
	return false
}

// decodeSource decodes src after checking its header against lim. A GIF
// keeps its animation when animate is set and the animation fits the limits
// (see gif.go).
func decodeSource(src io.Reader, lim Limits, animate bool) (*source, error) {
	errs := &readErrs{r: src}
	cfg, c, head, r, err := sniffCodec(errs, lim)
	if err != nil {
		return nil, err
	}
	if c.format == GIF {
		return decodeGIF(r, lim, animate)
	}
	orient := 1
	var scans *scanCounter
	if c.format == JPEG {
		orient = exifOrientation(head)
		scans = &scanCounter{r: r, max: maxScans(cfg, lim)}
		r = scans
	}
	img, err := c.decode(r)
	if err != nil {
		if scans != nil && scans.err != nil {
			return nil, scans.err
		}
		if errs.err != nil {
			return nil, errs.err
		}
		return nil, wrapf(ErrNotImage, "decoding %s: %v", c.format, err)
	}
	return &source{img: img, format: c.format, orient: orient}, nil
}

// A progressive JPEG may hold any number of scans, and Go's decoder walks
// every block of the image once per scan; a scan can take a few bytes, so
// a 1 MB file of repeated scans can keep a core busy for hours. Decoding
// stops with ErrTooLarge past scans × pixels > 100 × MaxPixels: 100 scans
// for a 50-megapixel image, over 400 at 12 megapixels, while real encoders
// write 10 or so (libjpeg) to a few dozen (mozjpeg).
func maxScans(cfg image.Config, lim Limits) int {
	return int(max(100, 100*lim.MaxPixels/max(1, int64(cfg.Width)*int64(cfg.Height))))
}

// scanCounter counts JPEG start-of-scan markers (FF DA; entropy-coded data
// never holds FF followed by anything but 00 or a restart marker) and fails
// once there are more than max.
type scanCounter struct {
	r      io.Reader
	max, n int
	prevFF bool
	err    error
}

func (s *scanCounter) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	for _, b := range p[:n] {
		if s.prevFF && b == 0xDA {
			if s.n++; s.n > s.max {
				s.err = wrapf(ErrTooLarge, "jpeg has more than %d scans", s.max)
				return 0, s.err
			}
		}
		s.prevFF = b == 0xFF
	}
	return n, err
}

// thumbnail makes one thumbnail of s.
func (s *source) thumbnail(ctx context.Context, spec Spec) (Thumbnail, error) {
	if s.anim != nil && OutputFormat(spec, s.format, s.img) == GIF {
		return animatedThumbnail(ctx, s.anim, spec)
	}
	return makeThumbnail(s.img, s.format, s.orient, spec, s.pal)
}

// OutputFormat is the format a thumbnail of a source in format src is
// written in: spec.Format if set; otherwise JPEG, PNG and GIF keep their
// format, and other sources (WebP, TIFF, BMP) become PNG if they have
// transparency and JPEG if not.
func OutputFormat(spec Spec, src Format, img image.Image) Format {
	if spec.Format != FormatSource {
		return spec.Format
	}
	switch src {
	case JPEG, PNG, GIF:
		return src
	}
	if img != nil && !isOpaque(img) {
		return PNG
	}
	return JPEG
}

func isOpaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}

// makeThumbnail resizes, orients and encodes one thumbnail from a decoded
// source. pal, if any, is the palette to write a GIF with.
func makeThumbnail(img image.Image, srcFormat Format, orient int, spec Spec, pal color.Palette) (Thumbnail, error) {
	// Resize before rotating: the box is swapped for orientations that
	// transpose, so we rotate a thumbnail rather than a full-size image.
	// The cover anchor is turned the same way, so `anchor=top` keeps the
	// top of the picture as shown, not of the pixels as stored.
	w, h := spec.Width, spec.Height
	if orient >= 5 && orient <= 8 {
		w, h = h, w
	}
	spec.Anchor = storedAnchor(spec.Anchor, orient)
	small := resizeTo(img, w, h, spec)
	small = applyOrientation(small, orient)
	format := OutputFormat(spec, srcFormat, img)
	var buf bytes.Buffer
	if err := encode(&buf, small, format, spec, pal); err != nil {
		return Thumbnail{}, err
	}
	b := small.Bounds()
	return Thumbnail{Data: buf.Bytes(), Format: format, Width: b.Dx(), Height: b.Dy()}, nil
}

// anchorXY places each anchor on a 3x3 grid, x and y in -1..1 (y down).
var anchorXY = map[Anchor][2]int{
	imaging.TopLeft: {-1, -1}, imaging.Top: {0, -1}, imaging.TopRight: {1, -1},
	imaging.Left: {-1, 0}, imaging.Center: {0, 0}, imaging.Right: {1, 0},
	imaging.BottomLeft: {-1, 1}, imaging.Bottom: {0, 1}, imaging.BottomRight: {1, 1},
}

// storedAnchor is the anchor, in the pixels as stored, of an anchor in the
// picture as shown after EXIF orientation orient.
func storedAnchor(a Anchor, orient int) Anchor {
	xy, ok := anchorXY[a]
	if !ok {
		return a
	}
	x, y := xy[0], xy[1]
	switch orient {
	case 2:
		x = -x
	case 3:
		x, y = -x, -y
	case 4:
		y = -y
	case 5:
		x, y = y, x
	case 6:
		x, y = y, -x
	case 7:
		x, y = -y, -x
	case 8:
		x, y = -y, x
	}
	for k, v := range anchorXY {
		if v == [2]int{x, y} {
			return k
		}
	}
	return a
}

// applyOrientation undoes an EXIF orientation (1..8).
func applyOrientation(img image.Image, orient int) image.Image {
	switch orient {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img)
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return img
}

// encode writes img in format (a GIF with the colours of pal when given).
// Encoding never copies metadata: the output carries no EXIF, comments or
// orientation from the source.
func encode(w io.Writer, img image.Image, format Format, spec Spec, pal color.Palette) error {
	switch format {
	case JPEG:
		q := spec.Quality
		if q == 0 {
			q = DefaultQuality
		}
		if !isOpaque(img) {
			img = flatten(img, spec.Background)
		}
		return jpeg.Encode(w, img, &jpeg.Options{Quality: q})
	case PNG:
		return (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(w, img)
	case GIF:
		return gif.Encode(w, toPaletted(img, pal), nil)
	case WebP:
		return encodeWebP(w, img, spec.Quality)
	}
	return wrapf(ErrUnsupportedFormat, "cannot write %q", format)
}

// flatten draws img over an opaque background (white when bg is zero).
func flatten(img image.Image, bg color.NRGBA) image.Image {
	if bg == (color.NRGBA{}) {
		bg = color.NRGBA{255, 255, 255, 255}
	}
	bg.A = 255
	b := img.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Bounds(), &image.Uniform{bg}, image.Point{}, draw.Src)
	draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Over)
	return dst
}

// ---------------------------------------------------------------------------
// Small parsers used by ParseTag.

func ParseFit(v string) (Fit, error) {
	switch v {
	case "contain":
		return FitContain, nil
	case "cover":
		return FitCover, nil
	}
	return 0, fmt.Errorf("fit %q: want contain or cover", v)
}

var anchors = map[string]Anchor{
	"center": imaging.Center, "top": imaging.Top, "bottom": imaging.Bottom,
	"left": imaging.Left, "right": imaging.Right,
	"topleft": imaging.TopLeft, "topright": imaging.TopRight,
	"bottomleft": imaging.BottomLeft, "bottomright": imaging.BottomRight,
}

func ParseAnchor(v string) (Anchor, error) {
	if a, ok := anchors[v]; ok {
		return a, nil
	}
	return 0, fmt.Errorf("anchor %q: want center, top, bottom, left, right, topleft, topright, bottomleft or bottomright", v)
}

// writableFormats are the formats encode can write.
var writableFormats = map[Format]bool{JPEG: true, PNG: true, GIF: true, WebP: true}

func ParseFormat(v string) (Format, error) {
	if v == "source" {
		return FormatSource, nil
	}
	if v == "jpg" {
		v = "jpeg"
	}
	if writableFormats[Format(v)] {
		return Format(v), nil
	}
	return "", fmt.Errorf("format %q: want source, jpeg, png, gif or webp", v)
}

func ParseColor(v string) (color.NRGBA, error) {
	s := strings.TrimPrefix(v, "#")
	n, err := strconv.ParseUint(s, 16, 32)
	if err != nil || len(s) != 6 {
		return color.NRGBA{}, fmt.Errorf("background %q: want RRGGBB", v)
	}
	return color.NRGBA{uint8(n >> 16), uint8(n >> 8), uint8(n), 255}, nil
}

// Extension is the file extension for a format, without the dot ("jpg"
// for JPEG).
func (f Format) Extension() string {
	if f == JPEG {
		return "jpg"
	}
	return string(f)
}

// ContentType is the MIME type for a format ("image/jpeg").
func (f Format) ContentType() string { return "image/" + string(f) }

// Header is what Check learned from a source's header.
type Header struct {
	Format        Format
	Width, Height int // as stored, before any EXIF orientation
}

// Check reads just enough of src to learn its format and size and checks
// them against lim before any pixel is decoded, as a Processor would. A
// GIF's frames are only known from the whole stream, so for a GIF it reads
// the stream (at most lim.MaxBytes) and checks every frame's bounds and the
// frame count too. It returns a reader that replays what it read followed
// by the rest of src, so the caller can store the bytes it checked. Errors
// wrap ErrNotImage, ErrUnsupportedFormat or ErrTooLarge, or are src's own.
func Check(src io.Reader, lim Limits) (Header, io.Reader, error) {
	lim = lim.WithDefaults()
	cfg, format, _, body, err := sniff(LimitReader(src, lim.MaxBytes), lim)
	if err != nil {
		return Header{}, nil, err
	}
	h := Header{Format: format, Width: cfg.Width, Height: cfg.Height}
	if format == GIF {
		data, err := io.ReadAll(body)
		if err != nil {
			return Header{}, nil, err
		}
		if _, err := scanGIF(data, lim); err != nil {
			return Header{}, nil, err
		}
		body = bytes.NewReader(data)
	}
	return h, body, nil
}
