package gormthumb

import (
	"context"
	"errors"
	"fmt"
	"io"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// URLs
	_ "gocloud.dev/blob/memblob"  // mem:// URLs
	"gocloud.dev/gcerrors"
)

// OpenBucket opens a gocloud.dev/blob bucket by URL. file:// (a local
// folder, e.g. "file:///var/media?create_dir=1&no_tmp_dir=1") and mem://
// work out of the box; s3://, gs:// and azblob:// work once the application
// blank-imports the driver (gocloud.dev/blob/s3blob, gcsblob, azureblob).
func OpenBucket(ctx context.Context, url string) (*blob.Bucket, error) {
	b, err := blob.OpenBucket(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("gormthumb: open bucket %q: %w", url, err)
	}
	return b, nil
}

// storageErr classifies a bucket error: NotFound becomes ErrSourceNotFound,
// anything else ErrStorage; the driver error stays wrapped.
func storageErr(op string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%w: %s: %w", ErrSourceNotFound, op, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrStorage, op, err)
}

// ---------------------------------------------------------------------------
// Writing and deleting: every blob the plugin writes goes through here.

// writeBlob writes data under key with its content type.
func writeBlob(ctx context.Context, b *blob.Bucket, key string, data []byte, f Format, srcKey string) error {
	opts := &blob.WriterOptions{
		ContentType:  f.ContentType(),
		CacheControl: "public, max-age=31536000, immutable",
		Metadata:     thumbMetadata(srcKey),
	}
	if err := b.WriteAll(ctx, key, data, opts); err != nil {
		return storageErr("write", err)
	}
	return nil
}

// writeOriginal streams an upload's bytes to key, which is new by
// construction (its random part); IfNotExist still turns the impossible
// collision into an error, never an overwrite. A failed copy leaves
// nothing behind: cancelling the context before Close makes every driver
// abandon the write.
func writeOriginal(ctx context.Context, b *blob.Bucket, key string, r io.Reader, f Format) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.NewWriter(wctx, key, &blob.WriterOptions{ContentType: f.ContentType(), IfNotExist: true})
	if err != nil {
		return storageErr("write", err)
	}
	if _, err := io.Copy(w, r); err != nil {
		cancel()
		w.Close()
		if errors.Is(err, ErrTooLarge) {
			return err
		}
		return storageErr("read upload", err)
	}
	if err := w.Close(); err != nil {
		return storageErr("write", err)
	}
	return nil
}

// deleteBlob deletes key, treating "already gone" as success.
func deleteBlob(ctx context.Context, b *blob.Bucket, key string) error {
	if err := b.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return err
	}
	return nil
}
