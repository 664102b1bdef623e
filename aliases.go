package gormthumb

import (
	"image"

	"github.com/gormthumb/gormthumb/thumb"
)

// The image pipeline lives in package thumb (github.com/gormthumb/gormthumb/thumb),
// which knows nothing of GORM or buckets. These aliases keep its names
// available here, so code written against earlier versions of gormthumb
// compiles unchanged; the sentinel errors are the same values (errors.go).

type (
	// Spec is thumb.Spec: one thumbnail, a parsed `thumb` tag.
	Spec = thumb.Spec
	// Fit is thumb.Fit: how an image is fitted into the box.
	Fit = thumb.Fit
	// Anchor is thumb.Anchor: the point a FitCover crop keeps.
	Anchor = thumb.Anchor
	// Format is thumb.Format: an image format name.
	Format = thumb.Format
	// Limits is thumb.Limits: what a source may cost before it is refused.
	Limits = thumb.Limits
	// Thumbnail is thumb.Thumbnail: one encoded output of a Processor.
	Thumbnail = thumb.Thumbnail
	// Processor is thumb.Processor: turns one source into thumbnails.
	Processor = thumb.Processor
	// GoProcessor is thumb.GoProcessor, the default pure-Go Processor.
	GoProcessor = thumb.GoProcessor
)

// Formats, fits and the default quality, as in package thumb.
const (
	FormatSource   = thumb.FormatSource
	JPEG           = thumb.JPEG
	PNG            = thumb.PNG
	GIF            = thumb.GIF
	WebP           = thumb.WebP
	TIFF           = thumb.TIFF
	BMP            = thumb.BMP
	HEIF           = thumb.HEIF
	AVIF           = thumb.AVIF
	FitContain     = thumb.FitContain
	FitCover       = thumb.FitCover
	DefaultQuality = thumb.DefaultQuality
)

// DefaultLimits is a copy of thumb.DefaultLimits: 50 MiB, 50 megapixels,
// 1000 frames.
var DefaultLimits = thumb.DefaultLimits

// OutputFormat is thumb.OutputFormat: the format a thumbnail of a source in
// format src is written in.
func OutputFormat(spec Spec, src Format, img image.Image) Format {
	return thumb.OutputFormat(spec, src, img)
}
