package jpegscale

import (
	"errors"
	"testing"
)

// buildTable builds a table from code counts by length (1-based) and
// symbols.
func buildTable(t *testing.T, counts []int, vals []uint8, dc bool) (*huffTable, error) {
	t.Helper()
	var c [17]int
	copy(c[1:], counts)
	h := new(huffTable)
	copy(h.vals[:], vals)
	return h, h.build(&c, dc)
}

func TestHuffmanDecode(t *testing.T) {
	// Lengths 2, 2, 3, 12 (a code past the look-up table), 12: canonical
	// codes 00, 01, 100, then 101000000000 and 101000000001.
	counts := []int{0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2}
	vals := []uint8{0x01, 0x00, 0xf0, 0x23, 0x3a}
	h, err := buildTable(t, counts, vals, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		code string
		sym  uint8
	}{{"00", 0x01}, {"01", 0x00}, {"100", 0xf0}, {"101000000000", 0x23}, {"101000000001", 0x3a}} {
		var acc uint64
		for i, ch := range c.code {
			if ch == '1' {
				acc |= 1 << (63 - i)
			}
		}
		// Bits after the code must not matter.
		acc |= 1 << (63 - len(c.code) - 1)
		sym, l := h.decode(acc)
		if sym != c.sym || l != len(c.code) {
			t.Errorf("code %s: symbol %#x length %d, want %#x %d", c.code, sym, l, c.sym, len(c.code))
		}
	}
	// "11..." is not a code.
	if _, l := h.decode(0xc000000000000000); l != 0 {
		t.Errorf("unassigned code decoded with length %d", l)
	}
	// The fast entry for symbol 0x01 (run 0, size 1) after code 00 holds
	// the value too: bit 1 is +1, bit 0 is -1.
	for bit, want := range []int32{-1, 1} {
		e := h.lut[(uint64(bit)<<61)>>(64-lutBits)]
		if e&lutFast == 0 || int32(e)>>16 != want || e&31 != 3 {
			t.Errorf("fast entry for 00%d: %#x, want value %d, 3 bits", bit, e, want)
		}
	}
	// Skip entries: EOB advances 64, ZRL 16, others run+1.
	if e := h.skip[0b01<<(lutBits-2)]; e>>16 != 64 || e&31 != 2 {
		t.Errorf("EOB skip entry %#x", e)
	}
	if e := h.skip[0b100<<(lutBits-3)]; e>>16 != 16 || e&31 != 3 {
		t.Errorf("ZRL skip entry %#x", e)
	}
}

func TestHuffmanOversubscribed(t *testing.T) {
	// Three codes of length 1 cannot exist.
	if _, err := buildTable(t, []int{3}, []uint8{1, 2, 3}, true); !errors.Is(err, ErrFormat) {
		t.Errorf("over-subscribed table: %v, want ErrFormat", err)
	}
}
