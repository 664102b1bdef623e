package gormthumb

import (
	"context"
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// URLOptions says how URLs of images are made.
type URLOptions struct {
	// BaseURL, when set, makes plain public URLs: BaseURL + "/" + key (each
	// path segment escaped), with no call to the bucket. Use it when the
	// bucket, a CDN in front of it, or ServeBlobs serves the keys publicly.
	// Thumbnail keys change whenever their content does, so such URLs can
	// be cached forever.
	BaseURL string
	// Expiry is how long a signed URL stays valid (default one hour). It is
	// used only when BaseURL is empty.
	Expiry time.Duration
}

// DefaultURLExpiry is the validity of a signed URL when URLOptions.Expiry
// is zero.
const DefaultURLExpiry = time.Hour

// URLs turns ImageFields into URLs for templates: a public URL under
// URLOptions.BaseURL, or else a URL signed by the bucket's driver (S3, GCS
// and Azure sign; a fileblob bucket signs when opened with a URL signer,
// e.g. "file:///srv/media?base_url=/media&secret_key_path=media.key").
type URLs struct {
	bucket *blob.Bucket
	opts   URLOptions
}

// NewURLs returns a URL maker for images stored in bucket.
func NewURLs(bucket *blob.Bucket, opts URLOptions) *URLs {
	if opts.Expiry <= 0 {
		opts.Expiry = DefaultURLExpiry
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	return &URLs{bucket: bucket, opts: opts}
}

// URLs returns a URL maker for the plugin's bucket.
func (p *Plugin) URLs(opts URLOptions) *URLs { return NewURLs(p.bucket, opts) }

// URL returns the URL of the image, or "" for an empty field. A bucket
// that cannot sign URLs (memblob, fileblob without a signer) gives an
// error wrapping ErrStorage whose gcerrors.Code is Unimplemented: set
// URLOptions.BaseURL for such buckets.
//
// For a set of widths (a `thumb:"widths=..."` field) it is the URL of the
// widest; SrcSet gives them all.
func (u *URLs) URL(ctx context.Context, f ImageField) (string, error) {
	if f.Key == "" {
		return "", nil
	}
	if sizes := thumbSizes(f.Key); len(sizes) > 1 {
		w := sizes[len(sizes)-1]
		return u.keyURL(ctx, memberKey(f.Key, w[0], w[1]))
	}
	return u.keyURL(ctx, f.Key)
}

// keyURL returns the URL of one blob.
func (u *URLs) keyURL(ctx context.Context, key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", &Error{Key: key, Err: err}
	}
	if u.opts.BaseURL != "" {
		return u.opts.BaseURL + "/" + escapeKey(key), nil
	}
	signed, err := u.bucket.SignedURL(ctx, key, &blob.SignedURLOptions{Expiry: u.opts.Expiry})
	if err != nil {
		hint := ""
		if gcerrors.Code(err) == gcerrors.Unimplemented {
			hint = " (this bucket cannot sign URLs: set URLOptions.BaseURL, or open a fileblob bucket with base_url and secret_key_path)"
		}
		return "", &Error{Key: key, Err: fmt.Errorf("%w: signed URL%s: %w", ErrStorage, hint, err)}
	}
	return signed, nil
}

// SrcSet returns the srcset attribute of a set of widths, "URL 320w, URL
// 640w, ...", with no blob read (the widths are in the key); for a single
// thumbnail, its URL with its width; "" for an empty field or an original.
func (u *URLs) SrcSet(ctx context.Context, f ImageField) (string, error) {
	sizes := thumbSizes(f.Key)
	var parts []string
	for _, sz := range sizes {
		k := f.Key
		if len(sizes) > 1 {
			k = memberKey(f.Key, sz[0], sz[1])
		}
		url, err := u.keyURL(ctx, k)
		if err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("%s %dw", url, sz[0]))
	}
	return strings.Join(parts, ", "), nil
}

// ImageRef is what a template needs for an <img>: its URL and, for a
// thumbnail the plugin made, its pixel size (0 for an original, whose size
// is not known without reading it).
type ImageRef struct {
	URL    string
	Width  int
	Height int
	// SrcSet and Sizes are the srcset and sizes attributes of a set of
	// widths ("" otherwise): Sizes lets the browser pick a width up to the
	// widest, at most the viewport's width.
	SrcSet, Sizes string
}

// Ref returns the URL and pixel size of the image. The size comes from the
// thumbnail's key (see ImageField.Size): no blob is read.
func (u *URLs) Ref(ctx context.Context, f ImageField) (ImageRef, error) {
	s, err := u.URL(ctx, f)
	if err != nil {
		return ImageRef{}, err
	}
	w, h, _ := f.Size()
	ref := ImageRef{URL: s, Width: w, Height: h}
	if len(thumbSizes(f.Key)) > 1 {
		if ref.SrcSet, err = u.SrcSet(ctx, f); err != nil {
			return ImageRef{}, err
		}
		ref.Sizes = fmt.Sprintf("(max-width: %dpx) 100vw, %dpx", w, w)
	}
	return ref, nil
}

// FuncMap returns template functions bound to ctx:
//
//	imageURL    ImageField -> string
//	image       ImageField -> ImageRef (with SrcSet and Sizes for a set of widths)
//	srcset      ImageField -> string
//	placeholder (hash string, w, h int) -> a data: URL of the BlurHash, for a CSS background
//
// for example
//
//	{{with image .CoverThumb}}{{if .URL}}<img src="{{.URL}}" width="{{.Width}}" height="{{.Height}}"
//	  {{if .SrcSet}}srcset="{{.SrcSet}}" sizes="{{.Sizes}}"{{end}} alt="">{{end}}{{end}}
//
// The map works with html/template and (converted) text/template.
func (u *URLs) FuncMap(ctx context.Context) template.FuncMap {
	return template.FuncMap{
		"imageURL": func(f ImageField) (string, error) { return u.URL(ctx, f) },
		"image":    func(f ImageField) (ImageRef, error) { return u.Ref(ctx, f) },
		"srcset":   func(f ImageField) (string, error) { return u.SrcSet(ctx, f) },
		"placeholder": func(hash string, w, h int) template.URL {
			return template.URL(BlurHashDataURI(hash, w, h)) // a data: URL made here, never from user input
		},
	}
}

// escapeKey escapes each path segment of a key for a URL path.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
