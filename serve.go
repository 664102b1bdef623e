package gormthumb

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
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
// and HEAD, with their content type and ETag, and with single-range and
// conditional requests handled by http.ServeContent.
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
// A request with more than one range is answered with the whole blob (a
// plain 200, as RFC 9110 allows), so that a list of thousands of ranges
// costs one bucket read, not one per range.
func ServeBlobs(bucket *blob.Bucket, verify KeyVerifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
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
		h.Set("Content-Type", rd.ContentType())
		h.Set("X-Content-Type-Options", "nosniff")
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
