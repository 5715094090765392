package sqlite

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"
)

// millis stores a time.Time as INTEGER unix milliseconds, and the zero time
// as NULL so that "unused", "not revoked" and "never expires" read as NULL
// in SQL. Convert in place: millis(t) as an argument, (*millis)(&t) to scan.
type millis time.Time

// Value implements driver.Valuer.
func (m millis) Value() (driver.Value, error) {
	t := time.Time(m)
	if t.IsZero() {
		return nil, nil
	}
	return t.UnixMilli(), nil
}

// Scan implements sql.Scanner. Times come back in UTC.
func (m *millis) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*m = millis{}
	case int64:
		*m = millis(time.UnixMilli(v).UTC())
	default:
		return fmt.Errorf("time column holds %T, want INTEGER", src)
	}
	return nil
}

// stored is t as a read would return it, for results built without reading
// the row back.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// roles stores a role list as a JSON array, never as JSON null, so the
// column can be queried with SQLite's JSON functions.
type roles []string

// Value implements driver.Valuer.
func (r roles) Value() (driver.Value, error) {
	if len(r) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal([]string(r))
	return string(b), err
}

// Scan implements sql.Scanner. An empty list comes back nil.
func (r *roles) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("roles column holds %T, want TEXT", src)
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("roles column: %w", err)
	}
	if len(list) == 0 {
		list = nil
	}
	*r = list
	return nil
}

// expired is the one expiry rule of this store: a record is dead from its
// ExpiresAt on (as a JWT "exp", RFC 7519 section 4.1.4: "on or after"),
// compared in the milliseconds the database keeps. SQL uses the same rule
// as "expires_at <= now".
func expired(expiresAt, now time.Time) bool {
	return now.UnixMilli() >= expiresAt.UnixMilli()
}
