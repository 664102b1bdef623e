// Command web is a small shop page built on gormthumb: an upload form that
// turns a posted image into a Product (Plugin.Upload, then db.Create, which
// makes the thumbnail), and a list of the products' thumbnails, newest
// first, 24 a page (?page=N), with their width and height on the <img>.
//
//	go run ./example/web                 # http://127.0.0.1:8080, data in ./gormthumb-web
//	go run ./example/web -addr :9000 -dir /tmp/shop
//
// Images live in a local-folder bucket that the program serves itself under
// /media: the page links to them with URLs signed by the bucket (fileblob's
// HMAC signer), and /media serves only URLs carrying a valid, unexpired
// signature. On S3, GCS or Azure the same URLs helper gives the cloud's own
// signed URLs and /media is not needed.
//
// It is meant to be copied, so it bounds what a client can make it do: the
// server has read, write and idle timeouts and a header size limit
// (newServer), a request body is at most the plugin's byte limit plus room
// for the form, a product name at most 200 bytes, and a page 24 products.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gormthumb/gormthumb"
	"github.com/gormthumb/gormthumb/thumb"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/pubsub"
	_ "gocloud.dev/pubsub/mempubsub" // mem:// queues
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Product is a model with an original image and its thumbnail.
type Product struct {
	ID         uint
	Name       string
	CreatedAt  time.Time
	Cover      gormthumb.ImageField `upload:"images/cover/%Y/%m/%d"`
	CoverThumb gormthumb.ImageField `thumb:"220x220,source=Cover"`
	// CoverSet is the picture in three widths, for a srcset (the product
	// page's large image; the list shows it too, at its card's width).
	CoverSet gormthumb.ImageField `thumb:"widths=240|480|960,source=Cover,quality=80"`
	// CoverBlur is the picture's BlurHash, painted while an image loads.
	CoverBlur string `placeholder:"source=Cover"`
}

// QueuedProduct is Product with its thumbnail made in the background (the
// example's -queue mode): the same table, the thumb tag marked async.
type QueuedProduct struct {
	ID         uint
	Name       string
	CreatedAt  time.Time
	Cover      gormthumb.ImageField `upload:"images/cover/%Y/%m/%d"`
	CoverThumb gormthumb.ImageField `thumb:"220x220,source=Cover,async"`
	CoverSet   gormthumb.ImageField `thumb:"widths=240|480|960,source=Cover,quality=80,async"`
	CoverBlur  string               `placeholder:"source=Cover"`
}

// TableName implements schema.Tabler: Product's table.
func (QueuedProduct) TableName() string { return "products" }

// Bounds on what a request may ask.
const (
	// maxImageBytes is the largest image accepted: the plugin's byte limit
	// (thumb.Limits.MaxBytes), for uploads and for making thumbnails.
	maxImageBytes = 20 << 20
	// maxBody bounds a request body: the image, and room for the name and
	// the multipart framing. A larger body is refused without reading it
	// to the end.
	maxBody = maxImageBytes + 64<<10
	// maxNameBytes bounds a product's name.
	maxNameBytes = 200
	// perPage is the number of products on a page of the list.
	perPage = 24
	// maxPage is the last page number accepted, so that an offset stays
	// far from overflowing and from scanning a huge table.
	maxPage = 100_000
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	dir := flag.String("dir", "gormthumb-web", "directory for the sqlite file, the bucket folder and the URL signing key")
	queue := flag.String("queue", "", "make thumbnails in the background: a gocloud.dev/pubsub URL (mem://thumbs runs the queue and a worker in this process)")
	flag.Parse()
	app, err := newApp(*dir, *queue)
	if err != nil {
		log.Fatal(err)
	}
	defer app.close()
	log.Printf("listening on http://%s (data in %s)", *addr, *dir)
	log.Fatal(newServer(*addr, app.routes()).ListenAndServe())
}

// newServer returns the HTTP server of the example, with timeouts so that
// slow or idle clients cannot hold connections (and goroutines and file
// descriptors) for ever.
func newServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:    addr,
		Handler: h,
		// The request line and headers: a client has 10 seconds.
		ReadHeaderTimeout: 10 * time.Second,
		// The whole request, body included: a 20 MiB upload needs about
		// 1.4 Mbit/s to arrive in time.
		ReadTimeout: 2 * time.Minute,
		// Counted from the end of the request's headers: reading the
		// body, making the thumbnail and writing the response.
		WriteTimeout: 3 * time.Minute,
		// A kept-alive connection with no request.
		IdleTimeout: 2 * time.Minute,
		// Signed URLs and cookies need far less than net/http's 1 MB.
		MaxHeaderBytes: 64 << 10,
	}
}

// app is the example's state: database, plugin, URLs and page template.
type app struct {
	db     *gorm.DB
	plugin *gormthumb.Plugin
	urls   *gormthumb.URLs
	signer *fileblob.URLSignerHMAC
	page   *template.Template
	queued bool // thumbnails are made in the background (-queue)
	close  func()
}

// newApp opens (creating if needed) the sqlite file and bucket folder in
// dir. With a queue URL, thumbnails are made in the background: saves
// publish their work there and a worker in this process makes them.
func newApp(dir, queue string) (*app, error) {
	media := filepath.Join(dir, "media")
	if err := os.MkdirAll(media, 0o755); err != nil {
		return nil, err
	}
	key, err := signingKey(filepath.Join(dir, "url-signing.key"))
	if err != nil {
		return nil, err
	}
	// Signed URLs point at /media on this server; ServeBlobs checks them.
	signer := fileblob.NewURLSignerHMAC(&url.URL{Path: "/media"}, key)
	bucket, err := fileblob.OpenBucket(media, &fileblob.Options{URLSigner: signer, NoTempDir: true})
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "shop.db")+"?_busy_timeout=5000&_txlock=immediate"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		bucket.Close()
		return nil, err
	}
	opts := []gormthumb.Option{gormthumb.WithLimits(thumb.Limits{MaxBytes: maxImageBytes})}
	var topic *pubsub.Topic
	var sub *pubsub.Subscription
	if queue != "" {
		if topic, err = pubsub.OpenTopic(context.Background(), queue); err == nil {
			sub, err = pubsub.OpenSubscription(context.Background(), queue)
		}
		if err != nil {
			if topic != nil { // the subscription failed
				topic.Shutdown(context.Background())
			}
			if s, err := db.DB(); err == nil {
				s.Close()
			}
			bucket.Close()
			return nil, err
		}
		opts = append(opts, gormthumb.WithQueue(topic))
	}
	plugin := gormthumb.New(bucket, opts...)
	a := &app{db: db, plugin: plugin, signer: signer, queued: queue != ""}
	stopWorker := func() {}
	a.close = func() {
		stopWorker()
		if sub != nil {
			sub.Shutdown(context.Background())
			topic.Shutdown(context.Background())
		}
		if s, err := db.DB(); err == nil {
			s.Close()
		}
		bucket.Close()
	}
	if err := db.Use(a.plugin); err != nil {
		a.close()
		return nil, err
	}
	if err := db.AutoMigrate(&Product{}); err != nil {
		a.close()
		return nil, err
	}
	if a.queued {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			err := plugin.Work(ctx, db, sub, gormthumb.WorkOptions{
				Models:    []any{&QueuedProduct{}},
				OnFailure: func(f gormthumb.WorkFailure) { log.Printf("thumbnail of product %s: %v", f.Key, f.Err) },
			})
			if err != nil {
				log.Printf("worker: %v", err)
			}
		}()
		stopWorker = func() { cancel(); <-done }
	}
	a.urls = a.plugin.URLs(gormthumb.URLOptions{Expiry: time.Hour})
	a.page = template.Must(template.New("page").
		Funcs(a.urls.FuncMap(context.Background())).
		Funcs(template.FuncMap{"pageURL": pageURL}).
		Parse(pageHTML))
	return a, nil
}

// signingKey reads the URL signing key, making a random one the first time.
func signingKey(path string) ([]byte, error) {
	if key, err := os.ReadFile(path); err == nil && len(key) >= 32 {
		return key, nil
	}
	key := make([]byte, 32)
	rand.Read(key)
	return key, os.WriteFile(path, key, 0o600)
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.list)
	mux.HandleFunc("POST /products", a.create)
	mux.Handle("GET /media", gormthumb.ServeBlobs(a.plugin.Bucket(), a.signer))
	return mux
}

// pageData is what the template shows.
type pageData struct {
	Products []Product // the page's products, newest first
	Page     int       // the page number, from 1
	PrevPage int       // the previous page's number, 0 on the first
	NextPage int       // the next page's number, 0 on the last
	Message  string    // a rejected upload or request, in words
	Name     string    // the name the user typed, kept after a rejection
}

// pageURL is the address of a page of the list.
func pageURL(n int) string {
	if n <= 1 {
		return "/"
	}
	return "/?page=" + strconv.Itoa(n)
}

// list shows a page of products: ?page=N, from 1 (the newest).
func (a *app) list(w http.ResponseWriter, r *http.Request) {
	data := pageData{Page: 1}
	if s := r.URL.Query().Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPage {
			http.Error(w, "no such page", http.StatusBadRequest)
			return
		}
		data.Page = n
	}
	a.render(w, r, http.StatusOK, data)
}

// render shows data's page of the list (the first if unset) with status.
// A page past the end is a 404 that links back.
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, data pageData) {
	data.Page = max(data.Page, 1)
	// One row more than a page says whether there is a next page.
	err := a.db.WithContext(r.Context()).Order("id DESC").
		Offset((data.Page - 1) * perPage).Limit(perPage + 1).Find(&data.Products).Error
	if err != nil {
		http.Error(w, "database error", http.StatusInternalServerError)
		return
	}
	if len(data.Products) > perPage {
		data.Products = data.Products[:perPage]
		data.NextPage = data.Page + 1
	}
	if data.Page > 1 {
		data.PrevPage = data.Page - 1
		if len(data.Products) == 0 && data.Message == "" {
			status = http.StatusNotFound
			data.Message = fmt.Sprintf("There is no page %d.", data.Page)
			data.PrevPage = 1
		}
	}
	var buf strings.Builder
	if err := a.page.Execute(&buf, data); err != nil {
		log.Printf("render: %v", err)
		http.Error(w, "cannot render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, buf.String())
}

// create turns a posted image into a Product: Upload checks the bytes are
// an image and writes the original; Create makes the thumbnail.
func (a *app) create(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	var name string
	reject := func(status int, msg string) {
		a.render(w, r, status, pageData{Message: msg, Name: name})
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reject(http.StatusRequestEntityTooLarge, fmt.Sprintf("The upload is larger than %d MiB.", maxImageBytes>>20))
			return
		}
		reject(http.StatusBadRequest, "The form could not be read. Please try again.")
		return
	}
	name = strings.TrimSpace(r.FormValue("name"))
	// Checked before anything is written.
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "\uFFFD")
		reject(http.StatusBadRequest, "The name is not valid text.")
		return
	}
	if len(name) > maxNameBytes {
		n := len(name)
		name = cut(name, maxNameBytes) // shown again in the form, to edit
		reject(http.StatusBadRequest, fmt.Sprintf("The name is too long: %d bytes, at most %d.", n, maxNameBytes))
		return
	}
	file, header, err := r.FormFile("image")
	if err != nil {
		reject(http.StatusBadRequest, "Choose an image file to upload.")
		return
	}
	defer file.Close()
	if name == "" {
		name = strings.TrimSuffix(header.Filename, filepath.Ext(header.Filename))
		name = cut(strings.ToValidUTF8(name, ""), maxNameBytes)
	}
	ctx := r.Context()
	p := Product{Name: name}
	if _, err := a.plugin.Upload(ctx, &p, "Cover", header.Filename, file); err != nil {
		reject(http.StatusUnprocessableEntity, uploadMessage(header.Filename, err))
		return
	}
	var row any = &p
	if a.queued {
		row = &QueuedProduct{Name: p.Name, Cover: p.Cover} // the worker makes the thumbnail
	}
	if err := a.db.WithContext(ctx).Create(row).Error; err != nil {
		// The row was not saved: the original is ours to remove.
		a.plugin.Bucket().Delete(context.WithoutCancel(ctx), p.Cover.Key)
		reject(http.StatusUnprocessableEntity, uploadMessage(header.Filename, err))
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// cut returns s cut to at most n bytes, on a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// uploadMessage says in words why an upload was refused.
func uploadMessage(filename string, err error) string {
	switch {
	case errors.Is(err, gormthumb.ErrNotImage):
		return fmt.Sprintf("%q is not an image. Upload a JPEG, PNG, GIF, WebP, TIFF or BMP file.", filename)
	case errors.Is(err, gormthumb.ErrUnsupportedFormat):
		return fmt.Sprintf("%q is an image format this shop cannot show. Upload a JPEG, PNG, GIF, WebP, TIFF or BMP file.", filename)
	case errors.Is(err, gormthumb.ErrTooLarge):
		return fmt.Sprintf("%q is too large.", filename)
	}
	log.Printf("upload %q: %v", filename, err)
	return fmt.Sprintf("%q could not be saved. Please try again.", filename)
}

const pageHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gormthumb shop</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
p.lead { color: #555; margin-top: 0; }
form { display: flex; gap: .75rem; align-items: center; flex-wrap: wrap; padding: 1rem; background: #f4f4f6; border-radius: 8px; }
.error { background: #fde8e8; border: 1px solid #e0a0a0; color: #8a1f1f; padding: .75rem 1rem; border-radius: 8px; margin: 1rem 0; }
ul { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 1rem; margin-top: 1.5rem; }
li { background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 10px; text-align: center; }
li img { display: block; margin: 0 auto .5rem; background: #eee; }
.size { color: #777; font-size: .85rem; }
li img { background-size: cover; }
details { margin-top: .5rem; font-size: .85rem; color: #555; }
img.large { max-width: 100%; height: auto; margin-top: .5rem; }
.pending { width: 220px; height: 165px; margin: 0 auto .5rem; display: flex; align-items: center; justify-content: center; background: linear-gradient(110deg, #ececec 40%, #f7f7f7 50%, #ececec 60%) 0 0 / 200% 100%; color: #888; font-size: .85rem; border-radius: 4px; animation: shimmer 1.4s linear infinite; }
@keyframes shimmer { to { background-position: -200% 0; } }
nav.pages { display: flex; gap: 1rem; justify-content: center; align-items: center; margin: 1.5rem 0; }
</style>
</head>
<body>
<h1>gormthumb shop</h1>
<p class="lead">Upload a picture: it becomes a product, and its thumbnail is made as it is saved.</p>
{{if .Message}}<div class="error" role="alert">{{.Message}}</div>{{end}}
<form method="post" action="/products" enctype="multipart/form-data">
  <label>Name <input name="name" value="{{.Name}}" maxlength="200"></label>
  <input type="file" name="image" accept="image/*" required>
  <button type="submit">Add product</button>
</form>
{{with .Products}}<ul>
{{range .}}{{$p := .}}<li>
  {{if not .CoverThumb.IsZero}}{{with image .CoverThumb}}<img src="{{.URL}}" width="{{.Width}}" height="{{.Height}}" alt="{{$p.Name}}"{{if $p.CoverBlur}} style="background-image: url('{{placeholder $p.CoverBlur .Width .Height}}')"{{end}}>{{end}}
  {{else if not .Cover.IsZero}}<div class="pending" role="img" aria-label="{{$p.Name}}: thumbnail on its way"{{if $p.CoverBlur}} style="background: url('{{placeholder $p.CoverBlur 4 3}}') center / cover"{{end}}>thumbnail on its way…</div>{{end}}
  <strong>{{.Name}}</strong>
  {{if not .CoverThumb.IsZero}}{{with image .CoverThumb}}<div class="size">{{.Width}}×{{.Height}} thumbnail</div>{{end}}{{end}}
  {{with image .CoverSet}}{{if .SrcSet}}<details><summary>larger</summary><img class="large" src="{{.URL}}" srcset="{{.SrcSet}}" sizes="{{.Sizes}}" width="{{.Width}}" height="{{.Height}}" alt="{{$p.Name}}, larger" loading="lazy"></details>{{end}}{{end}}
</li>
{{end}}</ul>{{else}}{{if eq .Page 1}}<p>No products yet.</p>{{end}}{{end}}
{{if or .PrevPage .NextPage}}<nav class="pages">
  {{with .PrevPage}}<a rel="prev" href="{{pageURL .}}">← Newer</a>{{end}}
  <span>Page {{.Page}}</span>
  {{with .NextPage}}<a rel="next" href="{{pageURL .}}">Older →</a>{{end}}
</nav>{{end}}
</body>
</html>
`
