package gormthumb

import (
	"errors"
	"fmt"

	"github.com/gormthumb/gormthumb/thumb"
)

// Sentinel errors. Every error a save, Upload or Regenerate returns for a
// bad tag, a bad or missing source or a failing bucket is an *Error that
// wraps exactly one of them (and, for storage errors, the driver's error),
// so callers can branch with errors.Is; the *Error names the model, field
// and blob key involved. Errors from the database itself, and usage errors
// (Regenerate on a model without a single-column primary key, Sweep without
// Models), are returned as they are.
var (
	// ErrInvalidTag: a `thumb` or `upload` struct tag is malformed (bad size,
	// unknown option, unknown or non-ImageField source, a thumb of itself).
	ErrInvalidTag = errors.New("invalid gormthumb tag")
	// ErrSourceNotFound: the source field names a key that is not in the bucket.
	ErrSourceNotFound = errors.New("source image not found")
	// ErrNotImage is thumb.ErrNotImage: the source bytes are not an image
	// of any format we know (empty, text, HTML, truncated or corrupt).
	ErrNotImage = thumb.ErrNotImage
	// ErrUnsupportedFormat is thumb.ErrUnsupportedFormat: the source is an
	// image, but of a format the plugin does not read, or the requested
	// output format cannot be written.
	ErrUnsupportedFormat = thumb.ErrUnsupportedFormat
	// ErrTooLarge is thumb.ErrTooLarge: the source exceeds Limits.MaxBytes,
	// Limits.MaxPixels or Limits.MaxFrames. It is detected before the pixels
	// are decoded.
	ErrTooLarge = thumb.ErrTooLarge
	// ErrStorage: the bucket failed (unreachable, permission denied, ...).
	// The driver's error is wrapped too, so gcerrors.Code still works.
	ErrStorage = errors.New("blob storage error")
	// ErrBulkUpdate: an update writes a source column on rows the plugin
	// cannot identify (no primary key on the model value), so it refuses
	// rather than leave thumbnails that do not match their source.
	ErrBulkUpdate = errors.New("cannot make thumbnails for a bulk update without primary keys")
	// ErrProcessor: the Processor broke its contract (returned fewer
	// thumbnails than sizes asked for).
	ErrProcessor = errors.New("image processor failed")
	// ErrInvalidKey: a blob key is empty, absolute, or has "." / ".." / empty
	// path segments.
	ErrInvalidKey = errors.New("invalid blob key")
)

// Error is the error type returned by the plugin. It wraps one of the
// sentinel errors above (and, for storage errors, the driver's error).
type Error struct {
	Model string // Go type name of the model, e.g. "Product"
	Field string // struct field name, e.g. "CoverThumb"
	Key   string // blob key involved, if any
	Err   error  // wraps a sentinel
}

// Error names the model, field and key, then the cause.
func (e *Error) Error() string {
	msg := "gormthumb: " + e.Model
	if e.Field != "" {
		msg += "." + e.Field
	}
	if e.Key != "" {
		msg += fmt.Sprintf(" (key %q)", e.Key)
	}
	return msg + ": " + e.Err.Error()
}

// Unwrap returns the wrapped error, for errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// wrapf wraps sentinel with a formatted detail: errors.Is(result, sentinel).
func wrapf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
