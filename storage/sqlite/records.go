package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/socialbroker/broker/storage"
)

const recordColumns = `kind, id, owner, doc, seq, created_at, updated_at, deleted`

func scanRecord(row scanner) (storage.Record, error) {
	var r storage.Record
	err := row.Scan(&r.Kind, &r.ID, &r.Owner, &r.Doc, &r.Seq, (*millis)(&r.CreatedAt), (*millis)(&r.UpdatedAt), &r.Deleted)
	return r, err
}

// nextSeq takes the next value of the records' one counter. Seqs become
// visible in commit order (storage.Records.RecordChanges) because this
// store has one writer: the transaction that takes seq n commits before
// the next one begins, so no reader can see n before every lower seq.
// The counter is a row rather than MAX(seq)+1 so that it never goes back,
// whatever becomes of the rows holding the highest seqs.
func nextSeq(tx *wtx) (int64, error) {
	var seq int64
	err := tx.QueryRow(`UPDATE record_seq SET seq = seq + 1 WHERE one = 1 RETURNING seq`).Scan(&seq)
	return seq, err
}

// liveSeq is the seq of the live record (kind, id), or ErrNotFound.
func liveSeq(tx *wtx, kind, id string) (int64, error) {
	var seq int64
	err := tx.QueryRow(`SELECT seq FROM records WHERE kind = ? AND id = ? AND deleted = 0`, kind, id).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, storage.ErrNotFound
	}
	return seq, err
}

// CreateRecord looks for a live record before it writes anything, so a
// refusal leaves its group commit alone (see writer).
func (s *Store) CreateRecord(ctx context.Context, r storage.Record) (storage.Record, error) {
	var out storage.Record
	err := s.inTx(ctx, func(tx *wtx) error {
		switch _, err := liveSeq(tx, r.Kind, r.ID); {
		case err == nil:
			return storage.ErrAlreadyExists
		case !errors.Is(err, storage.ErrNotFound):
			return err
		}
		seq, err := nextSeq(tx)
		if err != nil {
			return err
		}
		// A tombstone of the same kind and id gives way.
		_, err = tx.Exec(`INSERT INTO records (`+recordColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, 0)
			ON CONFLICT (kind, id) DO UPDATE SET owner = excluded.owner, doc = excluded.doc, seq = excluded.seq,
				created_at = excluded.created_at, updated_at = excluded.updated_at, deleted = 0`,
			r.Kind, r.ID, r.Owner, r.Doc, seq, millis(r.CreatedAt), millis(r.CreatedAt))
		out = storage.Record{Kind: r.Kind, ID: r.ID, Owner: r.Owner, Doc: r.Doc, Seq: seq,
			CreatedAt: stored(r.CreatedAt), UpdatedAt: stored(r.CreatedAt)}
		return err
	})
	return out, wrap("create record", err)
}

// UpdateRecord compares seqs before it writes anything, like CreateRecord.
func (s *Store) UpdateRecord(ctx context.Context, r storage.Record, ifSeq int64) (storage.Record, error) {
	var out storage.Record
	err := s.inTx(ctx, func(tx *wtx) error {
		cur, err := liveSeq(tx, r.Kind, r.ID)
		if err != nil {
			return err
		}
		if cur != ifSeq {
			return storage.ErrConflict
		}
		seq, err := nextSeq(tx)
		if err != nil {
			return err
		}
		out, err = scanRecord(tx.QueryRow(`UPDATE records SET owner = ?, doc = ?, seq = ?, updated_at = ?
			WHERE kind = ? AND id = ? RETURNING `+recordColumns,
			r.Owner, r.Doc, seq, millis(r.UpdatedAt), r.Kind, r.ID))
		return err
	})
	return out, wrap("update record", err)
}

func (s *Store) DeleteRecord(ctx context.Context, kind, id string, now time.Time) error {
	err := s.inTx(ctx, func(tx *wtx) error {
		if _, err := liveSeq(tx, kind, id); err != nil {
			return err
		}
		seq, err := nextSeq(tx)
		if err != nil {
			return err
		}
		_, err = tx.Exec(`UPDATE records SET doc = NULL, seq = ?, updated_at = ?, deleted = 1 WHERE kind = ? AND id = ?`,
			seq, millis(now), kind, id)
		return err
	})
	return wrap("delete record", err)
}

func (s *Store) GetRecord(ctx context.Context, kind, id string) (storage.Record, error) {
	r, err := scanRecord(s.reads.QueryRowContext(ctx,
		`SELECT `+recordColumns+` FROM records WHERE kind = ? AND id = ? AND deleted = 0`, kind, id))
	return r, wrap("get record", err)
}

// ListRecords of one owner goes through records_by_owner, of every owner
// through the primary key.
func (s *Store) ListRecords(ctx context.Context, kind, owner, after string, limit int) ([]storage.Record, error) {
	var rows *sql.Rows
	var err error
	if owner == "" {
		rows, err = s.reads.QueryContext(ctx, `SELECT `+recordColumns+` FROM records
			WHERE kind = ? AND id > ? AND deleted = 0 ORDER BY id LIMIT ?`, kind, after, sqlLimit(limit))
	} else {
		rows, err = s.reads.QueryContext(ctx, `SELECT `+recordColumns+` FROM records
			WHERE kind = ? AND owner = ? AND id > ? AND deleted = 0 ORDER BY id LIMIT ?`, kind, owner, after, sqlLimit(limit))
	}
	out, err := collect(rows, err, scanRecord)
	return out, wrap("list records", err)
}

func (s *Store) RecordChanges(ctx context.Context, since int64) ([]storage.Record, error) {
	rows, err := s.reads.QueryContext(ctx, `SELECT `+recordColumns+` FROM records WHERE seq > ? ORDER BY seq`, since)
	out, err := collect(rows, err, scanRecord)
	return out, wrap("record changes", err)
}
