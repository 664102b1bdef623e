package thumb

import (
	"context"
	"image/color"
	"io"
)

// Format is an image format name as returned by image.DecodeConfig.
type Format string

// Formats the pipeline knows. JPEG, PNG, GIF, WebP and AVIF are read and
// written; TIFF, BMP and HEIF are read only.
const (
	FormatSource Format = "" // in a Spec: write the source's format (see FormatFor)
	JPEG         Format = "jpeg"
	PNG          Format = "png"
	GIF          Format = "gif"
	WebP         Format = "webp"
	TIFF         Format = "tiff"
	BMP          Format = "bmp"
	HEIF         Format = "heif" // HEVC-coded HEIF (.heic): iPhone photos
	AVIF         Format = "avif"
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

// Anchor is the point of the picture a FitCover crop keeps, in the
// picture as shown (after EXIF orientation). The zero value is Center. Its
// values and names are those of the tag's anchor option (ParseAnchor).
type Anchor int

// Anchors, numbered as github.com/disintegration/imaging numbers its own
// (so thumbnail digests computed from earlier versions' specs, where Anchor
// was imaging.Anchor, stay the same).
const (
	Center Anchor = iota
	TopLeft
	Top
	TopRight
	Left
	Right
	BottomLeft
	Bottom
	BottomRight
)

// DefaultQuality is the JPEG quality used when a Spec does not set one.
const DefaultQuality = 85

// Spec describes one thumbnail: a parsed `thumb` tag.
type Spec struct {
	Width, Height int
	Fit           Fit
	Anchor        Anchor      // FitCover only; zero value is Center
	Format        Format      // FormatSource (default), JPEG, PNG, GIF, WebP or AVIF
	Quality       int         // JPEG, WebP and AVIF quality 1..100; 0 means DefaultQuality
	Upscale       bool        // allow enlarging sources smaller than the box
	Background    color.NRGBA // fill for transparent pixels written as JPEG; zero value means white
}

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
