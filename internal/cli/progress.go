package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"quadshare/internal/ingest"
)

// progress draws a one-line progress bar on a terminal; elsewhere it stays silent.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	total int64 // input bytes, 0 when unknown (standard input)
	on    bool
	start time.Time
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, total int64, want bool) *progress {
	return &progress{w: w, total: total, on: want && isTerminal(w), start: time.Now()}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) update(s ingest.Summary) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	rate := float64(s.Read) / max(now.Sub(p.start).Seconds(), 1e-9)
	line := fmt.Sprintf("%d objects  %.0f/s  %d imported  %d duplicates  %d rejected", s.Read, rate, s.Added, s.Duplicates, s.Rejected)
	if p.total > 0 {
		frac := min(float64(s.Bytes)/float64(p.total), 1)
		const width = 24
		n := int(frac * width)
		line = fmt.Sprintf("[%s%s] %3.0f%%  %s", strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, line)
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	p.drawn = true
}

// println writes a line above the bar.
func (p *progress) println(w io.Writer, s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintln(w, s)
	p.last = time.Time{}
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}
