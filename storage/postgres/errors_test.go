package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/socialbroker/broker/storage"
)

func pgError(code string) error {
	return &pgconn.PgError{Severity: "ERROR", Code: code, Message: "message", TableName: "users",
		ConstraintName: "users_pkey", InternalQuery: "SELECT secret"}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error // nil: no sentinel
	}{
		{"no rows", pgx.ErrNoRows, storage.ErrNotFound},
		{"unique violation", pgError("23505"), storage.ErrAlreadyExists},
		{"foreign key violation", pgError("23503"), storage.ErrNotFound},
		{"admin shutdown", pgError("57P01"), storage.ErrUnavailable},
		{"cannot connect now", pgError("57P03"), storage.ErrUnavailable},
		{"connection failure", pgError("08006"), storage.ErrUnavailable},
		{"too many connections", pgError("53300"), storage.ErrUnavailable},
		{"disk full", pgError("53100"), storage.ErrUnavailable},
		{"statement timeout", pgError("57014"), storage.ErrUnavailable},
		{"serialization failure", pgError("40001"), storage.ErrUnavailable},
		{"deadlock", pgError("40P01"), storage.ErrUnavailable},
		{"deadline", context.DeadlineExceeded, storage.ErrUnavailable},
		{"closed pool", puddle.ErrClosedPool, storage.ErrUnavailable},
		{"connection cut", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), storage.ErrUnavailable},
		{"bad password", pgError("28P01"), nil},
		{"syntax error", pgError("42601"), nil},
		{"malformed code", pgError("5"), nil},
		{"caller gone", context.Canceled, nil},
		{"other", errors.New("boom"), nil},
	}
	sentinels := []error{storage.ErrNotFound, storage.ErrAlreadyExists, storage.ErrAlreadyUsed, storage.ErrUnavailable}
	for _, tt := range tests {
		got := wrap("op", tt.err)
		if !strings.HasPrefix(got.Error(), "postgres: op: ") {
			t.Errorf("%s: got %q, want the prefix %q", tt.name, got, "postgres: op: ")
		}
		for _, s := range sentinels {
			if is, want := errors.Is(got, s), s == tt.want; is != want {
				t.Errorf("%s: errors.Is(%q, %v) = %v, want %v", tt.name, got, s, is, want)
			}
		}
		if strings.Contains(got.Error(), "SELECT") {
			t.Errorf("%s: %q holds SQL", tt.name, got)
		}
	}
	if got := wrap("op", pgError("23505")).Error(); strings.Contains(got, "users") {
		t.Errorf("constraint failure: %q names the table or constraint", got)
	}
	if wrap("op", nil) != nil {
		t.Error("wrap(nil) != nil")
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{pgError("40001"), true},
		{pgError("40P01"), true},
		{pgError("23505"), false},
		// Killed while it ran: the statement may have committed.
		{pgError("57P01"), false},
		{io.ErrUnexpectedEOF, false},
		{errors.New("boom"), false},
	}
	for _, tt := range tests {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
