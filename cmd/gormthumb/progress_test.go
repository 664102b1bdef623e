package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gormthumb/gormthumb"
)

// Not a terminal: one plain line per interval, with rate and ETA from a
// fake clock, and a last line at the end.
func TestProgressPlainLines(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, "products", 10*time.Second)
	clock := p.start
	p.now = func() time.Time { return clock }
	for done := 1; done <= 300; done++ {
		clock = p.start.Add(time.Duration(done) * 100 * time.Millisecond) // 10 rows/s
		p.update(gormthumb.RegenerateProgress{Done: done, Total: 300, Made: done - done/100, Failed: done / 100})
	}
	p.finish()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"products: 100/300 rows (33.3%), 10.0 rows/s, ETA 20s; made 99, skipped 0, failed 1",
		"products: 200/300 rows (66.7%), 10.0 rows/s, ETA 10s; made 198, skipped 0, failed 2",
		"products: 300/300 rows (100.0%), 10.0 rows/s, ETA 0s; made 297, skipped 0, failed 3",
		"products: 300/300 rows (100.0%), 10.0 rows/s, ETA 0s; made 297, skipped 0, failed 3",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lines:\n%s\nwant:\n%s", out.String(), strings.Join(want, "\n"))
	}
}

// On a terminal: a progress bar with the count, the rate and the ETA.
func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, "products", time.Hour)
	p.terminal = true // as newProgress decides for a terminal
	for done := 1; done <= 50; done++ {
		p.update(gormthumb.RegenerateProgress{Done: done, Total: 50, Made: done})
		time.Sleep(3 * time.Millisecond)
	}
	p.finish()
	s := out.String()
	if !regexp.MustCompile(`\[[0-9]+s:[0-9]+s\]`).MatchString(s) {
		t.Fatalf("bar output has no [elapsed:remaining]:\n%q", s)
	}
	for _, want := range []string{"products", "100%", "(50/50", "rows/s", "█"} {
		if !strings.Contains(s, want) {
			t.Fatalf("bar output lacks %q:\n%q", want, s)
		}
	}
}
