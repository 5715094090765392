package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmts prepares each distinct query once per pool and keeps it: the
// driver compiles SQL on every call otherwise, which profiles showed to be
// a quarter of the CPU of a read. database/sql re-prepares a statement on
// each connection of the pool the first time it runs there. Only the read
// pool uses it: preparing on the writer's single connection while a
// transaction holds it would wait forever.
type stmts struct {
	db *sql.DB
	m  sync.Map // query -> *sql.Stmt
}

func (c *stmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

func (c *stmts) close() {
	c.m.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
}

// reader runs queries on the read pool through prepared statements.
type reader struct{ stmts }

func (r *reader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := r.get(ctx, query)
	if err != nil {
		// Let the plain path report the error through *sql.Row.
		return r.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (r *reader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := r.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}
