package storage

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// Migration is one version of a backend's schema history.
type Migration struct {
	Version int
	Name    string // the file name, NNNN_description.sql
	SQL     string
}

// LoadMigrations reads a backend's schema history from the *.sql files of
// dir in fsys: named NNNN_description.sql, numbered from 1 without gaps,
// returned in version order. A released file is never edited: a change is
// a new file.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql")) // sorted
	if err != nil {
		return nil, err
	}
	ms := make([]Migration, 0, len(names))
	for i, name := range names {
		base := path.Base(name)
		prefix, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(prefix)
		if err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d first in its name", base, i+1)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	return ms, nil
}

// SchemaTooNew is the refusal to run on a schema a newer broker wrote.
func SchemaTooNew(have, know int) error {
	return fmt.Errorf("database schema version %d is newer than this broker (%d)", have, know)
}
