package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/postgres"
	"github.com/socialbroker/broker/storage/sqlite"
	"github.com/socialbroker/broker/tokens"
)

// -fill: before the scenarios, the database is given N accounts, each a
// user with one GitHub identity, one session of the bench tenant and its
// live refresh token, as N sign-ins and code redemptions would leave them
// (random ids and token hashes, as the broker makes them), stored through
// the store's own code (storage.Filler) in batches, one transaction each.
// The fake upstreams' users are not among them: the scenarios' sign-ins
// create and find their own users beside the N.
const (
	fillBatch = 2000
	// fillWorkers fill batches at once on PostgreSQL; SQLite has one
	// writer whatever the callers.
	fillWorkers = 2
)

// fill stores n accounts in the database at dbURL, which a broker has
// migrated and does not use meanwhile, and reports how long it took.
func (b *bench) fill(ctx context.Context, dbURL string, n int) error {
	began := time.Now()
	s, err := openStore(ctx, dbURL)
	if err != nil {
		return err
	}
	st, ok := s.(storage.Filler)
	if !ok {
		s.Close()
		return fmt.Errorf("-fill: %T cannot fill", s)
	}
	closeFn, workers := s.Close, 1
	if !strings.HasPrefix(dbURL, "sqlite:") {
		workers = fillWorkers
	}
	batches := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for first := range batches {
				if err := st.Fill(ctx, fillAccounts(first, min(fillBatch, n-first), began)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
feed:
	for first := 0; first < n; first += fillBatch {
		select {
		case batches <- first:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(batches)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if cerr := closeFn(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("-fill: %w", err)
	}
	d := time.Since(began)
	fmt.Fprintf(b.out, "  filled %d users, identities, sessions and live refresh tokens in %s (%.0f accounts/s)\n",
		n, d.Round(time.Millisecond), float64(n)/d.Seconds())
	return nil
}

// openStore opens the database at dbURL with the broker's own store code,
// as the broker would (migrations included, none left to run).
func openStore(ctx context.Context, dbURL string) (storage.Store, error) {
	if path, ok := strings.CutPrefix(dbURL, "sqlite:"); ok {
		return sqlite.Open(ctx, path)
	}
	return postgres.Open(ctx, dbURL)
}

// fillAccounts makes accounts first to first+n-1, signed in over the 30
// days before now: sessions live 90 days, refresh tokens 30 days from
// their last use, as the broker's defaults have them.
func fillAccounts(first, n int, now time.Time) []storage.Account {
	out := make([]storage.Account, n)
	for i := range out {
		k := first + i
		at := now.Add(-time.Duration(k%(30*24*60)) * time.Minute)
		login := fmt.Sprintf("fill-%d", k)
		email := login + "@fill.example"
		out[i] = storage.Account{
			User: storage.User{ID: tokens.NewID(), Name: "Fill " + login, Email: email, EmailVerified: true,
				Username: login, CreatedAt: at, UpdatedAt: at},
			Identity: storage.Identity{Provider: "github", Subject: login, Username: login, Email: email,
				EmailVerified: true, EmailTrusted: true, CreatedAt: at, UpdatedAt: at},
			Session: storage.Session{ID: tokens.NewTimeID(at), TenantID: tenantID, Provider: "github", Scope: "openid email profile",
				Roles: []string{"member"}, Facts: []byte(`{}`), AuthTime: at, CreatedAt: at, ExpiresAt: at.Add(90 * 24 * time.Hour)},
			Refresh: storage.RefreshToken{Hash: tokens.Hash(tokens.NewOpaque()), CreatedAt: at, ExpiresAt: at.Add(30 * 24 * time.Hour)},
		}
	}
	return out
}
