package gormthumb

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// inflightProcessor is GoProcessor, counting how many sources it decodes at
// once.
type inflightProcessor struct {
	now, peak atomic.Int32
}

func (c *inflightProcessor) Process(ctx context.Context, src io.Reader, specs []Spec, lim Limits) ([]Thumbnail, error) {
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond) // long enough for the others to pile up
	return GoProcessor{}.Process(ctx, src, specs, lim)
}

// The memory budget is plugin-wide: sources whose decoded size (estimated
// from the header) would exceed it wait their turn, across statements; a
// source larger than the whole budget is ErrTooLarge; waiting ends with the
// caller's context; Upload's check of a GIF is under the budget too.
func TestMemoryLimit(t *testing.T) {
	src := testphoto.ZeroPNG16(1200, 1200) // about 13 MB decoded, and charged so: too small to stream for 110×150
	proc := &inflightProcessor{}
	const limit = 30 << 20 // two at a time
	e := newEnv(t, dbBackends[0], bucketBackends[0], envConfig{opts: []Option{WithMemoryLimit(limit), WithProcessor(proc)}})
	e.migrate(&Product{})
	key := e.put("mem/zero.png", src)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- e.db.Create(&Product{Cover: key}).Error })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if p := proc.peak.Load(); p > 2 || p < 1 {
		t.Fatalf("%d sources decoded at once under a budget for two", p)
	}

	// Larger than the whole budget.
	before := e.keys()
	// (A GIF: a PNG that large streams, holding a few MB; see thumb/png.go.)
	big := e.put("mem/big.gif", testphoto.GIF(2100, 2100)) // about 40 MB
	wantErr(t, e.db.Create(&Product{Cover: big}).Error, ErrTooLarge, "Product.CoverThumb", "mem/big.gif")
	e.wantKeys(append(before, "mem/big.gif")...)

	// The budget spent elsewhere: a save waits, until its context ends.
	release, err := e.plugin.reserve(e.ctx, limit)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 200*time.Millisecond)
	err = e.db.WithContext(ctx).Create(&Product{Cover: key}).Error
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a save waiting for the budget: %v, want context.DeadlineExceeded", err)
	}
	// ... and so does Upload's check of a GIF.
	ctx, cancel = context.WithTimeout(e.ctx, 200*time.Millisecond)
	_, err = e.plugin.Upload(ctx, &Product{}, "Cover", "a.gif", bytes.NewReader(testphoto.GIF(20, 20)))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("an Upload of a GIF waiting for the budget: %v", err)
	}
	release()
	e.mustCreate(&Product{Cover: key})
	e.wantNoOrphans()
	if n := e.count(&Product{}); n != 9 {
		t.Fatalf("%d rows", n)
	}
}
