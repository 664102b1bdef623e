package gormthumb

import (
	"context"
	"io"
	"sync"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"
)

// countingBucket is a real gocloud driver that forwards to another bucket
// and counts the calls, to prove what a save does (and does not) touch.
type countingBucket struct {
	b  *blob.Bucket
	mu sync.Mutex
	n  map[string]int
}

func newCountingBucket(b *blob.Bucket) (*blob.Bucket, *countingBucket) {
	c := &countingBucket{b: b, n: map[string]int{}}
	return blob.NewBucket(c), c
}

func (c *countingBucket) inc(op string) {
	c.mu.Lock()
	c.n[op]++
	c.mu.Unlock()
}

// counts returns and resets the counters.
func (c *countingBucket) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

func (c *countingBucket) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }
func (c *countingBucket) As(i any) bool                          { return false }
func (c *countingBucket) ErrorAs(err error, i any) bool          { return false }
func (c *countingBucket) Close() error                           { return nil }

func (c *countingBucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	c.inc("attributes")
	a, err := c.b.Attributes(ctx, key)
	if err != nil {
		return nil, err
	}
	return &driver.Attributes{
		CacheControl: a.CacheControl, ContentType: a.ContentType, Metadata: a.Metadata,
		CreateTime: a.CreateTime, ModTime: a.ModTime, Size: a.Size, MD5: a.MD5, ETag: a.ETag,
	}, nil
}

func (c *countingBucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	c.inc("list")
	objs, next, err := c.b.ListPage(ctx, opts.PageToken, max(opts.PageSize, 1000), &blob.ListOptions{Prefix: opts.Prefix, Delimiter: opts.Delimiter})
	if err != nil && err != io.EOF {
		return nil, err
	}
	page := &driver.ListPage{NextPageToken: next}
	for _, o := range objs {
		page.Objects = append(page.Objects, &driver.ListObject{Key: o.Key, ModTime: o.ModTime, Size: o.Size, MD5: o.MD5, IsDir: o.IsDir})
	}
	return page, nil
}

func (c *countingBucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	c.inc("read")
	r, err := c.b.NewRangeReader(ctx, key, offset, length, nil)
	if err != nil {
		return nil, err
	}
	return &countingReader{Reader: r}, nil
}

type countingReader struct{ *blob.Reader }

func (r *countingReader) Attributes() *driver.ReaderAttributes {
	return &driver.ReaderAttributes{ContentType: r.ContentType(), ModTime: r.ModTime(), Size: r.Size()}
}
func (r *countingReader) As(any) bool { return false }

func (c *countingBucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	c.inc("write")
	return c.b.NewWriter(ctx, key, &blob.WriterOptions{
		ContentType: contentType, CacheControl: opts.CacheControl, Metadata: opts.Metadata, IfNotExist: opts.IfNotExist,
	})
}

func (c *countingBucket) Copy(ctx context.Context, dst, src string, opts *driver.CopyOptions) error {
	c.inc("copy")
	return c.b.Copy(ctx, dst, src, nil)
}

func (c *countingBucket) Delete(ctx context.Context, key string, opts *driver.DeleteOptions) error {
	c.inc("delete")
	return c.b.Delete(ctx, key)
}

func (c *countingBucket) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	return c.b.SignedURL(ctx, key, nil)
}
