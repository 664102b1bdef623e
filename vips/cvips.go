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

// gt_load opens buf with the loader for format (0 JPEG, at 1/shrink with
// libjpeg's scaled decode; 1 PNG; 2 WebP; 3 TIFF), as stored (no EXIF
// orientation applied), for one top-to-bottom pass, decoding errors
// (truncation and bad checksums too) fatal.
static int gt_load(int format, const void *buf, size_t len, int shrink, VipsImage **out) {
	switch (format) {
	case 0: return vips_jpegload_buffer((void *) buf, len, out, "shrink", shrink,
			"access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
	case 1: return vips_pngload_buffer((void *) buf, len, out,
			"access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
	case 2: return vips_webpload_buffer((void *) buf, len, out,
			"access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
	case 3: return vips_tiffload_buffer((void *) buf, len, out,
			"access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
	}
	return -1;
}

// gt_render makes a thumbnail of src, as loaded by gt_load, as
// vips_thumbnail would (sRGB or grey processing space, alpha premultiplied
// while resizing, 8-bit out), but of exactly the region the caller
// planned: the w×h area at x, y cut out and resized to exactly tw×th, then
// turned upright for EXIF orientation orient (1..8). The result is in
// memory.
static int gt_render(VipsImage *src, int x, int y, int w, int h, int tw, int th, int orient, VipsImage **out) {
	VipsImage *in = src, *t = NULL;
	VipsBandFormat unpremultiplied = VIPS_FORMAT_NOTSET;
	int ok = 0;
#define STEP(call) do { if (call) goto done; g_object_unref(in); in = t; t = NULL; } while (0)
	g_object_ref(in);
	STEP(vips_colourspace(in, &t, in->Bands < 3 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB, NULL));
	if (x != 0 || y != 0 || w != in->Xsize || h != in->Ysize)
		STEP(vips_extract_area(in, &t, x, y, w, h, NULL));
	if (tw != w || th != h) {
		if (vips_image_hasalpha(in)) {
			unpremultiplied = in->BandFmt;
			STEP(vips_premultiply(in, &t, NULL));
			STEP(vips_cast(in, &t, unpremultiplied, NULL));
		}
		STEP(vips_resize(in, &t, (double) tw / w, "vscale", (double) th / h, NULL));
		if (unpremultiplied != VIPS_FORMAT_NOTSET) {
			STEP(vips_unpremultiply(in, &t, NULL));
			STEP(vips_cast(in, &t, unpremultiplied, NULL));
		}
	}
	switch (in->Type) {
	case VIPS_INTERPRETATION_RGB16:
		STEP(vips_colourspace(in, &t, VIPS_INTERPRETATION_sRGB, NULL));
		break;
	case VIPS_INTERPRETATION_GREY16:
		STEP(vips_colourspace(in, &t, VIPS_INTERPRETATION_B_W, NULL));
		break;
	default:
		break;
	}
	if (in->BandFmt != VIPS_FORMAT_UCHAR)
		STEP(vips_cast_uchar(in, &t, NULL));
	if (!(t = vips_image_copy_memory(in))) goto done;
	g_object_unref(in); in = t; t = NULL;
	if (orient >= 2 && orient <= 8)
		STEP(gt_orient(in, orient, &t));
	ok = 1;
done:
#undef STEP
	if (!ok) {
		if (t) g_object_unref(t);
		g_object_unref(in);
		return -1;
	}
	*out = in;
	return 0;
}

// gt_translucent reports whether any pixel of in's last band, its alpha,
// is below 255.
static int gt_translucent(VipsImage *in, int *translucent) {
	VipsImage *a = NULL;
	double m;
	if (vips_extract_band(in, &a, in->Bands - 1, NULL)) return -1;
	int r = vips_min(a, &m, NULL);
	g_object_unref(a);
	if (r) return -1;
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

// load opens data, in the C side's format, as stored, at 1/shrink for a
// JPEG (see gt_load); its pixels are decoded by render.
func load(format int, data []byte, shrink int) (vimage, error) {
	var out *C.VipsImage
	p := unsafe.Pointer(unsafe.SliceData(data))
	if C.gt_load(C.int(format), p, C.size_t(len(data)), C.int(shrink), &out) != 0 {
		return vimage{}, errors.New(lastError())
	}
	return vimage{out}, nil
}

// render cuts crop out of im, resizes it to exactly size and turns it
// upright for EXIF orientation orient (see gt_render).
func (im vimage) render(crop image.Rectangle, size image.Point, orient int) (vimage, error) {
	var out *C.VipsImage
	if C.gt_render(im.p, C.int(crop.Min.X), C.int(crop.Min.Y), C.int(crop.Dx()), C.int(crop.Dy()),
		C.int(size.X), C.int(size.Y), C.int(orient), &out) != 0 {
		return vimage{}, errors.New(lastError())
	}
	return vimage{out}, nil
}

// translucent reports whether any pixel of im, which has an alpha band,
// is not opaque.
func (im vimage) translucent() (bool, error) {
	var t C.int
	if C.gt_translucent(im.p, &t) != 0 {
		return false, errors.New(lastError())
	}
	return t != 0, nil
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
