package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgProcs finds the PostgreSQL processes whose CPU a benchmarked broker
// costs: the backends of its own connections, which it opens with
// application_name set to the schema's name, and the server's shared
// helpers that its writes keep busy (WAL writer, checkpointer, background
// writer, autovacuum workers). Backends of other clients of the same
// server (other test runs on a shared machine) are left out; they show
// as "other". If pg_stat_activity cannot be read, every process named
// postgres counts, as before.
type pgProcs struct {
	app  string // the broker's application_name
	conn *pgx.Conn

	mu sync.Mutex // conn is used by one sample at a time
}

// pgHelpers are the backend_type values of the server processes counted
// beside the broker's backends.
var pgHelpers = []string{"walwriter", "checkpointer", "background writer", "autovacuum worker"}

// watchPostgres connects to server to find app's processes.
func watchPostgres(ctx context.Context, server, app string) (*pgProcs, error) {
	ctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return nil, err
	}
	return &pgProcs{app: app, conn: conn}, nil
}

func (p *pgProcs) close() {
	if p != nil && p.conn != nil {
		_ = p.conn.Close(context.Background())
	}
}

// ticks is the CPU time of each counted process, by pid.
func (p *pgProcs) ticks() map[int]int64 {
	m := map[int]int64{}
	if p == nil {
		return m
	}
	pids, err := p.pids()
	if err != nil {
		return postgresTicks()
	}
	for _, pid := range pids {
		m[pid] = procTicks(pid)
	}
	return m
}

func (p *pgProcs) pids() ([]int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := p.conn.Query(ctx, `SELECT pid FROM pg_stat_activity
		WHERE application_name = $1 OR backend_type = ANY($2)`, p.app, pgHelpers)
	if err != nil {
		return nil, err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, len(pids))
	for _, pid := range pids {
		// The server may be elsewhere (a container, another host): then
		// its processes are not ours to read, and count as nothing.
		if comm, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/comm"); err == nil && strings.TrimSpace(string(comm)) == "postgres" {
			out = append(out, int(pid))
		}
	}
	return out, nil
}
