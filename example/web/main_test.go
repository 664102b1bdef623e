package main

import (
	"bytes"
	"html"
	"image"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gormthumb/gormthumb/internal/testphoto"
)

// photo is a 400×300 JPEG with some detail.
func photo(t *testing.T) []byte { return testphoto.JPEG(400, 300, 1, 90) }

// post sends the upload form as a browser would.
func post(t *testing.T, client *http.Client, base, name, filename string, data []byte) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("name", name)
	fw, err := mw.CreateFormFile("image", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	resp, err := client.Post(base+"/products", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp, string(page)
}

var imgRE = regexp.MustCompile(`<img src="([^"]+)" width="(\d+)" height="(\d+)" alt="([^"]*)">`)

// countFiles counts the blobs in the bucket folder (fileblob's .attrs
// sidecars aside).
func countFiles(t *testing.T, dir string) int {
	n := 0
	filepath.WalkDir(filepath.Join(dir, "media"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".attrs") {
			n++
		}
		return nil
	})
	return n
}

func TestWebExample(t *testing.T) {
	dir := t.TempDir()
	a, err := newApp(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	srv := httptest.NewServer(a.routes())
	defer srv.Close()
	client := srv.Client()

	// An empty shop.
	resp, err := client.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "No products yet.") {
		t.Fatalf("empty page: %d\n%s", resp.StatusCode, page)
	}

	// Upload a photo: redirected to the list, which shows its thumbnail.
	resp, page2 := post(t, client, srv.URL, "Desk lamp", "lamp.jpg", photo(t))
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/" || resp.Request.Method != "GET" {
		t.Fatalf("upload: %d at %s %s", resp.StatusCode, resp.Request.Method, resp.Request.URL)
	}
	m := imgRE.FindStringSubmatch(page2)
	if m == nil {
		t.Fatalf("no <img> with width and height on the page:\n%s", page2)
	}
	src := html.UnescapeString(m[1])
	w, _ := strconv.Atoi(m[2])
	h, _ := strconv.Atoi(m[3])
	if w != 220 || h != 165 || m[4] != "Desk lamp" {
		t.Fatalf("<img> says %dx%d alt %q, want 220x165 alt \"Desk lamp\"", w, h, m[4])
	}
	if !strings.HasPrefix(src, "/media?") || !strings.Contains(src, "signature=") {
		t.Fatalf("thumbnail URL %q is not a signed /media URL", src)
	}

	// The thumbnail URL serves an image of exactly that size.
	resp, err = client.Get(srv.URL + src)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("GET thumbnail: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	img, format, err := image.Decode(bytes.NewReader(body))
	if err != nil || format != "jpeg" || img.Bounds().Dx() != w || img.Bounds().Dy() != h {
		t.Fatalf("thumbnail decodes as %s %v (%v), the page said %dx%d", format, img.Bounds(), err, w, h)
	}
	// Without the signature, or with it altered, nothing is served.
	for _, bad := range []string{"/media?obj=" + strings.SplitN(strings.SplitN(src, "obj=", 2)[1], "&", 2)[0], strings.Replace(src, "signature=", "signature=x", 1)} {
		r, err := client.Get(srv.URL + bad)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("GET %s: %d, want 403", bad, r.StatusCode)
		}
	}

	// A non-image is refused with a clear message, and leaves nothing.
	files := countFiles(t, dir)
	resp, page3 := post(t, client, srv.URL, "Script", "notes.txt", []byte("#!/bin/sh\necho hello\n"))
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("non-image upload: status %d", resp.StatusCode)
	}
	want := html.EscapeString(`"notes.txt" is not an image. Upload a JPEG, PNG, GIF, WebP, TIFF or BMP file.`)
	if !strings.Contains(page3, `<div class="error" role="alert">`+want+`</div>`) {
		t.Fatalf("no clear message on the page:\n%s", page3)
	}
	if !strings.Contains(page3, `value="Script"`) || len(imgRE.FindAllString(page3, -1)) != 1 {
		t.Fatal("the rejected page lost the typed name or the product list")
	}
	var n int64
	a.db.Model(&Product{}).Count(&n)
	if n != 1 || countFiles(t, dir) != files {
		t.Fatalf("rejected upload left %d rows and %d files (want 1 and %d)", n, countFiles(t, dir), files)
	}

	// A second product is listed first.
	post(t, client, srv.URL, "", "second.jpg", photo(t))
	resp, err = client.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	all := imgRE.FindAllStringSubmatch(string(page), -1)
	if len(all) != 2 || all[0][4] != "second" || all[1][4] != "Desk lamp" {
		t.Fatalf("list after two uploads: %q", all)
	}
}
