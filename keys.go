package gormthumb

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
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
// made from (the table, the field, the source key, the source's MD5 or
// ETag, and the spec; not the row, so a Create can name its thumbnails
// before the INSERT gives the row its key) followed by 6 random digits:
//
//   - the digest changes whenever the source bytes or the size change, so a
//     CDN may cache a key forever, and a save whose digest matches the
//     stored key's is skipped without reading the source;
//   - the random part makes every written key new, so rows sharing a
//     source never share a thumbnail (deleting one row's never touches
//     another's), and a key deleted after one transaction commits can never
//     be one that a concurrent transaction has just written again
//     (reverting a row to an earlier source makes a new key, not the old
//     one).
//
// Keys written before digest v2 also digested the row's primary key; they
// stay valid (digestMatchesV1).

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

// The naming contract. What the plugin writes (setKey, writeBlob's
// metadata) and what Sweep recognises as the plugin's (isThumbLocation,
// isPluginBlob) are defined here, side by side: Sweep deletes whatever it
// recognises that no row references, so the two must be exact inverses
// (TestKeyNamingContract).
const (
	// thumbFolder is the folder, beside the source, of the thumbnails of a
	// field with no `upload` prefix of its own.
	thumbFolder = "thumbnails"
	// sourceMetaKey is the blob metadata that names the source a
	// thumbnail was made from: only blobs carrying it are the plugin's.
	sourceMetaKey = "gormthumb-source"
)

// thumbDir is the folder of the thumbnails of srcKey: the thumbnail
// field's expanded upload prefix, or thumbFolder beside the source.
func thumbDir(srcKey, prefix string) string {
	if prefix != "" {
		return prefix
	}
	dir := path.Join(path.Dir(srcKey), thumbFolder)
	if dir == thumbFolder || strings.HasPrefix(dir, ".") {
		return thumbFolder
	}
	return dir
}

// thumbMetadata is the metadata of a thumbnail made from srcKey.
func thumbMetadata(srcKey string) map[string]string {
	return map[string]string{sourceMetaKey: srcKey}
}

// isPluginBlob reports whether a blob's metadata marks it as a
// thumbnail the plugin wrote.
func isPluginBlob(metadata map[string]string) bool { return metadata[sourceMetaKey] != "" }

// setKey builds a new, never-used key for a thumbnail, or for a set of
// them (a srcset: several widths of one source), in thumbDir: its size
// part lists every member's size, "base.320x213,640x427.<token>.jpg", and
// each member's blob is the key with that member's size alone
// (memberKeys).
func setKey(srcKey, prefix string, sizes [][2]int, digest string, f Format) string {
	dir := thumbDir(srcKey, prefix)
	base := path.Base(srcKey)
	base = strings.TrimSuffix(base, path.Ext(base))
	var nonce [nonceLen / 2]byte
	rand.Read(nonce[:])
	var sz strings.Builder
	for i, s := range sizes {
		if i > 0 {
			sz.WriteByte(',')
		}
		fmt.Fprintf(&sz, "%dx%d", s[0], s[1])
	}
	return fmt.Sprintf("%s/%s.%s.%s%x.%s", dir, base, sz.String(), digest, nonce, f.Extension())
}

// prefixPattern recognises the folders an upload prefix expands to
// (expandPrefix): its literal parts as they are, each date part as its
// digits.
type prefixPattern struct{ re *regexp.Regexp }

// dateParts are the directives of an upload prefix and what they expand
// to.
var dateParts = strings.NewReplacer(
	`%Y`, `[0-9]{4}`, `%m`, `[0-9]{2}`, `%d`, `[0-9]{2}`,
	`%H`, `[0-9]{2}`, `%M`, `[0-9]{2}`, `%S`, `[0-9]{2}`,
)

// newPrefixPattern compiles prefix, one checkPrefix accepts.
func newPrefixPattern(prefix string) prefixPattern {
	quoted := regexp.QuoteMeta(strings.Trim(prefix, "/"))
	// QuoteMeta leaves % alone: the directives survive quoting.
	return prefixPattern{regexp.MustCompile(`^` + dateParts.Replace(quoted) + `$`)}
}

// holds reports whether dir is a folder prefix expands to.
func (pp prefixPattern) holds(dir string) bool { return pp.re.MatchString(dir) }

// isThumbLocation reports whether key is named and placed like a
// thumbnail the plugin writes (setKey): a thumbnail's name, in a
// "thumbnails" folder or in a folder one of the thumb fields' upload
// prefixes expands to.
func isThumbLocation(key string, prefixes []prefixPattern) bool {
	if _, _, _, ok := parseThumbName(key); !ok {
		return false
	}
	dir := path.Dir(key)
	if dir == thumbFolder || strings.HasSuffix(dir, "/"+thumbFolder) {
		return true
	}
	for _, p := range prefixes {
		if p.holds(dir) {
			return true
		}
	}
	return false
}

// splitThumbName splits a thumbnail key into what precedes its size part,
// the size part ("110x83", or "320x213,640x427" for a set), and what
// follows it (".<token>.<ext>"); ok is false for keys the plugin did not
// make. It does not allocate.
func splitThumbName(key string) (head, sizes, tail, token string, ok bool) {
	// base.SIZES.token.ext: the last three dot-separated parts of the name.
	nameStart := strings.LastIndexByte(key, '/') + 1
	name := key[nameStart:]
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return "", "", "", "", false
	}
	rest := name[:dot]
	dot2 := strings.LastIndexByte(rest, '.')
	if dot2 < 0 {
		return "", "", "", "", false
	}
	token = rest[dot2+1:]
	rest = rest[:dot2]
	dot3 := strings.LastIndexByte(rest, '.')
	if dot3 < 0 || len(token) != digestLen+nonceLen || !isHex(token) {
		return "", "", "", "", false
	}
	return key[:nameStart+dot3+1], rest[dot3+1:], name[dot2:], token, true
}

// parseSize reads "WxH".
func parseSize(s string) (w, h int, ok bool) {
	ws, hs, found := strings.Cut(s, "x")
	if !found {
		return 0, 0, false
	}
	w, errW := strconv.Atoi(ws)
	h, errH := strconv.Atoi(hs)
	return w, h, errW == nil && errH == nil && w > 0 && h > 0
}

// parseThumbName reads the size and digest back from a thumbnail key (the
// largest member's size for a set). It does not allocate: it runs on every
// Save.
func parseThumbName(key string) (w, h int, digest string, ok bool) {
	_, sizes, _, token, ok := splitThumbName(key)
	if !ok {
		return 0, 0, "", false
	}
	for sizes != "" {
		one, more, _ := strings.Cut(sizes, ",")
		mw, mh, ok := parseSize(one)
		if !ok {
			return 0, 0, "", false
		}
		if mw > w {
			w, h = mw, mh
		}
		sizes = more
	}
	if w == 0 {
		return 0, 0, "", false
	}
	return w, h, token[:digestLen], true
}

// thumbSizes lists the sizes of a thumbnail key's members (one for a
// plain thumbnail), smallest first; nil for keys the plugin did not make.
func thumbSizes(key string) [][2]int {
	_, sizes, _, _, ok := splitThumbName(key)
	if !ok {
		return nil
	}
	var out [][2]int
	for _, one := range strings.Split(sizes, ",") {
		w, h, ok := parseSize(one)
		if !ok {
			return nil
		}
		out = append(out, [2]int{w, h})
	}
	return out
}

// memberKeys returns the blob keys behind a column's key: the key itself,
// or, for a set, one key per member.
func memberKeys(key string) []string {
	head, sizes, tail, _, ok := splitThumbName(key)
	if !ok || !strings.Contains(sizes, ",") {
		return []string{key}
	}
	var out []string
	for _, one := range strings.Split(sizes, ",") {
		out = append(out, head+one+tail)
	}
	return out
}

// memberKey is the blob key of the w×h member of a set key.
func memberKey(key string, w, h int) string {
	head, _, tail, _, _ := splitThumbName(key)
	return head + strconv.Itoa(w) + "x" + strconv.Itoa(h) + tail
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

// maxBaseBytes caps the human-readable part of an upload's key, so the
// whole name (with its random part and extension) stays far below the
// 255-byte file-name limit of local file systems, whatever the script.
const maxBaseBytes = 100

// uploadName is the file name of a new upload: the cleaned base name of
// filename, a random part and the extension of the real format, e.g.
// "cat_k3j9x2a8qm.jpg". The random part (50 bits) makes every upload's key
// new by construction, so two uploads of "cat.png" can never meet on one
// key, whatever a driver's IfNotExist does; it also keeps the name clear
// of reserved names such as CON or NUL on Windows file systems.
//
// The name also carries the picture's size as shown (after EXIF
// orientation), "cat_k3j9x2a8qm.1200x800.jpg", so ImageField.Size works
// for originals with no blob read.
func uploadName(filename string, f Format, w, h int) string {
	return fmt.Sprintf("%s_%s.%dx%d.%s", cleanName(filename), randomSuffix(), w, h, f.Extension())
}

// parseUploadName reads the size back from an original's key written by
// Upload: "base_<10 random>.WxH.ext". Keys written before sizes were
// recorded, and keys the plugin did not make, give ok false.
func parseUploadName(key string) (w, h int, ok bool) {
	name := key[strings.LastIndexByte(key, '/')+1:]
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return 0, 0, false
	}
	name = name[:dot]
	dot = strings.LastIndexByte(name, '.')
	if dot < 0 {
		return 0, 0, false
	}
	base, size := name[:dot], name[dot+1:]
	if u := strings.LastIndexByte(base, '_'); u < 0 || len(base)-u-1 != 10 {
		return 0, 0, false
	}
	return parseSize(size)
}

// cleanName makes a safe base name from an uploaded file name: no folder,
// no extension, only letters, digits, combining marks, symbols (emoji), "-"
// and "_"; spaces, dots and punctuation become "_", and control, format
// (bidi overrides, zero-width), private-use and unassigned characters are
// dropped. At most maxBaseBytes bytes, cut on a character boundary.
func cleanName(filename string) string {
	base := path.Base(strings.ReplaceAll(filename, "\\", "/"))
	base = strings.TrimSuffix(base, path.Ext(base))
	var sb strings.Builder
	for _, r := range base {
		switch {
		case r == '-' || r == '_':
			sb.WriteRune(r)
		case r == utf8.RuneError || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) ||
			!unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z):
			// invalid UTF-8, control, format, private use, surrogate, unassigned: dropped
		case unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.So):
			if sb.Len()+utf8.RuneLen(r) > maxBaseBytes {
				return finishName(sb.String())
			}
			sb.WriteRune(r)
		default: // spaces, dots, punctuation, other symbols
			if s := sb.String(); s != "" && !strings.HasSuffix(s, "_") && sb.Len() < maxBaseBytes {
				sb.WriteByte('_')
			}
		}
	}
	return finishName(sb.String())
}

func finishName(s string) string {
	if s = strings.Trim(s, "_"); s == "" {
		return "image"
	}
	return s
}

// randomSuffix is 10 random characters of [a-z0-9] (about 50 bits).
func randomSuffix() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [10]byte
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
