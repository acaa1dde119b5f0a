package postgres

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// processCPU is the user+system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPU is the user+system CPU time of every PostgreSQL process on this
// machine (backends, WAL writer, checkpointer), from /proc; 0 where /proc
// is missing. Processes that exited between two readings are not counted,
// so a benchmark keeps its connections open while it measures. On a shared
// machine other clients of the same server add to it.
func serverCPU() time.Duration {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... : comm may hold spaces; fields
		// after the last ')' are fixed. utime and stime are fields 14
		// and 15, the 12th and 13th after the ')'.
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open || !bytes.HasPrefix(b[open+1:end], []byte("postgres")) {
			continue
		}
		f := bytes.Fields(b[end+1:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(string(f[11]), 10, 64)
		s, _ := strconv.ParseInt(string(f[12]), 10, 64)
		ticks += u + s
	}
	// USER_HZ is 100 on every Linux configuration that matters here.
	return time.Duration(ticks) * 10 * time.Millisecond
}
