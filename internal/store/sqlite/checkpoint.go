package sqlite

import (
	"database/sql"
	"errors"
	"sync/atomic"
	"time"
)

// checkpointInterval is how often the background connection copies the WAL into the
// database. Between two checkpoints the WAL grows by what was written meanwhile.
const checkpointInterval = 250 * time.Millisecond

// checkpointer copies committed WAL frames into the database file from its own
// connection (PRAGMA wal_checkpoint(PASSIVE)), so that the single writer never stops to
// do it: in a bulk import this took a tenth of the writer's time. A passive checkpoint
// waits for no one; the writer starts the WAL over once a checkpoint has caught up.
type checkpointer struct {
	db    *sql.DB
	stop  chan struct{}
	done  chan struct{}
	count atomic.Int64 // checkpoints run, for tests
}

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
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	s.ck = c
	go func() {
		defer close(c.done)
		t := time.NewTicker(checkpointInterval)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
			}
			// A failure (the database busy under a long read) is retried next tick.
			if _, err := db.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err == nil {
				c.count.Add(1)
			}
		}
	}()
	return nil
}

func (s *Store) stopCheckpointer() error {
	if s.ck == nil {
		return nil
	}
	close(s.ck.stop)
	<-s.ck.done
	err := s.ck.db.Close()
	s.ck = nil
	if errors.Is(err, sql.ErrConnDone) {
		return nil
	}
	return err
}
