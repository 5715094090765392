package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"strings"
	"sync"
)

// maxBatch bounds how many write transactions share one commit.
const maxBatch = 256

// errClosed answers writes sent after Close.
var errClosed = errors.New("sqlite: store is closed")

// writer owns the single write connection and commits in groups.
//
// With synchronous=FULL every commit waits for an fsync of the WAL, which
// costs far more than the statements it makes durable. So the writer takes
// every transaction waiting for it, runs each inside its own SAVEPOINT
// (one that fails is rolled back alone, as if it had been a transaction of
// its own), and commits them together: one fsync for the whole group.
// Under light load a group is one transaction; under heavy load groups grow
// and the fsync is shared. A caller hears back only once its work is
// durable, so nothing acknowledged can be lost.
type writer struct {
	db   *sql.DB
	jobs chan *job
	wg   sync.WaitGroup

	// stmts are the statements prepared on the writer connection, and
	// wanted those seen unprepared in the last group. Only the writer
	// goroutine touches either.
	stmts  map[string]*sql.Stmt
	wanted map[string]bool

	// mu orders sends against close: a job is queued only while the
	// writer is still open, so none is left behind unanswered.
	mu       sync.RWMutex
	isClosed bool
	closed   chan struct{}
}

type job struct {
	ctx  context.Context
	fn   func(tx *wtx) error
	done chan error
}

func newWriter(db *sql.DB) *writer {
	w := &writer{db: db, jobs: make(chan *job, maxBatch), closed: make(chan struct{}),
		stmts: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
	w.wg.Go(w.run)
	return w
}

// do runs fn in a write transaction and returns once it is committed (or
// has failed). fn must use only tx and must not keep it.
func (w *writer) do(ctx context.Context, fn func(tx *wtx) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
	w.mu.RLock()
	if w.isClosed {
		w.mu.RUnlock()
		return errClosed
	}
	select {
	case w.jobs <- j:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	// Wait for the outcome even if ctx ends meanwhile: once queued, the
	// work may commit, and the caller must not report a failure that did
	// not happen. A job whose ctx has ended before it runs is skipped.
	return <-j.done
}

func (w *writer) run() {
	batch := make([]*job, 0, maxBatch)
	for {
		select {
		case <-w.closed:
			w.drain()
			for _, st := range w.stmts {
				st.Close()
			}
			return
		case j := <-w.jobs:
			batch = append(batch[:0], j)
		}
		batch = w.take(batch)
		// Yield once before committing: request goroutines that are
		// runnable, most a few microseconds from sending their own write,
		// get to send it and share this commit. Under load that makes
		// groups about a fifth larger (fewer commits, fewer fsyncs); on an
		// idle broker there is no one to yield to and it costs nothing.
		runtime.Gosched()
		batch = w.take(batch)
		w.commit(batch)
		w.prepareWanted()
	}
}

// take adds the jobs already waiting to batch, up to maxBatch.
func (w *writer) take(batch []*job) []*job {
	for len(batch) < maxBatch {
		select {
		case j := <-w.jobs:
			batch = append(batch, j)
		default:
			return batch
		}
	}
	return batch
}

// prepareWanted prepares the statements the last group ran unprepared.
// It runs between groups: the writer's single connection is free only
// then, and preparing while a transaction holds it would wait forever.
func (w *writer) prepareWanted() {
	for q := range w.wanted {
		if st, err := w.db.Prepare(q); err == nil {
			w.stmts[q] = st
		}
		delete(w.wanted, q)
	}
}

// wtx is a write transaction whose statements run prepared once the
// writer has prepared them: the driver otherwise compiles the SQL on every
// call. database/sql keeps a statement prepared on the writer connection
// and reuses it in every later transaction on it.
type wtx struct {
	tx *sql.Tx
	w  *writer
}

// stmt returns the prepared form of query inside this transaction, or nil
// (and asks for it to be prepared) if there is none yet. Multi-statement
// SQL (migrations) is never prepared: a prepared statement is one statement.
func (t *wtx) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := t.w.stmts[query]; ok {
		return t.tx.StmtContext(ctx, st)
	}
	if !strings.Contains(query, ";") {
		t.w.wanted[query] = true
	}
	return nil
}

func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// drain fails what is still queued at Close.
func (w *writer) drain() {
	for {
		select {
		case j := <-w.jobs:
			j.done <- errClosed
		default:
			return
		}
	}
}

func (w *writer) commit(batch []*job) {
	results := make([]error, len(batch))
	finish := func() {
		for i, j := range batch {
			j.done <- results[i]
		}
	}
	defer finish()
	tx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		for i := range results {
			results[i] = err
		}
		return
	}
	if len(batch) == 1 { // the common case under light load: no savepoint needed
		if results[0] = batch[0].ctx.Err(); results[0] == nil {
			results[0] = batch[0].fn(&wtx{tx: tx, w: w})
		}
		if results[0] != nil {
			_ = rollback(tx)
		} else {
			results[0] = tx.Commit()
		}
		return
	}
	ran := 0
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		results[i] = w.runSavepoint(tx, j)
		if results[i] == nil {
			ran++
		}
	}
	if ran == 0 {
		_ = rollback(tx)
		return
	}
	if err := tx.Commit(); err != nil {
		for i := range results {
			if results[i] == nil {
				results[i] = err
			}
		}
	}
}

// runSavepoint runs one job inside a savepoint, undoing only its own
// changes if it fails. The savepoint statements run prepared, like the
// jobs' own: they are two of every job's statements in a busy group.
func (w *writer) runSavepoint(tx *sql.Tx, j *job) error {
	t := &wtx{tx: tx, w: w}
	if _, err := t.ExecContext(j.ctx, "SAVEPOINT job"); err != nil {
		return err
	}
	if err := j.fn(t); err != nil {
		// Undo this job only. If even that fails the transaction is
		// unusable, and the commit will fail for everyone.
		_, _ = tx.Exec("ROLLBACK TO job")
		_, _ = tx.Exec("RELEASE job")
		return err
	}
	_, err := t.ExecContext(context.Background(), "RELEASE job")
	return err
}

// close stops the writer after the group in progress; what is still
// queued fails with errClosed.
func (w *writer) close() {
	w.mu.Lock()
	if !w.isClosed {
		w.isClosed = true
		close(w.closed)
	}
	w.mu.Unlock()
	w.wg.Wait()
}
