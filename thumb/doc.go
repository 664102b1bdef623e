// Package thumb is gormthumb's image pipeline: it turns the bytes of one
// source image into thumbnails, and knows nothing of GORM or buckets.
//
// A Processor takes a source and a list of Specs (size, fit and anchor,
// output format and quality) and returns one encoded Thumbnail per Spec
// from a single decode. GoProcessor is the pure-Go one; the vips module has
// one backed by libvips; thumbtest is the conformance suite both run.
//
// Untrusted bytes are handled with care: the format is sniffed from the
// bytes (never a file name), the header is checked against Limits before
// any pixel is decoded (sniff.go, Check), and every failure wraps
// ErrNotImage, ErrUnsupportedFormat or ErrTooLarge.
//
// What a thumbnail of a source is (its size, the region of the picture it
// shows, its format, quality and background, and how far a JPEG may be
// decoded at reduced scale) is one policy, PlanFor and FormatFor
// (plan.go), which every Processor follows and thumbtest checks. A Spec's
// CanonicalKey is the versioned text thumbnail digests are computed from;
// LegacyKey is earlier versions' (key.go).
//
// JPEG sources are decoded by internal/jpegscale at 1/1, 1/2, 1/4 or 1/8
// of their size, the one scale that still serves every spec of the call
// (scale.go); sizes and crops are planned on the full source size, so the
// thumbnails are the same size as from a full decode.
//
// Files by operation: plan.go (the policy), key.go (spec keys), sniff.go
// (formats, headers, limits), process.go (GoProcessor), resize.go (the
// resize itself), scale.go (the JPEG decode scale), orient.go (EXIF
// orientation), encode.go (output formats), gif.go, webp.go and jpeg.go
// (format specifics), heif.go and avif.go (HEIF and AVIF, whose container,
// header and streams' sizes internal/isobmff reads), parse.go (option
// values of a tag).
package thumb
