package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the bulk insert into the broker's SQLite file
)

// How long a session -revoked stores lives after its revocation (spread
// over -revoked-span, 30 days by default: a busy month of logouts):
// refresh_max_ttl's default, so none has ended.
const (
	revokedLife = 90 * 24 * time.Hour
	// userHZ is the unit of /proc/<pid>/stat's times.
	userHZ = 100
	// idleSettle and idleMeasure: after ready, how long the broker is left
	// alone before its RSS is read, and then how long its idle CPU is
	// measured (the revocation poll runs every 250 ms).
	idleSettle  = 2 * time.Second
	idleMeasure = 10 * time.Second
)

// revokedRow is one start of the -revoked measurement.
type revokedRow struct {
	store    string
	revoked  int
	ready    time.Duration
	rss, hwm int64   // VmRSS after idleSettle, VmHWM then; bytes
	idleCPU  float64 // cores, over idleMeasure
	inserted time.Duration
}

// runRevoked measures what stored revocations cost a starting broker: on
// a fresh database of each store it starts the broker (schema and keys),
// starts it again (the baseline), then stores b.opts.revoked revoked
// sessions with one bulk INSERT and starts it a third time. Each start
// reports start to ready, RSS two seconds later and the idle CPU over
// the next ten seconds, with no load.
func (b *bench) runRevoked(ctx context.Context) error {
	var rows []revokedRow
	for _, store := range b.opts.stores {
		spec, issuer, dbURL, err := b.prepareStore(ctx, store, "")
		if err != nil {
			return err
		}
		first, _, err := startBroker(ctx, spec, issuer)
		if err != nil {
			return err
		}
		b.live = first
		err = first.stop()
		b.live = nil
		if err != nil {
			return err
		}
		for _, n := range []int{0, b.opts.revoked} {
			r := revokedRow{store: store, revoked: n}
			if n > 0 {
				began := time.Now()
				if err := insertRevoked(ctx, store, dbURL, n, b.opts.revokedSpan); err != nil {
					return fmt.Errorf("%s: store %d revocations: %w", store, n, err)
				}
				r.inserted = time.Since(began)
			}
			spec.logPath = filepath.Join(b.dir, fmt.Sprintf("broker-%s-revoked-%d.log", store, n))
			br, ready, err := startBroker(ctx, spec, issuer)
			if err != nil {
				return err
			}
			b.live = br
			r.ready = ready
			if err := sleepCtx(ctx, idleSettle); err != nil {
				return err
			}
			r.rss, _ = procStatus(br.pid(), "VmRSS")
			r.hwm = br.rss.highWater()
			t0 := procTicks(br.pid())
			if err := sleepCtx(ctx, idleMeasure); err != nil {
				return err
			}
			r.idleCPU = float64(procTicks(br.pid())-t0) / userHZ / idleMeasure.Seconds()
			b.live = nil
			if err := br.stop(); err != nil {
				return fmt.Errorf("%s: %w%s", br.name, err, br.logTail())
			}
			fmt.Fprintf(b.out, "  %-8s %8d revoked (stored in %s): ready in %s, RSS %s (peak %s), idle %.3f cores\n",
				store, n, r.inserted.Round(time.Millisecond), fmtDur(r.ready), fmtRSS(r.rss), fmtRSS(r.hwm), r.idleCPU)
			rows = append(rows, r)
		}
		if err := b.dropSchema(); err != nil {
			return err
		}
	}
	fmt.Fprintf(b.out, "\n## Stored revocations at start (%s)\n\nBroker: %s. %d sessions revoked evenly over the %s before the start (0s: at once), none ended; idle CPU over %s after %s; no load.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), b.version, b.opts.revoked, b.opts.revokedSpan, idleMeasure, idleSettle)
	fmt.Fprintln(b.out, "| store | revoked sessions stored | start to ready | RSS 2 s after ready | peak RSS (VmHWM) | idle CPU (cores) |")
	fmt.Fprintln(b.out, "| --- | --: | --: | --: | --: | --: |")
	for _, r := range rows {
		fmt.Fprintf(b.out, "| %s | %d | %s | %s | %s | %.3f |\n", r.store, r.revoked, fmtDur(r.ready), fmtRSS(r.rss), fmtRSS(r.hwm), r.idleCPU)
	}
	return nil
}

// insertRevoked stores n revoked sessions of one new user, in one
// statement.
func insertRevoked(ctx context.Context, store, dbURL string, n int, span time.Duration) error {
	now := time.Now()
	first, step := now.Add(-span), span/time.Duration(n)
	switch store {
	case "sqlite":
		db, err := sql.Open("sqlite", "file:"+dbURL[len("sqlite:"):]+"?_pragma=busy_timeout(10000)")
		if err != nil {
			return err
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, `INSERT INTO users (id, name, email, email_verified, picture, created_at, updated_at) VALUES ('bench-revoked', '', '', 0, '', 0, 0)`); err != nil {
			return err
		}
		_, err = db.ExecContext(ctx, `
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)
INSERT INTO sessions (id, user_id, tenant_id, provider, scope, roles, nonce, auth_time, created_at, expires_at, revoked_at)
SELECT 'revoked-' || i, 'bench-revoked', 'bench', 'github', 'openid', '[]', '', ?2 + i * ?3, ?2 + i * ?3, ?2 + i * ?3 + ?4, ?2 + i * ?3 FROM n`,
			n, first.UnixMilli(), step.Milliseconds(), revokedLife.Milliseconds())
		return err
	case "postgres":
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, `INSERT INTO users (id, name, email, email_verified, picture, created_at, updated_at) VALUES ('bench-revoked', '', '', false, '', now(), now())`); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, `
INSERT INTO sessions (id, user_id, tenant_id, provider, scope, roles, nonce, auth_time, created_at, expires_at, revoked_at)
SELECT 'revoked-' || i, 'bench-revoked', 'bench', 'github', 'openid', '{}', '', t, t, t + $3::interval, t
FROM generate_series(0, $4::int - 1) AS i, LATERAL (SELECT $1::timestamptz + i * $2::interval AS t) AS at`,
			first, step, revokedLife, n); err != nil {
			return err
		}
		_, err = conn.Exec(ctx, `ANALYZE sessions`)
		return err
	}
	return fmt.Errorf("unknown store %q", store)
}

// sleepCtx sleeps for d unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
