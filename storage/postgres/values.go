package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// tstz stores a time.Time as timestamptz truncated to the millisecond, and
// the zero time as NULL so that "unused", "not revoked" and "never
// expires" read as NULL in SQL. Milliseconds are what the SQLite backend
// keeps, so both agree on every comparison. Convert in place: tstz(t) as
// an argument, (*tstz)(&t) to scan.
type tstz time.Time

// TimestamptzValue implements pgtype.TimestamptzValuer.
func (t tstz) TimestamptzValue() (pgtype.Timestamptz, error) {
	if time.Time(t).IsZero() {
		return pgtype.Timestamptz{}, nil
	}
	return pgtype.Timestamptz{Time: stored(time.Time(t)), Valid: true}, nil
}

// ScanTimestamptz implements pgtype.TimestamptzScanner. Times come back in
// UTC.
func (t *tstz) ScanTimestamptz(v pgtype.Timestamptz) error {
	switch {
	case !v.Valid:
		*t = tstz{}
	case v.InfinityModifier != pgtype.Finite:
		return fmt.Errorf("time column holds %s", v.InfinityModifier)
	default:
		*t = tstz(v.Time.UTC())
	}
	return nil
}

// stored is t as a read would return it, for results built without reading
// the row back.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return instant(t)
}

// instant is t to the millisecond as a bound in a comparison, the zero
// time included (0001-01-01, before anything stored), where tstz would make
// it NULL and so match nothing.
func instant(t time.Time) time.Time {
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// roleList is the roles column's value: never NULL, '{}' when empty.
func roleList(roles []string) []string {
	if roles == nil {
		return []string{}
	}
	return roles
}
