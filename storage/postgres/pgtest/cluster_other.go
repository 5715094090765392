//go:build !unix

package pgtest

import "errors"

type cluster struct{ dsn string }

func startCluster() (*cluster, error) {
	return nil, errors.New("a private PostgreSQL cluster is started on Unix only")
}

func (c *cluster) Close() {}
