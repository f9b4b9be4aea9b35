package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the statements a readPool keeps prepared. Query texts are built
// from the shape of a request (how many types, ids, versions), so their number is
// bounded but large; past the bound a query is prepared for one use, as without a cache.
const maxCachedStmts = 512

// readPool is the pool of read connections with its statements prepared once: SQLite
// spends longer parsing and planning a short query than running it, which made a
// third of the CPU time of a TAXII page request. database/sql prepares a cached
// statement again on each connection it meets, once.
type readPool struct {
	*sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newReadPool(db *sql.DB) *readPool {
	return &readPool{DB: db, stmts: make(map[string]*sql.Stmt)}
}

// stmt returns the prepared statement for query, or nil when the cache is full or the
// query does not prepare (the caller then runs it unprepared, to report the error).
func (p *readPool) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.RLock()
	st := p.stmts[query]
	n := len(p.stmts)
	p.mu.RUnlock()
	if st != nil || n >= maxCachedStmts {
		return st
	}
	// Prepared without the request's context: the statement outlives the request.
	st, err := p.DB.PrepareContext(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if have := p.stmts[query]; have != nil {
		_ = st.Close()
		return have
	}
	if len(p.stmts) >= maxCachedStmts {
		_ = st.Close()
		return nil
	}
	p.stmts[query] = st
	return st
}

// QueryContext runs query through its cached statement.
func (p *readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query through its cached statement.
func (p *readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// Close closes the statements, then the pool.
func (p *readPool) Close() error {
	p.mu.Lock()
	for q, st := range p.stmts {
		_ = st.Close()
		delete(p.stmts, q)
	}
	p.mu.Unlock()
	return p.DB.Close()
}
