package thumb

import (
	"errors"
	"fmt"
	"io"
)

// Sentinel errors. Every error a Processor returns for a bad source wraps
// one of them, so callers can branch with errors.Is.
var (
	// ErrNotImage: the source bytes are not an image of any format we know
	// (empty, text, HTML, truncated or corrupt).
	ErrNotImage = errors.New("source is not a decodable image")
	// ErrUnsupportedFormat: the source is an image, but of a format the
	// pipeline does not read, or the requested output format cannot be
	// written.
	ErrUnsupportedFormat = errors.New("unsupported image format")
	// ErrTooLarge: the source exceeds Limits.MaxBytes, Limits.MaxPixels or
	// Limits.MaxFrames. It is detected before the pixels are decoded.
	ErrTooLarge = errors.New("source image too large")
)

// wrapf wraps sentinel with a formatted detail: errors.Is(result, sentinel).
func wrapf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// limitedReader fails with ErrTooLarge once more than n bytes were read
// (unlike io.LimitReader, which stops silently).
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, wrapf(ErrTooLarge, "source is larger than the byte limit")
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, wrapf(ErrTooLarge, "source is larger than the byte limit")
	}
	return n, err
}
