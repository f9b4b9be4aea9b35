// Package ingest streams STIX input into the store: objects are read one at a time,
// parsed and validated on every core, and written in batched transactions in input
// order, so memory stays flat whatever the size of the input.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// Options tune a stream. Zero values get sensible defaults.
type Options struct {
	Collection string
	Submitter  string // organisation id recorded with each entry
	BatchSize  int    // objects per transaction; default 10,000
	Workers    int    // parsing goroutines; default GOMAXPROCS
	// Progress, when set, is called after each batch is stored.
	Progress func(Summary)
	// Reject, when set, is called for each object that is not stored.
	Reject func(Rejection)
}

// Rejection is one object that was not stored, and why.
type Rejection struct {
	Source string // file name, or "-" for standard input
	Offset int64  // byte offset of the object in the source
	ID     string // the object's id when it could be read
	Err    error
}

func (r Rejection) String() string {
	id := r.ID
	if id == "" {
		id = "object"
	}
	return fmt.Sprintf("%s:@%d: %s: %v", r.Source, r.Offset, id, r.Err)
}

// Summary counts what a stream did.
type Summary struct {
	Read       int   // objects read
	Added      int   // new entries, durable
	Duplicates int   // already in the collection: successes that wrote nothing
	Rejected   int   // invalid or conflicting
	Bytes      int64 // input bytes consumed
}

// ErrStore wraps a failure of the store; the input itself may be fine.
var ErrStore = errors.New("store")

// ErrConflict is the reason given for an object whose (id, version) is already
// stored with different content.
var ErrConflict = errors.New("a different object with this id and version is already stored; the first one is kept")

type item struct {
	raw    []byte
	offset int64
	obj    stix.Object
	err    error
}

type chunk struct {
	items []item
	bytes int64
	done  chan struct{}
}

// Stream reads every object of r and stores the valid ones. It adds to sum as batches
// are stored, so sum is right even when Stream returns an error: what it counts as
// added is durable. A malformed input stops the stream with an error naming the offset.
// With a nil store Stream only validates, and counts every valid object as added.
func Stream(ctx context.Context, st store.Objects, source string, r io.Reader, opt Options, sum *Summary) error {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 10000
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	work := make(chan *chunk, opt.Workers)
	ordered := make(chan *chunk, opt.Workers) // bounds the chunks in memory
	var wg sync.WaitGroup
	for range opt.Workers {
		wg.Go(func() {
			for c := range work {
				for i := range c.items {
					it := &c.items[i]
					it.obj, it.err = stix.Parse(it.raw)
				}
				close(c.done)
			}
		})
	}

	readErr := make(chan error, 1)
	go func() {
		defer close(work)
		defer close(ordered)
		readErr <- read(ctx, source, r, opt.BatchSize, work, ordered)
	}()

	writeErr := write(ctx, st, source, opt, ordered, sum)
	cancel()
	for range ordered { // drain so the reader can finish
	}
	wg.Wait()
	if err := <-readErr; err != nil && writeErr == nil {
		return err
	}
	return writeErr
}

func read(ctx context.Context, source string, r io.Reader, batch int, work, ordered chan<- *chunk) error {
	rd := stix.NewReader(r)
	var last int64
	c := &chunk{done: make(chan struct{})}
	send := func() bool {
		off := rd.Offset()
		c.bytes, last = off-last, off
		select {
		case ordered <- c:
		case <-ctx.Done():
			return false
		}
		select {
		case work <- c:
		case <-ctx.Done():
			return false
		}
		c = &chunk{done: make(chan struct{})}
		return true
	}
	for {
		raw, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if len(c.items) > 0 && !send() {
				return ctx.Err()
			}
			return fmt.Errorf("%s: %w", source, err)
		}
		c.items = append(c.items, item{raw: append([]byte(nil), raw...), offset: rd.Offset()})
		if len(c.items) == batch && !send() {
			return ctx.Err()
		}
	}
	if len(c.items) > 0 && !send() {
		return ctx.Err()
	}
	return nil
}

func write(ctx context.Context, st store.Objects, source string, opt Options, ordered <-chan *chunk, sum *Summary) error {
	objs := make([]stix.Object, 0, opt.BatchSize)
	for c := range ordered {
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		objs = objs[:0]
		valid := make([]int, 0, len(c.items))
		var rejected []Rejection
		for i, it := range c.items {
			if it.err != nil {
				rejected = append(rejected, Rejection{Source: source, Offset: it.offset, ID: it.obj.ID, Err: it.err})
				continue
			}
			objs = append(objs, it.obj)
			valid = append(valid, i)
		}
		var added, dups int
		if st == nil {
			added = len(objs)
		} else if len(objs) > 0 {
			res, err := st.Put(ctx, opt.Collection, opt.Submitter, objs)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrStore, err)
			}
			for k, r := range res {
				switch r.Outcome {
				case store.Added:
					added++
				case store.Duplicate:
					dups++
				default:
					it := c.items[valid[k]]
					rejected = append(rejected, Rejection{Source: source, Offset: it.offset, ID: it.obj.ID, Err: ErrConflict})
				}
			}
		}
		sum.Read += len(c.items)
		sum.Added += added
		sum.Duplicates += dups
		sum.Rejected += len(rejected)
		if opt.Reject != nil {
			for _, r := range rejected {
				opt.Reject(r)
			}
		}
		sum.Bytes += c.bytes
		if opt.Progress != nil {
			opt.Progress(*sum)
		}
	}
	return nil
}
