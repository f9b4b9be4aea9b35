package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// checkpointInterval is how often the background connection copies the WAL into the
// database. Between two checkpoints the WAL grows by what was written meanwhile.
var checkpointInterval = 250 * time.Millisecond

// checkpointer copies committed WAL frames into the database file from its own
// connection (PRAGMA wal_checkpoint(PASSIVE)), so that the single writer never stops to
// do it: in a bulk import this took a tenth of the writer's time. A passive checkpoint
// waits for no one.
//
// The writer starts the WAL over only if, when it begins, a checkpoint has copied all
// of the WAL and no reader reads from it. Under steady writes that moment hardly
// comes: the WAL grew by hundreds of megabytes before it did, every page new to the
// file system (allocated and zeroed, later cut back by journal_size_limit), and a POST
// of objects spent about a tenth of its CPU on it. So once the WAL holds restartFrames,
// and a passive checkpoint has just copied all of it, the checkpointer also runs
// wal_checkpoint(RESTART) on the writer's connection, between two of its
// transactions: it copies (and syncs) what was committed since, if anything, waits
// at most restartWait for the readers of the WAL, and the next commit writes the WAL
// from its start again, over pages the file system already holds. The writer waits
// meanwhile.
type checkpointer struct {
	db       *sql.DB
	stop     context.CancelFunc // ends the loop, and a restart waiting for the writer
	done     chan struct{}
	count    atomic.Int64 // checkpoints run, for tests
	restarts atomic.Int64 // restarts obtained, for tests
}

// restartFrames is the length of the WAL (32 MiB of pages) from which the checkpointer
// restarts it.
var restartFrames = 4096

// restartWait bounds how long a restart waits for the readers of the WAL, and so
// holds the writer back.
const restartWait = 5 * time.Millisecond

func (s *Store) startCheckpointer(dsn string) error {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		_ = db.Close()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, stop: cancel, done: make(chan struct{})}
	s.ck = c
	go func() {
		defer close(c.done)
		restarted := 0 // the WAL's length at the last restart, until a commit starts it over
		t := time.NewTicker(checkpointInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			// A failure (the database busy under a long read) is retried next tick.
			var busy, frames, copied int
			if err := db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
				continue
			}
			c.count.Add(1)
			// Only once the passive checkpoint has caught up: the restart then has
			// little or nothing left to copy (and to sync) while the writer waits.
			if frames >= restartFrames && copied == frames && frames != restarted && s.restartWAL(ctx) {
				c.restarts.Add(1)
				restarted = frames
			}
		}
	}()
	return nil
}

// restartWAL runs a checkpoint on the writer's connection, between two of its
// transactions, that makes the next commit write the WAL from its start; unless
// readers of the WAL keep on for restartWait. It reports whether it did.
func (s *Store) restartWAL(ctx context.Context) (done bool) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return false
	}
	defer conn.Close()
	wait := func(ctx context.Context, d time.Duration) error {
		_, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", d.Milliseconds()))
		return err
	}
	if err := wait(ctx, restartWait); err != nil {
		return false
	}
	var busy, frames, copied int
	err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &frames, &copied)
	if werr := wait(context.Background(), s.busyTimeout); werr != nil {
		// The writer must not keep the short wait: drop its connection, with the
		// statement prepared on it.
		_ = conn.Raw(func(dc any) error {
			s.insObject.release(dc)
			return driver.ErrBadConn
		})
	}
	return err == nil && busy == 0
}

func (s *Store) stopCheckpointer() error {
	if s.ck == nil {
		return nil
	}
	s.ck.stop()
	<-s.ck.done
	err := s.ck.db.Close()
	s.ck = nil
	if errors.Is(err, sql.ErrConnDone) {
		return nil
	}
	return err
}
