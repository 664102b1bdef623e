package jpegscale

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// Hand-made entropy-coded data: small gray files whose scans carry exactly
// the symbols a case needs, with one-off Huffman tables, so that each case
// reaches one check of the decoder (or one case image/jpeg lets through)
// whatever encoder is installed.

// dht is a DHT segment for one table: class 0 (DC) or 1 (AC), slot th,
// counts[i] codes of length i+1, and the symbols in code order.
func dht(class, th byte, counts []int, vals ...byte) []byte {
	b := []byte{0xff, 0xc4, 0, byte(2 + 17 + len(vals)), class<<4 | th}
	var c [16]byte
	for i, n := range counts {
		c[i] = byte(n)
	}
	b = append(b, c[:]...)
	return append(b, vals...)
}

// sos is the header of a one-component scan of component 1 with DC table
// 0, AC table 0 and the given Ss, Se, Ah and Al.
func sos(ss, se, ah, al byte) []byte {
	return []byte{0xff, 0xda, 0, 8, 1, 1, 0x00, ss, se, ah<<4 | al}
}

// ecs packs a string of '0' and '1' (spaces ignored) into entropy-coded
// bytes, padded with 1 bits and byte-stuffed.
func ecs(s string) []byte {
	s = strings.ReplaceAll(s, " ", "")
	for len(s)%8 != 0 {
		s += "1"
	}
	var b []byte
	for i := 0; i < len(s); i += 8 {
		var v byte
		for _, ch := range s[i : i+8] {
			v = v<<1 | byte(ch-'0')
		}
		b = append(b, v)
		if v == 0xff {
			b = append(b, 0)
		}
	}
	return b
}

// ones is n 1 bits: never a code of the tables below, as T.81 C forbids
// an all-ones code.
func ones(n int) string { return strings.Repeat("1", n) }

// seqFile is an 8x8 gray baseline file: one block, DC table dc, AC table
// ac, then the scan data and EOI.
func seqFile(dc, ac, data []byte) []byte {
	b := craftHeader(8, 8, 1, false)
	b = append(b, dc...)
	b = append(b, ac...)
	b = append(b, sos(0, 63, 0, 0)...)
	b = append(b, data...)
	return append(b, 0xff, 0xd9)
}

// progFile is a 24x8 gray progressive file (three blocks in a row) made of
// the given segments (DHTs, scan headers, scan data), then EOI.
func progFile(segs ...[]byte) []byte {
	b := craftHeader(24, 8, 1, true)
	for _, s := range segs {
		b = append(b, s...)
	}
	return append(b, 0xff, 0xd9)
}

var (
	// dc0 codes '0' as category 0.
	dc0 = dht(0, 0, []int{1}, 0x00)
	// ac0 codes '0' as EOB.
	ac0 = dht(1, 0, []int{1}, 0x00)
	// dcScan is a DC first scan (Al = 1) of three blocks with DC 0.
	dcScan = append(append(bytes.Clone(dc0), sos(0, 0, 0, 1)...), ecs("000")...)
)

// entropyCase is a file that image/jpeg rejects (or accepts) because of
// its entropy-coded data.
type entropyCase struct {
	name string
	data []byte
	// acScan: the fault is in a progressive AC scan, which 1/8 skips.
	acScan bool
}

func rejectedCases() []entropyCase {
	// A 16-bit AC code, 1000000000000000, for r=0 s=1, past the look-up
	// table, beside EOB = '0'.
	acLong := dht(1, 0, []int{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 0x00, 0x01)
	dcLong := dht(0, 0, []int{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 0x00, 0x01)
	// acFirst: coefficients 1..5 of each block, Al = 1: all EOB.
	acFirst := append(append(bytes.Clone(ac0), sos(1, 5, 0, 1)...), ecs("000")...)
	refine := func(sym byte, bits string) []byte {
		return progFile(dcScan, acFirst, dht(1, 0, []int{1}, sym), sos(1, 5, 1, 0), ecs(bits))
	}
	return []entropyCase{
		// Sequential: every scale reads it.
		{name: "seq DC code not in table", data: seqFile(dc0, ac0, ecs(ones(24)))},
		{name: "seq DC code not in table, past the look-up table", data: seqFile(dcLong, ac0, ecs("1000000000000001"+ones(16)))},
		{name: "seq AC code not in table", data: seqFile(dc0, ac0, ecs("0"+ones(24)))},
		{name: "seq AC code not in table, past the look-up table", data: seqFile(dc0, acLong, ecs("0 1000000000000001"+ones(16)))},
		{name: "seq AC code not in table after a long one", data: seqFile(dc0, acLong, ecs("0 1000000000000000 1 1000000000000001"+ones(16)))},
		{name: "seq DC category 17", data: seqFile(dht(0, 0, []int{1}, 17), ac0, ecs("0"+strings.Repeat("0", 17)+"0"))},
		{name: "seq data ends early", data: seqFile(dc0, dht(1, 0, []int{1}, 0x01), []byte{0x00, 0x00})},
		// Progressive DC scans: every scale reads them.
		{name: "prog DC code not in table", data: progFile(dc0, sos(0, 0, 0, 0), ecs("00"+ones(24)))},
		{name: "prog DC category 17", data: progFile(dht(0, 0, []int{1}, 17), sos(0, 0, 0, 0), ecs("0"+strings.Repeat("0", 17)+"0 0"))},
		{name: "prog DC data ends early", data: progFile(dht(0, 0, []int{1}, 8), sos(0, 0, 0, 0), []byte{0x00, 0x00})},
		// Progressive AC scans: 1/8 does not read them.
		{name: "prog AC first code not in table", data: progFile(dcScan, ac0, sos(1, 5, 0, 1), ecs("0"+ones(24))), acScan: true},
		{name: "prog AC first code not in table, past the look-up table", data: progFile(dcScan, acLong, sos(1, 5, 0, 1), ecs("0 1000000000000001"+ones(16))), acScan: true},
		{name: "prog AC first data ends early", data: progFile(dcScan, dht(1, 0, []int{1}, 0x01), sos(1, 63, 0, 1), []byte{0x00}), acScan: true},
		// r=5 s=1 in a block with no non-zero coefficient: the sixth
		// zero it stops at is coefficient 6, past Se = 5.
		{name: "prog refinement run past Se", data: refine(0x51, "0 1"), acScan: true},
		{name: "prog refinement ZRL past Se", data: refine(0xf0, "0"), acScan: true},
		{name: "prog refinement s=2", data: refine(0x02, "0 11"), acScan: true},
		{name: "prog refinement code not in table", data: refine(0x00, ones(24)), acScan: true},
		// An EOB run that ends past the last block of a scan: image/jpeg
		// carries the rest into the next AC scan, whose first block then
		// takes the bit meant as an EOB run code for its correction bit,
		// and whose second block meets only 1 bits, which start no code.
		{name: "prog EOB run carried into the next scan", data: progFile(dcScan,
			// Block 0: coefficient 1 = +1 ('0', then '1'), then EOBRUN 4
			// ('1' for r=2, then '00'): blocks 0-2 and one more.
			dht(1, 0, []int{2}, 0x01, 0x20), sos(1, 63, 0, 1), ecs("0 1 1 00"),
			// Refinement: EOBRUN 3 ('0' for r=1, then '1') and the
			// correction bit '0' of block 0's coefficient 1.
			dht(1, 0, []int{1}, 0x10), sos(1, 63, 1, 0), ecs("0 1 0")), acScan: true},
	}
}

// acceptedCases are corrupt by T.81 but accepted by image/jpeg, so by us
// (TestBitFlips meets all of them), plus valid neighbours of the rejected
// cases.
func acceptedCases() []entropyCase {
	return []entropyCase{
		// Three ZRLs (48 zeros), then r=15 s=1: coefficient 64. image/jpeg
		// (and libjpeg) end the block there, before the value bits.
		{name: "seq AC run past 63", data: seqFile(dc0, dht(1, 0, []int{0, 3}, 0x00, 0xf0, 0xf1), ecs("0 01 01 01 10"))},
		{name: "seq AC ZRL past 63", data: seqFile(dc0, dht(1, 0, []int{0, 2}, 0x00, 0xf0), ecs("0 01 01 01 01"))},
		{name: "seq AC category 15", data: seqFile(dc0, dht(1, 0, []int{0, 2}, 0x00, 0x0f), ecs("0 01 100000000000000 00"))},
		{name: "seq DC category 16", data: seqFile(dht(0, 0, []int{1}, 16), ac0, ecs("0 1000000000000000 0"))},
		// r=2 s=0 in a sequential scan: image/jpeg honours it as an EOB run
		// of 4 + 2 bits.
		{name: "seq EOB run", data: seqFile(dc0, dht(1, 0, []int{1}, 0x20), ecs("0 0 11"))},
		{name: "seq long AC code", data: seqFile(dc0, dht(1, 0, []int{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 0x00, 0x01), ecs("0 1000000000000000 1 0"))},
		// r=6 s=1 from coefficient 1 with Se = 5: the block ends, before
		// the value bits.
		{name: "prog AC first run past Se", data: progFile(dcScan, dht(1, 0, []int{1}, 0x61), sos(1, 5, 0, 1), ecs("000"))},
		{name: "prog AC first ZRL past Se", data: progFile(dcScan, dht(1, 0, []int{1}, 0xf0), sos(1, 5, 0, 1), ecs("000"))},
		// EOBRUN 3 for three blocks, then the refinement of the case
		// "prog EOB run carried into the next scan".
		{name: "prog EOB run ending with the scan", data: progFile(dcScan,
			dht(1, 0, []int{2}, 0x01, 0x10), sos(1, 63, 0, 1), ecs("0 1 1 1"),
			dht(1, 0, []int{1}, 0x10), sos(1, 63, 1, 0), ecs("0 1 0"))},
		// EOBRUN 4 for three blocks, in the last AC scan: image/jpeg drops
		// what is left of it.
		{name: "prog EOB run past the last scan", data: progFile(dcScan, dht(1, 0, []int{1}, 0x20), sos(1, 63, 0, 1), ecs("0 00"))},
		// The same run, then a DC scan, which does not use it, then an AC
		// scan whose first block it covers: the data has EOBs for the
		// other two blocks only.
		{name: "prog EOB run carried past a DC scan", data: progFile(dcScan, dht(1, 0, []int{1}, 0x20), sos(1, 63, 0, 1), ecs("0 00"),
			sos(0, 0, 1, 0), ecs("000"),
			ac0, sos(1, 63, 0, 1), ecs("00"))},
	}
}

func TestEntropyErrors(t *testing.T) {
	for _, c := range rejectedCases() {
		if _, err := stdDecode(c.data); err == nil {
			t.Errorf("%s: image/jpeg decodes it; the case is wrong", c.name)
			continue
		}
		for _, s := range scales {
			_, err := Decode(bytes.NewReader(c.data), Options{Scale: s})
			if s == 8 && c.acScan {
				// Documented: 1/8 skips progressive AC scans unread.
				if err != nil {
					t.Errorf("%s 1/8: %v, want nil (AC scans are not read)", c.name, err)
				}
				continue
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("%s 1/%d: error %v, want ErrFormat", c.name, s, err)
			}
		}
	}
	for _, c := range acceptedCases() {
		if _, err := stdDecode(c.data); err != nil {
			t.Errorf("%s: image/jpeg fails (%v); the case is wrong", c.name, err)
			continue
		}
		for _, s := range scales {
			if _, err := Decode(bytes.NewReader(c.data), Options{Scale: s}); err != nil {
				t.Errorf("%s 1/%d: %v, want nil as image/jpeg", c.name, s, err)
			}
		}
	}
}
