package thumb

import (
	"image"
	"io"
)

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
