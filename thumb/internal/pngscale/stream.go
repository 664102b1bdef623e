package pngscale

import (
	"errors"
	"github.com/klauspost/compress/zlib"
	"image"
	"io"
)

// The image data flows from the inflater to the reducer in batches of
// whole rows, still filtered: up to nBatches buffers of about batchBytes
// each (one row when a row is larger), filled by the inflater and handed
// back once the reducer is done with them. The reducer keeps a batch until
// the first row of the next one is unfiltered (its last row is that row's
// previous row), so at most two are in its hands and the inflater can
// always fill another.
//
// An image of at least asyncBytes of image data is inflated in a goroutine
// of its own, which sends the batches over a channel; a smaller one is
// inflated and reduced by the calling goroutine, batch after batch, where
// a second goroutine would cost more than it saves.
const (
	nBatches   = 4
	batchBytes = 64 << 10
)

// asyncBytes is a variable for the tests, which run both ways.
var asyncBytes = nBatches * batchBytes

// batch is a run of consecutive rows of one pass, or the end of the stream.
type batch struct {
	buf     []byte
	pass    int // index into passes()
	y       int // the pass row of the first row
	rows    int
	rowSize int // bytes per row, the filter byte included

	done bool  // no more batches: err is the outcome
	err  error // image/png's error, or nil
}

// newZlibReader opens the zlib stream of the image data (see the package
// doc for why klauspost/compress's; BenchmarkInflater swaps it).
var newZlibReader = zlib.NewReader

// errQuit ends the inflater when the reducer has stopped listening.
var errQuit = errors.New("pngscale: stopped")

// pipe connects the inflater to the reducer.
type pipe struct {
	d       *decoder
	red     *reducer
	bufSize int
	made    int         // buffers allocated, at most nBatches
	free    chan []byte // buffers the reducer is done with
	full    chan batch  // batches for the reducer (async only)
	quit    chan struct{}

	// The reducer's side: the batch it holds and its last row.
	prev, prevRow []byte
	bpp           int // filter distance: bytes per pixel, at least 1
}

// stream decodes the image data, which starts at the current IDAT, and
// the chunks after it.
func (d *decoder) stream() ([]image.Image, error) {
	p := &pipe{d: d, red: newReducer(d, d.regions), free: make(chan []byte, nBatches), bpp: max(1, d.bitsPerPixel()/8)}
	total := 0
	for _, s := range d.passes() {
		w, h := d.passSize(s)
		if w == 0 || h == 0 {
			continue
		}
		rs := d.rowBytes(w)
		p.bufSize = max(p.bufSize, rs*rowsPerBatch(rs, h))
		total += rs * h
	}
	if total < asyncBytes {
		if err := p.inflate(); err != nil {
			return nil, err
		}
		return p.red.images(), nil
	}
	p.full = make(chan batch, nBatches)
	p.quit = make(chan struct{})
	go func() {
		err := p.inflate()
		if err == errQuit {
			return
		}
		select {
		case p.full <- batch{done: true, err: err}:
		case <-p.quit:
		}
	}()
	defer close(p.quit) // should this goroutine fail, the inflater stops
	for {
		b := <-p.full
		if b.done {
			if b.err != nil {
				return nil, b.err
			}
			return p.red.images(), nil
		}
		p.reduce(b)
	}
}

// rowsPerBatch is how many rows of rs bytes a batch of a pass of h rows
// holds.
func rowsPerBatch(rs, h int) int { return min(h, max(1, batchBytes/rs)) }

// reduce unfilters the rows of b and adds them to the reducer, and hands
// back the batch before it.
func (p *pipe) reduce(b batch) {
	rs := b.rowSize
	for i := range b.rows {
		row := b.buf[i*rs : (i+1)*rs]
		var pdat []byte
		switch {
		case i > 0:
			pdat = b.buf[(i-1)*rs+1 : i*rs]
		case b.y > 0:
			pdat = p.prevRow
		}
		unfilter(row[0], row[1:], pdat, p.bpp)
		if i == 0 && p.prev != nil {
			p.free <- p.prev // its last row is no longer needed
			p.prev, p.prevRow = nil, nil
		}
		p.red.addRow(b.pass, b.y+i, row[1:])
	}
	p.prev, p.prevRow = b.buf, b.buf[(b.rows-1)*rs+1:b.rows*rs]
}

// buffer returns a buffer to fill: one handed back, or a new one while
// fewer than nBatches exist.
func (p *pipe) buffer() ([]byte, error) {
	select {
	case b := <-p.free:
		return b, nil
	default:
	}
	if p.made < nBatches {
		p.made++
		return make([]byte, p.bufSize), nil
	}
	select {
	case b := <-p.free:
		return b, nil
	case <-p.quit:
		return nil, errQuit
	}
}

// send passes a batch to the reducer: over the channel, or straight to
// it when there is no goroutine.
func (p *pipe) send(b batch) error {
	if p.full == nil {
		p.reduce(b)
		return nil
	}
	select {
	case p.full <- b:
		return nil
	case <-p.quit:
		return errQuit
	}
}

// inflate is the inflater: it reads the image data row by row, exactly as
// image/png does, checks each row's filter byte, sends the rows in
// batches, then reads the rest of the file (see finish). It returns
// image/png's error, or nil, or errQuit when the reducer stopped.
func (p *pipe) inflate() error {
	d := p.d
	zr, err := newZlibReader(d)
	if err != nil {
		return noEOF(err)
	}
	defer zr.Close()
	for pass, s := range d.passes() {
		w, h := d.passSize(s)
		if w == 0 || h == 0 {
			continue // no filter byte is read for an empty pass
		}
		rs := d.rowBytes(w)
		per := rowsPerBatch(rs, h)
		for y := 0; y < h; {
			buf, err := p.buffer()
			if err != nil {
				return err
			}
			n := min(per, h-y)
			for i := range n {
				row := buf[i*rs : (i+1)*rs]
				if _, err := io.ReadFull(zr, row); err != nil {
					if err == io.EOF || err == io.ErrUnexpectedEOF {
						return formatError("not enough pixel data")
					}
					return err
				}
				if row[0] >= nFilter {
					return formatError("bad filter type")
				}
			}
			if err := p.send(batch{buf: buf, pass: pass, y: y, rows: n, rowSize: rs}); err != nil {
				return err
			}
			y += n
		}
	}
	return noEOF(d.finish(zr))
}

// noEOF is err with io.EOF turned into io.ErrUnexpectedEOF, as image/png
// turns it.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
