// Package progress draws a one-line progress bar on a terminal for long
// command-line operations (sending a file, scanning events). When the output
// is not a terminal it draws nothing, so scripts and CI logs stay clean.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar reports progress of work measured in bytes (or any unit) towards an
// optional total. It is safe for concurrent use.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	enabled  bool
	label    string
	total    int64
	done     int64
	items    int64
	start    time.Time
	lastDraw time.Time
	now      func() time.Time
}

// New returns a bar writing to w. It draws only when w is a terminal;
// total may be 0 when unknown.
func New(w io.Writer, label string, total int64) *Bar {
	enabled := false
	if f, ok := w.(*os.File); ok {
		enabled = term.IsTerminal(int(f.Fd()))
	}
	return newBar(w, label, total, enabled, time.Now)
}

func newBar(w io.Writer, label string, total int64, enabled bool, now func() time.Time) *Bar {
	return &Bar{w: w, enabled: enabled, label: label, total: total, start: now(), now: now}
}

// Add records n more units done and items more items (events, records).
func (b *Bar) Add(n, items int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	b.items += items
	if !b.enabled {
		return
	}
	if t := b.now(); t.Sub(b.lastDraw) >= 100*time.Millisecond {
		b.lastDraw = t
		b.draw(t)
	}
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	b.draw(b.now())
	fmt.Fprintln(b.w)
}

const width = 30

func (b *Bar) draw(t time.Time) {
	elapsed := t.Sub(b.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(b.items) / elapsed
	}
	var sb strings.Builder
	sb.WriteString("\r")
	sb.WriteString(b.label)
	if b.total > 0 {
		frac := float64(b.done) / float64(b.total)
		frac = min(max(frac, 0), 1)
		filled := int(frac * width)
		fmt.Fprintf(&sb, " [%s%s] %5.1f%%", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), frac*100)
	}
	fmt.Fprintf(&sb, " %s  %d items  %.0f/s ", humanBytes(b.done), b.items, rate)
	io.WriteString(b.w, sb.String())
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Reader wraps r so that every read advances the bar by the bytes read.
func (b *Bar) Reader(r io.Reader) io.Reader { return &reader{r: r, b: b} }

type reader struct {
	r io.Reader
	b *Bar
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.b.Add(int64(n), 0)
	}
	return n, err
}
