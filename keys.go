package gormthumb

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gocloud.dev/blob"
)

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

// thumbDigest identifies what a thumbnail is made from: the table, the
// thumbnail field, the source's key and version ("" for immutable sources)
// and Spec.Key of the thumbnail's spec. It leaves out the row, so a
// Create can name its thumbnails before the INSERT gives the row its
// primary key; the random part of every key keeps rows that share a source
// from sharing a thumbnail.
func thumbDigest(table, field, srcKey, srcVersion, specKey string) string {
	sum := digestSum([...]string{"v2", table, field, srcKey, srcVersion, specKey, ""})
	return hex.EncodeToString(sum[:digestLen/2])
}

// thumbDigestV1 is the digest of keys written before v2: it includes the
// row's primary key. Such keys stay valid (thumbUpToDate accepts both).
func thumbDigestV1(table, pk, field, srcKey, srcVersion, specKey string) string {
	sum := digestSum([...]string{"v1", table, pk, field, srcKey, srcVersion, specKey})
	return hex.EncodeToString(sum[:digestLen/2])
}

// digestMatches reports whether the thumbnail key carries the digest
// thumbDigest returns for the other arguments (without allocating: it runs
// on every Save).
func digestMatches(key, table, field, srcKey, srcVersion, specKey string) bool {
	return keyDigestIs(key, digestSum([...]string{"v2", table, field, srcKey, srcVersion, specKey, ""}))
}

// digestMatchesV1 is digestMatches for thumbDigestV1.
func digestMatchesV1(key, table, pk, field, srcKey, srcVersion, specKey string) bool {
	return keyDigestIs(key, digestSum([...]string{"v1", table, pk, field, srcKey, srcVersion, specKey}))
}

func keyDigestIs(key string, sum [sha256.Size]byte) bool {
	_, _, got, ok := parseThumbName(key)
	if !ok {
		return false
	}
	var want [digestLen]byte
	hex.Encode(want[:], sum[:digestLen/2])
	return got == string(want[:])
}

// digestSum hashes the parts, each followed by a NUL (an empty last part
// is left out: v2 has one part fewer than v1).
func digestSum(parts [7]string) [sha256.Size]byte {
	var stack [256]byte
	buf := stack[:0]
	for i, part := range parts {
		if i == len(parts)-1 && part == "" && parts[0] == "v2" {
			break
		}
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
	return fmt.Sprintf("%s/%s.%dx%d.%s%x.%s", dir, base, w, h, digest, nonce, f.Extension())
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
	return name + "." + f.Extension()
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

// checkPrefix validates an upload prefix: a relative key prefix, with
// strftime-like date parts (%Y %m %d %H %M %S) allowed.
func checkPrefix(p string) error {
	if p == "" {
		return fmt.Errorf("empty")
	}
	expanded := expandPrefix(p, time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC))
	if strings.Contains(expanded, "%") {
		return fmt.Errorf("unknown %% directive (use %%Y %%m %%d %%H %%M %%S)")
	}
	return checkKey(path.Join(expanded, "x"))
}

// expandPrefix replaces date directives like Django's upload_to.
func expandPrefix(p string, t time.Time) string {
	return strings.NewReplacer(
		"%Y", fmt.Sprintf("%04d", t.Year()),
		"%m", fmt.Sprintf("%02d", int(t.Month())),
		"%d", fmt.Sprintf("%02d", t.Day()),
		"%H", fmt.Sprintf("%02d", t.Hour()),
		"%M", fmt.Sprintf("%02d", t.Minute()),
		"%S", fmt.Sprintf("%02d", t.Second()),
	).Replace(strings.Trim(p, "/"))
}
