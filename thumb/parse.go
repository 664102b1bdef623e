package thumb

import (
	"fmt"
	"image/color"
	"strconv"
	"strings"
)

// ParseFit reads a fit name: "contain" or "cover".
func ParseFit(v string) (Fit, error) {
	switch v {
	case "contain":
		return FitContain, nil
	case "cover":
		return FitCover, nil
	}
	return 0, fmt.Errorf("fit %q: want contain or cover", v)
}

// anchorNames are the names of the anchors, indexed by Anchor.
var anchorNames = [...]string{
	Center: "center", TopLeft: "topleft", Top: "top", TopRight: "topright",
	Left: "left", Right: "right",
	BottomLeft: "bottomleft", Bottom: "bottom", BottomRight: "bottomright",
}

// ParseAnchor reads an anchor name: center, top, bottom, left, right,
// topleft, topright, bottomleft or bottomright.
func ParseAnchor(v string) (Anchor, error) {
	for a, name := range anchorNames {
		if v == name {
			return Anchor(a), nil
		}
	}
	return 0, fmt.Errorf("anchor %q: want center, top, bottom, left, right, topleft, topright, bottomleft or bottomright", v)
}

// String is the anchor's name, as ParseAnchor reads it ("topleft"), or
// "Anchor(n)" for a value that is not an anchor.
func (a Anchor) String() string {
	if a >= 0 && int(a) < len(anchorNames) {
		return anchorNames[a]
	}
	return "Anchor(" + strconv.Itoa(int(a)) + ")"
}

// String is the fit's name, as ParseFit reads it ("contain", "cover"), or
// "Fit(n)" for a value that is not a fit.
func (f Fit) String() string {
	switch f {
	case FitContain:
		return "contain"
	case FitCover:
		return "cover"
	}
	return "Fit(" + strconv.Itoa(int(f)) + ")"
}

// writableFormats are the formats encode can write.
var writableFormats = map[Format]bool{JPEG: true, PNG: true, GIF: true, WebP: true, AVIF: true}

// ParseFormat reads an output format name: source (FormatSource), jpeg
// (or jpg), png, gif, webp or avif.
func ParseFormat(v string) (Format, error) {
	if v == "source" {
		return FormatSource, nil
	}
	if v == "jpg" {
		v = "jpeg"
	}
	if writableFormats[Format(v)] {
		return Format(v), nil
	}
	return "", fmt.Errorf("format %q: want source, jpeg, png, gif, webp or avif", v)
}

// ParseColor reads a background colour as six hex digits, RRGGBB (a
// leading # is allowed).
func ParseColor(v string) (color.NRGBA, error) {
	s := strings.TrimPrefix(v, "#")
	n, err := strconv.ParseUint(s, 16, 32)
	if err != nil || len(s) != 6 {
		return color.NRGBA{}, fmt.Errorf("background %q: want RRGGBB", v)
	}
	return color.NRGBA{uint8(n >> 16), uint8(n >> 8), uint8(n), 255}, nil
}
