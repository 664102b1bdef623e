package vips

/*
#cgo pkg-config: vips
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

static void gt_quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data) {}

// gt_init starts libvips once per process. Its warnings (about damaged
// files, which come back as errors anyway) are not printed.
static int gt_init(void) {
	if (VIPS_INIT("gormthumb")) return -1;
	g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, gt_quiet, NULL);
	vips_cache_set_max(0); // every source is new: the operation cache only costs memory
#if VIPS_MAJOR_VERSION > 8 || (VIPS_MAJOR_VERSION == 8 && VIPS_MINOR_VERSION >= 13)
	vips_block_untrusted_set(TRUE); // never reach ImageMagick, SVG, PDF, ... loaders
#endif
	return 0;
}

// gt_header reads only the header of buf with the loader for format (the
// pixels stay undecoded) and reports size, page count and orientation.
static int gt_header(int format, const void *buf, size_t len, int *w, int *h, int *pages, int *orient) {
	VipsImage *img = NULL;
	int r = -1;
	switch (format) {
	case 0: r = vips_jpegload_buffer((void *) buf, len, &img, NULL); break;
	case 1: r = vips_pngload_buffer((void *) buf, len, &img, NULL); break;
	case 2: r = vips_webpload_buffer((void *) buf, len, &img, NULL); break;
	case 3: r = vips_tiffload_buffer((void *) buf, len, &img, NULL); break;
	}
	if (r) return -1;
	*w = vips_image_get_width(img);
	*h = vips_image_get_height(img);
	*pages = vips_image_get_n_pages(img);
	*orient = vips_image_get_orientation(img);
	g_object_unref(img);
	return 0;
}

// gt_thumbnail resizes buf to exactly w×h, as stored (no EXIF orientation
// applied), with shrink-on-load, decoding errors (truncation and bad
// checksums too) fatal, 8-bit sRGB or grey out.
static int gt_thumbnail(const void *buf, size_t len, int w, int h, VipsImage **out) {
	VipsImage *t = NULL, *u = NULL;
	if (vips_thumbnail_buffer((void *) buf, len, &t, w, "height", h, "size", VIPS_SIZE_FORCE,
			"no_rotate", TRUE, "option_string", "fail_on=error", NULL))
		return -1;
	switch (t->Type) {
	case VIPS_INTERPRETATION_RGB16:
		if (vips_colourspace(t, &u, VIPS_INTERPRETATION_sRGB, NULL)) { g_object_unref(t); return -1; }
		g_object_unref(t); t = u;
		break;
	case VIPS_INTERPRETATION_GREY16:
		if (vips_colourspace(t, &u, VIPS_INTERPRETATION_B_W, NULL)) { g_object_unref(t); return -1; }
		g_object_unref(t); t = u;
		break;
	default:
		break;
	}
	if (t->BandFmt != VIPS_FORMAT_UCHAR) {
		if (vips_cast_uchar(t, &u, NULL)) { g_object_unref(t); return -1; }
		g_object_unref(t); t = u;
	}
	*out = t;
	return 0;
}

// gt_extract is the w×h area of in at x, y.
static int gt_extract(VipsImage *in, int x, int y, int w, int h, VipsImage **out) {
	return vips_extract_area(in, out, x, y, w, h, NULL);
}

// gt_orient turns in upright for EXIF orientation o (2..8): a quarter turn
// clockwise for 5..8 (5 and 7 then mirrored), a half turn for 3, mirrors
// for 2 and 4.
static int gt_orient(VipsImage *in, int o, VipsImage **out) {
	VipsImage *t = NULL;
	int r;
	switch (o) {
	case 2: return vips_flip(in, out, VIPS_DIRECTION_HORIZONTAL, NULL);
	case 3: return vips_rot(in, out, VIPS_ANGLE_D180, NULL);
	case 4: return vips_flip(in, out, VIPS_DIRECTION_VERTICAL, NULL);
	case 6: return vips_rot(in, out, VIPS_ANGLE_D90, NULL);
	case 8: return vips_rot(in, out, VIPS_ANGLE_D270, NULL);
	case 5:
	case 7:
		if (vips_rot(in, &t, VIPS_ANGLE_D90, NULL)) return -1;
		r = vips_flip(t, out, o == 5 ? VIPS_DIRECTION_HORIZONTAL : VIPS_DIRECTION_VERTICAL, NULL);
		g_object_unref(t);
		return r;
	}
	return -1;
}

// gt_translucent renders in into memory (*out, so that it is not decoded
// twice) and reports whether any pixel of its last band, its alpha, is
// below 255.
static int gt_translucent(VipsImage *in, VipsImage **out, int *translucent) {
	VipsImage *a = NULL;
	double m;
	if (!(*out = vips_image_copy_memory(in))) return -1;
	if (vips_extract_band(*out, &a, (*out)->Bands - 1, NULL)) { g_object_unref(*out); return -1; }
	int r = vips_min(a, &m, NULL);
	g_object_unref(a);
	if (r) { g_object_unref(*out); return -1; }
	*translucent = m < 255;
	return 0;
}

// gt_flatten draws in over an opaque background colour.
static int gt_flatten(VipsImage *in, double r, double g, double b, VipsImage **out) {
	double bg[3] = {r, g, b};
	int n = in->Bands >= 3 ? 3 : 1;
	if (n == 1) bg[0] = 0.299 * r + 0.587 * g + 0.114 * b;
	VipsArrayDouble *a = vips_array_double_new(bg, n);
	int ret = vips_flatten(in, out, "background", a, NULL);
	vips_area_unref(VIPS_AREA(a));
	return ret;
}

// gt_save encodes in as format 0 JPEG, 1 PNG or 2 WebP, without metadata
// (but see stripWebP).
static int gt_save(VipsImage *in, int format, int quality, void **buf, size_t *len) {
	switch (format) {
	case 0: return vips_jpegsave_buffer(in, buf, len, "Q", quality, "strip", TRUE, "optimize_coding", TRUE, NULL);
	case 1: return vips_pngsave_buffer(in, buf, len, "strip", TRUE, "compression", 6, NULL);
	case 2: return vips_webpsave_buffer(in, buf, len, "Q", quality, "strip", TRUE, NULL);
	}
	return -1;
}

static size_t gt_mem_highwater(void) { return vips_tracked_get_mem_highwater(); }
// gt_progressive re-encodes a JPEG as progressive (benchmark input only).
static int gt_progressive(const void *buf, size_t len, void **out, size_t *outlen) {
	VipsImage *img = NULL;
	if (vips_jpegload_buffer((void *) buf, len, &img, NULL)) return -1;
	int r = vips_jpegsave_buffer(img, out, outlen, "Q", 90, "interlace", TRUE, "subsample_mode", VIPS_FOREIGN_SUBSAMPLE_ON, NULL);
	g_object_unref(img);
	return r;
}

static int gt_has_alpha(VipsImage *in) { return vips_image_hasalpha(in); }
static int gt_width(VipsImage *in) { return vips_image_get_width(in); }
static int gt_height(VipsImage *in) { return vips_image_get_height(in); }
static void gt_unref(VipsImage *in) { g_object_unref(in); }

// gt_error takes the error message libvips collected and clears it.
static char *gt_error(void) {
	char *s = g_strdup(vips_error_buffer());
	vips_error_clear();
	return s;
}
*/
import "C"

import (
	"errors"
	"image"
	"strings"
	"sync"
	"unsafe"
)

// Formats the C side knows, in its numbering.
const (
	cJPEG = 0
	cPNG  = 1
	cWebP = 2
	cTIFF = 3
)

var (
	initOnce sync.Once
	initErr  error
)

// start initialises libvips once.
func start() error {
	initOnce.Do(func() {
		if C.gt_init() != 0 {
			initErr = errors.New("vips: cannot start libvips: " + lastError())
		}
	})
	return initErr
}

// lastError returns and clears libvips's error message.
func lastError() string {
	s := C.gt_error()
	defer C.g_free(C.gpointer(s))
	return strings.TrimSpace(C.GoString(s))
}

// memHighwater is the peak of the memory libvips has allocated itself
// (pixel buffers; not the codecs' own) since it started.
func memHighwater() int64 { return int64(C.gt_mem_highwater()) }

// progressiveJPEG re-encodes a JPEG as a progressive one at quality 90.
func progressiveJPEG(data []byte) ([]byte, error) {
	var buf unsafe.Pointer
	var n C.size_t
	if C.gt_progressive(unsafe.Pointer(unsafe.SliceData(data)), C.size_t(len(data)), &buf, &n) != 0 {
		return nil, errors.New(lastError())
	}
	defer C.g_free(C.gpointer(buf))
	return C.GoBytes(buf, C.int(n)), nil
}

// header reads the size, page count and EXIF orientation of data without
// decoding its pixels.
func header(format int, data []byte) (w, h, pages, orient int, err error) {
	var cw, ch, cp, co C.int
	p := unsafe.Pointer(unsafe.SliceData(data))
	if C.gt_header(C.int(format), p, C.size_t(len(data)), &cw, &ch, &cp, &co) != 0 {
		return 0, 0, 0, 0, errors.New(lastError())
	}
	return int(cw), int(ch), int(cp), int(co), nil
}

// vimage is a libvips image handle.
type vimage struct{ p *C.VipsImage }

func (im vimage) close()      { C.gt_unref(im.p) }
func (im vimage) width() int  { return int(C.gt_width(im.p)) }
func (im vimage) height() int { return int(C.gt_height(im.p)) }
func (im vimage) alpha() bool { return C.gt_has_alpha(im.p) != 0 }

// thumbnail resizes data, as stored, to exactly w×h (see gt_thumbnail).
func thumbnail(data []byte, w, h int) (vimage, error) {
	var out *C.VipsImage
	p := unsafe.Pointer(unsafe.SliceData(data))
	if C.gt_thumbnail(p, C.size_t(len(data)), C.int(w), C.int(h), &out) != 0 {
		return vimage{}, errors.New(lastError())
	}
	return vimage{out}, nil
}

// extract returns r of im.
func (im vimage) extract(r image.Rectangle) (vimage, error) {
	var out *C.VipsImage
	if C.gt_extract(im.p, C.int(r.Min.X), C.int(r.Min.Y), C.int(r.Dx()), C.int(r.Dy()), &out) != 0 {
		return vimage{}, errors.New(lastError())
	}
	return vimage{out}, nil
}

// orient returns im turned upright for EXIF orientation o (2..8).
func (im vimage) orient(o int) (vimage, error) {
	var out *C.VipsImage
	if C.gt_orient(im.p, C.int(o), &out) != 0 {
		return vimage{}, errors.New(lastError())
	}
	return vimage{out}, nil
}

// translucent renders im, which has an alpha band, into memory and
// reports whether any of its pixels is not opaque; the rendered image is
// used from then on, so the source is not decoded twice.
func (im vimage) translucent() (vimage, bool, error) {
	var out *C.VipsImage
	var t C.int
	if C.gt_translucent(im.p, &out, &t) != 0 {
		return vimage{}, false, errors.New(lastError())
	}
	return vimage{out}, t != 0, nil
}

// flatten returns im drawn over an opaque colour.
func (im vimage) flatten(r, g, b uint8) (vimage, error) {
	var out *C.VipsImage
	if C.gt_flatten(im.p, C.double(r), C.double(g), C.double(b), &out) != 0 {
		return vimage{}, errors.New(lastError())
	}
	return vimage{out}, nil
}

// save encodes im; this is where libvips decodes the source pixels.
func (im vimage) save(format, quality int) ([]byte, error) {
	var buf unsafe.Pointer
	var n C.size_t
	if C.gt_save(im.p, C.int(format), C.int(quality), &buf, &n) != 0 {
		return nil, errors.New(lastError())
	}
	defer C.g_free(C.gpointer(buf))
	return C.GoBytes(buf, C.int(n)), nil
}
