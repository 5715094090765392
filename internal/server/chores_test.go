package server

import (
	"context"
	"testing"
	"time"
)

// TestChoresRunApart: a chore that takes long (an expiry sweep over a
// backlog) does not hold up the others: the revocation poll must go on, or
// token checks fail closed.
func TestChoresRunApart(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sweeping, release := make(chan struct{}), make(chan struct{})
	polls := make(chan struct{}, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runChores(ctx,
			chore{time.Millisecond, func(context.Context) {
				select {
				case sweeping <- struct{}{}:
					<-release // a long sweep
				default:
				}
			}},
			chore{time.Millisecond, func(context.Context) {
				select {
				case polls <- struct{}{}:
				default:
				}
			}},
		)
	}()
	<-sweeping
	for range len(polls) { // count only the polls made while the sweep runs
		<-polls
	}
	for range 3 {
		select {
		case <-polls:
		case <-time.After(10 * time.Second):
			t.Fatal("no revocation poll while the sweep runs")
		}
	}
	close(release)
	cancel()
	<-done // and every chore stops with ctx
}
