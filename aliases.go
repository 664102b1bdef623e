package gormthumb

import (
	"image"

	"github.com/gormthumb/gormthumb/thumb"
)

// The image pipeline lives in package thumb (github.com/gormthumb/gormthumb/thumb),
// which knows nothing of GORM or buckets. The names below are aliases of
// its names, kept so that code written against earlier versions of
// gormthumb compiles unchanged; each is deprecated in favour of thumb's.
// The sentinel errors (errors.go) are not aliases to give up: they are the
// same values as thumb's, and this package's errors wrap them.

type (
	// Spec is thumb.Spec: one thumbnail, a parsed `thumb` tag.
	//
	// Deprecated: use thumb.Spec.
	Spec = thumb.Spec
	// Fit is thumb.Fit: how an image is fitted into the box.
	//
	// Deprecated: use thumb.Fit.
	Fit = thumb.Fit
	// Anchor is thumb.Anchor: the point a FitCover crop keeps.
	//
	// Deprecated: use thumb.Anchor.
	Anchor = thumb.Anchor
	// Format is thumb.Format: an image format name.
	//
	// Deprecated: use thumb.Format.
	Format = thumb.Format
	// Limits is thumb.Limits: what a source may cost before it is refused.
	//
	// Deprecated: use thumb.Limits.
	Limits = thumb.Limits
	// Thumbnail is thumb.Thumbnail: one encoded output of a Processor.
	//
	// Deprecated: use thumb.Thumbnail.
	Thumbnail = thumb.Thumbnail
	// Processor is thumb.Processor: turns one source into thumbnails.
	//
	// Deprecated: use thumb.Processor.
	Processor = thumb.Processor
	// GoProcessor is thumb.GoProcessor, the default pure-Go Processor.
	//
	// Deprecated: use thumb.GoProcessor.
	GoProcessor = thumb.GoProcessor
)

// Formats, as in package thumb.
//
// Deprecated: use thumb.FormatSource, thumb.JPEG, and so on.
const (
	FormatSource = thumb.FormatSource
	JPEG         = thumb.JPEG
	PNG          = thumb.PNG
	GIF          = thumb.GIF
	WebP         = thumb.WebP
	TIFF         = thumb.TIFF
	BMP          = thumb.BMP
	HEIF         = thumb.HEIF
	AVIF         = thumb.AVIF
)

// Fits and the default quality, as in package thumb.
//
// Deprecated: use thumb.FitContain, thumb.FitCover and thumb.DefaultQuality.
const (
	FitContain     = thumb.FitContain
	FitCover       = thumb.FitCover
	DefaultQuality = thumb.DefaultQuality
)

// DefaultLimits was a copy of thumb.DefaultLimits. The plugin reads
// thumb.DefaultLimits (New, and the zero fields given to WithLimits), so
// there is one set of defaults; changing this copy has no effect.
//
// Deprecated: use thumb.DefaultLimits.
var DefaultLimits = thumb.DefaultLimits

// OutputFormat is thumb.OutputFormat: the format a thumbnail of a source in
// format src is written in.
//
// Deprecated: use thumb.OutputFormat.
func OutputFormat(spec thumb.Spec, src thumb.Format, img image.Image) thumb.Format {
	return thumb.OutputFormat(spec, src, img)
}
