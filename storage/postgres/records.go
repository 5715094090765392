package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/socialbroker/broker/storage"
)

const recordColumns = `kind, id, owner, doc, seq, created_at, updated_at, deleted`

func scanRecord(row scanner) (storage.Record, error) {
	var r storage.Record
	err := row.Scan(&r.Kind, &r.ID, &r.Owner, &r.Doc, &r.Seq, (*tstz)(&r.CreatedAt), (*tstz)(&r.UpdatedAt), &r.Deleted)
	return r, err
}

// writeRecord runs fn in a transaction that has taken the next value of
// the records' counter, seq, as its first statement.
//
// Seqs must become visible in commit order (storage.Records.RecordChanges):
// a replica that has seen seq n asks only for what lies above n. A
// sequence cannot promise that: a transaction may take n from nextval,
// another n+1, and the second commit first; a poller then sees n+1, and n
// when it commits is below what the poller asks for: lost. The counter
// here is a row, and the UPDATE that takes a value holds the row's lock
// until its transaction ends, so record writers run one at a time: a
// writer waiting for the lock is granted it only once the holder has
// committed (or rolled back) and is visible to every later snapshot, and
// then reads the committed counter (READ COMMITTED re-reads a row that
// was updated while it waited). So the writer of n+1 commits after the
// writer of n is visible: whoever sees n+1 sees n. A transaction that
// rolls back gives its value back with it, so seqs have no gaps either.
// Admin writes are rare: one at a time costs nothing.
//
// Every record write takes the counter before any record row, so no two
// writers wait for each other's locks in opposite orders.
func (s *Store) writeRecord(ctx context.Context, fn func(tx pgx.Tx, seq int64) error) error {
	return s.do(ctx, opTimeout, func(ctx context.Context) error {
		return s.inTx(ctx, func(tx pgx.Tx) error {
			var seq int64
			if err := tx.QueryRow(ctx, `UPDATE record_seq SET seq = seq + 1 RETURNING seq`).Scan(&seq); err != nil {
				return err
			}
			return fn(tx, seq)
		})
	})
}

// liveSeq is the seq of the live record (kind, id), or ErrNotFound. Under
// the counter's lock it cannot change before the transaction ends.
func liveSeq(ctx context.Context, tx pgx.Tx, kind, id string) (int64, error) {
	var seq int64
	err := tx.QueryRow(ctx, `SELECT seq FROM records WHERE kind = $1 AND id = $2 AND NOT deleted`, kind, id).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, storage.ErrNotFound
	}
	return seq, err
}

// CreateRecord replaces a tombstone of the same kind and id: the upsert
// changes only a deleted row, so a live one makes it return nothing.
func (s *Store) CreateRecord(ctx context.Context, r storage.Record) (storage.Record, error) {
	var out storage.Record
	err := s.writeRecord(ctx, func(tx pgx.Tx, seq int64) error {
		var err error
		out, err = scanRecord(tx.QueryRow(ctx, `INSERT INTO records (`+recordColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $6, false)
			ON CONFLICT (kind, id) DO UPDATE SET owner = excluded.owner, doc = excluded.doc, seq = excluded.seq,
				created_at = excluded.created_at, updated_at = excluded.updated_at, deleted = false
			WHERE records.deleted
			RETURNING `+recordColumns,
			r.Kind, r.ID, r.Owner, r.Doc, seq, tstz(r.CreatedAt)))
		if errors.Is(err, pgx.ErrNoRows) {
			return storage.ErrAlreadyExists
		}
		return err
	})
	return out, wrap("create record", err)
}

func (s *Store) UpdateRecord(ctx context.Context, r storage.Record, ifSeq int64) (storage.Record, error) {
	var out storage.Record
	err := s.writeRecord(ctx, func(tx pgx.Tx, seq int64) error {
		cur, err := liveSeq(ctx, tx, r.Kind, r.ID)
		if err != nil {
			return err
		}
		if cur != ifSeq {
			return storage.ErrConflict
		}
		out, err = scanRecord(tx.QueryRow(ctx, `UPDATE records SET owner = $1, doc = $2, seq = $3, updated_at = $4
			WHERE kind = $5 AND id = $6 RETURNING `+recordColumns,
			r.Owner, r.Doc, seq, tstz(r.UpdatedAt), r.Kind, r.ID))
		return err
	})
	return out, wrap("update record", err)
}

func (s *Store) DeleteRecord(ctx context.Context, kind, id string, now time.Time) error {
	err := s.writeRecord(ctx, func(tx pgx.Tx, seq int64) error {
		return oneRow(tx.Exec(ctx, `UPDATE records SET doc = NULL, seq = $1, updated_at = $2, deleted = true
			WHERE kind = $3 AND id = $4 AND NOT deleted`, seq, tstz(now), kind, id))
	})
	return wrap("delete record", err)
}

func (s *Store) GetRecord(ctx context.Context, kind, id string) (storage.Record, error) {
	var r storage.Record
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		var err error
		r, err = scanRecord(s.pool.QueryRow(ctx,
			`SELECT `+recordColumns+` FROM records WHERE kind = $1 AND id = $2 AND NOT deleted`, kind, id))
		return err
	})
	return r, wrap("get record", err)
}

// ListRecords of one owner goes through records_by_owner, of every owner
// through the primary key.
func (s *Store) ListRecords(ctx context.Context, kind, owner, after string, limit int) ([]storage.Record, error) {
	query := `SELECT ` + recordColumns + ` FROM records WHERE kind = $1 AND id > $2 AND NOT deleted ORDER BY id LIMIT $3`
	args := []any{kind, after, sqlLimit(limit)}
	if owner != "" {
		query = `SELECT ` + recordColumns + ` FROM records
			WHERE kind = $1 AND id > $2 AND owner = $4 AND NOT deleted ORDER BY id LIMIT $3`
		args = append(args, owner)
	}
	out, err := queryAll(ctx, s, scanRecord, query, args...)
	return out, wrap("list records", err)
}

func (s *Store) RecordChanges(ctx context.Context, since int64) ([]storage.Record, error) {
	out, err := queryAll(ctx, s, scanRecord, `SELECT `+recordColumns+` FROM records WHERE seq > $1 ORDER BY seq`, since)
	return out, wrap("record changes", err)
}
