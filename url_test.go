package gormthumb

import (
	"bytes"
	"html/template"
	"image"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"
)

// urlEnv makes one Product with a real thumbnail in bucket (sqlite).
func urlEnv(t *testing.T, bucket *blob.Bucket) (*env, Product) {
	t.Helper()
	e := newEnv(t, dbBackends[0], bucketBackend{"given", func(*testing.T) *blob.Bucket { return bucket }}, envConfig{})
	e.migrate(&Product{})
	p := Product{Name: "lamp", Cover: e.put("images/my lamp.jpg", jpegBytes(t, 400, 300))}
	e.mustCreate(&p)
	return e, p
}

// fetchImage GETs u and decodes the body, failing on anything but 200.
func fetchImage(t *testing.T, client *http.Client, u string) (image.Image, http.Header) {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", u, resp.Status, body)
	}
	img, _, err := image.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("GET %s: body does not decode: %v", u, err)
	}
	return img, resp.Header
}

func status(t *testing.T, method, u string) int {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// S3 presigns: the URL works against the (fake) S3 server itself, and the
// <img> size from the key matches the pixels served.
func TestURLSignedS3(t *testing.T) {
	e, p := urlEnv(t, openS3Bucket(t))
	ref, err := e.plugin.URLs(URLOptions{}).Ref(e.ctx, p.CoverThumb)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ref.URL, fakeS3.url+"/") || !strings.Contains(ref.URL, "X-Amz-Signature=") || !strings.Contains(ref.URL, "X-Amz-Expires=3600") {
		t.Fatalf("not a presigned one-hour S3 URL: %s", ref.URL)
	}
	img, _ := fetchImage(t, http.DefaultClient, ref.URL)
	if ref.Width != 110 || ref.Height != 83 || img.Bounds().Dx() != ref.Width || img.Bounds().Dy() != ref.Height {
		t.Fatalf("ref %dx%d, served image %v", ref.Width, ref.Height, img.Bounds())
	}
}

// fileblob with a URL signer: the bucket signs, ServeBlobs verifies.
func TestURLSignedFileblob(t *testing.T) {
	bucket, signer := signedFileBucket(t) // serve_test.go
	e, p := urlEnv(t, bucket)
	mux := http.NewServeMux()
	mux.Handle("/media", ServeBlobs(bucket, signer))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	u, err := e.plugin.URLs(URLOptions{}).URL(e.ctx, p.CoverThumb)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, "/media?") || !strings.Contains(u, "signature=") {
		t.Fatalf("fileblob signed URL %q", u)
	}
	img, h := fetchImage(t, http.DefaultClient, srv.URL+u)
	if img.Bounds().Dx() != 110 || img.Bounds().Dy() != 83 || h.Get("Content-Type") != "image/jpeg" ||
		!strings.HasPrefix(h.Get("Cache-Control"), "private, max-age=") {
		t.Fatalf("served %v with headers %v", img.Bounds(), h)
	}
	// Asking for another key with the same signature is refused.
	forged := strings.Replace(u, url.QueryEscape(p.CoverThumb.Key), url.QueryEscape(p.Cover.Key), 1)
	if forged == u {
		t.Fatal("test did not forge the URL")
	}
	if got := status(t, "GET", srv.URL+forged); got != http.StatusForbidden {
		t.Fatalf("forged URL: status %d, want 403", got)
	}
	// A URL the bucket signed for an upload does not grant reading.
	put, err := bucket.SignedURL(e.ctx, p.CoverThumb.Key, &blob.SignedURLOptions{Method: http.MethodPut})
	if err != nil {
		t.Fatal(err)
	}
	if got := status(t, "GET", srv.URL+put); got != http.StatusForbidden {
		t.Fatalf("PUT-signed URL used for GET: status %d, want 403", got)
	}
}

// A bucket that cannot sign says so; a public base URL works with any
// bucket, and ServeBlobs serves it.
func TestURLPublicBase(t *testing.T) {
	e, p := urlEnv(t, memblob.OpenBucket(nil))
	_, err := e.plugin.URLs(URLOptions{}).URL(e.ctx, p.CoverThumb)
	wantErr(t, err, ErrStorage, "cannot sign", "BaseURL", p.CoverThumb.Key)
	if gcerrors.Code(err) != gcerrors.Unimplemented {
		t.Fatalf("code %v, want Unimplemented", gcerrors.Code(err))
	}

	mux := http.NewServeMux()
	mux.Handle("/media/", http.StripPrefix("/media/", ServeBlobs(e.bucket, nil)))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	urls := e.plugin.URLs(URLOptions{BaseURL: srv.URL + "/media/"})
	orig, err := urls.URL(e.ctx, p.Cover)
	if err != nil || orig != srv.URL+"/media/images/my%20lamp.jpg" {
		t.Fatalf("public URL of the original = %q, %v", orig, err)
	}
	img, _ := fetchImage(t, http.DefaultClient, orig)
	if img.Bounds().Dx() != 400 {
		t.Fatalf("original served as %v", img.Bounds())
	}
	thumb, err := urls.URL(e.ctx, p.CoverThumb)
	if err != nil {
		t.Fatal(err)
	}
	if img, _ := fetchImage(t, http.DefaultClient, thumb); img.Bounds().Dx() != 110 {
		t.Fatalf("thumbnail served as %v", img.Bounds())
	}
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/media/images/nope.jpg", 404},
		{"POST", "/media/images/my%20lamp.jpg", 405},
		{"HEAD", "/media/images/my%20lamp.jpg", 200},
	} {
		if got := status(t, c.method, srv.URL+c.path); got != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, got, c.want)
		}
	}
	// Keys with dot segments are never served (the mux would clean them,
	// so call the handler directly).
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/x", nil)
	req.URL.Path = "images/../images/my lamp.jpg"
	ServeBlobs(e.bucket, nil).ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Fatalf("dot-segment key: status %d", rec.Code)
	}
	// An empty field has no URL; a bad key is refused before any bucket call.
	if u, err := urls.URL(e.ctx, ImageField{}); u != "" || err != nil {
		t.Fatalf("empty field: %q, %v", u, err)
	}
	_, err = urls.URL(e.ctx, ImageField{Key: "../etc/passwd"})
	wantErr(t, err, ErrInvalidKey, "../etc/passwd")
}

// The template functions give an <img> with the URL and the real size.
func TestURLFuncMap(t *testing.T) {
	e, p := urlEnv(t, memblob.OpenBucket(nil))
	urls := e.plugin.URLs(URLOptions{BaseURL: "https://cdn.example.com/m"})
	tmpl := template.Must(template.New("").Funcs(urls.FuncMap(e.ctx)).Parse(
		`{{with image .CoverThumb}}<img src="{{.URL}}" width="{{.Width}}" height="{{.Height}}">{{end}}|{{imageURL .Cover}}|{{with image .CoverThumb}}{{end}}`))
	var out strings.Builder
	if err := tmpl.Execute(&out, p); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^<img src="https://cdn.example.com/m/images/thumbnails/my%20lamp\.110x83\.[0-9a-f]{16}\.jpg" width="110" height="83">\|https://cdn.example.com/m/images/my%20lamp.jpg\|$`)
	if !re.MatchString(out.String()) {
		t.Fatalf("template gave %s", out.String())
	}
	// An error (a bucket that cannot sign) stops the template with it.
	err := template.Must(template.New("").Funcs(e.plugin.URLs(URLOptions{}).FuncMap(e.ctx)).Parse(`{{imageURL .CoverThumb}}`)).Execute(io.Discard, p)
	wantErr(t, err, ErrStorage)
}
