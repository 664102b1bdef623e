package thumb

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"io"

	"github.com/disintegration/imaging"
	"github.com/gen2brain/heic"
	"github.com/gormthumb/gormthumb/thumb/internal/isobmff"
)

// HEIF and AVIF sources share a container (ISO-BMFF). Their header is
// read and checked by internal/isobmff (sniffISOBMFF), before any decoder
// sees the bytes: the format comes from the primary image's coding (HEVC: HEIF, AV1:
// AVIF, a grid of either: the same), with the ftyp brands only saying that
// the file is an image at all; the size checked against Limits is every
// image the decoder would decode: the primary, each tile of a grid (they
// may add up to at most twice MaxPixels, as tiles overhang the canvas), and
// the alpha plane, each at the larger of its ispe and the size its HEVC or
// AV1 stream codes.
//
// HEIF (HEVC) is decoded with github.com/gen2brain/heic: libheif through
// the system's shared libheif when one is installed (the unversioned
// libheif.so, from Debian's libheif-dev, loaded with purego, no cgo), and
// otherwise libheif 1.18 with libde265 built to WebAssembly and embedded in
// the package (wazero). libheif applies the container's transformations
// (clap, irot, imir) and converts 10- and 12-bit images to 8 bits, but
// gen2brain/heic returns the colour planes only: the alpha plane is decoded
// here, as a file of its own (decodeAlpha), and given the same
// transformations. EXIF orientation in a HEIF (an Exif item) is not
// applied: in HEIF the container's irot and imir are the transformation
// (writers keep the Exif tag consistent with them, and libheif, browsers
// and Apple's viewers ignore it too), so applying both would turn the
// picture twice.

// decodeHEIF decodes the HEIF (HEVC) file whose header is h, upright
// (libheif applies clap, irot and imir), with its alpha plane if it has one.
func decodeHEIF(r io.Reader, h *isobmff.Image) (img image.Image, err error) {
	data, err := readComplete(r, h)
	if err != nil {
		return nil, err
	}
	img, err = safeDecode(heic.Decode, heic.Dynamic, data)
	if err != nil {
		return nil, err
	}
	want := h.ShownSize()
	if img.Bounds().Size() != want {
		return nil, fmt.Errorf("decoded %v, the header says %v", img.Bounds().Size(), want)
	}
	if !h.HasAlpha() || !isOpaque(img) {
		return img, nil
	}
	alpha, err := decodeAlpha(h, data)
	if err != nil {
		return nil, fmt.Errorf("alpha plane: %w", err)
	}
	return withAlpha(img, alpha), nil
}

// readComplete reads the rest of a HEIF or AVIF file whose header is h,
// and checks every item the header names is in it.
func readComplete(r io.Reader, h *isobmff.Image) ([]byte, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if err := h.Complete(data); err != nil {
		return nil, bmffError(err)
	}
	return data, nil
}

// safeDecode runs a gen2brain decoder, turning a panic into an error, and
// repairs its output when it ran as WebAssembly (dynamic, the package's
// Dynamic, says why the shared library is not used: repairFreed).
func safeDecode(decode func(io.Reader) (image.Image, error), dynamic func() error, data []byte) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("decoder panicked: %v", p)
		}
	}()
	if img, err = decode(bytes.NewReader(data)); err != nil {
		return nil, err
	}
	if dynamic() != nil {
		repairFreed(img)
	}
	return img, nil
}

// decodeAlpha decodes the alpha plane of a HEIF: gen2brain/heic decodes
// the primary image only, so the file is rewritten to make the alpha plane
// its primary image (isobmff's AlphaAsPrimary), and that is decoded.
// libheif applies the primary image's transformations to its alpha plane,
// so they are applied here.
func decodeAlpha(h *isobmff.Image, data []byte) (*image.Gray, error) {
	f, err := h.AlphaAsPrimary(data)
	if err != nil {
		return nil, err
	}
	img, err := safeDecode(heic.Decode, heic.Dynamic, f)
	if err != nil {
		return nil, err // the WebAssembly build fails on 10- and 12-bit alpha planes
	}
	var gray *image.Gray
	switch p := img.(type) {
	case *image.Gray:
		gray = p
	case *image.YCbCr:
		gray = &image.Gray{Pix: p.Y, Stride: p.YStride, Rect: p.Rect}
	default:
		gray = image.NewGray(img.Bounds())
		draw.Draw(gray, gray.Rect, img, img.Bounds().Min, draw.Src)
	}
	var out image.Image = gray
	if h.Crop != nil && gray.Rect.Size() == image.Pt(h.Width, h.Height) {
		out = gray.SubImage(h.Crop.Add(gray.Rect.Min))
	}
	out = applyOrientation(out, h.Orientation)
	if g, ok := out.(*image.Gray); ok {
		return g, nil
	}
	g := image.NewGray(image.Rect(0, 0, out.Bounds().Dx(), out.Bounds().Dy()))
	draw.Draw(g, g.Rect, out, out.Bounds().Min, draw.Src)
	return g, nil
}

// withAlpha is img with the alpha plane a (scaled to img's size if it is
// not), as NRGBA.
func withAlpha(img image.Image, a *image.Gray) *image.NRGBA {
	b := img.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Rect, img, b.Min, draw.Src) // fast for YCbCr
	if a.Rect.Size() != rgba.Rect.Size() {
		scaled := imaging.Resize(a, b.Dx(), b.Dy(), imaging.Linear)
		a = image.NewGray(scaled.Rect)
		draw.Draw(a, a.Rect, scaled, image.Point{}, draw.Src)
	}
	out := &image.NRGBA{Pix: rgba.Pix, Stride: rgba.Stride, Rect: rgba.Rect} // opaque, so the same bytes
	for y := 0; y < b.Dy(); y++ {
		row := out.Pix[y*out.Stride : y*out.Stride+4*b.Dx()]
		arow := a.Pix[y*a.Stride:] // relative to a.Rect.Min, as Pix is
		for x := 0; x < b.Dx(); x++ {
			row[4*x+3] = arow[x]
		}
	}
	return out
}

// freedBytes is how many bytes at the start of a buffer the WebAssembly
// builds' allocator (dlmalloc) writes when the buffer is freed: fd, bk,
// two children, parent and index of a tree chunk, 4 bytes each.
const freedBytes = 24

// repairFreed repairs an image decoded by gen2brain/heic's or
// gen2brain/avif's WebAssembly build (v0.4.5, v0.4.4). Their decoders
// return pixels that alias the module's memory and free that buffer before
// returning, so its first freedBytes bytes hold the allocator's free-list
// pointers instead of pixels: the first pixels of the top row (luma for
// YCbCr, 6 pixels of 8-bit RGBA) come out as garbage. Those bytes are
// replaced by the same columns of the first row below that was not hit.
// The shared libraries' paths copy their pixels and need no repair.
func repairFreed(img image.Image) {
	var pix []byte
	var stride int
	switch m := img.(type) {
	case *image.YCbCr:
		pix, stride = m.Y, m.YStride
	case *image.Gray:
		pix, stride = m.Pix, m.Stride
	case *image.RGBA:
		pix, stride = m.Pix, m.Stride
	default:
		return // 16-bit results are converted, so copied, before the free
	}
	if stride <= 0 {
		return
	}
	for i := 0; i < freedBytes && i < len(pix); i++ {
		j := i + stride*((freedBytes-i+stride-1)/stride)
		if j < len(pix) {
			pix[i] = pix[j]
		}
	}
}
