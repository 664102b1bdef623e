package gormthumb

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
)

// Tests of ServeBlobs as a hostile client sees it: real HTTP requests to an
// httptest server in front of real buckets, each wrapped in a countingBucket
// to see what a request costs.

// serveBackend is a bucket ServeBlobs serves: public (verify nil, mounted
// under /media/) or signed (a fileblob URL signer, mounted at /media).
type serveBackend struct {
	name string
	open func(t *testing.T) (*blob.Bucket, KeyVerifier)
}

var serveBackends = []serveBackend{
	{"mem", func(t *testing.T) (*blob.Bucket, KeyVerifier) { return memblob.OpenBucket(nil), nil }},
	{"file-signed", func(t *testing.T) (*blob.Bucket, KeyVerifier) { return signedFileBucket(t) }},
	{"s3", func(t *testing.T) (*blob.Bucket, KeyVerifier) { return openS3Bucket(t), nil }},
}

// signedFileBucket opens a fileblob bucket whose signed URLs point at
// /media, and returns the signer that verifies them.
func signedFileBucket(t *testing.T) (*blob.Bucket, KeyVerifier) {
	t.Helper()
	secret := []byte("a secret of the application")
	keyPath := filepath.Join(t.TempDir(), "url.key")
	if err := os.WriteFile(keyPath, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	bucket, err := OpenBucket(context.Background(), "file://"+filepath.ToSlash(t.TempDir())+"?no_tmp_dir=1&base_url=/media&secret_key_path="+url.QueryEscape(keyPath))
	if err != nil {
		t.Fatal(err)
	}
	return bucket, fileblob.NewURLSignerHMAC(&url.URL{Path: "/media"}, secret)
}

// servedEnv is a product with a thumbnail in a bucket that an httptest
// server serves through ServeBlobs over a counting wrapper of the bucket.
type servedEnv struct {
	*env
	p      Product
	reads  *countingBucket
	srv    *httptest.Server
	signed bool
}

func newServedEnv(t *testing.T, b serveBackend) *servedEnv {
	t.Helper()
	bucket, verify := b.open(t)
	e, p := urlEnv(t, bucket)
	counted, c := newCountingBucket(bucket)
	mux := http.NewServeMux()
	if verify != nil {
		mux.Handle("/media", ServeBlobs(counted, verify))
	} else {
		mux.Handle("/media/", http.StripPrefix("/media/", ServeBlobs(counted, nil)))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &servedEnv{env: e, p: p, reads: c, srv: srv, signed: verify != nil}
}

// url returns the URL of key on the server: signed by the bucket for
// expiry, or public.
func (s *servedEnv) url(key string, expiry time.Duration) string {
	s.t.Helper()
	if !s.signed {
		return s.srv.URL + "/media/" + escapeKey(key)
	}
	u, err := s.bucket.SignedURL(s.ctx, key, &blob.SignedURLOptions{Expiry: expiry})
	if err != nil {
		s.t.Fatal(err)
	}
	return s.srv.URL + u
}

// get sends a GET with the given header lines and returns the response with
// its body read.
func get(t *testing.T, u string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// A request with 10,000 ranges gets the whole blob once, as a plain 200,
// for one bucket read; a single range still gets its bytes as a 206.
func TestServeManyRanges(t *testing.T) {
	for _, b := range serveBackends {
		t.Run(b.name, func(t *testing.T) {
			s := newServedEnv(t, b)
			want, err := s.bucket.ReadAll(s.ctx, s.p.Cover.Key)
			if err != nil {
				t.Fatal(err)
			}
			// Over 10,000 bytes, so that net/http would honour 10,000
			// one-byte ranges (it ignores ranges adding up to more than
			// the blob).
			if len(want) <= 10_000 {
				t.Fatalf("the original is only %d bytes", len(want))
			}
			u := s.url(s.p.Cover.Key, time.Hour)
			s.reads.counts()

			ranges := "bytes=" + strings.Repeat("0-0,", 9_999) + "0-0"
			resp, body := get(t, u, "Range", ranges)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) ||
				resp.Header.Get("Content-Length") != strconv.Itoa(len(want)) || resp.Header.Get("Content-Range") != "" {
				t.Fatalf("10,000 ranges: %s, %d bytes (blob %d), Content-Length %q, Content-Type %q",
					resp.Status, len(body), len(want), resp.Header.Get("Content-Length"), resp.Header.Get("Content-Type"))
			}
			if n := s.reads.counts()["read"]; n > 2 {
				t.Fatalf("10,000 ranges made %d bucket reads", n)
			}

			// Two ranges: served whole as well.
			resp, body = get(t, u, "Range", "bytes=0-9,20-29")
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
				t.Fatalf("two ranges: %s, %d bytes", resp.Status, len(body))
			}

			// One range: 206 with exactly those bytes.
			s.reads.counts()
			resp, body = get(t, u, "Range", "bytes=100-199")
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, want[100:200]) ||
				resp.Header.Get("Content-Range") != "bytes 100-199/"+strconv.Itoa(len(want)) {
				t.Fatalf("one range: %s, %d bytes, Content-Range %q", resp.Status, len(body), resp.Header.Get("Content-Range"))
			}
			if n := s.reads.counts()["read"]; n > 2 {
				t.Fatalf("one range made %d bucket reads", n)
			}
			// A suffix range too.
			resp, body = get(t, u, "Range", "bytes=-10")
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, want[len(want)-10:]) {
				t.Fatalf("suffix range: %s, %d bytes", resp.Status, len(body))
			}
		})
	}
}

var signedCacheRE = regexp.MustCompile(`^private, max-age=(\d+)$`)

// A response to a signed URL may be kept only by the browser, and no longer
// than the signature is valid; a public response keeps the stored
// Cache-Control.
func TestServeCacheControl(t *testing.T) {
	for _, b := range serveBackends {
		t.Run(b.name, func(t *testing.T) {
			s := newServedEnv(t, b)
			for _, expiry := range []time.Duration{10 * time.Minute, 3 * time.Second} {
				u := s.url(s.p.CoverThumb.Key, expiry)
				resp, _ := get(t, u)
				cc := resp.Header.Get("Cache-Control")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %s", u, resp.Status)
				}
				if !s.signed {
					// gofakes3 does not keep Cache-Control: there the
					// stored one is "".
					attrs, err := s.bucket.Attributes(s.ctx, s.p.CoverThumb.Key)
					if err != nil {
						t.Fatal(err)
					}
					if cc != attrs.CacheControl || (b.name != "s3" && cc != "public, max-age=31536000, immutable") {
						t.Fatalf("public response: Cache-Control %q, want the stored %q", cc, attrs.CacheControl)
					}
					continue
				}
				m := signedCacheRE.FindStringSubmatch(cc)
				if m == nil {
					t.Fatalf("signed response: Cache-Control %q, want private with a max-age", cc)
				}
				age, _ := strconv.Atoi(m[1])
				if age < 0 || time.Duration(age)*time.Second > expiry || time.Duration(age)*time.Second < expiry-time.Minute {
					t.Fatalf("signed for %v: Cache-Control %q", expiry, cc)
				}
				// A conditional request that gets 304 says the same.
				resp, _ = get(t, u, "If-None-Match", resp.Header.Get("ETag"))
				if cc := resp.Header.Get("Cache-Control"); resp.StatusCode != http.StatusNotModified || !signedCacheRE.MatchString(cc) {
					t.Fatalf("304 to a signed URL: %s, Cache-Control %q", resp.Status, cc)
				}
			}
		})
	}
	t.Run("unknown-expiry", func(t *testing.T) {
		// A verifier that ServeBlobs does not know: the signature's
		// lifetime cannot be read from the URL, so nothing may store it.
		bucket, verify := signedFileBucket(t)
		s := newServedEnv(t, serveBackend{"wrapped", func(*testing.T) (*blob.Bucket, KeyVerifier) {
			return bucket, wrappedVerifier{verify}
		}})
		resp, _ := get(t, s.url(s.p.CoverThumb.Key, time.Hour))
		if cc := resp.Header.Get("Cache-Control"); resp.StatusCode != http.StatusOK || cc != "private, no-store" {
			t.Fatalf("unknown expiry: %s, Cache-Control %q", resp.Status, cc)
		}
	})
}

// wrappedVerifier is a KeyVerifier of the application's own.
type wrappedVerifier struct{ KeyVerifier }

// Only images are shown inline; anything else is an attachment, and no blob
// may run script on the site's origin.
func TestServeContentTypes(t *testing.T) {
	const csp = "default-src 'none'; sandbox"
	for _, b := range serveBackends {
		t.Run(b.name, func(t *testing.T) {
			s := newServedEnv(t, b)
			script := []byte(`<html><body><script>alert(document.cookie)</script></body></html>`)
			svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>`)
			for _, c := range []struct {
				key, contentType string
				data             []byte
			}{
				{"images/page.html", "text/html", script},
				{"images/page2.jpg", "text/html; charset=utf-8", script},
				{"images/drawing.svg", "image/svg+xml", svg},
				{"images/drawing2.png", "image/svg+xml; charset=utf-8", svg},
				{"images/data.bin", "application/octet-stream", script},
				{"images/notes.txt", "text/plain", script},
				{"images/app.js", "text/javascript", []byte(`alert(document.cookie)`)},
				{"images/nothing", "", script},
			} {
				if err := s.bucket.WriteAll(s.ctx, c.key, c.data, &blob.WriterOptions{ContentType: c.contentType}); err != nil {
					t.Fatal(err)
				}
				resp, body := get(t, s.url(c.key, time.Hour))
				h := resp.Header
				if resp.StatusCode != http.StatusOK || !bytes.Equal(body, c.data) {
					t.Fatalf("%s: %s, %d bytes", c.key, resp.Status, len(body))
				}
				// Sent as bytes to download: neither a page nor a script
				// or style sheet of the site.
				if cd := h.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || h.Get("Content-Type") != "application/octet-stream" ||
					h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != csp {
					t.Fatalf("%s stored as %s: served with Content-Type %q, Content-Disposition %q, X-Content-Type-Options %q, Content-Security-Policy %q",
						c.key, c.contentType, h.Get("Content-Type"), cd, h.Get("X-Content-Type-Options"), h.Get("Content-Security-Policy"))
				}
			}
			// The plugin's thumbnail, and the original, are shown inline.
			for _, key := range []string{s.p.CoverThumb.Key, s.p.Cover.Key} {
				resp, _ := get(t, s.url(key, time.Hour))
				h := resp.Header
				if cd := h.Get("Content-Disposition"); resp.StatusCode != http.StatusOK || h.Get("Content-Type") != "image/jpeg" ||
					(cd != "" && cd != "inline") || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != csp {
					t.Fatalf("%s: %s, headers %v", key, resp.Status, h)
				}
			}
		})
	}
}

// The max-age of a signed response is the signature's remaining lifetime,
// read from fileblob's expiry parameter; anything else is not stored.
func TestServeSignedCacheControlRule(t *testing.T) {
	hmac := fileblob.NewURLSignerHMAC(&url.URL{Path: "/media"}, []byte("k"))
	now := time.Unix(1_800_000_000, 300_000_000)
	for _, c := range []struct {
		verify KeyVerifier
		query  string
		want   string
	}{
		{hmac, "expiry=1800000600", "private, max-age=599"},       // 599.7s left
		{hmac, "expiry=1800000001", "private, max-age=0"},         // 0.7s left
		{hmac, "expiry=1800000000", "private, max-age=0"},         // the last accepted second
		{hmac, "expiry=1700000000", "private, max-age=0"},         // past (the verifier refuses it)
		{hmac, "expiry=99999999999", "private, max-age=31536000"}, // capped at a year
		{hmac, "expiry=soon", "private, no-store"},
		{hmac, "", "private, no-store"},
		{wrappedVerifier{hmac}, "expiry=1800000600", "private, no-store"}, // an unknown verifier
	} {
		if got := signedCacheControl(c.verify, &url.URL{Path: "/media", RawQuery: c.query}, now); got != c.want {
			t.Errorf("%T %q: %q, want %q", c.verify, c.query, got, c.want)
		}
	}
}
