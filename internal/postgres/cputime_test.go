package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// mustOpenBench opens a store on a fresh schema whose connections carry an
// application_name of their own, so that serverCPU counts the PostgreSQL
// backends serving this store only, not other clients of the server.
func mustOpenBench(b *testing.B) *Store {
	b.Helper()
	conn := mustSchema(b)
	var r [4]byte
	_, _ = rand.Read(r[:])
	u, err := url.Parse(conn)
	if err != nil {
		b.Fatalf("benchmarks need a URL connection string: %v", err)
	}
	q := u.Query()
	q.Set("application_name", "apisessions_bench_"+hex.EncodeToString(r[:]))
	u.RawQuery = q.Encode()
	return mustOpenAt(b, u.String())
}

// serverCPU is a reading of the CPU time of PostgreSQL backends; its
// since method gives the CPU time that the backends of s used after it
// (from /proc; zero where /proc is missing). Backends that exited are not
// counted, so a benchmark keeps its connections open while it measures.
type serverCPU map[int]time.Duration

func readServerCPU() serverCPU {
	out := serverCPU{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil {
			continue
		}
		if cpu, ok := procCPU(p); ok {
			out[pid] = cpu
		}
	}
	return out
}

// procCPU reads user+system time of a postgres process from its stat
// file.
func procCPU(path string) (time.Duration, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	// pid (comm) state ...: comm may hold spaces; the fields after the
	// last ')' are fixed, utime and stime the 12th and 13th of them.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open || !bytes.HasPrefix(b[open+1:end], []byte("postgres")) {
		return 0, false
	}
	f := bytes.Fields(b[end+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseInt(string(f[11]), 10, 64)
	s, _ := strconv.ParseInt(string(f[12]), 10, 64)
	// USER_HZ is 100 on every Linux configuration that matters here.
	return time.Duration(u+s) * 10 * time.Millisecond, true
}

// since returns the CPU time the backends of s (its application_name's)
// used after the reading c.
func (c serverCPU) since(s *Store) time.Duration {
	rows, err := s.pool.Query(context.Background(),
		"SELECT pid FROM pg_stat_activity WHERE application_name = current_setting('application_name')")
	if err != nil {
		return 0
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, pid := range pids {
		if now, ok := procCPU("/proc/" + strconv.Itoa(int(pid)) + "/stat"); ok {
			total += now - c[int(pid)]
		}
	}
	return total
}
