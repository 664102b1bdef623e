package gormthumb

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// KeyVerifier checks a signed URL and returns the key it grants, as
// fileblob's *URLSignerHMAC does.
type KeyVerifier interface {
	KeyFromURL(ctx context.Context, u *url.URL) (string, error)
}

// ServeBlobs returns an http.Handler that serves the bucket's blobs for GET
// and HEAD, with their content type, cache control and ETag, and with
// single-range and conditional requests handled by http.ServeContent. A
// request with more than one range is answered with the whole blob (a
// plain 200, as RFC 9110 allows), so that a list of thousands of ranges
// costs one bucket read, not one per range.
//
// With verify nil, the key is the request path: mount it under the path of
// URLOptions.BaseURL with http.StripPrefix. Every blob of the bucket is
// then public, originals included.
//
// With a verifier (a fileblob *URLSignerHMAC), only URLs the bucket signed
// are served: the key comes from the URL, and a bad signature or an
// expired URL gets 403.
func ServeBlobs(bucket *blob.Bucket, verify KeyVerifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		key := strings.TrimPrefix(r.URL.Path, "/")
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
		h := w.Header()
		h.Set("Content-Type", rd.ContentType())
		h.Set("X-Content-Type-Options", "nosniff")
		if attrs, err := bucket.Attributes(r.Context(), key); err == nil {
			if attrs.CacheControl != "" {
				h.Set("Cache-Control", attrs.CacheControl)
			}
			if etag := attrs.ETag; etag != "" {
				if !strings.HasPrefix(etag, `"`) && !strings.HasPrefix(etag, `W/"`) {
					etag = `"` + etag + `"`
				}
				h.Set("ETag", etag)
			}
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
