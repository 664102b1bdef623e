package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gormthumb/gormthumb"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how a regenerate run goes: a bar with rate and ETA when w
// is a terminal, a plain line every interval otherwise (logs, CI).
type progress struct {
	w        io.Writer
	label    string
	terminal bool
	every    time.Duration
	now      func() time.Time

	bar       *progressbar.ProgressBar
	start     time.Time
	lastLine  time.Time
	last      gormthumb.RegenerateProgress
	anyUpdate bool
}

func newProgress(w io.Writer, label string, every time.Duration) *progress {
	p := &progress{w: w, label: label, every: every, now: time.Now}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.terminal = true
	}
	p.start = p.now()
	p.lastLine = p.start
	return p
}

// update is the RegenerateOptions.Progress callback.
func (p *progress) update(s gormthumb.RegenerateProgress) {
	p.last, p.anyUpdate = s, true
	if p.terminal {
		if p.bar == nil {
			p.bar = progressbar.NewOptions(s.Total,
				progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetDescription(p.label),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("rows"),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionFullWidth(),
			)
		}
		p.bar.Set(s.Done)
		return
	}
	if now := p.now(); now.Sub(p.lastLine) >= p.every {
		p.lastLine = now
		fmt.Fprintln(p.w, p.line(now))
	}
}

// line is one plain progress line: count, percent, rate, ETA, outcome.
func (p *progress) line(now time.Time) string {
	s := p.last
	elapsed := now.Sub(p.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(s.Done) / elapsed.Seconds()
	}
	pct := 100.0
	if s.Total > 0 {
		pct = 100 * float64(s.Done) / float64(s.Total)
	}
	eta := "?"
	if rate > 0 && s.Total >= s.Done {
		eta = (time.Duration(float64(s.Total-s.Done)/rate) * time.Second).Round(time.Second).String()
	}
	return fmt.Sprintf("%s: %d/%d rows (%.1f%%), %.1f rows/s, ETA %s; made %d, skipped %d, failed %d",
		p.label, s.Done, s.Total, pct, rate, eta, s.Made, s.Skipped, s.Failed)
}

// finish closes the bar, or prints the last plain line.
func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
		return
	}
	if !p.terminal && p.anyUpdate {
		fmt.Fprintln(p.w, p.line(p.now()))
	}
}
