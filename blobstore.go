package gormthumb

import (
	"context"
	"fmt"

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

//

// ---------------------------------------------------------------------------
// Reading and writing

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

// deleteBlob deletes key, treating "already gone" as success.
func deleteBlob(ctx context.Context, b *blob.Bucket, key string) error {
	if err := b.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return err
	}
	return nil
}
