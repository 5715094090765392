package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"modernc.org/sqlite"
)

// TestGroupCommit: many transactions at once, some failing after their
// write: each failing one leaves no trace, each succeeding one stays.
func TestGroupCommit(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "w.db"))
	if err := s.exec(t.Context(), `CREATE TABLE t (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	errOdd := errors.New("odd jobs fail")
	const n = 200
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Go(func() {
			results[i] = s.inTx(t.Context(), func(tx *wtx) error {
				if _, err := tx.Exec(`INSERT INTO t (k) VALUES (?)`, fmt.Sprint(i)); err != nil {
					return err
				}
				if i%2 == 1 {
					return errOdd // after its write: the write must be undone
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range results {
		if want := (i%2 == 1); errors.Is(err, errOdd) != want || (!want && err != nil) {
			t.Fatalf("job %d: %v", i, err)
		}
	}
	var count int
	if err := s.read.QueryRow(`SELECT count(*) FROM t`).Scan(&count); err != nil || count != n/2 {
		t.Fatalf("rows = %d (%v), want %d: failed jobs must leave nothing, others everything", count, err, n/2)
	}
}

// TestWriterSkipsCancelled: a job whose context ended before it ran does
// nothing and reports the context's error.
func TestWriterSkipsCancelled(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "w.db"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	err := s.inTx(ctx, func(*wtx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("cancelled job: err %v, ran %v", err, ran)
	}
	s.Close()
	if err := s.exec(t.Context(), `SELECT 1`); !errors.Is(err, errClosed) {
		t.Fatalf("write after Close: %v, want errClosed", err)
	}
}

// TestGroupCommitUndoesWrites: whatever statement a failing job wrote with
// (INSERT, UPDATE ... RETURNING, several statements at once), none of it
// survives, while the jobs beside it in the group commit; a job that
// fails having changed nothing is left out.
func TestGroupCommitUndoesWrites(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "w.db"))
	ctx := t.Context()
	if err := s.exec(ctx, `CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if err := s.exec(ctx, `INSERT INTO t (k, v) VALUES ('shared', 0)`); err != nil {
		t.Fatal(err)
	}
	errFail := errors.New("fails after its statements")
	failing := map[string]func(tx *wtx) error{
		"insert": func(tx *wtx) error {
			_, err := tx.Exec(`INSERT INTO t (k, v) VALUES ('ghost', 1)`)
			return errors.Join(err, errFail)
		},
		"update returning": func(tx *wtx) error {
			var v int
			err := tx.QueryRow(`UPDATE t SET v = v + 100 WHERE k = 'shared' RETURNING v`).Scan(&v)
			return errors.Join(err, errFail)
		},
		"no row deleted": func(tx *wtx) error {
			var k string
			err := tx.QueryRow(`DELETE FROM t WHERE k = 'nobody' RETURNING k`).Scan(&k)
			return errors.Join(err, errFail)
		},
		"with, update returning": func(tx *wtx) error {
			var v int
			err := tx.QueryRow(`WITH one AS (SELECT 1) UPDATE t SET v = v + 100 WHERE k = 'shared' RETURNING v`).Scan(&v)
			return errors.Join(err, errFail)
		},
		"comment first": func(tx *wtx) error {
			var v int
			err := tx.QueryRow("-- bump\nUPDATE t SET v = v + 100 WHERE k = 'shared' RETURNING v").Scan(&v)
			return errors.Join(err, errFail)
		},
		"replace returning": func(tx *wtx) error {
			var k string
			err := tx.QueryRow(`REPLACE INTO t (k, v) VALUES ('ghost3', 1) RETURNING k`).Scan(&k)
			return errors.Join(err, errFail)
		},
		"several statements": func(tx *wtx) error {
			_, err := tx.Exec(`INSERT INTO t (k, v) VALUES ('ghost2', 1); UPDATE t SET v = v + 1000 WHERE k = 'shared'`)
			return errors.Join(err, errFail)
		},
	}
	for name, fail := range failing {
		t.Run(name, func(t *testing.T) {
			const n = 40
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					if i == n/2 {
						errs[i] = s.inTx(ctx, fail)
						return
					}
					errs[i] = s.inTx(ctx, func(tx *wtx) error {
						_, err := tx.Exec(`INSERT INTO t (k, v) VALUES (?, 1)`, fmt.Sprint(name, i))
						return err
					})
				})
			}
			wg.Wait()
			for i, err := range errs {
				if want := i == n/2; errors.Is(err, errFail) != want || (!want && err != nil) {
					t.Fatalf("job %d: %v", i, err)
				}
			}
			var ghosts, shared, mine int
			err := s.read.QueryRow(`SELECT (SELECT count(*) FROM t WHERE k LIKE 'ghost%'), (SELECT v FROM t WHERE k = 'shared'),
				(SELECT count(*) FROM t WHERE k LIKE ? || '%')`, name).Scan(&ghosts, &shared, &mine)
			if err != nil || ghosts != 0 || shared != 0 || mine != n-1 {
				t.Fatalf("after the group: %d ghost rows, shared = %d, %d of %d others' rows (%v); want 0, 0, all",
					ghosts, shared, mine, n-1, err)
			}
		})
	}
}

// hangUp is what the SQL function test_hang_up() calls: it ends a
// request's context from inside the statement that request is running.
var hangUp atomic.Pointer[context.CancelFunc]

func init() {
	err := sqlite.RegisterScalarFunction("test_hang_up", 0, func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error) {
		if cancel := hangUp.Load(); cancel != nil {
			(*cancel)()
		}
		return int64(1), nil
	})
	if err != nil {
		panic(err)
	}
}

// TestGroupSurvivesHangUp: a request that ends while its job's statement
// runs must not take the rest of its group with it. (The driver answers a
// context that ends during a statement with sqlite3_interrupt, which rolls
// back the whole transaction: the group's jobs before it were lost, and
// those after it ran outside any transaction, committed but reported as
// failed.) Once queued, a job runs to its end, as the others in its group.
func TestGroupSurvivesHangUp(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "w.db"))
	ctx := t.Context()
	if err := s.exec(ctx, `CREATE TABLE t (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	insert := func(k string) error {
		return s.exec(ctx, `INSERT INTO t (k) VALUES (?)`, k)
	}
	request, cancel := context.WithCancel(ctx)
	hangUp.Store(&cancel)
	defer hangUp.Store(nil)
	const n = 20000 // rows, SQLite checks for an interrupt every 1000 steps
	hungUp := func() error {
		return s.exec(request, `INSERT INTO t (k) SELECT 'hung-up ' || n FROM (
			WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ?) SELECT n FROM c)
			WHERE n != 10 OR test_hang_up()`, n)
	}
	errs := queuedTogether(s, func() error { return insert("before") }, hungUp, func() error { return insert("after") })
	if request.Err() == nil {
		t.Fatal("the request never hung up: the test proves nothing")
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("job %d: %v, want committed", i, err)
		}
	}
	var before, after, rows int
	err := s.read.QueryRow(`SELECT (SELECT count(*) FROM t WHERE k = 'before'), (SELECT count(*) FROM t WHERE k = 'after'),
		(SELECT count(*) FROM t WHERE k LIKE 'hung-up %')`).Scan(&before, &after, &rows)
	if err != nil || before != 1 || after != 1 || rows != n {
		t.Fatalf("stored: before %d, after %d, hung-up rows %d (%v); want 1, 1, %d", before, after, rows, err, n)
	}
}

// TestSweepLetsWritesIn: DeleteExpired over a large backlog holds the
// writer for one batch at a time, so a write sent during the sweep commits
// before the sweep ends, not after all of it.
func TestSweepLetsWritesIn(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "w.db"))
	ctx := t.Context()
	const backlog = 2*sweepBatch + sweepBatch/2
	err := s.exec(ctx, `INSERT INTO used_login_states (expires_at, id) SELECT n, 'state-' || n FROM (
		WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ?) SELECT n FROM c)`, backlog)
	if err != nil {
		t.Fatal(err)
	}
	remaining := func(tx *wtx) (n int, err error) {
		return n, tx.QueryRow(`SELECT count(*) FROM used_login_states`).Scan(&n)
	}
	var deleted int64
	var seen int
	errs := queuedTogether(s,
		func() (err error) { deleted, err = s.DeleteExpired(ctx, time.UnixMilli(backlog)); return err },
		func() error { return s.inTx(ctx, func(tx *wtx) (err error) { seen, err = remaining(tx); return err }) })
	if errs[0] != nil || errs[1] != nil || deleted != backlog {
		t.Fatalf("DeleteExpired: %d rows (%v), want %d; the write beside it: %v", deleted, errs[0], backlog, errs[1])
	}
	if want := backlog - sweepBatch; seen != want {
		t.Errorf("the write sent during the sweep saw %d expired rows left, want %d: it waited for more than one batch", seen, want)
	}
	var n int
	if err := s.read.QueryRow(`SELECT count(*) FROM used_login_states`).Scan(&n); err != nil || n != 0 {
		t.Errorf("after the sweep: %d rows left (%v), want 0", n, err)
	}
}

// TestSweepEndsSessionsInBatches: sessions past their end go with their
// refresh tokens, a batch of at most sweepBatch tokens at a time even
// within one long session, and a session only once its tokens are gone;
// a live session keeps everything.
func TestSweepEndsSessionsInBatches(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "w.db"))
	ctx := t.Context()
	const long, short = 2*sweepBatch + sweepBatch/2, sweepBatch + sweepBatch/2 // tokens of one session; sessions of one token
	const users = `INSERT INTO users (id, name, email, email_verified, picture, created_at, updated_at) VALUES ('u', '', '', 0, '', 0, 0)`
	const sessions = `INSERT INTO sessions (id, user_id, tenant_id, provider, scope, roles, nonce, expires_at)
		SELECT 's' || n, 'u', 't', 'p', '', '[]', '', n FROM (WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n < ?) SELECT n FROM c)
		UNION ALL SELECT 'live', 'u', 't', 'p', '', '[]', '', 1e12`
	// s0 holds long tokens; s1 to s<short> one each; live two.
	const tokens = `INSERT INTO refresh_tokens (hash, session_id, successor_hash)
		SELECT 'h' || n, CASE WHEN n < ?1 THEN 's0' ELSE 's' || (n - ?1 + 1) END, ''
		FROM (WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n < ?1 + ?2 - 1) SELECT n FROM c)
		UNION ALL VALUES ('live1', 'live', ''), ('live2', 'live', '')`
	for _, st := range []struct {
		query string
		args  []any
	}{{users, nil}, {sessions, []any{short}}, {tokens, []any{long, short}}} {
		if err := s.exec(ctx, st.query, st.args...); err != nil {
			t.Fatalf("%.40s: %v", st.query, err)
		}
	}
	// The oldest sweepBatch sessions (the long one, and sweepBatch-1 of one
	// token) hold long+sweepBatch-1 tokens: three full batches of tokens,
	// then the rest of them with those sessions; then the other sessions
	// (short+1 in all) with their one token each.
	const firstTokens = long + sweepBatch - 1
	want := []int64{sweepBatch, sweepBatch, sweepBatch, firstTokens - 3*sweepBatch + sweepBatch, 2 * (short + 1 - sweepBatch)}
	var got []int64
	for more := true; more; {
		var n int64
		if err := s.inTx(ctx, func(tx *wtx) (err error) { n, more, err = endSessions(1e9)(tx); return err }); err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows removed by each batch: %v, want %v", got, want)
	}
	var left, live int
	err := s.read.QueryRow(`SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM refresh_tokens WHERE session_id = 'live')`).Scan(&left, &live)
	if err != nil || left != 1 || live != 2 {
		t.Errorf("after the sweep: %d sessions, %d live tokens (%v); want only the live session and its 2 tokens", left, live, err)
	}
}

// queuedTogether runs each of calls in a goroutine of its own, their
// writer jobs queued in this order behind a writer held meanwhile, so that
// the first job of each shares one group; it returns their errors once all
// have returned.
func queuedTogether(s *Store, calls ...func() error) []error {
	hold, held := make(chan struct{}), make(chan struct{})
	go s.inTx(context.Background(), func(*wtx) error { close(held); <-hold; return nil })
	<-held
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Go(func() { errs[i] = call() })
		for len(s.writer.jobs) < i+1 { // queued in this order
			time.Sleep(time.Millisecond)
		}
	}
	close(hold)
	wg.Wait()
	return errs
}
