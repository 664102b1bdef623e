package gormthumb

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"
)

// KeyVerifier checks a signed URL and returns the key it grants, as
// fileblob's *URLSignerHMAC does.
type KeyVerifier interface {
	KeyFromURL(ctx context.Context, u *url.URL) (string, error)
}

// ServeBlobs returns an http.Handler that serves the bucket's blobs for GET
// and HEAD, with their ETag, and with single-range and conditional requests
// handled by http.ServeContent.
//
// With verify nil, the key is the request path: mount it under the path of
// URLOptions.BaseURL with http.StripPrefix. Every blob of the bucket is
// then public, originals included, and is sent with its stored
// Cache-Control.
//
// With a verifier (a fileblob *URLSignerHMAC), only URLs the bucket signed
// are served: the key comes from the URL, and a bad signature or an
// expired URL gets 403. Such responses are never left to shared caches:
// they carry "Cache-Control: private, max-age=N", N being the seconds the
// signature has left (read from the expiry parameter of a *URLSignerHMAC
// URL), or "private, no-store" when a verifier of another type leaves the
// lifetime unknown.
//
// What a hostile client can get is bounded:
//   - A request with more than one range is answered with the whole blob
//     (a plain 200, as RFC 9110 allows), so that a list of thousands of
//     ranges costs one bucket read, not one per range.
//   - Only the image types the plugin writes or reads (JPEG, PNG, GIF,
//     WebP, TIFF, BMP, AVIF, HEIC/HEIF) are sent with their stored type to
//     show inline. Any other blob (HTML, SVG, text, ...) is sent as
//     application/octet-stream with "Content-Disposition: attachment", so
//     that it can be neither shown nor loaded as a script or style sheet.
//   - Every response carries "X-Content-Type-Options: nosniff" and
//     "Content-Security-Policy: default-src 'none'; sandbox", so that no
//     blob runs script on the site's origin.
func ServeBlobs(bucket *blob.Bucket, verify KeyVerifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", blobCSP)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		key := strings.TrimPrefix(r.URL.Path, "/")
		cacheControl := "" // the stored one
		if verify != nil {
			k, err := verify.KeyFromURL(r.Context(), r.URL)
			if m := r.URL.Query().Get("method"); err == nil && m != "" && m != http.MethodGet {
				err = fmt.Errorf("URL signed for %s, not GET", m)
			}
			if err != nil {
				http.Error(w, "forbidden: bad or expired signature", http.StatusForbidden)
				return
			}
			key = k
			cacheControl = signedCacheControl(verify, r.URL, time.Now())
		}
		if checkKey(key) != nil {
			http.NotFound(w, r)
			return
		}
		rd, err := bucket.NewReader(r.Context(), key, nil)
		if err != nil {
			if gcerrors.Code(err) == gcerrors.NotFound {
				http.NotFound(w, r)
				return
			}
			http.Error(w, "storage error", http.StatusBadGateway)
			return
		}
		defer rd.Close()
		if ct := rd.ContentType(); isInlineImage(ct) {
			h.Set("Content-Type", ct)
		} else {
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Content-Disposition", attachment(key))
		}
		if attrs, err := bucket.Attributes(r.Context(), key); err == nil {
			if cacheControl == "" {
				cacheControl = attrs.CacheControl
			}
			if etag := attrs.ETag; etag != "" {
				if !strings.HasPrefix(etag, `"`) && !strings.HasPrefix(etag, `W/"`) {
					etag = `"` + etag + `"`
				}
				h.Set("ETag", etag)
			}
		}
		if cacheControl != "" {
			h.Set("Cache-Control", cacheControl)
		}
		if strings.Contains(r.Header.Get("Range"), ",") {
			// More than one range: serve the whole blob. Each range of a
			// multipart answer would be a Seek and a new bucket read.
			r = r.Clone(r.Context())
			r.Header.Del("Range")
		}
		http.ServeContent(w, r, "", rd.ModTime(), rd)
	})
}

// blobCSP is the Content-Security-Policy of every response of ServeBlobs:
// a blob opened as a page (an SVG or HTML file) loads nothing and runs no
// script, in a sandbox with an origin of its own.
const blobCSP = "default-src 'none'; sandbox"

// inlineImages are the media types ServeBlobs sends for display: the
// formats the plugin writes thumbnails in or reads originals from. SVG is
// not one: it can carry script.
var inlineImages = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
	"image/tiff": true, "image/bmp": true, "image/avif": true, "image/heic": true,
	"image/heif": true,
}

// isInlineImage reports whether a stored content type is one of
// inlineImages (parameters and case aside).
func isInlineImage(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && inlineImages[mt]
}

// attachment is the Content-Disposition of a blob sent for download, named
// after the last segment of its key.
func attachment(key string) string {
	if cd := mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(key)}); cd != "" {
		return cd
	}
	return "attachment"
}

// maxSignedAge bounds the max-age of a response to a signed URL.
const maxSignedAge = 365 * 24 * time.Hour

// signedCacheControl is the Cache-Control of a response to a signed URL:
// private (for the browser only, never a shared cache), for at most the
// time the signature has left. A fileblob *URLSignerHMAC puts the expiry in
// the URL's "expiry" parameter, in Unix seconds, under the signature (and
// accepts the URL until that second has passed); with any other verifier
// the lifetime is unknown, and nothing may store the response.
func signedCacheControl(verify KeyVerifier, u *url.URL, now time.Time) string {
	if _, ok := verify.(*fileblob.URLSignerHMAC); ok {
		if exp, err := strconv.ParseInt(u.Query().Get("expiry"), 10, 64); err == nil {
			left := time.Unix(exp, 0).Sub(now)
			left = min(max(left, 0), maxSignedAge)
			return "private, max-age=" + strconv.FormatInt(int64(left/time.Second), 10)
		}
	}
	return "private, no-store"
}
