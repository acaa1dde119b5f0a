// Package cputime reads the CPU time of the process, for benchmarks on a
// shared machine: CPU time measures the work of a benchmark where wall time
// measures the neighbours too.
package cputime

import "time"

// Process returns the CPU time (user and system) the process has used so
// far, or 0 where the system does not say.
func Process() time.Duration { return process() }
