package main

import (
	"bytes"
	"fmt"
	"html"
	"image"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

var imgRE = regexp.MustCompile(`<img src="([^"]+)" width="(\d+)" height="(\d+)" alt="([^"]*)"[^>]*>`)

// setRE finds a srcset image: its srcset and sizes.
var setRE = regexp.MustCompile(`<img class="large" src="[^"]+" srcset="([^"]+)" sizes="([^"]+)"`)

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
	a, srv, dir := newTestApp(t, "")
	client := srv.Client()

	// An empty shop.
	resp, page := getPage(t, client, srv.URL+"/")
	if resp.StatusCode != 200 || !strings.Contains(page, "No products yet.") {
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
	// The thumbnail is painted on its BlurHash while it loads, and the
	// larger picture comes as a srcset (the 400-pixel photo: 240 and 400).
	if !strings.Contains(m[0], `style="background-image: url('data:image/png;base64,`) {
		t.Fatalf("no placeholder on the thumbnail: %s", m[0])
	}
	sm := setRE.FindStringSubmatch(page2)
	if sm == nil || strings.Count(sm[1], "signature=") != 2 || !strings.Contains(sm[1], " 240w, ") || !strings.HasSuffix(sm[1], " 400w") || !strings.Contains(sm[2], "400px") {
		t.Fatalf("srcset on the page: %q", sm)
	}

	// The thumbnail URL serves an image of exactly that size.
	resp, body := getPage(t, client, srv.URL+src)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("GET thumbnail: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	img, format, err := image.Decode(strings.NewReader(body))
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
	_, page = getPage(t, client, srv.URL+"/")
	all := imgRE.FindAllStringSubmatch(page, -1)
	if len(all) != 2 || all[0][4] != "second" || all[1][4] != "Desk lamp" {
		t.Fatalf("list after two uploads: %q", all)
	}
}

// newTestApp starts the example on an httptest server in a fresh folder,
// with thumbnails made in the background on queue unless it is "".
func newTestApp(t *testing.T, queue string) (*app, *httptest.Server, string) {
	t.Helper()
	dir := t.TempDir()
	a, err := newApp(dir, queue)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	srv := httptest.NewServer(a.routes())
	t.Cleanup(srv.Close)
	return a, srv, dir
}

// getPage GETs a page of the shop.
func getPage(t *testing.T, client *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp, string(page)
}

// The server a copy of the example starts cannot be held by slow clients.
func TestWebServerTimeouts(t *testing.T) {
	h := http.NotFoundHandler()
	srv := newServer("127.0.0.1:0", h)
	if srv.Addr != "127.0.0.1:0" || srv.Handler == nil {
		t.Fatalf("server %q %v", srv.Addr, srv.Handler)
	}
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Fatalf("ReadHeaderTimeout %v, ReadTimeout %v, WriteTimeout %v, IdleTimeout %v, MaxHeaderBytes %d: all must be set",
			srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	}
	// The write deadline starts when the request's header has been read,
	// so it must leave time to read the largest upload first.
	if srv.ReadHeaderTimeout > srv.ReadTimeout || srv.WriteTimeout <= srv.ReadTimeout {
		t.Fatalf("ReadHeaderTimeout %v, ReadTimeout %v, WriteTimeout %v", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout)
	}
}

// A name over 200 bytes is refused with a message, and nothing is written;
// 200 bytes are fine, and so is a long file name when no name is typed.
func TestWebNameTooLong(t *testing.T) {
	a, srv, dir := newTestApp(t, "")
	client := srv.Client()
	long := strings.Repeat("é", 100) + "x" // 201 bytes
	resp, page := post(t, client, srv.URL, long, "lamp.jpg", photo(t))
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("201-byte name: status %d", resp.StatusCode)
	}
	want := html.EscapeString("The name is too long: 201 bytes, at most 200.")
	if !strings.Contains(page, `<div class="error" role="alert">`+want+`</div>`) {
		t.Fatalf("no clear message on the page:\n%s", page)
	}
	var n int64
	a.db.Model(&Product{}).Count(&n)
	if n != 0 || countFiles(t, dir) != 0 {
		t.Fatalf("a refused name left %d rows and %d files", n, countFiles(t, dir))
	}
	// Not valid UTF-8: refused too.
	resp, page = post(t, client, srv.URL, "lamp\xff", "lamp.jpg", photo(t))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "The name is not valid text.") {
		t.Fatalf("invalid UTF-8 name: status %d\n%s", resp.StatusCode, page)
	}

	// Exactly 200 bytes: saved.
	resp, page = post(t, client, srv.URL, long[:200], "lamp.jpg", photo(t))
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/" {
		t.Fatalf("200-byte name: %d at %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	// No name typed and a 300-byte file name: the product is named after
	// the file, cut to 200 bytes on a character boundary.
	resp, _ = post(t, client, srv.URL, "", strings.Repeat("ü", 150)+".jpg", photo(t))
	if resp.StatusCode != 200 {
		t.Fatalf("long file name: %d", resp.StatusCode)
	}
	var ps []Product
	a.db.Order("id").Find(&ps)
	if len(ps) != 2 || ps[0].Name != long[:200] || ps[1].Name != strings.Repeat("ü", 100) {
		t.Fatalf("saved products %q", func() (s []string) {
			for _, p := range ps {
				s = append(s, p.Name)
			}
			return
		}())
	}
}

// The request body is bounded by the plugin's byte limit (plus the form's
// own bytes): a larger body is refused before it is read to the end, and an
// image over the plugin's limit within it is refused by the plugin. Neither
// writes anything.
func TestWebUploadLimit(t *testing.T) {
	a, srv, dir := newTestApp(t, "")
	client := srv.Client()
	resp, page := post(t, client, srv.URL, "big", "big.jpg", make([]byte, maxBody))
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "The upload is larger than 20 MiB.") {
		t.Fatalf("body over the bound: status %d\n%.300s", resp.StatusCode, page)
	}
	// A real JPEG padded past the plugin's limit, within the body bound.
	img := photo(t)
	img = append(img, make([]byte, maxImageBytes+1-len(img))...)
	resp, page = post(t, client, srv.URL, "big", "big.jpg", img)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, html.EscapeString(`"big.jpg" is too large.`)) {
		t.Fatalf("image over the plugin's limit: status %d\n%.300s", resp.StatusCode, page)
	}
	var n int64
	a.db.Model(&Product{}).Count(&n)
	if n != 0 || countFiles(t, dir) != 0 {
		t.Fatalf("refused uploads left %d rows and %d files", n, countFiles(t, dir))
	}
}

var linkRE = regexp.MustCompile(`<a rel="(prev|next)" href="([^"]+)">`)

// links returns the page's prev and next links.
func links(page string) map[string]string {
	m := map[string]string{}
	for _, l := range linkRE.FindAllStringSubmatch(page, -1) {
		m[l[1]] = html.UnescapeString(l[2])
	}
	return m
}

// The list shows 24 products a page, newest first, with links between
// pages.
func TestWebPagination(t *testing.T) {
	_, srv, _ := newTestApp(t, "")
	client := srv.Client()
	small := testphoto.JPEG(80, 60, 1, 80)
	for i := 1; i <= 30; i++ {
		if resp, page := post(t, client, srv.URL, fmt.Sprintf("p%02d", i), "p.jpg", small); resp.StatusCode != 200 {
			t.Fatalf("upload %d: %d\n%s", i, resp.StatusCode, page)
		}
	}
	names := func(page string) []string {
		var s []string
		for _, m := range imgRE.FindAllStringSubmatch(page, -1) {
			s = append(s, m[4])
		}
		return s
	}
	wantNames := func(from, to int) []string {
		var s []string
		for i := from; i >= to; i-- {
			s = append(s, fmt.Sprintf("p%02d", i))
		}
		return s
	}

	resp, page := getPage(t, client, srv.URL+"/")
	if got := names(page); resp.StatusCode != 200 || !slices.Equal(got, wantNames(30, 7)) {
		t.Fatalf("page 1: %d, products %q", resp.StatusCode, got)
	}
	l := links(page)
	if len(l) != 1 || l["next"] != "/?page=2" || !strings.Contains(page, "Page 1") {
		t.Fatalf("page 1 links %v", l)
	}

	resp, page = getPage(t, client, srv.URL+l["next"])
	if got := names(page); resp.StatusCode != 200 || !slices.Equal(got, wantNames(6, 1)) {
		t.Fatalf("page 2: %d, products %q", resp.StatusCode, got)
	}
	l = links(page)
	if len(l) != 1 || l["prev"] != "/" || !strings.Contains(page, "Page 2") {
		t.Fatalf("page 2 links %v", l)
	}
	// ?page=1 is the first page too.
	if _, page := getPage(t, client, srv.URL+"/?page=1"); !slices.Equal(names(page), wantNames(30, 7)) {
		t.Fatal("?page=1 is not the first page")
	}

	// Past the end: 404, with a way back.
	resp, page = getPage(t, client, srv.URL+"/?page=3")
	if resp.StatusCode != http.StatusNotFound || len(names(page)) != 0 || !strings.Contains(page, "There is no page 3.") || links(page)["prev"] != "/" {
		t.Fatalf("page 3: %d\n%s", resp.StatusCode, page)
	}
	// Not a page number: 400.
	for _, bad := range []string{"0", "-1", "two", "1e3", "99999999999999999999"} {
		if resp, _ := getPage(t, client, srv.URL+"/?page="+bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("?page=%s: %d, want 400", bad, resp.StatusCode)
		}
	}
}

// With -queue, a new product shows a placeholder until the in-process
// worker has made its thumbnail, then the thumbnail.
func TestWebExampleQueued(t *testing.T) {
	a, srv, _ := newTestApp(t, "mem://web-example-test")
	client := srv.Client()
	// A row whose thumbnail is pending (written behind the plugin's back,
	// so no worker will make it) shows the placeholder.
	if err := a.db.Exec("INSERT INTO products (name, cover, created_at) VALUES (?, ?, ?)", "pending", "images/x.jpg", time.Now()).Error; err != nil {
		t.Fatal(err)
	}
	_, page := getPage(t, client, srv.URL+"/")
	if !strings.Contains(page, "thumbnail on its way") || imgRE.MatchString(page) {
		t.Fatalf("a pending thumbnail's page:\n%s", page)
	}
	// An upload: the in-process worker makes its thumbnail.
	if resp, _ := post(t, client, srv.URL, "lamp", "lamp.jpg", photo(t)); resp.StatusCode != 200 {
		t.Fatalf("upload: status %d", resp.StatusCode)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, body := getPage(t, client, srv.URL+"/")
		if m := imgRE.FindStringSubmatch(body); m != nil {
			if m[2] != "220" || m[3] != "165" || m[4] != "lamp" {
				t.Fatalf("thumbnail %v, page:\n%s", m, body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the thumbnail never came:\n%s", body)
		}
	}
}
