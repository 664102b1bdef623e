package thumb

import (
	"fmt"
	"image/color"
	"strconv"
	"strings"
)

// A spec's key is the text a thumbnail's digest is computed from (the root
// package puts it in every thumbnail's name), so it must change when, and
// only when, the thumbnail would come out different. Both encodings below
// read the spec field by field, by name: a field added to Spec changes
// neither until it is written here (key_test.go fails until then).
//
// CanonicalKey is the current encoding: a version prefix, the size, then
// only the options that differ from their defaults, in a fixed order, in
// the tag's own words. A new option, left at its default, therefore leaves
// every existing key unchanged.
//
// LegacyKey is the encoding of earlier versions, fmt's "%+v" of the Spec of
// the time, written out so that it stays byte for byte what they wrote:
// keys they wrote are recognised by it.

// keyVersion starts every CanonicalKey: the version of the encoding (1
// being LegacyKey's, which starts with "{" or "widths=").
const keyVersion = "s2:"

// CanonicalKey is the spec's canonical key: keyVersion, the size, and
// the options that differ from their defaults, in this order and the tag's
// words: fit, anchor, format, quality, upscale, background. A Quality of 0
// and DefaultQuality are the same default, and so are a zero Background
// and white (its alpha is never used: JPEG has none).
//
//	Spec{Width: 110, Height: 150}                    s2:110x150
//	Spec{Width: 64, Height: 64, Fit: FitCover,
//		Anchor: Top, Format: WebP, Quality: 80}   s2:64x64,fit=cover,anchor=top,format=webp,quality=80
func (s Spec) CanonicalKey() string {
	return keyVersion + strconv.Itoa(s.Width) + "x" + strconv.Itoa(s.Height) + s.canonicalOptions()
}

// CanonicalSetKey is the canonical key of a set of widths (a `widths=`
// tag, whose members are s at each width): keyVersion, "widths=" and the
// widths joined by "|" as given, and s's options as CanonicalKey writes
// them. s's own Width and Height are not part of it.
func (s Spec) CanonicalSetKey(widths []int) string {
	var b strings.Builder
	b.WriteString(keyVersion + "widths=")
	for i, w := range widths {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(strconv.Itoa(w))
	}
	return b.String() + s.canonicalOptions()
}

// canonicalOptions is the ",option=value" text of every option of s that
// is not at its default, in CanonicalKey's order.
func (s Spec) canonicalOptions() string {
	var b strings.Builder
	if s.Fit != FitContain {
		b.WriteString(",fit=" + s.Fit.String())
	}
	if s.Anchor != Center {
		b.WriteString(",anchor=" + s.Anchor.String())
	}
	if s.Format != FormatSource {
		b.WriteString(",format=" + formatName(s.Format))
	}
	if q := s.Quality; q != 0 && q != DefaultQuality {
		b.WriteString(",quality=" + strconv.Itoa(q))
	}
	if s.Upscale {
		b.WriteString(",upscale=true")
	}
	if bg := backgroundColor(s.Background); bg != white {
		fmt.Fprintf(&b, ",background=%02x%02x%02x", bg.R, bg.G, bg.B)
	}
	return b.String()
}

// formatName is f as CanonicalKey writes it: its name, or the name quoted
// when it is not one of lower-case letters and digits (a Format set in
// code, not parsed, might hold "png,upscale=true").
func formatName(f Format) string {
	for _, c := range f {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return strconv.Quote(string(f))
		}
	}
	return string(f)
}

// white is the default background.
var white = color.NRGBA{255, 255, 255, 255}

// backgroundColor is the opaque colour transparent pixels written as JPEG
// are flattened onto for a spec's Background: white for the zero value,
// otherwise its colour at full alpha.
func backgroundColor(c color.NRGBA) color.NRGBA {
	if c == (color.NRGBA{}) {
		return white
	}
	c.A = 255
	return c
}

// LegacyKey is the key earlier versions computed thumbnail digests from:
// fmt's "%+v" of their Spec, such as
//
//	{Width:110 Height:150 Fit:0 Anchor:0 Format: Quality:0 Upscale:false Background:{R:0 G:0 B:0 A:0}}
//
// byte for byte, written field by field so that it never changes. A
// thumbnail whose digest was computed from it is a thumbnail of s. It is
// "" when s sets an option those versions did not have (there is none
// yet): no thumbnail they made can be one of s.
func (s Spec) LegacyKey() string {
	if !s.v1Only() {
		return ""
	}
	bg := s.Background
	return fmt.Sprintf("{Width:%d Height:%d Fit:%d Anchor:%d Format:%s Quality:%d Upscale:%t Background:{R:%d G:%d B:%d A:%d}}",
		s.Width, s.Height, int(s.Fit), int(s.Anchor), string(s.Format), s.Quality, s.Upscale, bg.R, bg.G, bg.B, bg.A)
}

// LegacySetKey is LegacyKey for a set of widths: what earlier versions
// wrote for a `widths=` tag, "widths=[320 640 1280] " and the LegacyKey of
// its spec (whose Width and Height are 0 there); "" when LegacyKey is.
func (s Spec) LegacySetKey(widths []int) string {
	k := s.LegacyKey()
	if k == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString("widths=[")
	for i, w := range widths {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(w))
	}
	return b.String() + "] " + k
}

// Key is LegacyKey, the key earlier versions' digests were computed from.
//
// Deprecated: digests of new thumbnails should use CanonicalKey, and
// recognise LegacyKey's for thumbnails made before.
func (s Spec) Key() string { return s.LegacyKey() }

// v1Only reports whether every field of s other than those of the first
// version's Spec (Width to Background) is at its zero value.
func (s Spec) v1Only() bool {
	rest := s
	rest.Width, rest.Height, rest.Fit, rest.Anchor = 0, 0, 0, 0
	rest.Format, rest.Quality, rest.Upscale, rest.Background = "", 0, false, color.NRGBA{}
	return rest == Spec{}
}
