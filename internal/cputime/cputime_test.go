package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestProcessGrows: busy work shows as CPU time, where the system says.
func TestProcessGrows(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no CPU time on", runtime.GOOS)
	}
	t0 := Process()
	if t0 <= 0 {
		t.Fatalf("Process() = %v at start, want a positive time", t0)
	}
	// Spin until CPU time shows 5 ms, for 10 s at most: on a busy machine
	// the process gets a fraction of the wall time.
	x := 0
	for start := time.Now(); Process()-t0 < 5*time.Millisecond; x++ {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("10 s of busy work showed %v of CPU time", Process()-t0)
		}
	}
	if x == 0 {
		t.Error("CPU time grew without work")
	}
}
