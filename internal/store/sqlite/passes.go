package sqlite

import "time"

// passes runs the background work of the store (the search file, the index of
// disclosures): a pass shortly after a wake, one at a time, so that the commits
// of that moment share one pass, until halted.
type passes struct {
	delay            time.Duration // from a wake to its pass
	kick, stop, done chan struct{}
}

// startPasses runs pass delay after each wake, and once at the start for what
// was committed while the store was closed.
func startPasses(delay time.Duration, pass func()) *passes {
	p := &passes{delay: delay, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go p.run(pass)
	p.wake()
	return p
}

// wake asks for a pass without waiting.
func (p *passes) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *passes) run(pass func()) {
	defer close(p.done)
	for {
		select {
		case <-p.stop:
			return
		case <-p.kick:
		}
		select { // let commits gather
		case <-p.stop:
			return
		case <-time.After(p.delay):
		}
		pass()
	}
}

// halted reports whether halt was called: a long pass stops between its steps.
func (p *passes) halted() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

// halt stops the passes and waits for the one running.
func (p *passes) halt() {
	close(p.stop)
	<-p.done
}
