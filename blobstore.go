package gormthumb

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

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

// checkKey rejects keys that drivers treat differently (leading "/", "."
// and ".." segments, empty segments, invalid UTF-8), so a key means the
// same object on every bucket.
func checkKey(key string) error {
	if key == "" || !utf8.ValidString(key) || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return wrapf(ErrInvalidKey, "%q", key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return wrapf(ErrInvalidKey, "%q has an empty, . or .. segment", key)
		}
	}
	if strings.HasSuffix(key, ".attrs") {
		return wrapf(ErrInvalidKey, "%q: the .attrs suffix is reserved by fileblob", key)
	}
	return nil
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
// Thumbnail keys
//
// A thumbnail of "images/cover/cat.jpg" is written as
//
//	images/cover/thumbnails/cat.110x83.1a2b3c4d5e9f8e7d.jpg
//
// (or under the thumbnail field's own `upload` prefix). 110x83 is its pixel
// size. The 16 hex digits are a 10-digit digest of what the thumbnail was
// made from (the row, the field, the source key, the source's MD5 or ETag,
// and the spec) followed by 6 random digits:
//
//   - the digest changes whenever the source bytes or the size change, so a
//     CDN may cache a key forever, and a save whose digest matches the
//     stored key's is skipped without reading the source;
//   - it includes the row, so rows sharing a source never share a thumbnail
//     and deleting one row's thumbnail never touches another's;
//   - the random part makes every written key new, so a key deleted after
//     one transaction commits can never be one that a concurrent transaction
//     has just written again (reverting a row to an earlier source makes a
//     new key, not the old one).

const (
	digestLen = 10
	nonceLen  = 6
)

// thumbDigest identifies what a thumbnail was made from. specKey is
// Spec.key() of the thumbnail's spec.
func thumbDigest(table, pk, field, srcKey, srcVersion, specKey string) string {
	sum := digestSum(table, pk, field, srcKey, srcVersion, specKey)
	return hex.EncodeToString(sum[:digestLen/2])
}

// digestMatches reports whether the thumbnail key carries the digest
// thumbDigest returns for the other arguments (without allocating: it runs
// on every Save).
func digestMatches(key, table, pk, field, srcKey, srcVersion, specKey string) bool {
	_, _, got, ok := parseThumbName(key)
	if !ok {
		return false
	}
	sum := digestSum(table, pk, field, srcKey, srcVersion, specKey)
	var want [digestLen]byte
	hex.Encode(want[:], sum[:digestLen/2])
	return got == string(want[:])
}

func digestSum(table, pk, field, srcKey, srcVersion, specKey string) [sha256.Size]byte {
	var stack [256]byte
	buf := stack[:0]
	for _, part := range [...]string{"v1", table, pk, field, srcKey, srcVersion, specKey} {
		buf = append(buf, part...)
		buf = append(buf, 0)
	}
	return sha256.Sum256(buf)
}

// sourceVersion identifies the content of a source blob: its MD5 where the
// driver has one (fileblob, memblob, S3 single-part uploads), else its ETag
// (which changes on every write).
func sourceVersion(a *blob.Attributes) string {
	if len(a.MD5) > 0 {
		return "md5:" + hex.EncodeToString(a.MD5)
	}
	return "etag:" + a.ETag
}

// thumbKey builds a new, never-used key for a thumbnail.
func thumbKey(srcKey, prefix string, w, h int, digest string, f Format) string {
	dir := prefix
	if dir == "" {
		dir = path.Join(path.Dir(srcKey), "thumbnails")
		if dir == "thumbnails" || strings.HasPrefix(dir, ".") {
			dir = "thumbnails"
		}
	}
	base := path.Base(srcKey)
	base = strings.TrimSuffix(base, path.Ext(base))
	var nonce [nonceLen / 2]byte
	rand.Read(nonce[:])
	return fmt.Sprintf("%s/%s.%dx%d.%s%x.%s", dir, base, w, h, digest, nonce, extension(f))
}

// parseThumbName reads the size and digest back from a thumbnail key.
func parseThumbName(key string) (w, h int, digest string, ok bool) {
	// base.WxH.token.ext: take the last three dot-separated parts.
	name := path.Base(key)
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return 0, 0, "", false
	}
	name = name[:dot]
	dot = strings.LastIndexByte(name, '.')
	if dot < 0 {
		return 0, 0, "", false
	}
	token := name[dot+1:]
	name = name[:dot]
	dot = strings.LastIndexByte(name, '.')
	if dot < 0 || len(token) != digestLen+nonceLen || !isHex(token) {
		return 0, 0, "", false
	}
	ws, hs, found := strings.Cut(name[dot+1:], "x")
	if !found {
		return 0, 0, "", false
	}
	w, errW := strconv.Atoi(ws)
	h, errH := strconv.Atoi(hs)
	if errW != nil || errH != nil || w <= 0 || h <= 0 {
		return 0, 0, "", false
	}
	return w, h, token[:digestLen], true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------
// Reading and writing

// limitedReader fails with ErrTooLarge once more than n bytes were read.
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

// writeBlob writes data under key with its content type.
func writeBlob(ctx context.Context, b *blob.Bucket, key string, data []byte, f Format, srcKey string) error {
	opts := &blob.WriterOptions{
		ContentType:  contentType(f),
		CacheControl: "public, max-age=31536000, immutable",
		Metadata:     map[string]string{"gormthumb-source": srcKey},
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

// ---------------------------------------------------------------------------
// Uploading originals

// Upload writes an original image into the bucket and sets model's field to
// it. The key is the field's `upload` prefix (date parts %Y %m %d %H %M %S
// expanded, like Django's upload_to; "uploads/%Y/%m/%d" when the field has
// none) plus the sanitised base name of filename; if that key is taken a
// random suffix is added ("cat_k3j9x2a.jpg"). The bytes are checked to be an
// image within the plugin's limits before anything is written, so a
// non-image upload fails with ErrNotImage and writes nothing.
//
// Upload does not save the row: call db.Save (or Create) afterwards, which
// makes the thumbnails. If that save fails, the original stays in the
// bucket; delete it with Plugin.Delete if you do not retry.
func (p *Plugin) Upload(ctx context.Context, model any, field, filename string, r io.Reader) (ImageField, error) {
	ms, f, err := p.uploadTarget(model, field)
	if err != nil {
		return ImageField{}, err
	}
	fail := func(key string, err error) (ImageField, error) {
		return ImageField{}, &Error{Model: ms.name, Field: field, Key: key, Err: err}
	}
	lr := &limitedReader{r: r, n: p.limits.MaxBytes}
	_, format, _, body, err := sniff(lr, p.limits)
	if err != nil {
		return fail(filename, err)
	}
	if format == GIF {
		// A GIF's frames are only known from the whole stream: check their
		// bounds and count (scanGIF, as the thumbnailer does) before
		// anything is written. The stream is at most MaxBytes.
		data, err := io.ReadAll(body)
		if err != nil {
			return fail(filename, err)
		}
		if _, err := scanGIF(data, p.limits); err != nil {
			return fail(filename, err)
		}
		body = bytes.NewReader(data)
	}
	prefix := ms.uploads[field]
	if prefix == "" {
		prefix = "uploads/%Y/%m/%d"
	}
	dir := expandPrefix(prefix, p.now())
	name := cleanName(filename, format)
	key := path.Join(dir, name)
	// Django's get_available_name: keep the name if it is free, otherwise
	// add a random suffix. IfNotExist makes a lost race an error, never an
	// overwrite of someone else's original.
	if taken, err := p.bucket.Exists(ctx, key); err != nil {
		return fail(key, storageErr("exists", err))
	} else if taken {
		ext := path.Ext(name)
		key = path.Join(dir, strings.TrimSuffix(name, ext)+"_"+randomSuffix()+ext)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := p.bucket.NewWriter(wctx, key, &blob.WriterOptions{ContentType: contentType(format), IfNotExist: true})
	if err != nil {
		return fail(key, storageErr("write", err))
	}
	if _, err := io.Copy(w, body); err != nil {
		// Cancelling the context before Close makes every driver abandon
		// the write, so a failed upload leaves nothing behind.
		cancel()
		w.Close()
		if errors.Is(err, ErrTooLarge) {
			return fail(key, err)
		}
		return fail(key, storageErr("read upload", err))
	}
	if err := w.Close(); err != nil {
		return fail(key, storageErr("write", err))
	}
	img := ImageField{Key: key}
	if err := setImage(ctx, f, reflectValueOf(model), key); err != nil {
		return fail(key, err)
	}
	return img, nil
}

// cleanName makes a safe base name from an uploaded file name: no path, no
// control or reserved characters, and the extension of the real format.
func cleanName(filename string, f Format) string {
	base := path.Base(strings.ReplaceAll(filename, "\\", "/"))
	base = strings.TrimSuffix(base, path.Ext(base))
	var sb strings.Builder
	for _, r := range base {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			sb.WriteRune(r)
		case r == ' ' || r == '.':
			sb.WriteRune('_')
		case r > 127 && utf8.ValidRune(r):
			sb.WriteRune(r)
		}
	}
	name := strings.Trim(sb.String(), "_")
	if name == "" {
		name = "image"
	}
	if r := []rune(name); len(r) > 100 {
		name = string(r[:100])
	}
	return name + "." + extension(f)
}

func randomSuffix() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [7]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}
