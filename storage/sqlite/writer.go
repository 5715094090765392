package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/socialbroker/broker/storage"

	driver "modernc.org/sqlite"
)

// maxBatch bounds how many write transactions share one commit.
const maxBatch = 256

// maxQueued bounds how many writes may wait for the writer. Past it a
// write fails at once with storage.ErrUnavailable (503 with Retry-After)
// instead of joining a queue that would answer it too late to matter:
// at the few thousand commits a second this writer makes, a full queue is
// already a wait of a tenth of a second or so, and every request beyond it
// would hold its memory while waiting longer still.
const maxQueued = 2 * maxBatch

// errClosed answers writes sent after Close.
var errClosed = errors.New("sqlite: store is closed")

// errQueueFull answers a write sent while maxQueued others wait.
var errQueueFull = fmt.Errorf("sqlite: write queue full: %w", storage.ErrUnavailable)

// writer owns the single write connection and commits in groups.
//
// With synchronous=FULL every commit waits for an fsync of the WAL, which
// costs far more than the statements it makes durable. So the writer takes
// every transaction waiting for it and commits them together: one fsync
// for the whole group. Under light load a group is one transaction; under
// heavy load groups grow and the fsync is shared. A caller hears back only
// once its work is durable, so nothing acknowledged can be lost.
//
// A job that fails must leave no trace, as if it had been a transaction of
// its own. The writer first runs the group's jobs one after the other in
// the transaction. Most failures (an unknown, used or expired code or
// token, a used login state) are found before the job writes anything,
// and such a job is simply left out. If a job fails after writing, the writer rolls
// the whole group back and runs it again with each job inside its own
// SAVEPOINT, so that only the failed ones are undone: that is rare (a
// constraint broken by a second statement), and the common group is
// spared two statements per job. A job may therefore run twice: fn must
// depend only on what it reads through tx, as every job here does.
type writer struct {
	db   *sql.DB
	jobs chan *job // bounded: see maxQueued
	wg   sync.WaitGroup

	// health is the outcome of the latest groups: see writeHealth.
	health writeHealth

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
	// state says whether the job still waits in the queue, runs (or has
	// run), or was given up; it moves away from jobQueued once, by the
	// writer (start) or by the caller (do, when ctx ends first).
	state atomic.Int32
}

// Job states.
const (
	jobQueued int32 = iota
	jobStarted
	jobDropped
)

// start claims j for running. It fails, and j must then not run at all,
// if its caller has given up or its ctx has ended: nobody waits for the
// work any more, and doing it would only delay the jobs behind it.
func (j *job) start() bool {
	if j.ctx.Err() != nil {
		j.state.CompareAndSwap(jobQueued, jobDropped)
		return false
	}
	return j.state.CompareAndSwap(jobQueued, jobStarted)
}

func newWriter(db *sql.DB, queued int) *writer {
	w := &writer{db: db, jobs: make(chan *job, queued), closed: make(chan struct{}),
		stmts: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
	w.wg.Go(w.run)
	return w
}

// do runs fn in a write transaction and returns once it is committed (or
// has failed). fn must use only tx and must not keep it; it may run twice.
// With the queue full it fails at once with errQueueFull.
func (w *writer) do(ctx context.Context, fn func(tx *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
	w.mu.RLock()
	if w.isClosed {
		w.mu.RUnlock()
		return errClosed
	}
	select {
	case w.jobs <- j:
	default:
		w.mu.RUnlock()
		return errQueueFull
	}
	w.mu.RUnlock()
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
	}
	// The caller gave up. A job still queued is dropped and will never
	// run. One already started runs to its end with its group (see wtx),
	// and the caller waits for its outcome: the work may commit, and the
	// caller must not report a failure that did not happen.
	if j.state.CompareAndSwap(jobQueued, jobDropped) {
		return ctx.Err()
	}
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
//
// Its statements take no context, on purpose. The driver answers a context
// that ends during a statement with sqlite3_interrupt, and an interrupted
// write rolls back the whole transaction: one client hanging up would undo
// the other jobs of its group, and the jobs after it would run outside any
// transaction, committed but reported as failed (TestGroupSurvivesHangUp).
// A job's context is looked at once, before it runs; every job is a few
// point statements, so none needs stopping halfway. It also spares the
// driver a watcher goroutine per statement.
type wtx struct {
	tx *sql.Tx
	w  *writer
	// wrote is set once a statement of the current job may have changed
	// the database: a job that fails without writing leaves nothing to
	// undo. Only INSERT, UPDATE and DELETE are judged by what they did
	// (rows affected, a row returned), and only a SELECT counts as a
	// read; anything else (a WITH, a REPLACE, a comment first, several
	// statements) counts as a write.
	wrote bool
}

// stmtKind is what a statement may do, judged from its first word.
type stmtKind int

const (
	stmtOther  stmtKind = iota // may write: assume the worst
	stmtSelect                 // one SELECT: reads only
	stmtDML                    // one INSERT, UPDATE or DELETE
)

func kindOf(query string) stmtKind {
	q := strings.TrimSpace(query)
	if len(q) < 6 || strings.Contains(q, ";") {
		return stmtOther
	}
	switch strings.ToUpper(q[:6]) {
	case "SELECT":
		return stmtSelect
	case "INSERT", "UPDATE", "DELETE":
		return stmtDML
	}
	return stmtOther
}

// stmt returns the prepared form of query inside this transaction, or nil
// (and asks for it to be prepared) if there is none yet. Multi-statement
// SQL (migrations) is never prepared: a prepared statement is one statement.
func (t *wtx) stmt(query string) *sql.Stmt {
	if st, ok := t.w.stmts[query]; ok {
		return t.tx.Stmt(st)
	}
	if !strings.Contains(query, ";") {
		t.w.wanted[query] = true
	}
	return nil
}

// Exec runs a statement. A failing statement undoes its own changes
// (SQLite's statement journal), so only a successful one can have written.
func (t *wtx) Exec(query string, args ...any) (sql.Result, error) {
	kind := kindOf(query)
	if kind == stmtOther {
		t.wrote = true
	}
	var res sql.Result
	var err error
	if st := t.stmt(query); st != nil {
		res, err = st.Exec(args...)
	} else {
		res, err = t.tx.Exec(query, args...)
	}
	if err == nil && kind == stmtDML {
		if n, nerr := res.RowsAffected(); nerr != nil || n > 0 {
			t.wrote = true
		}
	}
	return res, err
}

// QueryRow runs a query for one row. For INSERT, UPDATE or DELETE
// ... RETURNING, the job counts as having written unless the row turns
// out not to exist: no row returned, no row changed. A SELECT writes
// nothing; any other statement counts as a write, row or not.
func (t *wtx) QueryRow(query string, args ...any) wrow {
	kind := kindOf(query)
	r := wrow{t: t, before: t.wrote, dml: kind == stmtDML}
	if kind != stmtSelect {
		t.wrote = true
	}
	if st := t.stmt(query); st != nil {
		r.row = st.QueryRow(args...)
	} else {
		r.row = t.tx.QueryRow(query, args...)
	}
	return r
}

// wrow is a wtx query's row.
type wrow struct {
	row    *sql.Row
	t      *wtx
	before bool // wrote before this query
	dml    bool // one INSERT, UPDATE or DELETE: no row means no change
}

func (r wrow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if r.dml && errors.Is(err, sql.ErrNoRows) {
		r.t.wrote = r.before
	}
	return err
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
	defer func() {
		w.health.record(results)
		for i, j := range batch {
			j.done <- results[i]
		}
	}()
	live := false
	for _, j := range batch {
		if j.state.Load() == jobQueued && j.ctx.Err() == nil {
			live = true
			break
		}
	}
	if !live { // every caller has gone: no transaction to begin
		for i, j := range batch {
			j.start()
			results[i] = errDropped(j)
		}
		return
	}
	fail := func(err error) {
		for i := range results {
			if results[i] == nil {
				results[i] = err
			}
		}
	}
	tx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		fail(err)
		return
	}
	failed, err := w.runAll(tx, batch, results)
	switch {
	case failed < 0:
		if err := tx.Commit(); err != nil {
			fail(err)
		}
		return
	case len(batch) == 1: // a transaction of its own: undoing it is enough
		results[failed] = err
		_ = tx.Rollback()
		return
	}
	// A job failed, perhaps after writing: undo the whole group and run it
	// again, each job in a savepoint of its own.
	if err := tx.Rollback(); err != nil {
		fail(err)
		return
	}
	if tx, err = w.db.BeginTx(context.Background(), nil); err != nil {
		fail(err)
		return
	}
	ran := 0
	for i, j := range batch {
		// Jobs runAll did not reach are claimed now; those it ran were
		// undone, and one whose ctx has ended since may be left out.
		if j.state.Load() != jobStarted && !j.start() {
			results[i] = errDropped(j)
			continue
		}
		if results[i] = j.ctx.Err(); results[i] != nil {
			continue
		}
		if results[i] = w.runSavepoint(tx, j); results[i] == nil {
			ran++
		}
	}
	if ran == 0 {
		_ = tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		fail(err)
	}
}

// errDropped is the result of a job that was not started: its ctx's
// error, which its caller (if still waiting) reports.
func errDropped(j *job) error {
	if err := j.ctx.Err(); err != nil {
		return err
	}
	return context.Canceled // given up by its caller, who returned already
}

// runAll runs the jobs of batch one after the other in tx, skipping (with
// its error) any whose caller has given up or whose ctx has ended. A job that fails without having
// written is as if it had not run: its error is its result, and the others
// go on. runAll stops at the first job that fails after writing, and
// returns its index and error; -1 if none did.
func (w *writer) runAll(tx *sql.Tx, batch []*job, results []error) (int, error) {
	t := &wtx{tx: tx, w: w}
	for i, j := range batch {
		if !j.start() {
			results[i] = errDropped(j)
			continue
		}
		t.wrote = false
		if err := j.fn(t); err != nil {
			if t.wrote {
				return i, err
			}
			results[i] = err
		}
	}
	return -1, nil
}

// runSavepoint runs one job inside a savepoint, undoing only its own
// changes if it fails. The savepoint statements run prepared, like the
// jobs' own: they are two of every job's statements in a busy group.
func (w *writer) runSavepoint(tx *sql.Tx, j *job) error {
	t := &wtx{tx: tx, w: w}
	if _, err := t.Exec("SAVEPOINT job"); err != nil {
		return err
	}
	if err := j.fn(t); err != nil {
		// Undo this job only. If even that fails the transaction is
		// unusable, and the commit will fail for everyone.
		_, _ = tx.Exec("ROLLBACK TO job")
		_, _ = tx.Exec("RELEASE job")
		return err
	}
	_, err := t.Exec("RELEASE job")
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

// writeHealth is what the latest groups say about the file: whether it
// takes writes. Readiness reads it (Store.WriteHealth) instead of writing
// on every probe.
type writeHealth struct {
	mu     sync.Mutex
	groups uint64 // groups judged: a group of only dropped jobs is not
	err    error  // the latest judged group's, if the file refused it
}

// record judges a group by its results. A group fails if any job in it
// (or its commit) failed because the file cannot take writes: disk full,
// I/O error, locked by another process past busy_timeout. It succeeds if
// any job in it committed. Jobs that failed on their own terms (a used
// code, a constraint) or were dropped say nothing either way.
func (h *writeHealth) record(results []error) {
	var failed error
	committed := false
	for _, err := range results {
		if err == nil {
			committed = true
		} else if failed == nil && refused(err) {
			failed = err
		}
	}
	if failed == nil && !committed {
		return
	}
	h.mu.Lock()
	h.groups++
	h.err = failed
	h.mu.Unlock()
}

func (h *writeHealth) get() (uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.groups, h.err
}

// refused reports whether err is SQLite saying the file cannot take a
// write right now (see unavailable), rather than the write being wrong.
func refused(err error) bool {
	var se *driver.Error
	return errors.As(err, &se) && unavailable(se.Code())
}
