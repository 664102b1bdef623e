package thumb

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"io"
	"slices"
)

// GIF needs more care than the other formats: image.DecodeConfig reads only
// the logical screen, but every frame carries its own size, and a GIF can
// hold any number of frames. A 44-byte file can declare a 32x32 screen and
// then a 65535x1321 frame, and Go's decoder allocates frames as it meets
// them. So before decoding a GIF we scan its block structure, which costs no
// decompression: every frame must lie inside the screen and within
// MaxPixels, and there may be at most MaxFrames of them.
//
// The scan needs the whole stream before the decoder starts, and the stream
// is read only once, so a GIF is buffered: its compressed bytes (bounded by
// MaxBytes) are read into memory, scanned, and decoded from that buffer.
// Other formats are streamed into their decoders.
//
// Animated thumbnails. When a thumbnail is written as GIF (format=source or
// format=gif) and the source has several frames, every frame is composed on
// the canvas as a viewer would show it (disposal methods honoured), resized,
// and written with its delay; the loop count is kept. Frames are decoded one
// at a time from the buffer (each with the stream's header in front, as a
// one-frame GIF), never all at once as gif.DecodeAll would: besides the
// compressed bytes, an animation holds one RGBA canvas, one decoded frame
// and, for "restore previous" frames, a copy of the area that frame covers.
// The resize work is bounded instead: the animation is kept when frames ×
// canvas pixels ≤ 2 × MaxPixels (no more than resizing two of the largest
// stills); longer ones, and every other output format, get a thumbnail of
// the first frame.

// gifInfo is what scanGIF learns from a GIF's block structure.
type gifInfo struct {
	width, height int // logical screen
	header        int // length of the header, screen descriptor and global palette
	loopCount     int // as gif.GIF.LoopCount: -1 without a NETSCAPE2.0 block
	frames        []gifFrame
}

// gifFrame locates one frame in the stream.
type gifFrame struct {
	start, end int  // its blocks: extensions before it, descriptor, image data
	delay      int  // 1/100 s
	disposal   byte // gif.DisposalNone, ...
}

// animationBudget is the largest frames × canvas pixels kept as an animation.
func animationBudget(lim Limits) int64 { return 2 * lim.MaxPixels }

// scanGIF walks the blocks of a complete GIF stream without decompressing
// anything and checks every frame against lim. Errors wrap ErrTooLarge
// (frame over MaxPixels, more than MaxFrames frames) or ErrNotImage
// (truncated, malformed, frame outside the screen, no frame at all).
func scanGIF(b []byte, lim Limits) (gifInfo, error) {
	info := gifInfo{loopCount: -1}
	if len(b) < 13 || !match("GIF8?a", b) {
		return info, wrapf(ErrNotImage, "gif: bad header")
	}
	info.width = int(binary.LittleEndian.Uint16(b[6:]))
	info.height = int(binary.LittleEndian.Uint16(b[8:]))
	p := 13
	if b[10]&0x80 != 0 {
		p += 3 << (b[10]&7 + 1)
	}
	info.header = p
	truncated := wrapf(ErrNotImage, "gif: truncated")
	// skipSubBlocks skips a chain of data sub-blocks ending in a zero length.
	skipSubBlocks := func() bool {
		for {
			if p >= len(b) {
				return false
			}
			n := int(b[p])
			p += 1 + n
			if n == 0 {
				return p <= len(b)
			}
		}
	}
	start, delay, disposal := p, 0, byte(0)
	for {
		if p >= len(b) {
			return info, truncated
		}
		switch b[p] {
		case 0x21: // extension: label, then sub-blocks
			if p+2 < len(b) {
				ext := b[p+2:]
				switch {
				case b[p+1] == 0xF9 && len(ext) >= 5 && ext[0] == 4: // graphic control
					disposal, delay = ext[1]>>2&7, int(binary.LittleEndian.Uint16(ext[2:]))
				case b[p+1] == 0xFF && len(ext) >= 16 && string(ext[:12]) == "\x0bNETSCAPE2.0" && ext[12] == 3 && ext[13] == 1:
					info.loopCount = int(binary.LittleEndian.Uint16(ext[14:]))
				}
			}
			p += 2
			if !skipSubBlocks() {
				return info, truncated
			}
		case 0x2C: // image descriptor
			if p+10 > len(b) {
				return info, truncated
			}
			left := int(binary.LittleEndian.Uint16(b[p+1:]))
			top := int(binary.LittleEndian.Uint16(b[p+3:]))
			w := int(binary.LittleEndian.Uint16(b[p+5:]))
			h := int(binary.LittleEndian.Uint16(b[p+7:]))
			flags := b[p+9]
			n := len(info.frames) + 1
			if int64(w)*int64(h) > lim.MaxPixels {
				return info, wrapf(ErrTooLarge, "gif frame %d is %dx%d, more than %d pixels", n, w, h, lim.MaxPixels)
			}
			if left+w > info.width || top+h > info.height {
				return info, wrapf(ErrNotImage, "gif frame %d (%dx%d at %d,%d) lies outside the %dx%d screen",
					n, w, h, left, top, info.width, info.height)
			}
			if n > lim.MaxFrames {
				return info, wrapf(ErrTooLarge, "gif has more than %d frames", lim.MaxFrames)
			}
			p += 10
			if flags&0x80 != 0 {
				p += 3 << (flags&7 + 1)
			}
			p++ // LZW minimum code size
			if !skipSubBlocks() {
				return info, truncated
			}
			info.frames = append(info.frames, gifFrame{start: start, end: p, delay: delay, disposal: disposal})
			start, delay, disposal = p, 0, 0
		case 0x3B: // trailer
			if len(info.frames) == 0 {
				return info, wrapf(ErrNotImage, "gif has no frames")
			}
			return info, nil
		default:
			return info, wrapf(ErrNotImage, "gif: unknown block 0x%02x", b[p])
		}
	}
}

// gifStream is a scanned GIF whose frames are decoded on demand.
type gifStream struct {
	data []byte
	info gifInfo
}

// frame decodes frame i alone: the stream's header, the frame's blocks and
// a trailer make a one-frame GIF.
func (g *gifStream) frame(i int) (*image.Paletted, error) {
	f := g.info.frames[i]
	r := io.MultiReader(bytes.NewReader(g.data[:g.info.header]), bytes.NewReader(g.data[f.start:f.end]), bytes.NewReader([]byte{0x3B}))
	img, err := gif.Decode(r)
	if err != nil {
		return nil, wrapf(ErrNotImage, "decoding gif frame %d: %v", i+1, err)
	}
	p, ok := img.(*image.Paletted)
	if !ok {
		return nil, wrapf(ErrNotImage, "gif frame %d is a %T", i+1, img)
	}
	return p, nil
}

// decodeGIF buffers a GIF (r replays the sniffed header and the rest of the
// source), scans it and decodes its first frame; the other frames are
// decoded by animatedThumbnail when an animation is kept.
func decodeGIF(r io.Reader, lim Limits, animate bool) (*source, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err // the byte limit (ErrTooLarge) or the bucket
	}
	info, err := scanGIF(data, lim)
	if err != nil {
		return nil, err
	}
	st := &gifStream{data: data, info: info}
	first, err := st.frame(0)
	if err != nil {
		return nil, err
	}
	s := &source{format: GIF, orient: 1, pal: first.Palette}
	s.img = onCanvas(first, image.Rect(0, 0, info.width, info.height))
	s.fullSize()
	if animate && len(info.frames) > 1 && int64(len(info.frames))*int64(info.width)*int64(info.height) <= animationBudget(lim) {
		s.anim = st
	}
	return s, nil
}

// onCanvas places a frame on a transparent canvas (as browsers show a GIF,
// ignoring its background colour), unless the frame already covers it.
func onCanvas(frame image.Image, canvas image.Rectangle) image.Image {
	if frame.Bounds() == canvas {
		return frame
	}
	dst := image.NewNRGBA(canvas)
	draw.Draw(dst, frame.Bounds(), frame, frame.Bounds().Min, draw.Over)
	return dst
}

// animatedThumbnail resizes every frame of g as it appears on screen and
// encodes the result as an animated GIF with the same delays and loop count.
//
// Frames are mapped to their own palette without dithering, so areas that
// do not change map to the same pixels, and then written as deltas
// (deltaFrames) when no frame shows transparency; otherwise every frame is
// written whole and disposed to the background, so transparent areas show
// what they should and nothing else.
func animatedThumbnail(ctx context.Context, g *gifStream, p Plan) (Thumbnail, error) {
	canvas := image.NewNRGBA(image.Rect(0, 0, g.info.width, g.info.height))
	var saved []byte // for DisposalPrevious: the canvas under the frame
	out := &gif.GIF{LoopCount: g.info.loopCount}
	opaque := true
	var lastPal color.Palette
	var nearest *nearestCache // while frames share a palette
	for i, f := range g.info.frames {
		if err := ctx.Err(); err != nil {
			return Thumbnail{}, err
		}
		frame, err := g.frame(i)
		if err != nil {
			return Thumbnail{}, err
		}
		fb := frame.Bounds()
		under := canvas.SubImage(fb).(*image.NRGBA)
		if f.disposal == gif.DisposalPrevious {
			saved = saveRect(saved[:0], under)
		}
		draw.Draw(canvas, fb, frame, fb.Min, draw.Over)
		if !slices.Equal(frame.Palette, lastPal) {
			lastPal, nearest = frame.Palette, newNearestCache()
		}
		small := mapToPalette(resizePlanned(canvas, 1, p), frame.Palette, nearest)
		opaque = opaque && small.Opaque()
		out.Image = append(out.Image, small)
		out.Delay = append(out.Delay, f.delay)
		out.Disposal = append(out.Disposal, gif.DisposalBackground)
		switch f.disposal {
		case gif.DisposalBackground:
			draw.Draw(canvas, fb, image.Transparent, image.Point{}, draw.Src)
		case gif.DisposalPrevious:
			restoreRect(under, saved)
		}
	}
	b := out.Image[0].Bounds()
	if opaque {
		deltaFrames(out)
	}
	out.Config = image.Config{Width: b.Dx(), Height: b.Dy()}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, out); err != nil {
		return Thumbnail{}, err
	}
	return Thumbnail{Data: buf.Bytes(), Format: GIF, Width: b.Dx(), Height: b.Dy()}, nil
}

// saveRect appends the rows of m to buf.
func saveRect(buf []byte, m *image.NRGBA) []byte {
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		o := m.PixOffset(m.Rect.Min.X, y)
		buf = append(buf, m.Pix[o:o+4*m.Rect.Dx()]...)
	}
	return buf
}

// restoreRect writes rows saved by saveRect back into m.
func restoreRect(m *image.NRGBA, buf []byte) {
	row := 4 * m.Rect.Dx()
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		o := m.PixOffset(m.Rect.Min.X, y)
		copy(m.Pix[o:o+row], buf[:row])
		buf = buf[row:]
	}
}

// deltaFrames rewrites the whole, opaque frames of g so each one after the
// first holds only the rectangle that changed, with unchanged pixels in it
// transparent, and is left in place (DisposalNone) for the next to draw
// over. A frame that changes nothing is dropped and its delay added to the
// previous one. What a viewer shows is unchanged; the file is much smaller.
func deltaFrames(g *gif.GIF) {
	prev := g.Image[0]
	prevRGBA := packPalette(prev.Palette)
	imgs, delays := []*image.Paletted{prev}, []int{g.Delay[0]}
	for i := 1; i < len(g.Image); i++ {
		cur := g.Image[i]
		curRGBA := packPalette(cur.Palette)
		same := func(o int) bool { return curRGBA[cur.Pix[o]] == prevRGBA[prev.Pix[o]] }
		changed := image.Rectangle{}
		w := cur.Rect.Dx()
		for o := range cur.Pix { // whole frames at the origin: Stride == width
			if !same(o) {
				changed = changed.Union(image.Rect(o%w, o/w, o%w+1, o/w+1))
			}
		}
		if changed.Empty() {
			delays[len(delays)-1] += g.Delay[i]
			continue
		}
		d := cur.SubImage(changed).(*image.Paletted)
		if len(cur.Palette) < 256 {
			pal := append(append(color.Palette{}, cur.Palette...), color.Transparent)
			d = image.NewPaletted(changed, pal)
			t := uint8(len(pal) - 1)
			for y := changed.Min.Y; y < changed.Max.Y; y++ {
				for x := changed.Min.X; x < changed.Max.X; x++ {
					o := y*w + x
					if same(o) {
						d.Pix[d.PixOffset(x, y)] = t
					} else {
						d.Pix[d.PixOffset(x, y)] = cur.Pix[o]
					}
				}
			}
		}
		imgs, delays = append(imgs, d), append(delays, g.Delay[i])
		prev, prevRGBA = cur, curRGBA
	}
	g.Image, g.Delay = imgs, delays
	g.Disposal = make([]byte, len(imgs)) // all DisposalNone: each frame stays under the next
}

// packPalette is each palette entry's 8-bit RGBA packed in a uint32, for
// comparing colours of pixels from different palettes.
func packPalette(p color.Palette) [256]uint32 {
	var out [256]uint32
	for i, c := range p {
		r, g, b, a := c.RGBA()
		out[i] = r>>8<<24 | g>>8<<16 | b>>8<<8 | a>>8
	}
	return out
}

// toPaletted converts img to at most 256 colours for a still GIF, with
// Floyd–Steinberg dithering (see mapToPalette).
func toPaletted(img image.Image, base color.Palette) *image.Paletted {
	if p, ok := img.(*image.Paletted); ok && p.Rect.Min == (image.Point{}) {
		return p
	}
	return mapToPalette(img, base, nil)
}

// mapToPalette converts img to at most 256 colours: the opaque colours of
// base (a GIF frame's own palette) or, when there is none, the Plan 9
// palette. With a nearest cache (for this base) each pixel takes the
// nearest colour; without, Floyd–Steinberg dithering is used.
// Pixels less than half opaque become a transparent palette entry, so
// transparency survives.
func mapToPalette(img image.Image, base color.Palette, nearest *nearestCache) *image.Paletted {
	if base == nil {
		if p, ok := img.(*image.Paletted); ok {
			base = p.Palette
		} else {
			base = palette.Plan9
		}
	}
	pal := make(color.Palette, 0, 256)
	for _, c := range base {
		if _, _, _, a := c.RGBA(); a == 0xffff && len(pal) < 255 {
			pal = append(pal, c)
		}
	}
	if len(pal) == 0 {
		pal = append(pal, color.Black)
	}
	b := img.Bounds()
	solid := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(solid, solid.Rect, img, b.Min, draw.Src)
	var holes []int // offsets of pixels that become transparent
	for i := 3; i < len(solid.Pix); i += 4 {
		if solid.Pix[i] < 128 {
			holes = append(holes, i/4)
		}
		solid.Pix[i] = 255
	}
	dst := image.NewPaletted(solid.Rect, pal)
	if nearest == nil {
		draw.FloydSteinberg.Draw(dst, dst.Rect, solid, image.Point{})
	} else {
		for i, o := 0, 0; o < len(solid.Pix); i, o = i+1, o+4 {
			dst.Pix[i] = nearest.index(pal, solid.Pix[o], solid.Pix[o+1], solid.Pix[o+2])
		}
	}
	if len(holes) > 0 {
		dst.Palette = append(dst.Palette, color.Transparent)
		t := uint8(len(dst.Palette) - 1)
		for _, o := range holes {
			dst.Pix[o] = t
		}
	}
	return dst
}

// nearestCache maps colours, 5 bits a channel, to their nearest palette
// index (-1: not yet known). Each 8x8x8 bucket takes the entry nearest its
// centre, at most 4 levels a channel from the exact answer, which is far
// below what a 256-colour palette resolves anyway, and the palette search
// runs once per bucket instead of once per pixel.
type nearestCache [1 << 15]int16

func newNearestCache() *nearestCache {
	c := new(nearestCache)
	for i := range c {
		c[i] = -1
	}
	return c
}

func (c *nearestCache) index(pal color.Palette, r, g, b uint8) uint8 {
	k := int(r>>3)<<10 | int(g>>3)<<5 | int(b>>3)
	if c[k] < 0 {
		c[k] = int16(pal.Index(color.NRGBA{r&^7 | 4, g&^7 | 4, b&^7 | 4, 255}))
	}
	return uint8(c[k])
}
